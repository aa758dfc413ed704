"""My work's day list: by role, across studies, each item naming where it is done."""

from __future__ import annotations

import datetime as dt

from ids_app.db import Database
from ids_app.inventory.models import Location
from ids_app.storage.readings import record_daily_reading
from ids_app.users.models import User
from ids_app.work.day_list import WORK_KINDS, WorkItem, day_list, kinds_for
from tests.factories import TODAY, make_example, receive_kits

SOON = TODAY + dt.timedelta(days=10)  # before the end of a 28 days' supply


def _items(db: Database, user: User, kind: str, day: dt.date = TODAY) -> list[WorkItem]:
    with db.read_session() as session:
        queues = {queue.kind.key: queue.items for queue in day_list(session, user, day)}
    return queues[kind]


def test_each_role_gets_its_own_kinds_of_work(db: Database) -> None:
    people = make_example(db).people
    assert [kind.key for kind in kinds_for(people.tech)] == [
        "to_prepare",
        "temperature",
        "to_pull",
        "to_count",
        "shipments",
        "queries",
    ]
    assert [kind.key for kind in kinds_for(people.pharm)] == [
        "to_verify",
        "to_prepare",
        "shipments",
        "holds",
        "discrepancies",
        "queries",
    ]
    assert [kind.key for kind in kinds_for(people.monitor)] == ["queries", "returns_to_verify"]


def test_every_kind_says_what_it_is_and_what_an_empty_list_means() -> None:
    assert len({kind.key for kind in WORK_KINDS}) == len(WORK_KINDS)
    for kind in WORK_KINDS:
        assert kind.title, kind.key
        assert kind.when_title, kind.key
        assert kind.empty.endswith("."), kind.key


def test_a_location_without_todays_reading_is_due_until_it_is_read(db: Database) -> None:
    example = make_example(db)
    tech = example.people.tech
    due = _items(db, tech, "temperature")
    assert "Read IDS Fridge 1 (2 to 8 °C)" in [item.what for item in due]
    assert "Returns" not in " ".join(item.what for item in due)  # returns are never read
    fridge = next(item for item in due if "Fridge" in item.what)
    assert (fridge.tab, fridge.record, fridge.record_id) == (
        "temperature",
        "location",
        example.fridge.id,
    )
    with db.unit_of_work() as session:
        record_daily_reading(
            session, tech, session.get_one(Location, example.fridge.id), current=4.5
        )
    assert "Read IDS Fridge 1 (2 to 8 °C)" not in [i.what for i in _items(db, tech, "temperature")]


def test_stock_expiring_within_the_days_supply_is_to_pull_one_line_per_lot(db: Database) -> None:
    example = make_example(db)
    receive_kits(db, example, range(1001, 1004), lot="L-SOON", expiry=SOON)
    receive_kits(db, example, range(1004, 1006), shipment_number="SHP-0002")
    [item] = _items(db, example.people.tech, "to_pull")
    assert item.what == (
        f"Pull lot L-SOON (3 kits) from IDS Shelf A: expires {SOON:%Y-%m-%d}, "
        "within the 28 days' supply"
    )
    assert (item.tab, item.record, item.protocol_number) == ("inventory", "lot", "ABC-123")
    later = SOON + dt.timedelta(days=1)
    [expired] = _items(db, example.people.tech, "to_pull", later + dt.timedelta(days=10))
    assert f"expired {SOON:%Y-%m-%d}" in expired.what
