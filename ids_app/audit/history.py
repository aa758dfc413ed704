"""A record's field as it stood at an earlier moment, read back from the audit trail.

Setup records keep only their present values (a prescriber authorized or withdrawn, a
study's status); the trail keeps every change with its old value, hash-chained. An event
entered late is judged as things stood when it happened (inventory.late_entries), so its
rules ask the trail what a field was then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry


@dataclass(frozen=True)
class EarlierValue:
    """The field's value at the moment asked, as the trail wrote it (its display text)."""

    text: str | None


def value_at(
    session: Session, table: str, record_id: int, field: str, moment: dt.datetime
) -> EarlierValue | None:
    """The field's value at ``moment``: the old value of its first change after it, or
    None when it has not changed since (the present value held then)."""
    old = session.execute(
        select(AuditEntry.old_value)
        .where(
            AuditEntry.table_name == table,
            AuditEntry.record_id == str(record_id),
            AuditEntry.action == "update",
            AuditEntry.field == field,
            AuditEntry.at > moment,
        )
        .order_by(AuditEntry.id)
        .limit(1)
    ).first()
    return None if old is None else EarlierValue(old[0])
