"""What a scanner types: GS1 element strings or plain kit and lot numbers, checked."""

from __future__ import annotations

import datetime as dt

import pytest

from ids_app.db import Database
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.scanning import (
    UNREADABLE,
    ScanDisagrees,
    ScanKind,
    ScanResult,
    UnknownScan,
    identify_scan,
)
from ids_app.studies.models import Blinding, ProductRole, Study, Tracking
from ids_app.studies.services import add_product, create_study
from tests.factories import EXPIRY, TODAY, Example, make_example, receive_kits

GS = "\x1d"
GTIN = "00312345678906"  # GTIN-14 of the UPC-A 312345678906 recorded for the DEF product
OTHER_GTIN = "12345678901231"
DEF_EXPIRY = dt.date(2028, 2, 29)


@pytest.fixture
def example(db: Database) -> Example:
    example = make_example(db)
    receive_kits(db, example)  # kits 1001-1020 of lot L2301
    return example


@pytest.fixture
def def_kits(db: Database, example: Example) -> None:
    """Kits K-2001 and K-2002 of lot G1 (expiry 2028-02-29) of a product with a GTIN."""
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        product = add_product(
            session,
            example.people.tech,
            study,
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
            gtin="312345678906",
        )
        lines = tuple(
            ReceivedLine(product.id, "G1", DEF_EXPIRY, kit_number=number)
            for number in ("K-2001", "K-2002")
        )
        receipt = ShipmentReceipt(
            "SHP-0002", "Acme Depot", "Courier", TODAY, example.shelf.id, lines
        )
        receive_shipment(session, example.people.tech, study, receipt)


def _scan(db: Database, example: Example, text: str) -> ScanResult:
    with db.read_session() as session:
        return identify_scan(session, session.get_one(Study, example.study.id), text)


def _kit_number(result: ScanResult) -> str | None:
    return result.kit.kit_number if result.kit else None


def _lot_number(result: ScanResult) -> str | None:
    return result.lot.lot_number if result.lot else None


def _refused(db: Database, example: Example, text: str) -> str:
    with pytest.raises(UnknownScan) as refused:
        _scan(db, example, text)
    return str(refused.value)


def test_gs1_scan_with_prefix_and_group_separators_finds_the_kit(
    db: Database, example: Example, def_kits: None
) -> None:
    raw = f"]d201{GTIN}1728022910G1{GS}21K-2001\r"
    result = _scan(db, example, raw)
    assert result.kind is ScanKind.KIT
    assert _kit_number(result) == "K-2001"
    assert _lot_number(result) == "G1"
    assert result.product.agent_name == "DEF"
    assert (result.gtin, result.expiry, result.serial, result.raw) == (
        GTIN,
        DEF_EXPIRY,
        "K-2001",
        raw,
    )


def test_gs1_scan_without_prefix_finds_the_kit(
    db: Database, example: Example, def_kits: None
) -> None:
    result = _scan(db, example, f"01{GTIN}17280229{GS}21K-2002{GS}10G1")
    assert _kit_number(result) == "K-2002"


@pytest.mark.parametrize("enter", ["\r", "\n", "\r\n", f"{GS}\r"])
def test_gs1_scan_with_trailing_enter_finds_the_kit(
    db: Database, example: Example, def_kits: None, enter: str
) -> None:
    result = _scan(db, example, f"]d201{GTIN}10G1{GS}21K-2001{enter}")
    assert _kit_number(result) == "K-2001"


@pytest.mark.parametrize("prefix", ["]C1", "]Q3"])
def test_gs1_128_and_qr_prefixes_are_read_as_gs1(
    db: Database, example: Example, def_kits: None, prefix: str
) -> None:
    assert _scan(db, example, f"{prefix}01{GTIN}21K-2001").serial == "K-2001"


def test_gs1_expiry_day_00_means_the_last_day_of_the_month(
    db: Database, example: Example, def_kits: None
) -> None:
    result = _scan(db, example, f"]d201{GTIN}1728020010G1\r")
    assert result.kind is ScanKind.LOT
    assert result.kit is None
    assert _lot_number(result) == "G1"
    assert result.expiry == DEF_EXPIRY


def test_gs1_serial_that_is_no_kit_falls_back_to_the_lot(
    db: Database, example: Example, def_kits: None
) -> None:
    result = _scan(db, example, f"]d201{GTIN}10G1{GS}21SN-778")
    assert (result.kind, result.serial) == (ScanKind.LOT, "SN-778")


def test_gs1_expiry_that_disagrees_with_the_lot_is_refused(
    db: Database, example: Example, def_kits: None
) -> None:
    with pytest.raises(ScanDisagrees) as refused:
        _scan(db, example, f"]d201{GTIN}1728013110G1{GS}21K-2001")
    assert str(refused.value) == (
        "The barcode says lot G1 expires 2028-01-31, but the lot is on record as expiring "
        "2028-02-29; set the pack aside and check it."
    )


