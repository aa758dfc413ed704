"""Writing the audit trail: every insert and update, attributed, hash-chained.

21 CFR 11.10(e) asks for a computer-generated, time-stamped trail that never obscures
what was recorded before. The trail is written by the session itself, after each flush
and inside the same transaction, so no service can change a record and forget to say so.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.db import RecordSession, table_of, utc_now
from ids_app.errors import IdsError

ACTOR_KEY = "ids_actor"
REASON_KEY = "ids_reason"
CHAIN_HEAD_ID = 1
REDACTED = "(not shown)"


class RecordsAreNeverDeleted(IdsError):
    """Part 11 and ALCOA+: a record is corrected, never erased."""


class Attributed(Protocol):
    """Whoever acts: a signed-in user, or a named system step."""

    @property
    def id(self) -> int | None: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """An actor that is not (yet) a user row, e.g. a sign-in attempt by an unknown name."""

    id: int | None
    username: str


@dataclass(frozen=True)
class EntryDraft:
    """An entry before the chain gives it an id and a hash."""

    action: str
    table_name: str
    record_id: str | None
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None


def attribute_changes(session: Session, actor: Attributed, reason: str | None = None) -> None:
    """Name who is acting (and why) for every change this session makes from now on."""
    session.info[ACTOR_KEY] = Actor(actor.id, actor.username)
    session.info[REASON_KEY] = reason


@contextmanager
def acting_as(session: Session, actor: Attributed, reason: str | None = None) -> Iterator[None]:
    """Attribute the changes flushed inside the block to ``actor`` (a witness, say),
    then give the action back to whoever was acting before."""
    before = session.info.get(ACTOR_KEY), session.info.get(REASON_KEY)
    attribute_changes(session, actor, reason)
    try:
        yield
        session.flush()
    finally:
        session.info[ACTOR_KEY], session.info[REASON_KEY] = before


def current_actor(session: Session) -> Actor | None:
    actor = session.info.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def record_event(
    session: Session,
    actor: Attributed,
    action: str,
    *,
    table_name: str,
    record_id: object = None,
    detail: str | None = None,
    reason: str | None = None,
) -> None:
    """Write an entry for something that is not a row change: a failed sign-in, an export."""
    session.flush()  # earlier changes of this action come first in the chain
    draft = EntryDraft(
        action=action,
        table_name=table_name,
        record_id=None if record_id is None else str(record_id),
        new_value=detail,
    )
    _append(session.connection(), Actor(actor.id, actor.username), reason, [draft])


def display_value(value: object) -> str | None:
    """How a stored value reads in the trail: stable, human-readable text."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int | float | str):
        return str(value)
    return repr(value)


def entry_hash(prev_hash: str, values: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's canonical content."""
    payload = json.dumps(
        [
            values["id"],
            display_value(values["at"]),
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


def _append(conn: Connection, actor: Actor, reason: str | None, drafts: list[EntryDraft]) -> None:
    # Touching the head row first takes the write lock (SQLite) or the row lock
    # (PostgreSQL): a second appender waits here until this transaction ends.
    head = AuditChainHead
    conn.execute(update(head).where(head.id == CHAIN_HEAD_ID).values(last_id=head.last_id))
    last_id, last_hash = conn.execute(
        select(head.last_id, head.last_hash).where(head.id == CHAIN_HEAD_ID)
    ).one()
    at = utc_now()
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        last_id += 1
        values: dict[str, Any] = {
            "id": last_id,
            "at": at,
            "user_id": actor.id,
            "username": actor.username,
            "action": draft.action,
            "table_name": draft.table_name,
            "record_id": draft.record_id,
            "field": draft.field,
            "old_value": draft.old_value,
            "new_value": draft.new_value,
            "reason": reason,
            "prev_hash": last_hash,
        }
        values["hash"] = last_hash = entry_hash(last_hash, values)
        rows.append(values)
    conn.execute(insert(AuditEntry), rows)
    conn.execute(
        update(head).where(head.id == CHAIN_HEAD_ID).values(last_id=last_id, last_hash=last_hash)
    )


def _is_audited(obj: object) -> bool:
    return not isinstance(obj, AuditEntry | AuditChainHead)


def _redacted(obj: object) -> frozenset[str]:
    return frozenset(getattr(obj, "__audit_redacted__", ()))


def _record_id(obj: object) -> str:
    # The identity key is set only after the flush ends; the key columns are set by now.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def _insert_draft(obj: object) -> EntryDraft:
    mapper = inspect(obj).mapper
    hidden = _redacted(obj)
    values = {
        attr.key: REDACTED if attr.key in hidden else display_value(getattr(obj, attr.key))
        for attr in mapper.column_attrs
    }
    return EntryDraft(
        action="insert",
        table_name=table_of(obj),
        record_id=_record_id(obj),
        new_value=json.dumps(values, ensure_ascii=False, sort_keys=True),
    )


def _update_drafts(obj: object) -> list[EntryDraft]:
    state = inspect(obj)
    hidden = _redacted(obj)
    drafts = []
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        secret = attr.key in hidden
        drafts.append(
            EntryDraft(
                action="update",
                table_name=table_of(obj),
                record_id=_record_id(obj),
                field=attr.key,
                old_value=REDACTED if secret else display_value(old),
                new_value=REDACTED if secret else display_value(new),
            )
        )
    return drafts


@event.listens_for(RecordSession, "before_flush")
def _refuse_deletes(session: Session, _context: UOWTransaction, _instances: object) -> None:
    if session.deleted:
        names = sorted({type(obj).__name__ for obj in session.deleted})
        raise RecordsAreNeverDeleted(
            f"Records are never deleted ({', '.join(names)}); record a correction instead."
        )


@event.listens_for(RecordSession, "after_flush")
def _write_trail(session: Session, _context: UOWTransaction) -> None:
    drafts: list[EntryDraft] = []
    for obj in session.new:
        if _is_audited(obj):
            drafts.append(_insert_draft(obj))
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj, include_collections=False):
            drafts.extend(_update_drafts(obj))
    if not drafts:
        return
    actor = current_actor(session)
    if actor is None:
        raise RuntimeError("a change was made with no acting user named (attribute_changes)")
    _append(session.connection(), actor, session.info.get(REASON_KEY), drafts)
