"""Walking the hash chain: finds any entry changed, removed or re-linked behind the app's back.

The walk can also hand every entry to a :class:`TrailReplay` (what the trail says each
record became) and hold given anchors (an entry id and hash kept outside the database):
a chain recomputed from scratch after an edit still disagrees with an older anchor.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Enum, Select, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ids_app.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from ids_app.audit.trail import CHAIN_HEAD_ID, chained_hash, display_value
from ids_app.db import UtcDateTime

BATCH = 5_000
INSERT, UPDATE = "insert", "update"


@dataclass(frozen=True)
class Anchor:
    """An entry id and its hash, copied out of the database when it was the chain's head."""

    entry_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash}"


# What the trail says one record became: the text of its insert entry while nothing has
# changed it since (kept as text: a fraction of the memory of a dict, compared as text),
# or each field's last value once an update has been replayed onto it.
Recorded = str | dict[str, str | None]


@dataclass
class TrailReplay:
    """What the trail says each record became, per table and record.

    ``updated_unborn`` names records the trail changed without ever recording their insert.
    """

    records: dict[str, dict[str, Recorded]] = field(default_factory=dict)
    updated_unborn: set[tuple[str, str]] = field(default_factory=set)

    def take(
        self, action: str, table: str, record: str | None, name: str | None, value: str | None
    ) -> None:
        """One entry: an insert's text, or an update of one field to ``value``."""
        if action not in (INSERT, UPDATE) or record is None:
            return  # a sign-in, an export: events, not row changes
        rows = self.records.setdefault(str(table), {})
        key = str(record)
        if action == INSERT:
            rows[key] = str(value)
            return
        state = rows.get(key)
        if state is None:
            self.updated_unborn.add((str(table), key))
            state = {}
        elif isinstance(state, str):
            state = json.loads(state)
        rows[key] = state
        state[str(name)] = None if value is None else str(value)


# A stored value, as the driver returns it, turned into the text the trail keeps.
StoredText = Callable[[Any], str | None]
# SQLAlchemy's conversion of a driver's value (a column type's result processor).
Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class DriverRows:
    """A query's rows as the driver returns them, and each column's type as the driver
    names it (PostgreSQL's type code; None in SQLite), which says how SQLAlchemy would
    convert its values."""

    type_codes: list[Any]
    rows: Iterator[Sequence[Any]]


def driver_rows(session: Session, query: Select[Any]) -> DriverRows:
    """``query``'s rows on the session's own snapshot, as the driver returns them, in batches.

    No SQLAlchemy type converts them (a moment parsed, an enum looked up: millions of
    values, most of them only to be shown as text again); :func:`stored_text` gives each
    column's exact way from the stored value to the trail's text.
    """
    conn = session.connection()
    sql = str(query.compile(dialect=conn.dialect))
    result = conn.exec_driver_sql(sql, execution_options={"yield_per": BATCH})
    codes = [described[1] for described in result.cursor.description]
    return DriverRows(codes, iter(result))


def converter(column: ColumnElement[Any], dialect: Dialect, type_code: Any) -> Processor | None:
    """What SQLAlchemy does to a driver's value of ``column`` (None: nothing)."""
    processor: Processor | None = column.type.dialect_impl(dialect).result_processor(
        dialect, type_code
    )
    return processor


def stored_text(
    column: ColumnElement[Any], dialect: Dialect, type_code: Any = None
) -> StoredText | None:
    """How a driver's value of ``column`` reads in the trail: :func:`display_value` of what
    SQLAlchemy would make of it. None when SQLAlchemy leaves the driver's value as it is."""
    process = converter(column, dialect, type_code)
    if process is None:
        return None
    if isinstance(column.type, UtcDateTime) and dialect.name == "sqlite":
        return lambda stored: _sqlite_moment(stored, process)
    if isinstance(column.type, Enum | Boolean):
        return _remembered(process)
    return lambda stored: display_value(process(stored))


def _sqlite_moment(stored: Any, process: Processor) -> str | None:
    """SQLAlchemy keeps a moment in SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); the
    trail shows it in ISO form with +00:00 and no fraction when it is zero. Text in that
    exact form is rewritten, which is what parsing and showing it would give; anything
    else takes the long way, so no stored form reads differently from before."""
    if type(stored) is str and len(stored) == 26 and stored[10] == " " and stored[19] == ".":
        fraction = stored[19:]
        return f"{stored[:10]}T{stored[11:19]}{'' if fraction == '.000000' else fraction}+00:00"
    return display_value(process(stored))


