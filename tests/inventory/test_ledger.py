"""The ledger: append-only, balances derived, never negative, corrected by reversal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.ledger import (
    NotEnoughStock,
    Place,
    move,
    quantity_at,
    reverse_entry,
    study_balances,
    study_stock,
)
from ids_app.inventory.models import EntryKind, Kit, LedgerEntry, Lot, StockState
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.tampering import raw_sql


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _lot(db: Database) -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot)).one()


def test_balances_are_derived_per_lot_location_state_and_kit(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1006))
    with db.read_session() as session:
        rows = study_balances(session, example.study.id)
    assert len(rows) == 5
    assert {(row.location_id, row.state, row.quantity) for row in rows} == {
        (example.shelf.id, StockState.AVAILABLE, 1)
    }


def test_transfer_cannot_overdraw_a_location(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1003))
    lot = _lot(db)
    with pytest.raises(NotEnoughStock, match="Kit 1001 is not available at IDS Fridge 1"):
        with db.unit_of_work() as session:
            move(
                session,
                example.people.tech,
                kind=EntryKind.TRANSFER,
                study_id=example.study.id,
                lot_id=lot.id,
                kit_id=_kit_id(db, "1001"),
                quantity=1,
                source=Place(StockState.AVAILABLE, example.fridge.id),
                target=Place(StockState.AVAILABLE, example.shelf.id),
            )


def _kit_id(db: Database, number: str) -> int:
    with db.read_session() as session:
        return session.scalars(select(Kit.id).where(Kit.kit_number == number)).one()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE ledger_entry SET quantity = 2", "DELETE FROM ledger_entry"],
)
def test_raw_sql_cannot_change_ledger_rows(db: Database, example: Example, statement: str) -> None:
    receive_kits(db, example, range(1001, 1003))
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(db, statement)


def test_reversal_names_the_original_and_restores_the_balance(
    db: Database, example: Example
) -> None:
    receive_kits(db, example, range(1001, 1003))
    with db.read_session() as session:
        first = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()
    assert first is not None
    with db.unit_of_work() as session:
        reversal = reverse_entry(
            session, example.people.pharm, first.id, "kit keyed twice", PASSWORD
        )
    assert reversal.reverses_id == first.id
    assert reversal.reason == "kit keyed twice"
    with db.read_session() as session:
        place = Place(StockState.AVAILABLE, example.shelf.id)
        assert quantity_at(session, first.lot_id, place, first.kit_id) == 0
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 3


def test_an_entry_is_reversed_only_once(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1002))
    with db.read_session() as session:
        entry_id = session.scalars(select(LedgerEntry.id)).one()
    with db.unit_of_work() as session:
        reverse_entry(session, example.people.pharm, entry_id, "wrong study", PASSWORD)
    with pytest.raises(InvalidInput, match="already been reversed"), db.unit_of_work() as session:
        reverse_entry(session, example.people.pharm, entry_id, "again", PASSWORD)


def test_reversal_needs_a_reason_and_a_pharmacist(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1002))
    with db.read_session() as session:
        entry_id = session.scalars(select(LedgerEntry.id)).one()
    with pytest.raises(PermissionDenied), db.unit_of_work() as session:
        reverse_entry(session, example.people.tech, entry_id, "mine", PASSWORD)
    with pytest.raises(InvalidInput, match="reason"), db.unit_of_work() as session:
        reverse_entry(session, example.people.pharm, entry_id, "", PASSWORD)


@pytest.mark.parametrize("quantity", [0, -3])
def test_quantity_must_be_positive(db: Database, example: Example, quantity: int) -> None:
    receive_kits(db, example, range(1001, 1002))
    lot = _lot(db)
    with pytest.raises(InvalidInput, match="whole number"), db.unit_of_work() as session:
        move(
            session,
            example.people.tech,
            kind=EntryKind.ADJUST,
            study_id=example.study.id,
            lot_id=lot.id,
            quantity=quantity,
            source=None,
            target=Place(StockState.AVAILABLE, example.shelf.id),
        )


def test_study_stock_sums_kits_per_lot_location_and_state(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1001, 1006))
    with db.read_session() as session:
        (line,) = study_stock(session, example.study.id)
    assert (line.location_id, line.state, line.quantity, line.kit_id) == (
        example.shelf.id,
        StockState.AVAILABLE,
        5,
        None,
    )
