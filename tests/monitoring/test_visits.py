"""A monitoring visit as a record: opened, records reviewed, notes, closed signed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import REFUSED
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.monitoring.models import MonitoringVisit, RecordKind, VisitReview, VisitState
from ids_app.monitoring.records import CHANGED, NOT_REVIEWED, REVIEWED, record_rows
from ids_app.monitoring.services import (
    VisitClosed,
    add_visit_note,
    close_visit,
    mark_period_reviewed,
    mark_reviewed,
)
from ids_app.monitoring.views import visit_notes, visit_rows
from ids_app.users.services import SignInRefused
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit
from tests.monitoring.support import other_monitor, reverse_receipt_of, shipment_id, visit_of
from tests.tampering import raw_sql


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1011))
    dispense_kit(db, ex, "1007")
    return ex


def _statuses(db: Database, example: Example) -> dict[tuple[RecordKind, int], str]:
    with db.read_session() as session:
        return {(r.kind, r.record_id): r.status for r in record_rows(session, example.study.id)}


def test_a_monitor_reviews_a_receipt_then_the_whole_period(db: Database, example: Example) -> None:
    visit = visit_of(db, example)
    receipt = (RecordKind.RECEIPT, shipment_id(db))
    assert _statuses(db, example)[receipt] == NOT_REVIEWED
    with db.unit_of_work() as session:
        mark_reviewed(
            session,
            example.people.monitor,
            session.get_one(MonitoringVisit, visit.id),
            RecordKind.RECEIPT,
            [receipt[1]],
        )
    statuses = _statuses(db, example)
    assert statuses[receipt] == REVIEWED
    assert [s for key, s in statuses.items() if key[0] is RecordKind.DISPENSE] == [NOT_REVIEWED]
    with db.unit_of_work() as session:
        reviews = mark_period_reviewed(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id)
        )
    assert [review.kind for review in reviews] == [RecordKind.DISPENSE]
    assert set(_statuses(db, example).values()) == {REVIEWED}


def test_a_reversal_after_the_review_shows_the_receipt_changed_until_reviewed_again(
    db: Database, example: Example
) -> None:
    visit = visit_of(db, example)
    receipt = (RecordKind.RECEIPT, shipment_id(db))
    with db.unit_of_work() as session:
        mark_period_reviewed(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id)
        )
    reverse_receipt_of(db, example, "1003")
    assert _statuses(db, example)[receipt] == CHANGED
    with db.unit_of_work() as session:
        again = mark_period_reviewed(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id)
        )
    assert [(r.kind, r.record_id) for r in again] == [receipt]
    assert _statuses(db, example)[receipt] == REVIEWED


def test_the_visit_is_closed_with_the_monitors_reviewed_signature(
    db: Database, example: Example
) -> None:
    visit = visit_of(db, example)
    with db.unit_of_work() as session:
        add_visit_note(
            session,
            example.people.monitor,
            session.get_one(MonitoringVisit, visit.id),
            "Returns shelf tidy; logger in place.",
        )
        signature = close_visit(
            session,
            example.people.monitor,
            session.get_one(MonitoringVisit, visit.id),
            password=PASSWORD,
        )
        assert signature.meaning.value == "reviewed"
    with db.read_session() as session:
        (row,) = visit_rows(session, example.people.monitor, example.study.id)
        notes = visit_notes(session, visit.id)
        report = verify_database(session)
    assert row.state is VisitState.CLOSED
    assert row.signature is not None
    assert "Morgan Monitor, Monitor — Reviewed —" in row.signature
    assert [note.text for note in notes] == ["Returns shelf tidy; logger in place."]
    assert report.intact, report.findings
    with pytest.raises(VisitClosed, match="closed and signed"), db.unit_of_work() as session:
        add_visit_note(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id), "late"
        )


def test_a_wrong_password_leaves_the_visit_open(db: Database, example: Example) -> None:
    visit = visit_of(db, example)
    with pytest.raises(SignInRefused), db.unit_of_work() as session:
        close_visit(
            session,
            example.people.monitor,
            session.get_one(MonitoringVisit, visit.id),
            password="wrong",
        )
    with db.read_session() as session:
        assert session.get_one(MonitoringVisit, visit.id).state is VisitState.OPEN


def test_a_second_open_visit_on_the_same_study_is_refused(db: Database, example: Example) -> None:
    visit_of(db, example)
    with pytest.raises(InvalidInput, match="still open"):
        visit_of(db, example)


def test_monitor_cannot_open_a_visit_on_another_sponsors_study(
    db: Database, example: Example
) -> None:
    stranger = other_monitor(db, example.people.admin)
    with pytest.raises(PermissionDenied, match="not assigned to study ABC-123"):
        visit_of(db, example, stranger)
    with db.read_session() as session:
        refusals = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == REFUSED, AuditEntry.user_id == stranger.id)
        )
        assert session.scalar(select(func.count()).select_from(MonitoringVisit)) == 0
    assert refusals == 1


def test_a_technician_cannot_open_a_visit_or_mark_records_reviewed(
    db: Database, example: Example
) -> None:
    with pytest.raises(PermissionDenied, match="Only a monitor may open and close"):
        visit_of(db, example, example.people.tech)
    visit = visit_of(db, example)
    with pytest.raises(PermissionDenied, match="Only a monitor"), db.unit_of_work() as session:
        mark_reviewed(
            session,
            example.people.tech,
            session.get_one(MonitoringVisit, visit.id),
            RecordKind.RECEIPT,
            [shipment_id(db)],
        )


def test_every_review_is_in_the_audit_trail(db: Database, example: Example) -> None:
    visit = visit_of(db, example)
    with db.unit_of_work() as session:
        mark_period_reviewed(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id)
        )
    with db.read_session() as session:
        reviews = session.scalar(select(func.count()).select_from(VisitReview))
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.table_name == "visit_review",
                AuditEntry.action == "insert",
                AuditEntry.study_id == example.study.id,
            )
        )
        assert verify_database(session).intact
    assert reviews == audited == 2


def test_a_review_cannot_be_changed_or_deleted_at_a_sql_prompt(
    db: Database, example: Example
) -> None:
    visit = visit_of(db, example)
    with db.unit_of_work() as session:
        mark_period_reviewed(
            session, example.people.monitor, session.get_one(MonitoringVisit, visit.id)
        )
    for forgery in (
        "UPDATE visit_review SET reviewed_at = '2030-01-01 00:00:00'",
        "DELETE FROM visit_review",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            raw_sql(db, forgery)


def test_verify_names_a_visit_closed_behind_the_app_without_its_signature(
    db: Database, example: Example
) -> None:
    visit = visit_of(db, example)
    raw_sql(db, f"UPDATE monitoring_visit SET state = 'closed' WHERE id = {visit.id}")
    with db.read_session() as session:
        findings = verify_database(session).findings
    problems = {(f.check, f.table, f.problem) for f in findings}
    assert (
        "workflow",
        "monitoring_visit",
        "the visit reads as closed but its monitor never signed it as reviewed",
    ) in problems
