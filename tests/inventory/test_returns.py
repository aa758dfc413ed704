"""Returns: counted, never more than dispensed, never dispensable again, verified by a monitor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction
from functools import partial

import pytest
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database, simulated_clock, today
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import DispenseRefused, dispensed_on
from ids_app.inventory.ledger import Place, quantity_at, reverse_entry, study_balances
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    LedgerEntry,
    Location,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.returns import (
    ReturnRefused,
    compliance,
    compliance_between,
    record_return,
    returns_awaiting_monitor,
    verify_return,
)
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.services import SignInRefused
from ids_app.users.signatures import signature_holds, signatures_of
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.inventory.test_dispensing import (
    add_bulk_product,
    dispense_kit,
    kit_named,
    order_kit,
    prepare,
    refused,
    verify,
)


@pytest.fixture
def example(db: Database) -> Example:
    """The DOMAIN.md study with its 20 kits (1001-1020) of lot L2301 on IDS Shelf A."""
    example = make_example(db)
    receive_kits(db, example)
    return example


def record(
    db: Database,
    example: Example,
    order_id: int,
    *,
    returned_on: dt.date | None = None,
    quantity: int = 1,
    units_counted: int = 3,
    location: Location | None = None,
    by: User | None = None,
) -> SubjectReturn:
    with db.unit_of_work() as session:
        return record_return(
            session,
            by or example.people.tech,
            session.get_one(DispenseOrder, order_id),
            returned_on=returned_on or today(),
            quantity=quantity,
            units_counted=units_counted,
            condition="bottle opened",
            location=location or example.returns,
        )


def monitor_verifies(
    db: Database, return_id: int, by: User, password: str = PASSWORD
) -> SubjectReturn:
    with db.unit_of_work() as session:
        subject_return = session.get_one(SubjectReturn, return_id)
        return verify_return(session, by, subject_return, password=password)


def _dispense_date(db: Database, order_id: int) -> dt.date:
    with db.read_session() as session:
        return dispensed_on(session.get_one(DispenseOrder, order_id))


@contextmanager
def days_after_dispense(db: Database, order_id: int, days: int) -> Iterator[dt.date]:
    """Travel to noon (local) ``days`` after the dispense; yields that date."""
    day = _dispense_date(db, order_id) + dt.timedelta(days=days)
    with simulated_clock(dt.datetime.combine(day, dt.time(12)).astimezone()):
        yield day


def _dispense_bulk(db: Database, example: Example) -> int:
    product_id = add_bulk_product(db, example)
    order_id = order_kit(db, example, None, product_id=product_id)
    prepare(db, example, order_id, kit_number=None, lot_number="B100")
    verify(db, example, order_id)
    return order_id


# -- recording a return --------------------------------------------------------------------


def test_returned_kit_waits_in_returns_and_is_linked_to_its_dispense(
    db: Database, example: Example
) -> None:
    order_id = dispense_kit(db, example)
    returned = record(db, example, order_id, units_counted=3)
    kit = kit_named(db, "1007")
    with db.read_session() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.subject_return_id == returned.id)
        ).one()
        assert (entry.kind, entry.dispense_order_id, entry.kit_id) == (
            EntryKind.RETURN,
            order_id,
            kit.id,
        )
        assert (entry.from_state, entry.to_state, entry.to_location_id) == (
            StockState.DISPENSED,
            StockState.RETURNED,
            example.returns.id,
        )
        assert quantity_at(session, kit.lot_id, Place(StockState.DISPENSED), kit.id) == 0
        returns_place = Place(StockState.RETURNED, example.returns.id)
        assert quantity_at(session, kit.lot_id, returns_place, kit.id) == 1
    assert (returned.units_counted, returned.condition, returned.counted_by_id) == (
        3,
        "bottle opened",
        example.people.tech.id,
    )


def test_return_cannot_exceed_dispensed(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    message = refused(
        db,
        ReturnRefused,
        "dispensed 1 kit and none has come back yet, so at most 1 can still come back, not 2",
        lambda: record(db, example, order_id, quantity=2),
    )
    assert message.startswith(f"Order {order_id} (kit ")
    record(db, example, order_id)
    refused(
        db,
        ReturnRefused,
        "dispensed 1 kit, all already back: nothing more can be returned on it",
        lambda: record(db, example, order_id),
    )


def test_partial_bulk_returns_add_up_to_at_most_what_was_dispensed(
    db: Database, example: Example
) -> None:
    order_id = _dispense_bulk(db, example)
    record(db, example, order_id, quantity=10, units_counted=10)
    second = record(db, example, order_id, quantity=5, units_counted=5)
    refused(
        db,
        ReturnRefused,
        f"Order {order_id} dispensed 60 tablets and 15 have already come back, so at most 45 "
        "can still come back, not 46.",
        lambda: record(db, example, order_id, quantity=46, units_counted=46),
    )
    with db.read_session() as session:
        result = compliance(session, session.get_one(SubjectReturn, second.id))
    assert (result.units_dispensed, result.units_returned) == (60, 15)


def test_counted_units_cannot_exceed_what_a_kit_holds(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    refused(
        db,
        ReturnRefused,
        "holds at most 30 tablets; a count of 31 is more than that. Count again.",
        lambda: record(db, example, order_id, units_counted=31),
    )
    assert record(db, example, order_id, units_counted=30).units_counted == 30


def test_bulk_units_counted_are_the_quantity_returned(db: Database, example: Example) -> None:
    order_id = _dispense_bulk(db, example)
    refused(
        db,
        ReturnRefused,
        r"the units counted \(9\) are the quantity returned \(10\)",
        lambda: record(db, example, order_id, quantity=10, units_counted=9),
    )


def test_return_date_cannot_precede_dispense(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    given = _dispense_date(db, order_id)
    before = given - dt.timedelta(days=1)
    refused(
        db,
        ReturnRefused,
        f"The return date {before:%Y-%m-%d} is before the dispense date {given:%Y-%m-%d}",
        lambda: record(db, example, order_id, returned_on=before),
    )


def test_return_date_cannot_be_in_the_future(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    tomorrow = today() + dt.timedelta(days=1)
    refused(
        db,
        ReturnRefused,
        "is in the future",
        lambda: record(db, example, order_id, returned_on=tomorrow),
    )


def test_a_return_entered_late_keeps_its_date_and_follows_the_dispense(
    db: Database, example: Example
) -> None:
    order_id = dispense_kit(db, example)
    with days_after_dispense(db, order_id, 30) as later:
        returned_on = later - dt.timedelta(days=2)
        returned = record(db, example, order_id, returned_on=returned_on)
    with db.read_session() as session:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.dispense_order_id == order_id)
            .order_by(LedgerEntry.id)
        ).all()
    assert returned.returned_on == returned_on
    dispense, back = entries
    assert dispense.occurred_at < back.occurred_at < back.recorded_at


def test_returned_drug_goes_only_to_a_returns_location(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    refused(
        db,
        ReturnRefused,
        "IDS Shelf A is not a returns location",
        lambda: record(db, example, order_id, location=example.shelf),
    )


def test_only_dispensed_drug_comes_back(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    refused(
        db,
        ReturnRefused,
        f"Order {order_id} is prepared; only dispensed drug comes back",
        lambda: record(db, example, order_id),
    )


def test_a_monitor_does_not_record_returns(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    refused(
        db,
        PermissionDenied,
        "Only a technician or pharmacist may record returns",
        lambda: record(db, example, order_id, by=example.people.monitor),
    )


def test_returned_units_never_become_dispensable(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    returned = record(db, example, order_id)
    again = order_kit(db, example, "1007")
    refused(
        db,
        DispenseRefused,
        "Kit 1007 is returned at Returns; only available stock is dispensed",
        lambda: prepare(db, example, again),
    )
    refused(
        db,
        DispenseRefused,
        "Returns is a returns location",
        lambda: prepare(db, example, again, location=example.returns),
    )
    with db.read_session() as session:
        entry_id = session.scalars(
            select(LedgerEntry.id).where(LedgerEntry.subject_return_id == returned.id)
        ).one()

    def reverse() -> object:
        with db.unit_of_work() as session:
            return reverse_entry(session, example.people.pharm, entry_id, "put it back", PASSWORD)

    refused(db, InvalidInput, "corrected from its own record", reverse)
    with db.read_session() as session:
        back_on_shelf = session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.from_state == StockState.RETURNED,
                LedgerEntry.to_state == StockState.AVAILABLE,
            )
        ).all()
        states = {(row.state, row.quantity) for row in study_balances(session, example.study.id)}
    assert back_on_shelf == []
    assert (StockState.RETURNED, 1) in states


def test_returned_bulk_units_are_not_added_to_the_shelf_balance(
    db: Database, example: Example
) -> None:
    order_id = _dispense_bulk(db, example)
    record(db, example, order_id, quantity=12, units_counted=12)
    with db.read_session() as session:
        lot_id = session.get_one(DispenseOrder, order_id).lot_id
        assert lot_id is not None
        assert quantity_at(session, lot_id, Place(StockState.AVAILABLE, example.shelf.id)) == 440
        returns_place = Place(StockState.RETURNED, example.returns.id)
        assert quantity_at(session, lot_id, returns_place) == 12


# -- compliance ----------------------------------------------------------------------------


def test_compliance_of_the_domain_example_is_27_of_28() -> None:
    dispensed = dt.date(2026, 3, 2)
    result = compliance_between(
        dispensed_on=dispensed,
        returned_on=dispensed + dt.timedelta(days=28),
        units_dispensed=30,
        units_returned=3,
        doses_per_day=1,
    )
    assert (result.units_taken, result.units_expected) == (27, Fraction(28))
    assert result.ratio == Fraction(27, 28)
    assert str(result.percent) == "96.4"  # DOMAIN.md: 27/28, 96 %; one decimal


def test_compliance_counts_every_dose_of_the_day() -> None:
    result = compliance_between(
        dispensed_on=dt.date(2026, 3, 2),
        returned_on=dt.date(2026, 3, 30),
        units_dispensed=60,
        units_returned=4,
        doses_per_day=2,
    )
    assert (result.days, result.units_taken, result.units_expected) == (28, 56, Fraction(56))
    assert result.percent == 100


def test_compliance_reads_a_fractional_daily_dose_as_written() -> None:
    result = compliance_between(
        dispensed_on=dt.date(2026, 3, 2),
        returned_on=dt.date(2026, 3, 12),
        units_dispensed=10,
        units_returned=9,
        doses_per_day=0.1,
    )
    assert result.units_expected == 1
    assert result.percent == 100


def test_compliance_of_a_same_day_return_has_no_ratio() -> None:
    day = dt.date(2026, 3, 2)
    result = compliance_between(
        dispensed_on=day, returned_on=day, units_dispensed=30, units_returned=30, doses_per_day=1
    )
    assert (result.units_expected, result.ratio, result.percent) == (Fraction(0), None, None)


def test_compliance_has_one_decimal_as_the_protocol_states_it() -> None:
    result = compliance_between(
        dispensed_on=dt.date(2026, 3, 2),
        returned_on=dt.date(2026, 3, 30),
        units_dispensed=60,
        units_returned=12,
        doses_per_day=2,
    )  # 48 of 56 taken
    assert str(result.percent) == "85.7"


def test_compliance_halves_round_up_at_the_decimal() -> None:
    result = compliance_between(
        dispensed_on=dt.date(2026, 3, 2),
        returned_on=dt.date(2026, 3, 18),
        units_dispensed=30,
        units_returned=23,
        doses_per_day=1,
    )  # 7 of 16 taken: 43.75 %
    assert str(result.percent) == "43.8"


def test_compliance_of_54_or_104_percent_is_flagged_and_82_or_100_is_not() -> None:
    def concern(taken: int) -> str | None:
        return compliance_between(
            dispensed_on=dt.date(2026, 3, 1),
            returned_on=dt.date(2026, 3, 29),
            units_dispensed=30,
            units_returned=30 - taken,
            doses_per_day=1,
        ).concern

    low, high = concern(15), concern(29)  # 15/28 is 53.6 %, 29/28 is 103.6 %
    assert low is not None
    assert low.startswith("below 80 %: fewer doses taken than prescribed")
    assert high is not None
    assert high.startswith("above 100 %: more taken than prescribed; count again")
    assert concern(23) is None  # 82.1 %
    assert concern(28) is None  # 100 %


def test_compliance_of_a_recorded_return_uses_its_dates_and_kit_size(
    db: Database, example: Example
) -> None:
    order_id = dispense_kit(db, example)
    with days_after_dispense(db, order_id, 14) as day:
        returned = record(db, example, order_id, returned_on=day, units_counted=16)
    with db.read_session() as session:
        result = compliance(session, session.get_one(SubjectReturn, returned.id))
    assert (result.days, result.units_dispensed, result.units_returned) == (14, 30, 16)
    assert (result.units_taken, result.percent) == (14, Decimal(100))


# -- the monitor's verification ------------------------------------------------------------


def test_only_a_monitor_verifies_returns(db: Database, example: Example) -> None:
    returned = record(db, example, dispense_kit(db, example))
    people = example.people
    for who in (people.tech, people.pharm, people.admin):
        refused(
            db,
            PermissionDenied,
            "Only a monitor may verify returns",
            partial(monitor_verifies, db, returned.id, who),
        )
    verified = monitor_verifies(db, returned.id, people.monitor)
    assert verified.monitor_verified_by_id == people.monitor.id
    with db.read_session() as session:
        subject_return = session.get_one(SubjectReturn, returned.id)
        (signature,) = signatures_of(session, subject_return)
        assert (signature.meaning, signature.printed_name) == (
            SignatureMeaning.VERIFIED,
            "Morgan Monitor",
        )
        assert signature_holds(signature, subject_return)


def test_a_return_is_verified_once(db: Database, example: Example) -> None:
    returned = record(db, example, dispense_kit(db, example))
    monitor_verifies(db, returned.id, example.people.monitor)
    refused(
        db,
        ReturnRefused,
        "already verified by the monitor",
        lambda: monitor_verifies(db, returned.id, example.people.monitor),
    )


def test_wrong_password_at_return_verification_changes_nothing_but_is_recorded(
    db: Database, example: Example
) -> None:
    returned = record(db, example, dispense_kit(db, example))
    refused(
        db,
        SignInRefused,
        "password is wrong",
        lambda: monitor_verifies(db, returned.id, example.people.monitor, "not-mine-1"),
    )
    with db.read_session() as session:
        assert session.get_one(SubjectReturn, returned.id).monitor_verified_at is None
        failures = session.scalars(
            select(AuditEntry.username).where(AuditEntry.action == "signature_failed")
        ).all()
    assert failures == ["monitor"]


def test_returns_awaiting_monitor_are_the_unverified_ones(db: Database, example: Example) -> None:
    first = record(db, example, dispense_kit(db, example, "1007"))
    second = record(db, example, dispense_kit(db, example, "1008"))
    with db.read_session() as session:
        waiting = returns_awaiting_monitor(session, example.study.id)
    assert [r.id for r in waiting] == [first.id, second.id]
    monitor_verifies(db, first.id, example.people.monitor)
    with db.read_session() as session:
        assert [r.id for r in returns_awaiting_monitor(session, example.study.id)] == [second.id]
