"""A subject's status as it stood on a given day, for an event entered late.

The subject row keeps only its current status and the day it took effect; every earlier
status and date is in the audit trail (each change is written there with its old value,
hash-chained, never edited). A dispense typed in from a downtime's paper log is judged on
the day it happened (inventory.late_entries): a subject discontinued today was still
enrolled yesterday, and one enrolled today was not yet enrolled yesterday. Statuses are
dated by day, as the investigator dates them, so a status holds for the whole of its day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.studies.models import Subject, SubjectStatus


def status_on(session: Session, subject: Subject, day: dt.date) -> SubjectStatus | None:
    """The subject's status on ``day``; None when its first recorded status took effect
    only after that day (it was not yet on record as anything)."""
    status, since = subject.status, subject.status_on
    if since is None or since <= day:
        return status
    for change in _status_changes(session, subject):
        if "status" not in change:
            continue
        status = SubjectStatus(str(change["status"]))
        if "status_on" in change:
            old_since = change["status_on"]
            since = dt.date.fromisoformat(old_since) if old_since else None
        if since is None or since <= day:
            return status
    return None


def _status_changes(session: Session, subject: Subject) -> Iterator[dict[str, str | None]]:
    """The trail's changes of the subject's status and its date, newest first, as each
    field's old value. One change writes both fields as neighbouring entries of one
    moment; a change of the date alone (a corrected date) comes on its own."""
    rows = session.execute(
        select(AuditEntry.id, AuditEntry.at, AuditEntry.field, AuditEntry.old_value)
        .where(
            AuditEntry.table_name == Subject.__tablename__,
            AuditEntry.record_id == str(subject.id),
            AuditEntry.action == "update",
            AuditEntry.field.in_(("status", "status_on")),
        )
        .order_by(AuditEntry.id.desc())
    ).all()
    index = 0
    while index < len(rows):
        entry_id, at, field, old = rows[index]
        change = {str(field): old}
        index += 1
        if index < len(rows):
            next_id, next_at, next_field, next_old = rows[index]
            if (next_id, next_at) == (entry_id - 1, at) and next_field != field:
                change[str(next_field)] = next_old
                index += 1
        yield change
