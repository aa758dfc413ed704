"""Audit entries name the study their record belongs to; the hash chain covers that name."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import Actor, entry_hash, record_event
from ids_app.audit.verification import verify_chain
from ids_app.db import Database
from ids_app.inventory.counts import CountedLine, record_count
from ids_app.inventory.models import Kit, Location, StockState
from ids_app.studies.models import Study
from ids_app.users.models import Role, User
from tests.factories import Example, make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit
from tests.tampering import drop_append_only, raw_sql


def _last_id(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.max(AuditEntry.id))) or 0)


def _entries_after(db: Database, last_id: int) -> list[AuditEntry]:
    with db.read_session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
            )
        )


@pytest.fixture
def example(db: Database) -> Example:
    """The DOMAIN.md study with its 20 kits (1001-1020) of lot L2301 on IDS Shelf A."""
    example = make_example(db)
    receive_kits(db, example)
    return example


def test_a_dispense_writes_entries_carrying_its_study(db: Database, example: Example) -> None:
    before = _last_id(db)
    dispense_kit(db, example, "1007")
    entries = _entries_after(db, before)
    tables = {entry.table_name for entry in entries}
    assert {"dispense_order", "ledger_entry", "signature"} <= tables
    for entry in entries:
        if entry.table_name == "app_user":
            assert entry.study_id is None  # a signer's account changes belong to no study
        else:
            assert entry.study_id == example.study.id, (entry.table_name, entry.action)


def test_a_user_creation_names_no_study(db: Database, make_user: Callable[..., User]) -> None:
    before = _last_id(db)
    make_user("tech", Role.TECHNICIAN)
    entries = _entries_after(db, before)
    assert {entry.table_name for entry in entries} == {"app_user"}
    assert {entry.action for entry in entries} >= {"insert", "sign_in"}
    assert all(entry.study_id is None for entry in entries)


def test_records_one_step_from_a_study_name_it(db: Database, example: Example) -> None:
    with db.read_session() as session:
        studied = {
            (entry.table_name, entry.study_id)
            for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == "insert"))
        }
    # A study is its own; a lot belongs to its product's study; a location to none.
    sid = example.study.id
    assert {("study", sid), ("lot", sid), ("kit", sid), ("shipment", sid)} <= studied
    assert ("location", None) in studied
    assert not [pair for pair in studied if pair[0] == "location" and pair[1] is not None]

    before = _last_id(db)
    with db.unit_of_work() as session:
        kits = session.scalars(select(Kit).where(Kit.kit_number.in_(["1001", "1002"]))).all()
        record_count(  # kit 1002 is missing: a discrepancy, a child of the count
            session,
            example.people.monitor,
            session.get_one(Study, sid),
            session.get_one(Location, example.shelf.id),
            [CountedLine(kits[0].lot_id, kits[0].id, StockState.AVAILABLE, 1)],
        )
    entries = _entries_after(db, before)
    assert {entry.table_name for entry in entries} >= {"physical_count", "discrepancy"}
    assert {entry.study_id for entry in entries} == {sid}


def test_an_event_naming_a_study_record_carries_the_study(db: Database, example: Example) -> None:
    before = _last_id(db)
    actor = Actor(example.people.pharm.id, example.people.pharm.username)
    with db.unit_of_work() as session:
        record_event(session, actor, "export", table_name="study", record_id=example.study.id)
        record_event(session, actor, "export", table_name="kit", record_id="1")
        record_event(session, actor, "copied_in", table_name="database")
        record_event(session, actor, "export", table_name="study", record_id="not a key")
    entries = _entries_after(db, before)
    assert [entry.study_id for entry in entries] == [example.study.id, example.study.id, None, None]


# --- the hash chain over study_id ------------------------------------------------------------


def pre_0006_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """The entry hash exactly as schema 0005 computed it, before entries named a study."""
    payload = json.dumps(
        [
            values["id"],
            values["at"].astimezone(dt.UTC).isoformat(),
            values["user_id"],
            values["username"],
            values["action"],
            values["table_name"],
            values["record_id"],
            values["field"],
            values["old_value"],
            values["new_value"],
            values["reason"],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


OLD_ENTRY: dict[str, Any] = {
    "id": 7,
    "at": dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC),
    "user_id": 2,
    "username": "pharm",
    "action": "update",
    "table_name": "dispense_order",
    "record_id": "3",
    "field": "state",
    "old_value": "prepared",
    "new_value": "dispensed",
    "reason": None,
}


def test_an_entry_without_a_study_hashes_as_before_the_study_was_recorded() -> None:
    prev = "a" * 64
    assert entry_hash(prev, OLD_ENTRY) == pre_0006_hash(prev, OLD_ENTRY)
    assert entry_hash(prev, {**OLD_ENTRY, "study_id": None}) == pre_0006_hash(prev, OLD_ENTRY)
    with_study = entry_hash(prev, {**OLD_ENTRY, "study_id": 1})
    assert with_study != pre_0006_hash(prev, OLD_ENTRY)
    assert with_study != entry_hash(prev, {**OLD_ENTRY, "study_id": 2})


@pytest.mark.parametrize("forged", ["NULL", "study_id + 1"])
def test_verify_names_an_entry_moved_to_another_study(
    db: Database, example: Example, forged: str
) -> None:
    with db.read_session() as session:
        target = session.scalars(
            select(AuditEntry.id)
            .where(AuditEntry.table_name == "kit", AuditEntry.study_id.is_not(None))
            .order_by(AuditEntry.id)
        ).first()
        assert verify_chain(session).intact
    assert target is not None
    drop_append_only(db, "audit_entry")
    raw_sql(db, f"UPDATE audit_entry SET study_id = {forged} WHERE id = {target}")
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.entry_id == target
    assert "changed" in report.first_break.problem


def test_verify_names_an_old_entry_given_a_study(
    db: Database, make_user: Callable[..., User]
) -> None:
    make_user("tech", Role.TECHNICIAN)
    drop_append_only(db, "audit_entry")
    raw_sql(db, "UPDATE audit_entry SET study_id = 1 WHERE id = 2")
    with db.read_session() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.entry_id == 2
