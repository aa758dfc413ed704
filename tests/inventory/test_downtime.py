"""A downtime morning from the paper log, entered afterwards as one batch."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ids_app.db import Database, simulated_clock
from ids_app.inventory.downtime import DowntimeRowRefused, PaperDispense, enter_downtime_dispenses
from ids_app.inventory.models import DispenseOrder, LedgerEntry, OrderState
from ids_app.studies.models import Study
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.inventory.test_late_entries import DOWNTIME, EXPIRES, at


@pytest.fixture
def example(db: Database) -> Example:
    example = make_example(db)
    receive_kits(db, example, expiry=EXPIRES)
    return example


def paper_row(example: Example, kit: str, when: dt.datetime) -> PaperDispense:
    return PaperDispense(
        subject_code="01-004",
        item_code=kit,
        visit="Visit 2",
        product_id=example.product.id,
        prescriber_id=example.prescriber.id,
        location_id=example.shelf.id,
        dispensed_at=when,
        prepared_by="J. Tech (paper initials JT)",
        verified_by="P. Pharm (paper initials PP)",
    )


def enter(db: Database, example: Example, rows: list[PaperDispense]) -> list[int]:
    with db.unit_of_work() as session:
        orders = enter_downtime_dispenses(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            downtime_reason=DOWNTIME,
            rows=rows,
            password=PASSWORD,
            pharmacist_username=example.people.pharm.username,
            pharmacist_password=PASSWORD,
        )
        return [order.id for order in orders]


def test_a_downtime_morning_is_entered_with_its_times_and_the_papers_people(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(10, 11)):
        ids = enter(
            db,
            example,
            [paper_row(example, "1007", at(10, 7, 40)), paper_row(example, "1008", at(10, 8, 5))],
        )
    with db.read_session() as session:
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.dispense_order_id.in_(ids))
        ).all()
        states = {session.get_one(DispenseOrder, i).state for i in ids}
    assert states == {OrderState.DISPENSED}
    assert [entry.occurred_at for entry in entries] == [at(10, 7, 40), at(10, 8, 5)]
    for entry in entries:
        assert entry.late_reason is not None
        assert entry.late_reason.startswith(DOWNTIME)
        assert "prepared by J. Tech" in entry.late_reason
        assert "verified by P. Pharm" in entry.late_reason


def test_a_refused_row_says_why_and_nothing_of_the_batch_is_written(
    db: Database, example: Example
) -> None:
    rows = [paper_row(example, "1007", at(10, 7, 40)), paper_row(example, "1007", at(10, 8, 5))]
    with (
        simulated_clock(at(10, 11)),
        pytest.raises(DowntimeRowRefused, match=r"Row 2 \(01-004, 1007\)"),
    ):
        enter(db, example, rows)
    with db.read_session() as session:
        assert session.scalar(select(DispenseOrder.id)) is None


def test_a_paper_row_entered_within_the_delay_still_names_the_papers_people(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(10, 8, 30)):  # 25 minutes after: not a late entry
        (order_id,) = enter(db, example, [paper_row(example, "1007", at(10, 8, 5))])
    with db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.dispense_order_id == order_id)
        ).one()
    assert entry.late_reason is None
    for typed in (order.prepared_typed_reason, order.verified_typed_reason):
        assert typed is not None
        assert "prepared by J. Tech" in typed
        assert "verified by P. Pharm" in typed
