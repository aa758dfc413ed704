"""Control and satellite records (NCI DARF): XYZ-789's vials go from IDS Fridge 1 to the
Infusion Center Satellite and are dispensed there. The control record sends them "to
satellite"; the satellite's own record receives them "from the main pharmacy", dispenses
them and ends at the satellite's stock; the two agree on what crossed."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from ids_app.inventory.ledger import study_stock
from ids_app.inventory.models import EntryKind, LedgerEntry, Location
from ids_app.reports.accountability import BALANCE_STATES
from ids_app.reports.exports import export_sponsor_workbook
from ids_app.reports.gather import gather_study_record
from ids_app.reports.records import AccountabilityRecord, StudyRecord
from ids_app.studies.services import get_study
from tests.reports.conftest import Demo

INFUSION = "XYZ-789"
SATELLITE = "Infusion Center Satellite"


@pytest.fixture(scope="module")
def record(demo: Demo) -> StudyRecord:
    with demo.db.read_session() as session:
        return gather_study_record(session, demo.user("tech"), INFUSION)


def satellite_stock(demo: Demo) -> int:
    """The vials the ledger holds at the satellite, read apart from the record."""
    with demo.db.read_session() as session:
        study = get_study(session, INFUSION)
        satellite = session.scalars(select(Location).where(Location.name == SATELLITE)).one()
        return sum(
            row.quantity
            for row in study_stock(session, study.id)
            if row.location_id == satellite.id and row.state in BALANCE_STATES
        )


def dispenses_from_satellite(demo: Demo) -> int:
    with demo.db.read_session() as session:
        satellite = session.scalars(select(Location).where(Location.name == SATELLITE)).one()
        return len(
            session.scalars(
                select(LedgerEntry.id).where(
                    LedgerEntry.kind == EntryKind.DISPENSE,
                    LedgerEntry.from_location_id == satellite.id,
                )
            ).all()
        )


def records_of(record: StudyRecord) -> tuple[AccountabilityRecord, AccountabilityRecord]:
    control, satellite = record.accountability
    return control, satellite


def test_the_vials_have_a_control_record_and_a_satellite_record(record: StudyRecord) -> None:
    control, satellite = records_of(record)
    assert control.record_kind.startswith("Control record (main pharmacy")
    assert satellite.record_kind == f"Satellite record: {SATELLITE}"
    assert satellite.title == f"Zelumab 100 mg/10 mL vial for infusion — {SATELLITE}"
    # Sent to the satellite on the control record, received there on its own.
    assert any(line.transaction.startswith(f"To satellite {SATELLITE}") for line in control.lines)
    received = [line for line in satellite.lines if line.transaction.startswith("Received")]
    assert received
    assert all("from the main pharmacy (IDS Fridge 1)" in line.transaction for line in received)
    assert all(line.received == int(line.transaction.split()[1]) for line in received)


def test_the_satellite_dispenses_on_its_own_record_and_ends_at_its_stock(
    demo: Demo, record: StudyRecord
) -> None:
    control, satellite = records_of(record)
    dispensed_there = [line for line in satellite.lines if line.dispensed]
    assert len(dispensed_there) == dispenses_from_satellite(demo) > 0
    assert not [line for line in control.lines if line.dispensed]
    assert satellite.closing_balance == satellite.ledger_balance == satellite_stock(demo)
    assert control.reconciles
    assert satellite.reconciles
    for before, after in zip(satellite.lines, satellite.lines[1:], strict=False):
        assert after.balance_forward == before.new_balance


def test_the_satellites_incoming_agrees_with_the_control_records_outgoing(
    record: StudyRecord,
) -> None:
    control, satellite = records_of(record)
    sent = -sum(
        line.other or 0
        for line in control.lines
        if line.transaction.startswith(f"To satellite {SATELLITE}")
    )
    assert satellite.received_from_control == satellite.sent_by_control == sent > 0
    assert satellite.transfers_agree


def test_a_product_no_satellite_held_keeps_one_record_for_all_locations(demo: Demo) -> None:
    with demo.db.read_session() as session:
        oral = gather_study_record(session, demo.user("tech"), "ABC-123")
    (darf,) = oral.accountability
    assert darf.record_kind == "Control record (all locations)"
    assert darf.satellite is None


def test_the_workbook_has_the_satellite_records_lines_totals_and_reconciliation(
    demo: Demo, record: StudyRecord, tmp_path: Path
) -> None:
    out = tmp_path / "XYZ-789.xlsx"
    export_sponsor_workbook(demo.db, demo.user("tech"), INFUSION, out)
    book = load_workbook(out)
    _control, satellite = records_of(record)
    products = [row[0] for row in book["Accountability"].iter_rows(min_row=2, values_only=True)]
    assert products.count(satellite.title) == len(satellite.lines)
    assert f"Total: {satellite.title}" in products
    summary = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
    assert satellite.title in summary
