"""A study's IRB approval: recorded with a reason, audited, and no dispensing after it expires."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database, simulated_clock, today
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import DispenseRefused
from ids_app.inventory.models import OrderState
from ids_app.reports.exports import export_audit_binder, export_sponsor_workbook
from ids_app.studies.irb import approval_warning, record_irb_approval
from ids_app.studies.models import Study
from ids_app.users.models import User
from tests.factories import Example, make_example, receive_kits
from tests.inventory.test_dispensing import order_kit, prepare, refused, verify
from tests.reports.conftest import pdf_pages


@pytest.fixture
def example(db: Database) -> Example:
    """The DOMAIN.md study with its 20 kits (1001-1020) of lot L2301 on IDS Shelf A."""
    example = make_example(db)
    receive_kits(db, example)
    return example


def approve(
    db: Database,
    example: Example,
    *,
    approved_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    protocol_version: str = "Amendment 3, 2026-01-15",
    reason: str = "annual continuing review approved",
    by: User | None = None,
) -> Study:
    approved_on = approved_on or today() - dt.timedelta(days=300)
    with db.unit_of_work() as session:
        return record_irb_approval(
            session,
            by or example.people.pharm,
            session.get_one(Study, example.study.id),
            approved_on=approved_on,
            expires_on=expires_on or approved_on + dt.timedelta(days=364),
            protocol_version=protocol_version,
            reason=reason,
        )


@contextmanager
def days_from_now(days: int) -> Iterator[dt.date]:
    """Travel to noon (local) ``days`` from today; yields that date."""
    day = today() + dt.timedelta(days=days)
    with simulated_clock(dt.datetime.combine(day, dt.time(12)).astimezone()):
        yield day


def test_a_pharmacist_records_the_approval_and_each_field_is_audited_with_the_reason(
    db: Database, example: Example
) -> None:
    approved = today() - dt.timedelta(days=10)
    study = approve(db, example, approved_on=approved, expires_on=approved + dt.timedelta(365))
    assert (study.irb_approved_on, study.protocol_version) == (approved, "Amendment 3, 2026-01-15")
    with db.read_session() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name == "study",
                AuditEntry.field.in_(("irb_approved_on", "irb_expires_on", "protocol_version")),
            )
        ).all()
    assert {e.field for e in entries} == {"irb_approved_on", "irb_expires_on", "protocol_version"}
    assert {(e.username, e.reason) for e in entries} == {
        ("pharm", "annual continuing review approved")
    }


def test_a_correction_keeps_the_date_it_replaces_in_the_audit_trail(
    db: Database, example: Example
) -> None:
    first = today() - dt.timedelta(days=20)
    approve(db, example, approved_on=first, expires_on=first + dt.timedelta(days=365))
    approve(
        db,
        example,
        approved_on=first,
        expires_on=first + dt.timedelta(days=364),
        reason="expiry typed a day late; the IRB letter says one day earlier",
    )
    with db.read_session() as session:
        (correction,) = session.scalars(
            select(AuditEntry).where(
                AuditEntry.field == "irb_expires_on", AuditEntry.old_value.is_not(None)
            )
        ).all()
    assert correction.old_value is not None
    assert str(first + dt.timedelta(days=365)) in correction.old_value
    assert correction.reason == "expiry typed a day late; the IRB letter says one day earlier"


def test_a_technician_cannot_record_an_irb_approval(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied, match="change a study's status"):
        approve(db, example, by=example.people.tech)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"protocol_version": " "}, "The protocol version is empty"),
        ({"reason": ""}, "The reason is empty"),
        ({"approved_on": today() + dt.timedelta(days=1)}, "is in the future"),
        ({"expires_on": today() - dt.timedelta(days=300)}, "not after it was given"),
    ],
)
def test_an_approval_that_does_not_make_sense_is_refused(
    db: Database, example: Example, change: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        approve(db, example, **change)  # type: ignore[arg-type]
    with db.read_session() as session:
        assert session.get_one(Study, example.study.id).irb_expires_on is None


def test_a_study_with_no_approval_recorded_still_dispenses(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    assert prepare(db, example, order_id).state is OrderState.PREPARED


def test_an_order_after_the_approval_expired_is_refused_in_one_sentence(
    db: Database, example: Example
) -> None:
    approve(db, example, expires_on=today() - dt.timedelta(days=1))
    message = refused(db, DispenseRefused, "expired", lambda: order_kit(db, example))
    assert message == (
        f"The IRB approval of study ABC-123 expired on {today() - dt.timedelta(days=1):%Y-%m-%d}; "
        "study drug is not dispensed until the renewed approval is recorded."
    )


def test_the_expiry_day_is_still_covered_and_the_next_day_is_not(
    db: Database, example: Example
) -> None:
    approve(db, example, expires_on=today())
    order_id = order_kit(db, example)  # the last day of the approval
    with days_from_now(1):
        refused(db, DispenseRefused, "IRB approval", lambda: prepare(db, example, order_id))


def test_a_prepared_dispense_is_not_verified_once_the_approval_has_expired(
    db: Database, example: Example
) -> None:
    approve(db, example, expires_on=today())
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    with days_from_now(1):
        refused(db, DispenseRefused, "IRB approval", lambda: verify(db, example, order_id))


def test_recording_the_renewal_lets_dispensing_go_on(db: Database, example: Example) -> None:
    approve(db, example, expires_on=today() - dt.timedelta(days=1))
    approve(db, example, approved_on=today(), reason="renewal approved at the IRB meeting")
    order_id = order_kit(db, example)
    assert prepare(db, example, order_id).state is OrderState.PREPARED


def test_the_warning_shows_from_thirty_days_before_the_expiry(
    db: Database, example: Example
) -> None:
    expiry = today() + dt.timedelta(days=30)
    study = approve(db, example, expires_on=expiry)
    assert approval_warning(study, expiry - dt.timedelta(days=31)) is None
    assert approval_warning(study, expiry - dt.timedelta(days=30)) == (
        "The IRB approval of study ABC-123 (protocol version Amendment 3, 2026-01-15) expires "
        f"on {expiry:%Y-%m-%d}, in 30 days; record the renewal before then, or dispensing stops."
    )
    assert "expires on" in (approval_warning(study, expiry) or "")
    assert ", today;" in (approval_warning(study, expiry) or "")
    assert "expired on" in (approval_warning(study, expiry + dt.timedelta(days=1)) or "")


def test_no_warning_without_an_approval_recorded(db: Database, example: Example) -> None:
    with db.read_session() as session:
        assert approval_warning(session.get_one(Study, example.study.id)) is None


def test_the_binder_and_workbook_summaries_state_the_approval(
    db: Database, example: Example, tmp_path: Path
) -> None:
    approved = today() - dt.timedelta(days=40)
    approve(db, example, approved_on=approved, expires_on=approved + dt.timedelta(days=364))
    stated = (
        f"approved {approved:%Y-%m-%d}, expires {approved + dt.timedelta(days=364):%Y-%m-%d}, "
        "protocol version Amendment 3, 2026-01-15"
    )
    binder = export_audit_binder(db, example.people.pharm, "ABC-123", tmp_path / "binder.pdf")
    summary = [page for page in pdf_pages(binder.path) if "IRB approval" in page]
    assert len(summary) == 1  # the study summary, among the protocol's facts
    assert f"Blinding double-blind IRB approval {stated}" in summary[0]
    workbook = export_sponsor_workbook(
        db, example.people.pharm, "ABC-123", tmp_path / "workbook.xlsx"
    )
    rows = load_workbook(workbook.path)["Summary"].iter_rows(values_only=True)
    assert {row[0]: row[1] for row in rows if row and row[0]}["IRB approval"] == stated
