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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, ForeignKey, Table, event, insert, inspect, select, update
from sqlalchemy.orm import Session, UOWTransaction

from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.db import Base, RecordSession, table_of, utc_now
from ids_app.errors import IdsError

ACTOR_KEY = "ids_actor"
REASON_KEY = "ids_reason"
CHAIN_HEAD_ID = 1
REDACTED = "(not shown)"
STUDY_TABLE = "study"
STUDY_COLUMN = "study_id"
# A record that points at another by table name and key (a signature) belongs to that
# record's study.
NAMED_RECORD_COLUMNS = ("record_table", "record_id")
# Security events: a refused attempt (users.permissions.ActionRefused), and a failed
# sign-in, signature or password change ("sign_in_failed", …: users.services.SignInRefused).
REFUSED = "refused"
FAILED_SUFFIX = "_failed"


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
    study_id: int | None = None


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
    conn = session.connection()
    key = None if record_id is None else str(record_id)
    draft = EntryDraft(
        action=action,
        table_name=table_name,
        record_id=key,
        new_value=detail,
        study_id=StudyFinder(conn).of_named_record(table_name, key),
    )
    _append(conn, Actor(actor.id, actor.username), reason, [draft])


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


def entry_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and this entry's canonical content.

    ``study_id`` came with schema 0006 and is hashed only when it is set. Entries written
    before it have none, and their hashes were computed without it: leaving a None out
    keeps those chains verifying unchanged. Nothing escapes the check by it: an entry given
    a study, or a study changed or taken away, hashes differently and breaks the chain.
    """
    content = [
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
    ]
    study_id = values.get("study_id")
    if study_id is not None:
        content.append(study_id)
    return chained_hash(prev_hash, content)


# json.dumps(content, ensure_ascii=False, separators=(",", ":")), without making an
# encoder for every entry (verify hashes millions); an encoder keeps no state between calls.
_CONTENT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def chained_hash(prev_hash: str, content: list[Any]) -> str:
    """SHA-256 over the previous hash and an entry's content, listed as :func:`entry_hash`
    lists it (``verify`` lists it straight from the stored row)."""
    payload = _CONTENT_ENCODER.encode(content)
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
            "study_id": draft.study_id,
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


@dataclass(frozen=True)
class _StudyRoute:
    """How a table's row leads to its study: it is the study, names it, names a record
    by table and key (a signature), or has foreign keys to rows that name it; or none."""

    is_study: bool = False
    study_column: str | None = None
    named_record: bool = False
    # Foreign keys to the study or to tables that carry ``study_id``, in column order: the
    # first one set wins (a discrepancy's count and product are of the same study).
    parents: tuple[ForeignKey, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The row's columns the route reads."""
        if self.study_column is not None:
            return (self.study_column,)
        if self.named_record:
            return NAMED_RECORD_COLUMNS
        return tuple(fk.parent.name for fk in self.parents)


@cache
def _route(table: Table) -> _StudyRoute:
    if table.name == STUDY_TABLE:
        return _StudyRoute(is_study=True)
    if STUDY_COLUMN in table.c:
        return _StudyRoute(study_column=STUDY_COLUMN)
    if all(name in table.c for name in NAMED_RECORD_COLUMNS):
        return _StudyRoute(named_record=True)
    position = {name: n for n, name in enumerate(table.c.keys())}
    parents = sorted(
        (fk for fk in table.foreign_keys if _leads_to_study(fk.column.table)),
        key=lambda fk: position[fk.parent.key],
    )
    return _StudyRoute(parents=tuple(parents))


def _leads_to_study(table: Table) -> bool:
    return table.name == STUDY_TABLE or STUDY_COLUMN in table.c


def can_belong_to_a_study(table: Table) -> bool:
    """True when the trail can name a study for this table's records."""
    route = _route(table)
    return route.is_study or route.named_record or bool(route.columns)


