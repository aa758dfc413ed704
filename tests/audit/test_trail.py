"""The audit trail: every insert and update, append-only, hash-chained (21 CFR 11.10(e))."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import RecordsAreNeverDeleted, attribute_changes
from ids_app.audit.verification import verify_chain
from ids_app.db import Database
from ids_app.users.models import Role, User
from ids_app.users.services import deactivate_user
from tests.tampering import drop_append_only, raw_sql


def _entries(db: Database) -> list[AuditEntry]:
    with db.read_session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_insert_is_recorded_with_who_when_and_values(db: Database, admin: User) -> None:
    (entry,) = [e for e in _entries(db) if e.action == "insert" and e.table_name == "app_user"]
    assert entry.username == "admin"
    assert entry.record_id == str(admin.id)
    assert entry.at.tzinfo is not None
    values = json.loads(entry.new_value or "{}")
    assert values["full_name"] == "Alex Admin"
    assert values["password_hash"].startswith("(not shown) ")


def test_update_records_field_old_new_and_reason(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    tech = make_user("tech", Role.TECHNICIAN)
    with db.unit_of_work() as session:
        deactivate_user(session, admin, "tech", "left the department")
    (entry,) = [e for e in _entries(db) if e.field == "active"]
    assert (entry.record_id, entry.old_value, entry.new_value) == (str(tech.id), "true", "false")
    assert entry.reason == "left the department"
    assert entry.user_id == admin.id


def test_a_change_with_no_acting_user_is_refused(db: Database, admin: User) -> None:
    with pytest.raises(RuntimeError, match="no acting user"), db.unit_of_work() as session:
        session.get_one(User, admin.id).full_name = "Anonymous edit"
    with db.read_session() as session:
        assert session.get_one(User, admin.id).full_name == "Alex Admin"


def test_records_are_never_deleted_through_the_app(db: Database, admin: User) -> None:
    with pytest.raises(RecordsAreNeverDeleted), db.unit_of_work() as session:
        attribute_changes(session, admin)
        session.delete(session.get_one(User, admin.id))


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET new_value = 'forged' WHERE id = 1", "DELETE FROM audit_entry"],
)
def test_raw_sql_cannot_change_audit_rows(db: Database, admin: User, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(db, statement)


def _tamper(db: Database, *statements: str) -> None:
    """Someone with a SQL prompt drops the trigger and edits behind the app's back."""
    drop_append_only(db, "audit_entry")
    raw_sql(db, *statements)


def test_intact_chain_verifies(db: Database, make_user: Callable[..., User]) -> None:
    make_user("tech", Role.TECHNICIAN)
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.intact
    assert report.entries_checked == len(_entries(db))


def test_verify_names_an_edited_entry(db: Database, make_user: Callable[..., User]) -> None:
    make_user("tech", Role.TECHNICIAN)
    _tamper(db, "UPDATE audit_entry SET old_value = 'x' WHERE id = 3")
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.entry_id == 3
    assert "changed" in report.first_break.problem


def test_verify_names_a_deleted_entry(db: Database, make_user: Callable[..., User]) -> None:
    make_user("tech", Role.TECHNICIAN)
    _tamper(db, "DELETE FROM audit_entry WHERE id = 2")
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.entry_id == 3
    assert "missing" in report.first_break.problem


def test_verify_finds_a_removed_tail(db: Database, make_user: Callable[..., User]) -> None:
    make_user("tech", Role.TECHNICIAN)
    last = len(_entries(db))
    _tamper(db, f"DELETE FROM audit_entry WHERE id = {last}")
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.entry_id == last
    assert "removed" in report.first_break.problem


def test_audit_entries_are_numbered_without_gaps(
    db: Database, make_user: Callable[..., User]
) -> None:
    make_user("tech", Role.TECHNICIAN)
    make_user("pharm", Role.PHARMACIST)
    ids = [entry.id for entry in _entries(db)]
    assert ids == list(range(1, len(ids) + 1))
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == len(ids)


def test_verify_walks_a_trail_longer_than_one_batch(
    db: Database, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ids_app.audit.verification.BATCH", 3)
    make_user("tech", Role.TECHNICIAN)
    make_user("pharm", Role.PHARMACIST)
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.intact, report.summary()
    assert report.entries_checked == len(_entries(db)) > 3 * 3
