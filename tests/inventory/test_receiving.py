"""Receiving: shipments by lot and kit, reconciled against the packing list."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.ledger import reverse_entry, study_balances
from ids_app.inventory.models import (
    LedgerEntry,
    QuarantineHold,
    Shipment,
    ShipmentCondition,
    StockState,
    TemperatureMonitor,
)
from ids_app.inventory.receiving import (
    ExpectedLine,
    ReceivedLine,
    ShipmentReceipt,
    receive_shipment,
    reconcile,
    shipment_reconciliation,
)
from ids_app.studies.models import Study, StudyStatus
from ids_app.studies.services import change_study_status
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, kit_lines, make_example, receive_kits


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _entry_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def _states(db: Database, example: Example) -> dict[StockState, int]:
    with db.read_session() as session:
        totals: dict[StockState, int] = {}
        for row in study_balances(session, example.study.id):
            totals[row.state] = totals.get(row.state, 0) + row.quantity
        return totals


def test_received_kits_are_available_on_the_shelf(db: Database, example: Example) -> None:
    receive_kits(db, example)
    assert _states(db, example) == {StockState.AVAILABLE: 20}


def test_receiving_the_same_kit_twice_is_refused(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1011))
    before = _entry_count(db)
    with pytest.raises(InvalidInput, match="Kit 1010 was already received"):
        receive_kits(db, example, range(1010, 1012), shipment_number="SHP-0002")
    assert _entry_count(db) == before


def test_a_kit_listed_twice_in_one_shipment_is_refused(db: Database, example: Example) -> None:
    lines = kit_lines(example, range(1001, 1003)) + kit_lines(example, range(1002, 1003))
    receipt = ShipmentReceipt("SHP-9", "Acme Depot", "Courier", TODAY, example.shelf.id, lines)
    with pytest.raises(InvalidInput, match="Kit 1002 is listed twice"), db.unit_of_work() as s:
        receive_shipment(s, example.people.tech, s.get_one(Study, example.study.id), receipt)
    assert _entry_count(db) == 0


def test_excursion_in_transit_quarantines_the_whole_shipment(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, temperature_monitor=TemperatureMonitor.EXCURSION)
    assert _states(db, example) == {StockState.QUARANTINED: 20}
    with db.read_session() as session:
        (hold,) = session.scalars(select(QuarantineHold)).all()
    assert hold.reason.value == "excursion"


def test_damaged_lines_are_quarantined_and_the_rest_available(
    db: Database, example: Example
) -> None:
    lines = (
        *kit_lines(example, range(1001, 1004)),
        ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="1004", damaged=True),
    )
    receipt = ShipmentReceipt(
        "SHP-2",
        "Acme Depot",
        "Courier",
        TODAY,
        example.shelf.id,
        lines,
        condition=ShipmentCondition.DAMAGED,
    )
    with db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )
    assert _states(db, example) == {StockState.AVAILABLE: 3, StockState.QUARANTINED: 1}


def test_reconciliation_shows_missing_extra_and_damaged(db: Database, example: Example) -> None:
    packing_list = tuple(
        ExpectedLine(example.product.id, "L2301", EXPIRY, kit_number=str(n))
        for n in range(1001, 1006)
    )
    lines = (
        *kit_lines(example, range(1002, 1006)),
        ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="1099", damaged=True),
    )
    receipt = ShipmentReceipt(
        "SHP-3", "Acme Depot", "Courier", TODAY, example.shelf.id, lines, packing_list
    )
    preview = reconcile(packing_list, lines)
    assert [line.kit_number for line in preview.missing] == ["1001"]
    assert [line.kit_number for line in preview.extra] == ["1099"]
    assert [line.kit_number for line in preview.damaged] == ["1099"]
    with db.unit_of_work() as session:
        shipment = receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )
        stored = shipment_reconciliation(session, shipment)
    assert stored == preview
    assert not stored.matches


def test_lot_expiry_must_agree_with_the_record(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1003))
    with pytest.raises(InvalidInput, match="Lot L2301 is on record with expiry"):
        receive_kits(
            db,
            example,
            range(1003, 1004),
            shipment_number="SHP-2",
            expiry=EXPIRY + dt.timedelta(days=30),
        )


def test_stock_is_placed_only_where_the_range_fits(db: Database, example: Example) -> None:
    receipt = ShipmentReceipt(
        "SHP-4",
        "Acme Depot",
        "Courier",
        TODAY,
        example.fridge.id,
        kit_lines(example, range(1001, 1003)),
    )
    with pytest.raises(InvalidInput, match="IDS Fridge 1 is kept at 2 to 8 °C"):
        with db.unit_of_work() as session:
            receive_shipment(
                session, example.people.tech, session.get_one(Study, example.study.id), receipt
            )
    assert _entry_count(db) == 0


def test_monitor_cannot_receive(db: Database, example: Example) -> None:
    receipt = ShipmentReceipt(
        "SHP-5",
        "Acme Depot",
        "Courier",
        TODAY,
        example.shelf.id,
        kit_lines(example, range(1001, 1002)),
    )
    with pytest.raises(PermissionDenied), db.unit_of_work() as session:
        receive_shipment(
            session, example.people.monitor, session.get_one(Study, example.study.id), receipt
        )


def test_closed_study_receives_nothing(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        for status in (StudyStatus.CLOSED_TO_ACCRUAL, StudyStatus.CLOSED):
            change_study_status(session, example.people.pharm, study, status, "close-out")
    with pytest.raises(InvalidInput, match="closed"):
        receive_kits(db, example)


def test_kit_tracked_lines_need_kit_numbers(db: Database, example: Example) -> None:
    receipt = ShipmentReceipt(
        "SHP-6",
        "Acme Depot",
        "Courier",
        TODAY,
        example.shelf.id,
        (ReceivedLine(example.product.id, "L2301", EXPIRY, quantity=5),),
    )
    with pytest.raises(InvalidInput, match="tracked by kit"), db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )


def test_a_reversed_receipt_no_longer_counts_as_received(db: Database, example: Example) -> None:
    shipment = receive_kits(db, example, range(1001, 1004))
    with db.read_session() as session:
        first = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()
    assert first is not None
    with db.unit_of_work() as session:
        reverse_entry(
            session, example.people.pharm, first.id, "kit belongs to another site", PASSWORD
        )
        stored = shipment_reconciliation(session, shipment)
    assert sum(line.received for line in stored.lines) == 2


def test_an_excursion_given_as_plain_text_still_quarantines(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1003), temperature_monitor="excursion")
    assert _states(db, example) == {StockState.QUARANTINED: 2}


def test_an_unknown_monitor_result_is_refused(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="choose it from the list"):
        receive_kits(db, example, range(1001, 1003), temperature_monitor="lukewarm")
    assert _entry_count(db) == 0


def test_stock_expired_on_arrival_is_received_into_quarantine_under_an_expiry_hold(
    db: Database, example: Example
) -> None:
    expired = TODAY - dt.timedelta(days=1)
    receive_kits(db, example, range(1001, 1003), lot="L-OLD", expiry=expired)
    receive_kits(db, example, range(1003, 1005), shipment_number="SHP-0002")
    assert _states(db, example) == {StockState.QUARANTINED: 2, StockState.AVAILABLE: 2}
    with db.read_session() as session:
        (hold,) = session.scalars(select(QuarantineHold)).all()
        shipment = session.get_one(Shipment, hold.shipment_id)
        reconciliation = shipment_reconciliation(session, shipment)
    assert hold.reason.value == "expiry"
    assert hold.details == "Expired on receipt (lot L-OLD), shipment SHP-0001"
    # Held for its expiry, not counted as damaged against the packing list.
    assert sum(line.damaged for line in reconciliation.lines) == 0


def test_stock_expiring_on_the_day_it_arrives_is_still_available(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1002), lot="L-TODAY", expiry=TODAY)
    assert _states(db, example) == {StockState.AVAILABLE: 1}
