"""Expiry: what runs out soon, what has run out, without anyone acting."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.inventory.expiry import expiring_stock, is_expired
from ids_app.inventory.models import (
    HoldDecisionKind,
    HoldReason,
    Kit,
    Lot,
    QuarantineHold,
    StockState,
)
from ids_app.inventory.quarantine import decide_hold, quarantine_stock
from ids_app.studies.models import Study
from tests.factories import PASSWORD, TODAY, Example, make_example, receive_kits

SOON = TODAY + dt.timedelta(days=20)
LATER = TODAY + dt.timedelta(days=200)


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1003), lot="L-SOON", expiry=SOON)
    receive_kits(db, ex, range(1003, 1005), shipment_number="SHP-0002", lot="L-LATER", expiry=LATER)
    return ex


def _lot(db: Database, number: str) -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.lot_number == number)).one()


def test_a_lot_is_usable_through_its_expiry_date() -> None:
    lot = Lot(lot_number="L1", expiry=dt.date(2026, 3, 31))
    assert not is_expired(lot, dt.date(2026, 3, 31))
    assert is_expired(lot, dt.date(2026, 4, 1))


def test_expiring_stock_lists_lots_expiring_within_the_window(
    db: Database, example: Example
) -> None:
    with db.read_session() as session:
        found = expiring_stock(session, example.study.id, within_days=30)
    assert [(row.lot_number, row.kit_number, row.expired) for row in found] == [
        ("L-SOON", "1001", False),
        ("L-SOON", "1002", False),
    ]
    assert {(row.location_id, row.state, row.quantity) for row in found} == {
        (example.shelf.id, StockState.AVAILABLE, 1)
    }


def test_expired_stock_is_listed_and_flagged(db: Database, example: Example) -> None:
    later_day = SOON + dt.timedelta(days=1)
    with db.read_session() as session:
        found = expiring_stock(session, example.study.id, within_days=0, today=later_day)
    assert {(row.lot_number, row.expired) for row in found} == {("L-SOON", True)}


def test_held_stock_is_listed_and_condemned_stock_is_not(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        hold = quarantine_stock(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            reason=HoldReason.RECALL,
            details="Sponsor recall notice R-7",
            kit=session.scalars(select(Kit).where(Kit.kit_number == "1001")).one(),
        )
    with db.read_session() as session:
        found = expiring_stock(session, example.study.id, within_days=30)
    assert {(row.kit_number, row.state) for row in found} == {
        ("1001", StockState.QUARANTINED),
        ("1002", StockState.AVAILABLE),
    }
    with db.unit_of_work() as session:
        decide_hold(
            session,
            example.people.pharm,
            session.get_one(QuarantineHold, hold.id),
            session.get_one(Lot, _lot(db, "L-SOON").id),
            decision=HoldDecisionKind.CONDEMN,
            sponsor_reference="Recall R-7",
            password=PASSWORD,
        )
    with db.read_session() as session:
        found = expiring_stock(session, example.study.id, within_days=30)
    assert [row.kit_number for row in found] == ["1002"]


def test_the_window_is_zero_days_or_more(db: Database, example: Example) -> None:
    with db.read_session() as session, pytest.raises(InvalidInput, match="zero or more"):
        expiring_stock(session, example.study.id, within_days=-1)
