"""A refused attempt is part of the record: the action is rolled back, and one security
event says who tried what, on which record, and why it was refused. The hash chain still
verifies with those events in it, and the trail viewer's filter finds them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import REFUSED
from ids_app.audit.verification import verify_chain
from ids_app.audit.views import AuditFilter, audit_page
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.ledger import reverse_entry
from ids_app.inventory.models import EntryKind, LedgerEntry, Shipment
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.models import Arm, Study, StudyStaff, Subject
from ids_app.studies.services import add_staff, set_subject_arm
from ids_app.users.services import SignInRefused, sign_in
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, receive_kits


@pytest.fixture
def example(db: Database) -> Example:
    example = make_example(db)
    receive_kits(db, example, range(1001, 1006))
    return example


def _count(db: Database, model: type[object]) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _security_events(db: Database) -> list[AuditEntry]:
    with db.read_session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == REFUSED).order_by(AuditEntry.id)
            )
        )


def test_an_administrator_receiving_is_refused_and_the_attempt_is_kept(
    db: Database, example: Example
) -> None:
    before = (_count(db, LedgerEntry), _count(db, Shipment))
    receipt = ShipmentReceipt(
        "SHP-0002",
        "Acme Depot",
        "World Courier",
        TODAY,
        example.shelf.id,
        (ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="2001"),),
    )
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist may receive"):
        with db.unit_of_work() as session:
            receive_shipment(
                session, example.people.admin, session.get_one(Study, example.study.id), receipt
            )
    assert (_count(db, LedgerEntry), _count(db, Shipment)) == before
    (event,) = _security_events(db)
    assert (event.user_id, event.username) == (example.people.admin.id, "admin")
    assert event.new_value == "tried to receive shipments"
    assert (event.table_name, event.record_id) == ("study", str(example.study.id))
    assert event.study_id == example.study.id
    assert event.reason == (
        "Only a technician or pharmacist may receive shipments; "
        "you are signed in as an administrator."
    )


def test_a_blinded_pharmacist_cannot_record_an_arm_and_the_attempt_is_kept(
    db: Database, example: Example
) -> None:
    with pytest.raises(PermissionDenied, match="Jane Roe is blinded on ABC-123"):
        with db.unit_of_work() as session:
            set_subject_arm(
                session,
                example.people.pharm,
                session.get_one(Subject, example.subject.id),
                session.get_one(Arm, example.placebo_arm.id),
            )
    with db.read_session() as session:
        assert session.get_one(Subject, example.subject.id).arm_id == example.drug_arm.id
    (event,) = _security_events(db)
    assert (event.username, event.new_value) == ("pharm", "tried to record a subject's arm")
    assert (event.table_name, event.record_id) == ("study", str(example.study.id))
    assert "only staff with unblinded access" in (event.reason or "")


def test_nobody_grants_themselves_unblinded_access(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied, match="Nobody grants themselves unblinded access"):
        with db.unit_of_work() as session:
            add_staff(
                session,
                example.people.admin,
                session.get_one(Study, example.study.id),
                example.people.admin,
                "Administrator",
                unblinded=True,
                reason="to export the unblinded binder",
            )
    with db.read_session() as session:
        staff = select(StudyStaff).where(StudyStaff.user_id == example.people.admin.id)
        assert session.scalars(staff).first() is None
    (event,) = _security_events(db)
    assert (event.username, event.new_value) == ("admin", "tried to grant unblinded access")


def test_unblinded_access_needs_a_reason(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="reason for unblinded access"):
        with db.unit_of_work() as session:
            add_staff(
                session,
                example.people.admin,
                session.get_one(Study, example.study.id),
                example.people.pharm2,
                "Unblinded pharmacist",
                unblinded=True,
            )


def test_a_reversal_is_signed_by_a_pharmacist(db: Database, example: Example) -> None:
    with db.read_session() as session:
        entry_id = session.scalars(
            select(LedgerEntry.id).where(LedgerEntry.kind == EntryKind.RECEIVE)
        ).first()
    assert entry_id is not None
    with pytest.raises(PermissionDenied, match="Only a pharmacist may reverse"):
        with db.unit_of_work() as session:
            reverse_entry(session, example.people.admin, entry_id, "keyed twice", PASSWORD)
    with pytest.raises(SignInRefused, match="password is wrong"):
        with db.unit_of_work() as session:
            reverse_entry(session, example.people.pharm, entry_id, "keyed twice", "not-it")
    with db.unit_of_work() as session:
        reversal = reverse_entry(session, example.people.pharm, entry_id, "keyed twice", PASSWORD)
        reversal_id = reversal.id
    with db.read_session() as session:
        signed = session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name == "signature", AuditEntry.action == "insert"
            )
        ).all()
    assert any(f'"record_id": "{reversal_id}"' in (e.new_value or "") for e in signed)


def test_the_chain_verifies_with_security_events_and_the_filter_finds_them(
    db: Database, example: Example
) -> None:
    with pytest.raises(PermissionDenied), db.unit_of_work() as session:
        set_subject_arm(
            session,
            example.people.tech,
            session.get_one(Subject, example.subject.id),
            session.get_one(Arm, example.placebo_arm.id),
        )
    with pytest.raises(SignInRefused, match="wrong"), db.unit_of_work() as session:
        sign_in(session, "pharm", "not-the-password")
    with db.read_session() as session:
        assert verify_chain(session).intact
        events = audit_page(
            session,
            AuditFilter(security_events=True),
            reader=example.people.admin,
            limit=100,
        )
    assert [(row.action, row.username) for row in events] == [
        ("sign_in_failed", "pharm"),
        (REFUSED, "tech"),
    ]
