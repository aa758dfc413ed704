"""Accounts: first administrator, administration, lock-out (21 CFR 11.300)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.verification import verify_chain
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.users.models import Role, User
from ids_app.users.services import (
    MAX_FAILED_ATTEMPTS,
    SignInRefused,
    add_user,
    change_password,
    create_first_administrator,
    deactivate_user,
    get_user,
    reset_password,
    sign_in,
    unknown_name,
    unlock_user,
)
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD


def _failed_attempt(db: Database, username: str, password: str = "wrong-password") -> str:
    with pytest.raises(SignInRefused) as refused, db.unit_of_work() as session:
        sign_in(session, username, password)
    return str(refused.value)


def _audit_actions(db: Database, action: str) -> list[AuditEntry]:
    with db.read_session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _user(db: Database, username: str) -> User:
    with db.read_session() as session:
        return get_user(session, username)


def test_first_administrator_is_created_once(db: Database, admin: User) -> None:
    assert admin.role is Role.ADMINISTRATOR
    with pytest.raises(InvalidInput, match="already has users"), db.unit_of_work() as session:
        create_first_administrator(session, "second", "Second Admin", "another-pass")


def test_five_wrong_passwords_lock_the_account(db: Database, admin: User) -> None:
    messages = [_failed_attempt(db, "admin") for _ in range(MAX_FAILED_ATTEMPTS)]
    assert "4 attempts left" in messages[0]
    assert "now locked" in messages[-1]
    assert _user(db, "admin").locked
    assert "locked" in _failed_attempt(db, "admin", ADMIN_PASSWORD)


def test_every_failed_sign_in_is_in_the_audit_trail(db: Database, admin: User) -> None:
    for _ in range(3):
        _failed_attempt(db, "admin")
    _failed_attempt(db, "nobody-by-this-name")
    failures = _audit_actions(db, "sign_in_failed")
    assert len(failures) == 4
    assert {entry.username for entry in failures} == {"admin", unknown_name("nobody-by-this-name")}
    with db.read_session() as session:
        assert verify_chain(session).intact


def test_a_password_typed_as_the_user_name_is_never_kept_in_clear(db: Database) -> None:
    """A hurried technician types their password into the user-name field."""
    typed = "Sunflower-2026!"
    for _ in range(2):
        _failed_attempt(db, typed)
    with db.read_session() as session:
        entries = session.scalars(select(AuditEntry)).all()
    written = " ".join(
        str(getattr(entry, column.key))
        for entry in entries
        for column in AuditEntry.__table__.columns
    )
    assert typed not in written
    assert typed.lower() not in written.lower()
    recorded = {e.username for e in entries if e.action == "sign_in_failed"}
    assert recorded == {unknown_name(typed)}
    assert unknown_name(typed).startswith("(unknown user name, 15 characters, #")


def test_successful_sign_in_resets_the_failure_count(db: Database, admin: User) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        _failed_attempt(db, "admin")
    with db.unit_of_work() as session:
        sign_in(session, "admin", ADMIN_PASSWORD)
    assert _user(db, "admin").failed_sign_ins == 0
    assert "4 attempts left" in _failed_attempt(db, "admin")


def test_administrator_unlocks_a_locked_user(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("tech", Role.TECHNICIAN)
    for _ in range(MAX_FAILED_ATTEMPTS):
        _failed_attempt(db, "tech")
    with db.unit_of_work() as session:
        unlock_user(session, session.get_one(User, admin.id), "tech")
    with db.unit_of_work() as session:
        assert sign_in(session, "tech", USER_PASSWORD).username == "tech"


def test_new_user_must_change_temporary_password(db: Database, admin: User) -> None:
    with db.unit_of_work() as session:
        add_user(session, admin, "tech", "Terry Tech", Role.TECHNICIAN, "temporary-1")
    with db.unit_of_work() as session:
        user = sign_in(session, "tech", "temporary-1")
        assert user.must_change_password
        change_password(session, user, "temporary-1", "my-own-pass")
    with db.unit_of_work() as session:
        assert not sign_in(session, "tech", "my-own-pass").must_change_password


def test_reset_password_must_be_changed_at_next_sign_in(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("pharm", Role.PHARMACIST)
    with db.unit_of_work() as session:
        reset_password(session, admin, "pharm", "reset-pass-1")
    with db.unit_of_work() as session:
        assert sign_in(session, "pharm", "reset-pass-1").must_change_password


def test_user_names_are_unique_forever(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("tech", Role.TECHNICIAN)
    with db.unit_of_work() as session:
        deactivate_user(session, admin, "tech", "left the department")
    with pytest.raises(InvalidInput, match="already taken"), db.unit_of_work() as session:
        add_user(session, admin, "TECH ", "Another Tech", Role.TECHNICIAN, "temporary-1")


def test_deactivated_user_cannot_sign_in(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("tech", Role.TECHNICIAN)
    with db.unit_of_work() as session:
        deactivate_user(session, admin, "tech", "left the department")
    assert "deactivated" in _failed_attempt(db, "tech", USER_PASSWORD)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2


def test_technician_cannot_add_users(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    tech = make_user("tech", Role.TECHNICIAN)
    refused = pytest.raises(PermissionDenied, match="Only an administrator may add users")
    with refused, db.unit_of_work() as session:
        add_user(session, tech, "x", "X", Role.TECHNICIAN, "temporary-1")


@pytest.mark.parametrize(
    ("password", "reason"),
    [("", "empty"), ("short", "at least 8"), ("newuser", "at least 8"), ("Good-pass1", None)],
)
def test_weak_passwords_are_refused_with_a_reason(
    db: Database, admin: User, password: str, reason: str | None
) -> None:
    if reason is None:
        with db.unit_of_work() as session:
            add_user(session, admin, "newuser1", "New User", Role.MONITOR, password)
        return
    with pytest.raises(InvalidInput, match=reason), db.unit_of_work() as session:
        add_user(session, admin, "newuser", "New User", Role.MONITOR, password)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1


def test_password_equal_to_user_name_is_refused(db: Database, admin: User) -> None:
    with pytest.raises(InvalidInput, match="same as the user name"), db.unit_of_work() as session:
        add_user(session, admin, "longname1", "Long Name", Role.MONITOR, "LongName1")


def test_refused_action_leaves_database_as_it_was(db: Database, admin: User) -> None:
    with db.read_session() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(InvalidInput), db.unit_of_work() as session:
        add_user(session, admin, "", "Nobody", Role.TECHNICIAN, "temporary-1")
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_wrong_current_password_at_change_counts_toward_lock_out(
    db: Database, make_user: Callable[..., User]
) -> None:
    tech = make_user("tech", Role.TECHNICIAN)
    with pytest.raises(SignInRefused, match="password is wrong"), db.unit_of_work() as session:
        change_password(session, tech, "not-my-password", "new-password-1")
    assert _user(db, "tech").failed_sign_ins == 1
    assert len(_audit_actions(db, "password_change_failed")) == 1


def test_a_user_deactivated_while_signed_in_loses_authority_at_once(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    second_admin = make_user("admin2", Role.ADMINISTRATOR)  # signed in at a workstation
    with db.unit_of_work() as session:
        deactivate_user(session, admin, "admin2", "left the hospital")
    assert second_admin.active  # the workstation's copy still says so
    with pytest.raises(PermissionDenied, match="deactivated"), db.unit_of_work() as session:
        add_user(session, second_admin, "late", "Too Late", Role.TECHNICIAN, "temporary-1")
