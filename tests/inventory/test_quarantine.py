"""Quarantine: holds by kit, lot or location, and the pharmacist's signed decision."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import DispenseRefused, create_order, prepare_order
from ids_app.inventory.ledger import Balance, study_balances
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    EntryKind,
    HoldDecision,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    QuarantineHold,
    ShipmentCondition,
    StockState,
    TemperatureMonitor,
)
from ids_app.inventory.quarantine import decide_hold, held_stock, open_holds, quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.transfers import transfer_stock
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.services import SignInRefused
from ids_app.users.signatures import signature_holds
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, receive_kits, scan_of


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


@pytest.fixture
def satellite(db: Database, example: Example) -> Location:
    with db.unit_of_work() as session:
        return add_location(
            session, example.people.pharm, "Clinic satellite", LocationKind.SATELLITE, 20, 25
        )


def _count(db: Database, table: type[object]) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _states(db: Database, example: Example) -> dict[tuple[StockState, int | None], int]:
    """Quantity per state and location."""
    with db.read_session() as session:
        totals: dict[tuple[StockState, int | None], int] = {}
        for row in study_balances(session, example.study.id):
            key = (row.state, row.location_id)
            totals[key] = totals.get(key, 0) + row.quantity
        return totals


def _lot(db: Database, number: str = "L2301") -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.lot_number == number)).one()


def _kit(db: Database, number: str) -> Kit:
    with db.read_session() as session:
        return session.scalars(select(Kit).where(Kit.kit_number == number)).one()


def _hold(db: Database) -> QuarantineHold:
    with db.read_session() as session:
        return session.scalars(
            select(QuarantineHold).order_by(QuarantineHold.id.desc()).limit(1)
        ).one()


def _quarantine(
    db: Database,
    example: Example,
    actor: User | None = None,
    *,
    kit: Kit | None = None,
    lot: Lot | None = None,
    location: Location | None = None,
) -> QuarantineHold:
    with db.unit_of_work() as session:
        return quarantine_stock(
            session,
            actor or example.people.tech,
            session.get_one(Study, example.study.id),
            reason=HoldReason.EXCURSION,
            details="Fridge alarm 02:10-03:40, max 12 °C",
            kit=kit,
            lot=lot,
            location=location,
        )


def _decide(
    db: Database,
    example: Example,
    hold: QuarantineHold,
    decision: HoldDecisionKind = HoldDecisionKind.RELEASE,
    *,
    who: User | None = None,
    reference: str = "Acme TE-0042",
    password: str = PASSWORD,
    lot: str = "L2301",
) -> HoldDecision:
    with db.unit_of_work() as session:
        return decide_hold(
            session,
            who or example.people.pharm,
            session.get_one(QuarantineHold, hold.id),
            session.get_one(Lot, _lot(db, lot).id),
            decision=decision,
            sponsor_reference=reference,
            password=password,
        )


def test_quarantine_of_a_lot_holds_all_its_available_stock_in_place(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1006))
    hold = _quarantine(db, example, lot=_lot(db))
    assert _states(db, example) == {(StockState.QUARANTINED, example.shelf.id): 5}
    with db.read_session() as session:
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.QUARANTINE)
        ).all()
        held = held_stock(session, session.get_one(QuarantineHold, hold.id))
    assert len(entries) == 5
    assert {entry.hold_id for entry in entries} == {hold.id}
    assert sum(balance.quantity for balance in held) == 5


def test_quarantine_of_a_location_holds_only_the_stock_there(
    db: Database, example: Example, satellite: Location
) -> None:
    receive_kits(db, example, range(1001, 1004))
    with db.unit_of_work() as session:
        transfer_stock(
            session,
            example.people.tech,
            lot=session.get_one(Lot, _lot(db).id),
            kit=session.get_one(Kit, _kit(db, "1003").id),
            from_location=example.shelf,
            to_location=satellite,
            quantity=1,
        )
    _quarantine(db, example, location=satellite)
    assert _states(db, example) == {
        (StockState.AVAILABLE, example.shelf.id): 2,
        (StockState.QUARANTINED, satellite.id): 1,
    }


def test_a_lot_can_be_held_in_one_location_only(
    db: Database, example: Example, satellite: Location
) -> None:
    receive_kits(db, example, range(1001, 1004))
    with db.unit_of_work() as session:
        transfer_stock(
            session,
            example.people.tech,
            lot=session.get_one(Lot, _lot(db).id),
            kit=session.get_one(Kit, _kit(db, "1001").id),
            from_location=example.shelf,
            to_location=satellite,
            quantity=1,
        )
    _quarantine(db, example, lot=_lot(db), location=example.shelf)
    assert _states(db, example) == {
        (StockState.AVAILABLE, satellite.id): 1,
        (StockState.QUARANTINED, example.shelf.id): 2,
    }


@pytest.mark.parametrize("scope", ["nothing", "kit and lot"])
def test_a_hold_names_exactly_one_scope(db: Database, example: Example, scope: str) -> None:
    receive_kits(db, example, range(1001, 1003))
    kit, lot = (_kit(db, "1001"), _lot(db)) if scope == "kit and lot" else (None, None)
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="Choose what to hold"):
        _quarantine(db, example, kit=kit, lot=lot)
    assert _count(db, LedgerEntry) == before
    assert _count(db, QuarantineHold) == 0


def test_quarantine_refuses_when_nothing_in_scope_is_available(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    _quarantine(db, example, lot=_lot(db))
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="There is no available stock of lot L2301 to"):
        _quarantine(db, example, lot=_lot(db))
    with pytest.raises(InvalidInput, match="Kit 1001 is not available"):
        _quarantine(db, example, kit=_kit(db, "1001"))
    assert _count(db, LedgerEntry) == before
    assert _count(db, QuarantineHold) == 1


def test_a_monitor_cannot_quarantine_stock(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1003))
    before = _count(db, LedgerEntry)
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist"):
        _quarantine(db, example, example.people.monitor, lot=_lot(db))
    assert _count(db, LedgerEntry) == before


def test_release_needs_a_pharmacist_signature_and_sponsor_reference(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    hold = _quarantine(db, example, lot=_lot(db))
    before = _count(db, LedgerEntry)
    with pytest.raises(PermissionDenied, match="Only a pharmacist"):
        _decide(db, example, hold, who=example.people.tech)
    with pytest.raises(InvalidInput, match="sponsor's reference"):
        _decide(db, example, hold, reference="  ")
    assert (_count(db, LedgerEntry), _count(db, HoldDecision)) == (before, 0)
    decision = _decide(db, example, hold)
    with db.read_session() as session:
        (signature,) = session.scalars(
            select(Signature).where(Signature.record_table == "hold_decision")
        ).all()
        assert signature_holds(signature, session.get_one(HoldDecision, decision.id))
    assert (signature.meaning, signature.printed_name) == (SignatureMeaning.APPROVED, "Jane Roe")
    assert decision.sponsor_reference == "Acme TE-0042"


def test_a_wrong_password_refuses_the_decision_and_is_recorded(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    hold = _quarantine(db, example, lot=_lot(db))
    before = _count(db, LedgerEntry)
    with pytest.raises(SignInRefused, match="password is wrong"):
        _decide(db, example, hold, password="not-the-password")
    assert (_count(db, LedgerEntry), _count(db, HoldDecision)) == (before, 0)
    with db.read_session() as session:
        failed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "signature_failed")
        ).all()
    assert [entry.username for entry in failed] == ["pharm"]


def test_release_makes_the_held_stock_available_where_it_stands(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1004))
    hold = _quarantine(db, example, lot=_lot(db))
    _decide(db, example, hold)
    assert _states(db, example) == {(StockState.AVAILABLE, example.shelf.id): 3}
    with db.read_session() as session:
        releases = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.RELEASE)
        ).all()
        assert held_stock(session, session.get_one(QuarantineHold, hold.id)) == []
    assert {(entry.hold_id, entry.reference) for entry in releases} == {(hold.id, "Acme TE-0042")}


def test_condemned_stock_never_becomes_available(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1004))
    hold = _quarantine(db, example, lot=_lot(db))
    _decide(db, example, hold, HoldDecisionKind.CONDEMN)
    assert _states(db, example) == {(StockState.CONDEMNED, example.shelf.id): 3}
    with db.read_session() as session:
        kinds = set(session.scalars(select(LedgerEntry.kind).where(LedgerEntry.hold_id == hold.id)))
    assert kinds == {EntryKind.QUARANTINE, EntryKind.CONDEMN}


def test_a_lot_is_decided_once_under_a_hold(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1003))
    hold = _quarantine(db, example, lot=_lot(db))
    _decide(db, example, hold)
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="already recorded \\(release"):
        _decide(db, example, hold, HoldDecisionKind.CONDEMN)
    assert (_count(db, LedgerEntry), _count(db, HoldDecision)) == (before, 1)


def _dispense_kit_1001(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        order = create_order(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, example.product.id),
            visit="Visit 2",
            assigned_kit_number="1001",
        )
        prepare_order(
            session,
            example.people.tech,
            order,
            password=PASSWORD,
            item=scan_of("1001"),
            location=session.get_one(Location, example.shelf.id),
        )


def test_excursion_stock_is_not_dispensable_until_released(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1004), temperature_monitor=TemperatureMonitor.EXCURSION)
    assert _states(db, example) == {(StockState.QUARANTINED, example.shelf.id): 3}
    with pytest.raises(DispenseRefused, match="Kit 1001 is quarantined"):
        _dispense_kit_1001(db, example)
    with db.read_session() as session:
        (hold,) = open_holds(session, example.study.id)
    assert hold.reason is HoldReason.EXCURSION
    _decide(db, example, hold)
    assert _states(db, example) == {(StockState.AVAILABLE, example.shelf.id): 3}
    _dispense_kit_1001(db, example)


def test_damaged_receipt_is_decided_the_same_way(db: Database, example: Example) -> None:
    lines = (
        ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="1001", damaged=True),
        ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="1002"),
    )
    receipt = ShipmentReceipt(
        "SHP-7",
        "Acme Depot",
        "World Courier",
        TODAY,
        example.shelf.id,
        lines,
        condition=ShipmentCondition.DAMAGED,
    )
    with db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )
    hold = _hold(db)
    assert hold.reason is HoldReason.DAMAGE
    _decide(db, example, hold, HoldDecisionKind.CONDEMN)
    assert _states(db, example) == {
        (StockState.AVAILABLE, example.shelf.id): 1,
        (StockState.CONDEMNED, example.shelf.id): 1,
    }


def test_open_holds_lists_a_hold_until_each_of_its_lots_is_decided(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    receive_kits(db, example, range(1003, 1005), shipment_number="SHP-0002", lot="L2302")
    hold = _quarantine(db, example, location=example.shelf)
    _decide(db, example, hold, lot="L2301")
    with db.read_session() as session:
        assert [h.id for h in open_holds(session, example.study.id)] == [hold.id]
    _decide(db, example, hold, lot="L2302")
    with db.read_session() as session:
        assert open_holds(session, example.study.id) == []


def test_held_stock_follows_a_transfer_into_the_quarantine_room(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    hold = _quarantine(db, example, kit=_kit(db, "1001"))
    with db.unit_of_work() as session:
        transfer_stock(
            session,
            example.people.tech,
            lot=session.get_one(Lot, _lot(db).id),
            kit=session.get_one(Kit, _kit(db, "1001").id),
            from_location=example.shelf,
            to_location=example.quarantine,
            quantity=1,
            state=StockState.QUARANTINED,
        )
    with db.read_session() as session:
        held = held_stock(session, session.get_one(QuarantineHold, hold.id))
    assert held == [
        Balance(
            example.product.id,
            _lot(db).id,
            _kit(db, "1001").id,
            example.quarantine.id,
            StockState.QUARANTINED,
            1,
        )
    ]
    _decide(db, example, hold)
    assert _states(db, example) == {
        (StockState.AVAILABLE, example.shelf.id): 1,
        (StockState.AVAILABLE, example.quarantine.id): 1,
    }
