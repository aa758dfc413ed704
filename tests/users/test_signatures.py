"""Electronic signatures: two components, bound to the record's content (21 CFR 11.50-11.200)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import attribute_changes
from ids_app.db import Database
from ids_app.users.models import Role, Signature, SignatureMeaning, User
from ids_app.users.services import MAX_FAILED_ATTEMPTS, SignInRefused, deactivate_user
from ids_app.users.signatures import (
    manifestation,
    sign_record,
    signature_holds,
    signatures_of,
)
from tests.conftest import USER_PASSWORD


def _sign(db: Database, username: str, password: str, record_id: int) -> Signature:
    with db.unit_of_work() as session:
        record = session.get_one(User, record_id)
        return sign_record(session, username, password, SignatureMeaning.REVIEWED, record)


def _signature_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Signature)) or 0


def test_signature_records_printed_name_meaning_and_time(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST, "Jane Roe")
    signature = _sign(db, "jroe", USER_PASSWORD, admin.id)
    assert signature.printed_name == "Jane Roe"
    assert signature.role is Role.PHARMACIST
    assert signature.meaning is SignatureMeaning.REVIEWED
    assert signature.signed_at.tzinfo is not None


def test_manifestation_shows_name_role_meaning_and_local_time(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST, "Jane Roe")
    signature = _sign(db, "jroe", USER_PASSWORD, admin.id)
    text = manifestation(signature, ZoneInfo("America/New_York"))
    local = signature.signed_at.astimezone(ZoneInfo("America/New_York"))
    assert text == (f"Jane Roe, Pharmacist — Reviewed — {local:%Y-%m-%d %H:%M} {local.tzname()}")
    assert local.tzname() in {"EST", "EDT"}


def test_signature_stops_verifying_when_record_content_changes(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST)
    signature = _sign(db, "jroe", USER_PASSWORD, admin.id)
    with db.read_session() as session:
        assert signature_holds(signature, session.get_one(User, admin.id))
    with db.unit_of_work() as session:
        record = session.get_one(User, admin.id)
        attribute_changes(session, record)
        record.full_name = "Alexandra Admin"
    with db.read_session() as session:
        assert not signature_holds(signature, session.get_one(User, admin.id))


def test_signature_cannot_be_moved_to_another_record(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    other = make_user("jroe", Role.PHARMACIST)
    signature = _sign(db, "jroe", USER_PASSWORD, admin.id)
    with db.read_session() as session:
        assert not signature_holds(signature, session.get_one(User, other.id))
        assert signatures_of(session, session.get_one(User, other.id)) == []


def test_wrong_password_is_refused_recorded_and_nothing_signed(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST)
    with pytest.raises(SignInRefused, match="wrong"):
        _sign(db, "jroe", "not-her-password", admin.id)
    assert _signature_count(db) == 0
    with db.read_session() as session:
        failures = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "signature_failed")
        ).all()
    assert [entry.username for entry in failures] == ["jroe"]


def test_locked_user_can_neither_sign_in_nor_sign(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            _sign(db, "jroe", "not-her-password", admin.id)
    with pytest.raises(SignInRefused, match="locked"):
        _sign(db, "jroe", USER_PASSWORD, admin.id)
    assert _signature_count(db) == 0


def test_inactive_user_cannot_sign(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("jroe", Role.PHARMACIST)
    with db.unit_of_work() as session:
        deactivate_user(session, admin, "jroe", "left the hospital")
    with pytest.raises(SignInRefused, match="deactivated"):
        _sign(db, "jroe", USER_PASSWORD, admin.id)
    assert _signature_count(db) == 0


def test_witness_signature_is_attributed_to_the_witness(
    db: Database, admin: User, make_user: Callable[..., User]
) -> None:
    make_user("witness", Role.PHARMACIST)
    signature = _sign(db, "witness", USER_PASSWORD, admin.id)
    with db.read_session() as session:
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name == "signature",
                AuditEntry.record_id == str(signature.id),
            )
        ).one()
    assert entry.username == "witness"
