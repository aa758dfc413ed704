"""Queries: the monitor asks, the site answers, the monitor closes or reopens."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.monitoring.models import MonitorQuery, QueryState, QueryStep, RecordKind
from ids_app.monitoring.services import answer_query, close_query, raise_query, reopen_query
from ids_app.monitoring.views import open_queries_for, query_rows
from ids_app.studies.models import Study
from ids_app.users.models import User
from tests.factories import Example, make_example, receive_kits
from tests.monitoring.support import other_monitor, shipment_id


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1011))
    return ex


def _raise(db: Database, example: Example, monitor: User | None = None) -> int:
    with db.unit_of_work() as session:
        return raise_query(
            session,
            monitor or example.people.monitor,
            session.get_one(Study, example.study.id),
            kind=RecordKind.RECEIPT,
            record_id=shipment_id(db),
            problem="The courier's temperature log is not on file.",
            request="File the logger download for SHP-0001.",
        ).id


def _answer(db: Database, user: User, query_id: int) -> None:
    with db.unit_of_work() as session:
        answer_query(
            session,
            user,
            session.get_one(MonitorQuery, query_id),
            answer="Logger download filed today.",
            correcting_action="Attached the transit log to SHP-0001.",
        )


def _ids(rows: list) -> list[int]:  # type: ignore[type-arg]
    return [row.id for row in rows]


def test_a_query_is_answered_by_the_site_and_closed_by_the_monitor(
    db: Database, example: Example
) -> None:
    people = example.people
    query_id = _raise(db, example)
    with db.read_session() as session:
        assert _ids(open_queries_for(session, people.tech)) == [query_id]
        assert _ids(open_queries_for(session, people.monitor)) == []
    _answer(db, people.tech, query_id)
    with db.read_session() as session:
        assert _ids(open_queries_for(session, people.tech)) == []
        assert _ids(open_queries_for(session, people.monitor)) == [query_id]
    with db.unit_of_work() as session:
        close_query(session, people.monitor, session.get_one(MonitorQuery, query_id))
    with db.read_session() as session:
        (row,) = query_rows(session, people.monitor, example.study.id)
        assert verify_database(session).intact
        assert open_queries_for(session, people.monitor) == []
    assert row.state is QueryState.CLOSED
    assert row.record.startswith("Receipt of ")
    assert [m.step for m in row.messages] == [
        QueryStep.RAISED,
        QueryStep.ANSWERED,
        QueryStep.CLOSED,
    ]
    assert row.last_answer is not None
    assert row.last_answer.correcting_action == "Attached the transit log to SHP-0001."


def test_a_reopened_query_waits_for_the_site_again_and_keeps_the_first_answer(
    db: Database, example: Example
) -> None:
    people = example.people
    query_id = _raise(db, example)
    _answer(db, people.pharm, query_id)
    with db.unit_of_work() as session:
        reopen_query(
            session,
            people.monitor,
            session.get_one(MonitorQuery, query_id),
            reason="The file attached is of another shipment.",
        )
    with db.read_session() as session:
        (row,) = query_rows(session, people.pharm, example.study.id)
        assert _ids(open_queries_for(session, people.pharm)) == [query_id]
        changes = session.scalars(
            select(AuditEntry.new_value).where(
                AuditEntry.table_name == "monitor_query", AuditEntry.field == "state"
            )
        ).all()
    assert row.state is QueryState.OPEN
    assert [m.text for m in row.messages][1:] == [
        "Logger download filed today.",
        "The file attached is of another shipment.",
    ]
    assert changes == ["answered", "open"]


def test_a_query_is_closed_only_once_the_site_answered(db: Database, example: Example) -> None:
    query_id = _raise(db, example)
    with pytest.raises(InvalidInput, match="once the site answers"), db.unit_of_work() as s:
        close_query(s, example.people.monitor, s.get_one(MonitorQuery, query_id))


def test_a_monitor_cannot_answer_their_own_query(db: Database, example: Example) -> None:
    query_id = _raise(db, example)
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist may answer"):
        _answer(db, example.people.monitor, query_id)


def test_monitor_cannot_raise_a_query_on_another_sponsors_study(
    db: Database, example: Example
) -> None:
    stranger = other_monitor(db, example.people.admin)
    with pytest.raises(PermissionDenied, match="not assigned"):
        _raise(db, example, stranger)
    with db.read_session() as session:
        assert query_rows(session, stranger, example.study.id) == []


def test_a_query_names_a_record_of_the_study(db: Database, example: Example) -> None:
    with pytest.raises(Exception, match="has no receipt 999"), db.unit_of_work() as session:
        raise_query(
            session,
            example.people.monitor,
            session.get_one(Study, example.study.id),
            kind=RecordKind.RECEIPT,
            record_id=999,
            problem="?",
            request="?",
        )
