"""Shipment notices: a shipment the depot announced waits on the day list until received."""

from __future__ import annotations

import datetime as dt

import pytest

from ids_app.audit.integrity import verify_database
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.models import ExpectedShipment
from ids_app.inventory.shipment_notices import announce_shipment, shipments_expected
from ids_app.studies.models import Study
from ids_app.users.models import User
from ids_app.work.day_list import day_list
from tests.factories import TODAY, Example, make_example, receive_kits


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def announce(
    db: Database,
    example: Example,
    number: str = "SHP-0001",
    *,
    by: User | None = None,
    expected_on: dt.date = TODAY + dt.timedelta(days=2),
) -> ExpectedShipment:
    with db.unit_of_work() as session:
        return announce_shipment(
            session,
            by or example.people.tech,
            session.get_one(Study, example.study.id),
            shipment_number=number,
            sender="Acme Depot",
            expected_on=expected_on,
            today=TODAY,
            tracking_number="1Z999",
        )


def expected(db: Database, user: User) -> list[str]:
    with db.read_session() as session:
        return [row.shipment_number for row in shipments_expected(session, user)]


def test_an_announced_shipment_is_expected_until_its_receipt_is_recorded(
    db: Database, example: Example
) -> None:
    announce(db, example)
    assert expected(db, example.people.tech) == ["SHP-0001"]
    with db.read_session() as session:
        queues = {q.kind.key: q.items for q in day_list(session, example.people.tech, TODAY)}
    [item] = queues["shipments"]
    assert (item.what, item.tab, item.record) == (
        "Shipment SHP-0001 from Acme Depot",
        "receiving",
        "expected_shipment",
    )
    assert item.note == ""
    receive_kits(db, example)  # shipment SHP-0001
    assert expected(db, example.people.tech) == []
    with db.read_session() as session:
        report = verify_database(session)
    assert report.intact, [finding.line() for finding in report.findings]


def test_an_overdue_shipment_says_so(db: Database, example: Example) -> None:
    announce(db, example, expected_on=TODAY - dt.timedelta(days=3))
    with db.read_session() as session:
        queues = {q.kind.key: q.items for q in day_list(session, example.people.pharm, TODAY)}
    assert queues["shipments"][0].note == "overdue: ask the depot or the courier"


def test_a_notice_twice_or_for_a_received_shipment_is_refused(
    db: Database, example: Example
) -> None:
    announce(db, example, "SHP-0002")
    with pytest.raises(InvalidInput, match="already expected"):
        announce(db, example, "SHP-0002")
    receive_kits(db, example)
    with pytest.raises(InvalidInput, match="already received on"):
        announce(db, example, "SHP-0001")
    with pytest.raises(InvalidInput, match="more than 90 days ahead"):
        announce(db, example, "SHP-0003", expected_on=TODAY + dt.timedelta(days=200))
    assert expected(db, example.people.tech) == ["SHP-0002"]


def test_a_monitor_records_no_shipment_notice(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied):
        announce(db, example, by=example.people.monitor)
