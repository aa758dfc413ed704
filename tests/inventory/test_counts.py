"""Physical counts: differences become discrepancies; a pharmacist resolves them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.counts import (
    CountedLine,
    discrepancies_of,
    open_discrepancies,
    record_count,
    resolve_discrepancy,
)
from ids_app.inventory.ledger import Place, quantity_at
from ids_app.inventory.models import (
    Discrepancy,
    DiscrepancyState,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    PhysicalCount,
    StockState,
)
from ids_app.studies.models import Product, Study
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.services import SignInRefused
from ids_app.users.signatures import signature_holds, signatures_of
from tests.factories import PASSWORD, Example, add_bulk_product, make_example, receive_kits

AVAILABLE = StockState.AVAILABLE


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1004))
    return ex


@pytest.fixture
def bulk_lot(db: Database, example: Example) -> Lot:
    """100 tablets of a bulk-counted rescue medication, lot R100, on IDS Shelf A."""
    product = add_bulk_product(db, example)
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.product_id == product.id)).one()


def _entries(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def _counts_recorded(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(PhysicalCount)) or 0


def _kit_lines(db: Database, numbers: list[str]) -> list[CountedLine]:
    with db.read_session() as session:
        kits = session.scalars(select(Kit).where(Kit.kit_number.in_(numbers))).all()
    return [CountedLine(kit.lot_id, kit.id, AVAILABLE, 1) for kit in kits]


def _count(
    db: Database, example: Example, lines: list[CountedLine], actor: User | None = None
) -> list[Discrepancy]:
    with db.unit_of_work() as session:
        count = record_count(
            session,
            actor or example.people.monitor,
            session.get_one(Study, example.study.id),
            session.get_one(Location, example.shelf.id),
            lines,
        )
        return discrepancies_of(session, count)


def _resolve(
    db: Database, discrepancy: Discrepancy, actor: User, reason: str = "found in the fridge log"
) -> Discrepancy:
    with db.unit_of_work() as session:
        return resolve_discrepancy(
            session, actor, session.get_one(Discrepancy, discrepancy.id), reason, PASSWORD
        )


def test_count_difference_becomes_a_discrepancy(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    with db.read_session() as session:
        kit = session.get_one(Kit, missing.kit_id)
    assert (kit.kit_number, missing.ledger_quantity, missing.counted_quantity) == ("1003", 1, 0)
    assert (missing.state, missing.status, missing.difference) == (
        AVAILABLE,
        DiscrepancyState.OPEN,
        -1,
    )


def test_a_count_that_matches_the_record_raises_nothing(db: Database, example: Example) -> None:
    assert _count(db, example, _kit_lines(db, ["1001", "1002", "1003"])) == []
    assert _counts_recorded(db) == 1


def test_stock_found_in_another_state_is_a_surplus_and_a_shortage(
    db: Database, example: Example
) -> None:
    kit_1003 = _kit_lines(db, ["1003"])[0]
    lines = [
        *_kit_lines(db, ["1001", "1002"]),
        CountedLine(kit_1003.lot_id, kit_1003.kit_id, StockState.QUARANTINED, 1),
    ]
    found = _count(db, example, lines)
    assert sorted((d.state, d.difference) for d in found) == [
        (AVAILABLE, -1),
        (StockState.QUARANTINED, 1),
    ]


def test_count_lines_follow_the_product_tracking(db: Database, example: Example) -> None:
    lot_id = _kit_lines(db, ["1001"])[0].lot_id
    with pytest.raises(InvalidInput, match="counted by kit"):
        _count(db, example, [CountedLine(lot_id, None, AVAILABLE, 3)])
    with pytest.raises(InvalidInput, match="count it as 1 or 0"):
        _count(db, example, [CountedLine(lot_id, _kit_lines(db, ["1001"])[0].kit_id, AVAILABLE, 2)])
    with pytest.raises(InvalidInput, match="zero or more"):
        _count(db, example, [CountedLine(lot_id, None, AVAILABLE, -1)])
    assert _counts_recorded(db) == 0


def test_only_stock_on_site_is_counted(db: Database, example: Example) -> None:
    line = _kit_lines(db, ["1001"])[0]
    with pytest.raises(InvalidInput, match="not dispensed stock"):
        _count(db, example, [CountedLine(line.lot_id, line.kit_id, StockState.DISPENSED, 1)])
    assert _counts_recorded(db) == 0


def test_a_technician_and_a_pharmacist_count_too(db: Database, example: Example) -> None:
    lines = _kit_lines(db, ["1001", "1002", "1003"])
    assert _count(db, example, lines, example.people.tech) == []
    assert _count(db, example, lines, example.people.pharm) == []
    with pytest.raises(PermissionDenied, match="may record a physical count"):
        _count(db, example, lines, example.people.admin)
    assert _counts_recorded(db) == 2


def test_monitor_cannot_resolve_a_discrepancy(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    before = _entries(db)
    for who in (example.people.monitor, example.people.tech):
        with pytest.raises(PermissionDenied, match="Only a pharmacist may resolve"):
            _resolve(db, missing, who)
    assert _entries(db) == before


def test_resolution_needs_a_reason(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    before = _entries(db)
    with pytest.raises(InvalidInput, match="Give the reason"):
        _resolve(db, missing, example.people.pharm, "   ")
    assert _entries(db) == before


def test_resolution_adjusts_the_ledger_with_a_reason(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    resolved = _resolve(db, missing, example.people.pharm, "kit broken, discarded unrecorded")
    assert (resolved.status, resolved.resolved_by_id, resolved.resolution) == (
        DiscrepancyState.RESOLVED,
        example.people.pharm.id,
        "kit broken, discarded unrecorded",
    )
    assert resolved.resolved_at is not None
    with db.read_session() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.discrepancy_id == missing.id)
        ).one()
        left = quantity_at(
            session, missing.lot_id, Place(AVAILABLE, example.shelf.id), entry.kit_id
        )
    assert (entry.kind, entry.from_state, entry.to_state, entry.quantity) == (
        EntryKind.ADJUST,
        AVAILABLE,
        None,
        1,
    )
    assert entry.reason == "kit broken, discarded unrecorded"
    assert left == 0


def test_a_surplus_is_added_to_the_record(db: Database, example: Example, bulk_lot: Lot) -> None:
    lines = [
        *_kit_lines(db, ["1001", "1002", "1003"]),
        CountedLine(bulk_lot.id, None, AVAILABLE, 104),
    ]
    (surplus,) = _count(db, example, lines)
    assert (surplus.ledger_quantity, surplus.counted_quantity) == (100, 104)
    with db.read_session() as session:
        assert session.get_one(Product, surplus.product_id).agent_name == "Rescue"
    _resolve(db, surplus, example.people.pharm, "a bottle of 4 was shelved unrecorded")
    with db.read_session() as session:
        assert quantity_at(session, bulk_lot.id, Place(AVAILABLE, example.shelf.id)) == 104


def test_a_discrepancy_is_resolved_once(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    _resolve(db, missing, example.people.pharm)
    before = _entries(db)
    with pytest.raises(InvalidInput, match="already resolved"):
        _resolve(db, missing, example.people.pharm)
    assert _entries(db) == before


def test_open_discrepancies_lists_those_awaiting_resolution(db: Database, example: Example) -> None:
    first, second = _count(db, example, _kit_lines(db, ["1001"]))
    _resolve(db, first, example.people.pharm)
    with db.read_session() as session:
        assert [d.id for d in open_discrepancies(session, example.study.id)] == [second.id]


def test_an_adjustment_is_signed_by_the_pharmacist(db: Database, example: Example) -> None:
    (missing,) = _count(db, example, _kit_lines(db, ["1001", "1002"]))
    with pytest.raises(SignInRefused), db.unit_of_work() as session:
        resolve_discrepancy(
            session, example.people.pharm, session.get_one(Discrepancy, missing.id), "lost", "no"
        )
    _resolve(db, missing, example.people.pharm)
    with db.read_session() as session:
        adjustment = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.ADJUST)
        ).one()
        (signature,) = signatures_of(session, adjustment)
        assert (signature.user_id, signature.meaning) == (
            example.people.pharm.id,
            SignatureMeaning.APPROVED,
        )
        assert signature_holds(signature, adjustment)
