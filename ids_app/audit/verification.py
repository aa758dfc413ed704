"""Walking the hash chain: finds any entry changed, removed or re-linked behind the app's back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from ids_app.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from ids_app.audit.trail import CHAIN_HEAD_ID, entry_hash

BATCH = 5_000


@dataclass(frozen=True)
class ChainBreak:
    entry_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    entries_checked: int
    first_break: ChainBreak | None

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


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in id order; stop at the first entry that does not hold.

    Rows are streamed as plain rows in batches, never kept as objects, so a trail of
    millions of entries is walked in constant memory.
    """
    prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
    rows = session.execute(
        select(AuditEntry.__table__).order_by(AuditEntry.id).execution_options(yield_per=BATCH)
    ).mappings()
    for entry in rows:
        problem = _check_entry(entry, expected_id, prev_hash)
        if problem is not None:
            return ChainReport(checked, ChainBreak(entry["id"], problem))
        prev_hash, expected_id, checked = entry["hash"], entry["id"] + 1, checked + 1
    head = session.get(AuditChainHead, CHAIN_HEAD_ID)
    if head is None:
        return ChainReport(checked, ChainBreak(expected_id, "the chain's head record is missing"))
    if head.last_id != expected_id - 1:
        return ChainReport(
            checked,
            ChainBreak(
                expected_id,
                f"the chain ends at entry {expected_id - 1} but should end at entry "
                f"{head.last_id}: later entries were removed",
            ),
        )
    if head.last_hash != prev_hash:
        return ChainReport(
            checked, ChainBreak(head.last_id, "the chain's head no longer matches its last entry")
        )
    return ChainReport(checked, None)
