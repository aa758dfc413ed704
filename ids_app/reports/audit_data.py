"""The audit-trail extract as data: a CSV file that travels beside the binder.

A study's trail runs to thousands of entries (the demo writes about two dozen per
dispense); printed whole, a real study's extract is thousands of pages that nobody can
search. The binder prints the extract while it stays a readable length and always names
this file, with its SHA-256, so the printed binder vouches for the data file and an
inspector can filter and sort every entry in a spreadsheet.

The rows are those the binder's edition may show (a blinded extract stays blinded), with
whole chain hashes and times in UTC, so each row can be matched against ``ids-app verify``.
Text is neutralised and quoted as the CDISC file's is (cells.py): a value someone typed
as "=…" is shown by a spreadsheet, never run.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from ids_app.reports.cells import cell_value
from ids_app.reports.records import AuditEntries, AuditRow

AUDIT_DATA_COLUMNS = (
    "Entry",
    "When (UTC)",
    "User",
    "Action",
    "Record",
    "Record id",
    "Field",
    "Old value",
    "New value",
    "Reason",
    "Entry SHA-256",
)


@dataclass(frozen=True)
class AuditDataFile:
    """What the binder says about the data file that goes with it."""

    name: str
    entries: int
    sha256: str


def audit_data_target(binder: Path) -> Path:
    """The data file's place: beside the binder, named after it."""
    return binder.with_name(f"{binder.stem}-audit-trail.csv")


def _row(entry: AuditRow) -> list[object]:
    return [
        entry.entry_id,
        entry.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        *(
            cell_value(text or "")
            for text in (
                entry.username,
                entry.action,
                entry.table_name,
                entry.record_id,
                entry.field,
                entry.old_value,
                entry.new_value,
                entry.reason,
            )
        ),
        entry.hash,
    ]


def write_audit_data(rows: AuditEntries, name: str, target: Path) -> AuditDataFile:
    """Write every row of the extract to ``target`` (a staged file published as ``name``)."""
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(AUDIT_DATA_COLUMNS)
        writer.writerows(_row(entry) for entry in rows)
    with target.open("rb") as written:
        digest = hashlib.file_digest(written, "sha256").hexdigest()
    return AuditDataFile(name, len(rows), digest)