def _remembered(process: Processor) -> StoredText:
    """An enum's or a flag's text, worked out once per stored value (there are few)."""
    known: dict[Any, str | None] = {}

    def text(stored: Any) -> str | None:
        try:
            return known[stored]
        except KeyError:
            known[stored] = shown = display_value(process(stored))
            return shown

    return text


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    first_break: ChainBreak | None
    # The last entry walked (the chain's head when intact): the anchor to copy out.
    head: Anchor | None = None
    anchor_problems: tuple[ChainBreak, ...] = ()

    @property
    def intact(self) -> bool:
        return self.first_break is None

    def summary(self) -> str:
        if self.first_break is None:
            return f"Audit trail intact: {self.entries_checked} entries verified."
        return (
            f"Audit trail BROKEN at entry {self.first_break.entry_id}: "
            f"{self.first_break.problem} ({self.entries_checked} entries checked before it)."
        )


def verify_chain(
    session: Session, replay: TrailReplay | None = None, anchors: tuple[Anchor, ...] = ()
) -> ChainReport:
    """Recompute every hash in id order, and name the first entry that does not hold.

    Rows are streamed in batches as the driver returns them, never kept, so a trail of
    millions of entries is walked in constant memory. With a ``replay`` the walk goes on
    past a break, so that the records can still be compared with everything the trail says.
    """
    prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
    first_break: ChainBreak | None = None
    wanted = {anchor.entry_id: anchor for anchor in anchors}
    anchor_problems: list[ChainBreak] = []
    c = AuditEntry.__table__.c
    # The content in entry_hash's order; then the entry's study, and its two hashes.
    query = select(
        c.id, c.at, c.user_id, c.username, c.action, c.table_name, c.record_id, c.field,
        c.old_value, c.new_value, c.reason, c.study_id, c.prev_hash, c.hash,
    ).order_by(c.id)  # fmt: skip
    found = driver_rows(session, query)
    moment = stored_text(c.at, session.get_bind().dialect, found.type_codes[1]) or display_value
    for entry in found.rows:
        (entry_id, at, user_id, username, action, table, record, name, old, new, reason,
         study_id, its_prev_hash, its_hash) = entry  # fmt: skip
        if replay is not None:
            replay.take(action, table, record, name, new)
        if wanted:
            anchor = wanted.pop(entry_id, None)
            if anchor is not None and anchor.hash != its_hash:
                anchor_problems.append(_anchor_broken(anchor))
        if first_break is not None:
            continue
        problem = None
        if entry_id != expected_id:
            problem = f"entries {expected_id} to {entry_id - 1} are missing (deleted)"
        elif its_prev_hash != prev_hash:
            problem = f"its link to entry {entry_id - 1} was altered"
        else:
            content = [entry_id, moment(at), user_id, username, action, table, record, name]
            content += (old, new, reason) if study_id is None else (old, new, reason, study_id)
            if chained_hash(prev_hash, content) != its_hash:
                problem = (
                    "its content was changed after it was written (it no longer matches its hash)"
                )
        if problem is not None:
            first_break = ChainBreak(entry_id, problem)
            if replay is None:
                break
            continue
        prev_hash, expected_id, checked = its_hash, entry_id + 1, checked + 1
    anchor_problems.extend(
        ChainBreak(
            anchor.entry_id,
            f"the anchor {anchor} names an entry the chain no longer holds: "
            "entries were removed and the chain re-forged",
        )
        for anchor in wanted.values()
    )
    head = Anchor(expected_id - 1, prev_hash) if checked else None
    return ChainReport(
        checked,
        first_break or _check_head(session, expected_id, prev_hash),
        head,
        tuple(anchor_problems),
    )


def _anchor_broken(anchor: Anchor) -> ChainBreak:
    return ChainBreak(
        anchor.entry_id,
        f"the entry no longer has the hash its anchor {anchor} recorded: the chain up to it "
        "was changed and re-computed",
    )


def _check_head(session: Session, expected_id: int, prev_hash: str) -> ChainBreak | None:
    head = session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None:
        return ChainBreak(expected_id, "the chain's head record is missing")
    if head.last_id != expected_id - 1:
        return ChainBreak(
            expected_id,
            f"the chain ends at entry {expected_id - 1} but should end at entry "
            f"{head.last_id}: later entries were removed",
        )
    if head.last_hash != prev_hash:
        return ChainBreak(head.last_id, "the chain's head no longer matches its last entry")
    return None


@dataclass(frozen=True)
class Finding:
    """One thing ``verify`` found wrong, named so a person can go and look at it."""

    check: str  # chain, anchors, guards, records, signatures, workflow, ledger
    table: str | None
    record: str | None
    problem: str
    field: str | None = None
    trail_says: str | None = None
    table_holds: str | None = None

    def line(self) -> str:
        where = " ".join(
            part
            for part in (
                self.table or "",
                f"record {self.record}" if self.record is not None else "",
                f"field {self.field}" if self.field else "",
            )
            if part
        )
        said = ""
        if self.field is not None:
            said = f" (the trail says {_quoted(self.trail_says)}; the table holds "
            said += f"{_quoted(self.table_holds)})"
        return f"{self.check}: {where}: {self.problem}{said}"


def _quoted(value: str | None) -> str:
    return "nothing" if value is None else repr(value)
