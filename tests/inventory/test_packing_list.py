"""Reading the depot's packing list from a file: expected lines, or each bad line named."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.inventory.models import Lot
from ids_app.inventory.packing_list import (
    PackingListMapping,
    PackingListPreview,
    read_packing_list,
)
from ids_app.inventory.receiving import ExpectedLine, shipment_reconciliation
from ids_app.studies.models import Blinding, Product, ProductRole, Study, Tracking
from ids_app.studies.services import add_product, create_study
from ids_app.studies.tables import DateOrder, read_table
from tests.factories import EXPIRY, Example, make_example, receive_kits

ISO = EXPIRY.isoformat()
KITS = PackingListMapping(kit_number="Kit", lot_number="Lot", expiry="Expiry")
BULK = PackingListMapping(lot_number="Batch", expiry="Use By", quantity="Qty")


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


@pytest.fixture
def bulk_product(db: Database, example: Example) -> Product:
    with db.unit_of_work() as session:
        return add_product(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            agent_name="Rescue",
            strength="5 mg",
            dosage_form="tablet",
            unit="tablet",
            role=ProductRole.COMPARATOR,
            tracking=Tracking.BULK,
            storage_min_c=15,
            storage_max_c=30,
            dispense_quantity=30,
            days_supply=30,
            doses_per_day=1,
        )


def _read(
    db: Database,
    tmp_path: Path,
    text: str,
    mapping: PackingListMapping,
    product_id: int,
    study_id: int,
) -> PackingListPreview:
    path = tmp_path / "packing.csv"
    path.write_text(text, encoding="utf-8")
    table = read_table(path)
    with db.read_session() as session:
        study = session.get_one(Study, study_id)
        product = session.get_one(Product, product_id)
        return read_packing_list(session, study, product, table, mapping)


def _kits(db: Database, example: Example, tmp_path: Path, text: str) -> PackingListPreview:
    return _read(db, tmp_path, text, KITS, example.product.id, example.study.id)


def test_kit_packing_list_gives_one_expected_line_per_kit(
    db: Database, example: Example, tmp_path: Path
) -> None:
    preview = _kits(db, example, tmp_path, f"Kit,Lot,Expiry\n1001,L2301,{ISO}\n1002,L2301,{ISO}\n")
    assert preview.errors == ()
    assert preview.expected == (
        ExpectedLine(example.product.id, "L2301", EXPIRY, 1, "1001"),
        ExpectedLine(example.product.id, "L2301", EXPIRY, 1, "1002"),
    )


def test_packing_list_read_from_file_reconciles_with_the_receipt(
    db: Database, example: Example, tmp_path: Path
) -> None:
    rows = "".join(f"{number},L2301,{ISO}\n" for number in range(1001, 1004))
    preview = _kits(db, example, tmp_path, "Kit,Lot,Expiry\n" + rows)
    shipment = receive_kits(db, example, range(1001, 1003), packing_list=preview.expected)
    with db.read_session() as session:
        reconciliation = shipment_reconciliation(session, shipment)
    assert [line.kit_number for line in reconciliation.missing] == ["1003"]


def test_bulk_packing_list_reads_quantities(
    db: Database, example: Example, bulk_product: Product, tmp_path: Path
) -> None:
    text = "Batch,Use By,Qty\nB7,31-JAN-2028,120\nB8,2028-03-31,60\n"
    preview = _read(db, tmp_path, text, BULK, bulk_product.id, example.study.id)
    assert preview.errors == ()
    assert [(line.lot_number, line.expiry, line.quantity) for line in preview.expected] == [
        ("B7", dt.date(2028, 1, 31), 120),
        ("B8", dt.date(2028, 3, 31), 60),
    ]


def test_bulk_list_without_a_quantity_column_counts_one_per_line(
    db: Database, example: Example, bulk_product: Product, tmp_path: Path
) -> None:
    mapping = PackingListMapping(lot_number="Batch", expiry="Use By")
    preview = _read(
        db, tmp_path, f"Batch,Use By\nB7,{ISO}\n", mapping, bulk_product.id, example.study.id
    )
    assert [line.quantity for line in preview.expected] == [1]


def test_each_bad_packing_list_line_is_reported_with_its_line(
    db: Database, example: Example, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1002))
    text = (
        "Kit,Lot,Expiry\n"
        f"1002,L2301,{ISO}\n"
        f",L2301,{ISO}\n"
        "1003,,01/02/2028\n"
        f"1002,L2301,{ISO}\n"
        "1004,L2301,2030-01-31\n"
        f"1001,L9,{ISO}\n"
    )
    preview = _kits(db, example, tmp_path, text)
    assert [(error.line, error.message) for error in preview.errors] == [
        (3, "The kit number is empty."),
        (4, "The lot number is empty."),
        (4, "Date 01/02/2028 is ambiguous; state the day/month order in the column mapping."),
        (5, "Kit 1002 is listed twice (first on line 2)."),
        (6, f"Lot L2301 has expiry {ISO} on record, not 2030-01-31; one lot has one expiry."),
        (
            7,
            "Kit 1001 is in lot L2301 on the kit list, not L9; "
            "check the packing list against the kit list.",
        ),
    ]
    assert [line.kit_number for line in preview.expected] == ["1002"]


def test_bad_quantities_are_reported_with_their_line(
    db: Database, example: Example, bulk_product: Product, tmp_path: Path
) -> None:
    text = f"Batch,Use By,Qty\nB7,{ISO},0\nB7,{ISO},ten\nB7,{ISO},2.5\n"
    preview = _read(db, tmp_path, text, BULK, bulk_product.id, example.study.id)
    assert [(error.line, error.message) for error in preview.errors] == [
        (2, "Quantity '0' is not a whole number above zero."),
        (3, "Quantity 'ten' is not a whole number above zero."),
        (4, "Quantity '2.5' is not a whole number above zero."),
    ]


def test_kit_line_counts_one_kit(db: Database, example: Example, tmp_path: Path) -> None:
    mapping = PackingListMapping("Lot", "Expiry", kit_number="Kit", quantity="Qty")
    text = f"Kit,Lot,Expiry,Qty\n1001,L1,{ISO},2\n"
    preview = _read(db, tmp_path, text, mapping, example.product.id, example.study.id)
    assert [(error.line, error.message) for error in preview.errors] == [
        (2, "A kit line counts one kit.")
    ]


def test_kit_product_needs_the_kit_number_column(
    db: Database, example: Example, tmp_path: Path
) -> None:
    mapping = PackingListMapping(lot_number="Lot", expiry="Expiry")
    preview = _read(
        db, tmp_path, f"Lot,Expiry\nL1,{ISO}\n", mapping, example.product.id, example.study.id
    )
    assert [(error.line, error.message) for error in preview.errors] == [
        (
            1,
            "ABC-123 10 mg or placebo tablet is tracked by kit; choose the kit number column.",
        )
    ]
    assert preview.expected == ()


def test_bulk_product_has_no_kit_number_column(
    db: Database, example: Example, bulk_product: Product, tmp_path: Path
) -> None:
    text = f"Kit,Lot,Expiry\n1,L1,{ISO}\n"
    preview = _read(db, tmp_path, text, KITS, bulk_product.id, example.study.id)
    assert [error.message for error in preview.errors] == [
        "Rescue 5 mg tablet is counted in bulk; it has no kit number column."
    ]


def test_missing_columns_are_named_in_one_error(
    db: Database, example: Example, tmp_path: Path
) -> None:
    preview = _kits(db, example, tmp_path, "Kit,Batch\n1001,L1\n")
    assert [(error.line, error.message) for error in preview.errors] == [
        (
            1,
            "No row of packing.csv holds the columns 'Kit', 'Lot', 'Expiry'; "
            "choose the columns in the mapping.",
        )
    ]


def test_packing_list_without_lines_is_reported(
    db: Database, example: Example, tmp_path: Path
) -> None:
    preview = _kits(db, example, tmp_path, "Kit,Lot,Expiry\n")
    assert [error.message for error in preview.errors] == [
        "There are no lines under the header row."
    ]


def test_reading_a_packing_list_records_nothing(
    db: Database, example: Example, tmp_path: Path
) -> None:
    _kits(db, example, tmp_path, f"Kit,Lot,Expiry\n1001,L-NEW,{ISO}\n")
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Lot)) == 0


def test_product_of_another_study_is_refused(
    db: Database, example: Example, tmp_path: Path
) -> None:
    with db.unit_of_work() as session:
        other = create_study(
            session,
            example.people.tech,
            protocol_number="XYZ-9",
            title="Another study",
            sponsor="Other Pharma",
            principal_investigator="Dr. Other",
            blinding=Blinding.OPEN_LABEL,
        )
        other_id = other.id
    with pytest.raises(InvalidInput, match="is not a product of study XYZ-9"):
        _read(db, tmp_path, f"Kit,Lot,Expiry\n1,L1,{ISO}\n", KITS, example.product.id, other_id)


def test_kit_of_another_product_on_the_kit_list_is_reported(
    db: Database, example: Example, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1002))
    with db.unit_of_work() as session:
        other = add_product(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            agent_name="DEF",
            strength="5 mg or placebo",
            dosage_form="capsule",
            unit="kit",
            role=ProductRole.BLINDED,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            units_per_kit=28,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )
    text = f"Kit,Lot,Expiry\n1001,L2301,{ISO}\n"
    preview = _read(db, tmp_path, text, KITS, other.id, example.study.id)
    assert [(error.line, error.message) for error in preview.errors] == [
        (
            2,
            "Kit 1001 is a kit of another product on the kit list; "
            "check the packing list against the kit list.",
        )
    ]


def test_packing_list_with_a_depot_title_above_its_header_is_read_from_the_header(
    db: Database, example: Example, tmp_path: Path
) -> None:
    text = (
        "Depot Shipment Packing List\n"
        "Shipment SHP-0042 to Site 101\n"
        "\n"
        f"Kit,Lot,Expiry\n1001,L2301,{ISO}\n"
    )
    preview = _kits(db, example, tmp_path, text)
    assert (preview.header_line, preview.errors) == (4, ())
    assert preview.expected == (ExpectedLine(example.product.id, "L2301", EXPIRY, 1, "1001"),)


def test_packing_list_with_day_first_expiry_dates_is_read_in_the_stated_order(
    db: Database, example: Example, bulk_product: Product, tmp_path: Path
) -> None:
    mapping = replace(BULK, date_order=DateOrder.DAY_FIRST)
    text = "Batch,Use By,Qty\nB1,31/05/2027,60\nB2,31-May-2027,30\n"
    preview = _read(db, tmp_path, text, mapping, bulk_product.id, example.study.id)
    assert preview.errors == ()
    assert [(line.lot_number, line.expiry) for line in preview.expected] == [
        ("B1", dt.date(2027, 5, 31)),
        ("B2", dt.date(2027, 5, 31)),
    ]