class StudyFinder:
    """Which study a record belongs to, for its audit entries.

    A study is its own; a record with a ``study_id`` names it; a record whose foreign key
    leads one step to such a table (a lot's product, a shipment line's shipment) belongs
    to that row's study; a signature belongs to the study of the record it signs. Users,
    sign-ins and locations shared by studies belong to none. Parents are read with Core on
    the flush's own connection (never a lazy load inside the flush), once per flush.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._parents: dict[tuple[str, object], int | None] = {}

    def of_record(self, obj: object) -> int | None:
        mapper = inspect(obj).mapper
        table = mapper.local_table
        if not isinstance(table, Table):
            return None
        route = _route(table)
        if route.is_study:
            return _as_int(_record_id(obj))
        attribute = {
            column.name: prop.key for prop in mapper.column_attrs for column in prop.columns
        }
        row = {name: getattr(obj, attribute[name]) for name in route.columns}
        return self._of_row(route, row)

    def of_named_record(self, table_name: str, record_id: str | None) -> int | None:
        """The study of the record a signature or an event names by table and key."""
        table = Base.metadata.tables.get(table_name)
        key = _as_int(record_id)
        if table is None or key is None or len(table.primary_key.columns) != 1:
            return None
        route = _route(table)
        if route.is_study:
            return key
        if route.named_record or not route.columns:
            return None  # a signature of a signature names no study
        (primary,) = table.primary_key.columns
        found = self.conn.execute(
            select(*(table.c[name] for name in route.columns)).where(primary == key)
        ).first()
        return None if found is None else self._of_row(route, dict(found._mapping))

    def _of_row(self, route: _StudyRoute, row: Mapping[str, Any]) -> int | None:
        if route.study_column is not None:
            return _as_int(row[route.study_column])
        if route.named_record:
            table_name, record_id = (row[name] for name in NAMED_RECORD_COLUMNS)
            return self.of_named_record(str(table_name), record_id)
        for fk in route.parents:
            value = row[fk.parent.name]
            if value is not None:
                return self._parent_study(fk, value)
        return None

    def _parent_study(self, fk: ForeignKey, value: object) -> int | None:
        parent = fk.column.table
        if parent.name == STUDY_TABLE:
            return _as_int(value)
        cached = (f"{parent.name}.{fk.column.name}", value)
        if cached not in self._parents:
            self._parents[cached] = self.conn.scalar(
                select(parent.c[STUDY_COLUMN]).where(fk.column == value)
            )
        return self._parents[cached]


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _is_audited(obj: object) -> bool:
    return not isinstance(obj, AuditEntry | AuditChainHead)


def _redacted(obj: object) -> frozenset[str]:
    return frozenset(getattr(obj, "__audit_redacted__", ()))


def redacted(value: object) -> str:
    """How a secret reads in the trail: hidden, but with a fingerprint of its value.

    The SHA-256 of a password hash tells nothing about the password, yet lets ``verify``
    prove that the stored secret is the one the trail recorded (a swapped hash is named).
    """
    shown = display_value(value)
    if shown is None:
        return REDACTED
    return f"{REDACTED} {hashlib.sha256(shown.encode('utf-8')).hexdigest()[:32]}"


def _record_id(obj: object) -> str:
    # The identity key is set only after the flush ends; the key columns are set by now.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def insert_text(values: Mapping[str, str | None]) -> str:
    """How an insert entry records a new row's values: ``verify`` writes a row the same
    way and compares the two texts, so it must never change."""
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def _insert_draft(obj: object) -> EntryDraft:
    mapper = inspect(obj).mapper
    hidden = _redacted(obj)
    values = {
        attr.key: redacted(value) if attr.key in hidden else display_value(value)
        for attr in mapper.column_attrs
        for value in (getattr(obj, attr.key),)
    }
    return EntryDraft(
        action="insert",
        table_name=table_of(obj),
        record_id=_record_id(obj),
        new_value=insert_text(values),
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
                old_value=redacted(old) if secret else display_value(old),
                new_value=redacted(new) if secret else display_value(new),
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
    changed: list[tuple[object, list[EntryDraft]]] = []
    for obj in session.new:
        if _is_audited(obj):
            changed.append((obj, [_insert_draft(obj)]))
    for obj in session.dirty:
        if _is_audited(obj) and session.is_modified(obj, include_collections=False):
            drafts = _update_drafts(obj)
            if drafts:
                changed.append((obj, drafts))
    if not changed:
        return
    actor = current_actor(session)
    if actor is None:
        raise RuntimeError("a change was made with no acting user named (attribute_changes)")
    conn = session.connection()
    studies = StudyFinder(conn)
    named = [
        replace(draft, study_id=study_id)
        for obj, drafts in changed
        for study_id in (studies.of_record(obj),)
        for draft in drafts
    ]
    _append(conn, actor, session.info.get(REASON_KEY), named)