def test_gs1_gtin_that_disagrees_with_the_product_is_refused(
    db: Database, example: Example, def_kits: None
) -> None:
    for code in (f"]d201{OTHER_GTIN}10G1", f"]d201{OTHER_GTIN}10G1{GS}21K-2001"):
        with pytest.raises(ScanDisagrees, match=f"The barcode's GTIN {OTHER_GTIN} is not"):
            _scan(db, example, code)


def test_gs1_gtin_is_not_checked_for_a_product_without_one(db: Database, example: Example) -> None:
    result = _scan(db, example, f"]d201{OTHER_GTIN}10L2301{GS}211007")
    assert _kit_number(result) == "1007"


def test_gs1_lot_that_is_not_the_kits_lot_is_refused(
    db: Database, example: Example, def_kits: None
) -> None:
    with pytest.raises(ScanDisagrees, match="names lot L2301, but the kit is on record in lot G1"):
        _scan(db, example, f"]d201{GTIN}10L2301{GS}21K-2001")


@pytest.mark.parametrize(
    "code",
    [
        "]d2garbage",
        f"]d201{GTIN}17281301",  # month 13
        "]d2",
        f"01{GTIN}99",  # an AI cut short
    ],
)
def test_gs1_code_that_cannot_be_read_is_refused(db: Database, example: Example, code: str) -> None:
    assert _refused(db, example, code) == UNREADABLE


def test_gs1_code_with_a_wrong_gtin_check_digit_says_so(
    db: Database, example: Example, def_kits: None
) -> None:
    """A scanner's misread of kit K-2001's label: the GTIN ends in 7 instead of 6."""
    misread = f"{GTIN[:-1]}7"
    assert _refused(db, example, f"]d201{misread}17280229{GS}21K-2001") == (
        f"Check digit wrong in the scanned GTIN {misread}: the scanner misread the label. "
        "Scan it again or type the kit number."
    )


def test_gs1_code_without_lot_or_serial_is_refused(db: Database, example: Example) -> None:
    assert _refused(db, example, f"]d201{GTIN}17280229").startswith(
        "The barcode carries no lot or serial number"
    )


def test_plain_kit_number_finds_the_kit(db: Database, example: Example) -> None:
    result = _scan(db, example, "1007\r")
    assert result.kind is ScanKind.KIT
    assert _kit_number(result) == "1007"
    assert _lot_number(result) == "L2301"
    assert result.lot is not None
    assert result.lot.expiry == EXPIRY
    assert (result.gtin, result.expiry, result.serial) == (None, None, None)


def test_kit_number_behind_a_code_128_prefix_finds_the_kit(db: Database, example: Example) -> None:
    result = _scan(db, example, "]C01007\r")
    assert _kit_number(result) == "1007"


def test_text_that_only_looks_like_a_prefix_is_looked_up_as_typed(
    db: Database, example: Example
) -> None:
    assert _refused(db, example, "]x01007") == "Code ]x01007 is not a kit or lot of study ABC-123."


def test_plain_lot_number_finds_the_lot(db: Database, example: Example) -> None:
    result = _scan(db, example, " L2301\n")
    assert result.kind is ScanKind.LOT
    assert result.kit is None
    assert _lot_number(result) == "L2301"
    assert result.product.id == example.product.id


def test_kit_of_another_study_names_that_study(db: Database, example: Example) -> None:
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
        product = add_product(
            session,
            example.people.tech,
            other,
            agent_name="XYZ",
            strength="1 mg",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.ACTIVE,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            units_per_kit=10,
            dispense_quantity=1,
            days_supply=10,
            doses_per_day=1,
        )
        line = ReceivedLine(product.id, "X1", EXPIRY, kit_number="5001")
        receipt = ShipmentReceipt("X-1", "Depot", "Courier", TODAY, example.shelf.id, (line,))
        receive_shipment(session, example.people.tech, other, receipt)
    expected = "Kit 5001 belongs to study XYZ-9, not ABC-123."
    assert _refused(db, example, "5001\r") == expected
    assert _refused(db, example, f"]d201{GTIN}10X1{GS}215001") == expected


def test_unknown_code_is_refused(db: Database, example: Example) -> None:
    assert _refused(db, example, "9999\r") == "Code 9999 is not a kit or lot of study ABC-123."
    assert (
        _refused(db, example, f"]d201{GTIN}10NOPE")
        == "Code NOPE is not a kit or lot of study ABC-123."
    )


@pytest.mark.parametrize("text", ["", "\r\n", "   "])
def test_empty_scan_is_refused(db: Database, example: Example, text: str) -> None:
    assert _refused(db, example, text) == "The scan was empty; scan the label again."
