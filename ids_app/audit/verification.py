"""Walking the hash chain: finds any entry changed, removed or re-linked behind the app's back.

The walk can also hand every entry to a :class:`TrailReplay` (what the trail says each
record became) and hold given anchors (an entry id and hash kept outside the database):
a chain recomputed from scratch after an edit still disagrees with an older anchor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from ids_app.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from ids_app.audit.trail import CHAIN_HEAD_ID, entry_hash

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

    def take(self, entry: RowMapping | Mapping[str, object]) -> None:
        action, table, record = entry["action"], str(entry["table_name"]), entry["record_id"]
        if action not in (INSERT, UPDATE) or record is None:
            return  # a sign-in, an export: events, not row changes
        rows = self.records.setdefault(table, {})
        key = str(record)
        if action == INSERT:
            rows[key] = str(entry["new_value"])
            return
        state = rows.get(key)
        if state is None:
            self.updated_unborn.add((table, key))
            state = {}
        elif isinstance(state, str):
            state = json.loads(state)
        rows[key] = state
        value = entry["new_value"]
        state[str(entry["field"])] = None if value is None else str(value)


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


def _check_entry(entry: RowMapping, expected_id: int, prev_hash: str) -> str | None:
    if entry["id"] != expected_id:
        return f"entries {expected_id} to {entry['id'] - 1} are missing (deleted)"
    if entry["prev_hash"] != prev_hash:
        return f"its link to entry {entry['id'] - 1} was altered"
    if entry_hash(prev_hash, dict(entry)) != entry["hash"]:
        return "its content was changed after it was written (it no longer matches its hash)"
    return None


def verify_chain(
    session: Session, replay: TrailReplay | None = None, anchors: tuple[Anchor, ...] = ()
) -> ChainReport:
    """Recompute every hash in id order, and name the first entry that does not hold.

    Rows are streamed as plain rows in batches, never kept as objects, so a trail of
    millions of entries is walked in constant memory. With a ``replay`` the walk goes on
    past a break, so that the records can still be compared with everything the trail says.
    """
    prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
    first_break: ChainBreak | None = None
    wanted = {anchor.entry_id: anchor for anchor in anchors}
    anchor_problems: list[ChainBreak] = []
    rows = session.execute(
        select(AuditEntry.__table__).order_by(AuditEntry.id).execution_options(yield_per=BATCH)
    ).mappings()
    for entry in rows:
        if replay is not None:
            replay.take(entry)
        anchor = wanted.pop(entry["id"], None)
        if anchor is not None and anchor.hash != entry["hash"]:
            anchor_problems.append(_anchor_broken(anchor))
        if first_break is not None:
            continue
        problem = _check_entry(entry, expected_id, prev_hash)
        if problem is not None:
            first_break = ChainBreak(entry["id"], problem)
            if replay is None:
                break
            continue
        prev_hash, expected_id, checked = entry["hash"], entry["id"] + 1, checked + 1
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
