"""The audit binder: a study's whole accountability record as one paginated PDF.

Sections follow DESIGN.md ("Reports"). Each is a template under ``templates/binder/``;
the contents page numbers them with CSS ``target-counter``, and every page carries the
protocol number, the edition and "Page X of Y".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ids_app.reports.accountability import (
    BALANCE_COLUMNS,
    NUMERIC_COLUMNS,
    RETURN_COLUMNS,
    darf_columns,
)
from ids_app.reports.audit_data import AuditDataFile
from ids_app.reports.gather import NO_SIGNATURE
from ids_app.reports.records import AuditRow, Printing, StudyRecord
from ids_app.reports.rendering import render_html, write_pdf


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    wide: bool = False

    @property
    def template(self) -> str:
        return f"binder/{self.id}.html"


SECTIONS = (
    Section("summary", "Study summary, products and locations"),
    Section("staff", "Staff and signature log", wide=True),
    Section("accountability", "Accountability record (DARF)", wide=True),
    Section("shipments", "Shipment receipts and reconciliation"),
    Section("inventory", "Inventory on hand by lot, location and expiry"),
    Section("dispensing", "Dispensing log", wide=True),
    Section("returns", "Returns and compliance", wide=True),
    Section("quarantine", "Quarantine and excursions"),
    Section("disposal", "Destruction and return to sponsor"),
    Section("temperature", "Temperature log and excursions"),
    Section("counts", "Counts, discrepancies and resolutions", wide=True),
    Section("corrections", "Corrections", wide=True),
    Section("audit", "Audit-trail extract", wide=True),
)


# Widths (mm on a landscape page, scaled to fit) of the accountability record's columns:
# each header word must fit its column at 6.5 pt, and a line number (up to 5 digits),
# patient ID, kit number and lot at 7 pt without breaking mid-value.
DARF_WIDTHS = {
    "Line": 8,
    "Date": 16.5,
    "Transaction": 36,
    "Patient ID": 12,
    "Patient initials": 10,
    "Dose": 24,
    "Kit": 11,
    "Arm": 12,
    "Manufacturer and lot number": 34,
    "Quantity received": 11,
    "Quantity dispensed": 12.5,
    "Other (±)": 9,
    "Balance forward": 10.5,
    "New balance": 10.5,
    "Returned by patient": 12.5,
    "Returns out": 10.5,
    "Returns held apart": 10,
    "Recorder's initials": 12.5,
    "Signatures": 16,
}


# Beyond this many entries the binder prints what the extract holds, not every entry: at
# about 25 entries a page the whole extract would be past 80 pages, and it is in the data
# file that goes with the binder, where it can be searched.
PRINTED_AUDIT_ENTRIES = 2_000


@dataclass(frozen=True)
class AuditTally:
    """How many entries of one kind of record and action the extract holds."""

    record: str
    action: str
    entries: int
    first: int
    last: int


def audit_tally(rows: tuple[AuditRow, ...]) -> list[AuditTally]:
    """The extract in one table: entries per record and action, with their range."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.table_name, row.action)
        counts[key] += 1
        first.setdefault(key, row.entry_id)
        last[key] = row.entry_id
    return [
        AuditTally(
            record,
            action,
            counts[(record, action)],
            first[(record, action)],
            last[(record, action)],
        )
        for record, action in sorted(counts)
    ]


def binder_html(
    record: StudyRecord, printing: Printing, audit_data: AuditDataFile | None = None
) -> str:
    """The binder's HTML; ``audit_data`` is the data file of the extract that goes with it."""
    printed_in_full = len(record.audit) <= PRINTED_AUDIT_ENTRIES
    return render_html(
        "binder/binder.html",
        record=record,
        printing=printing,
        sections=SECTIONS,
        darf_columns=darf_columns(record.unblinded),
        darf_widths=[DARF_WIDTHS[column] for column in darf_columns(record.unblinded)],
        numeric_columns=NUMERIC_COLUMNS,
        balance_columns=BALANCE_COLUMNS,
        return_columns=RETURN_COLUMNS,
        no_signature=NO_SIGNATURE,
        audit_data=audit_data,
        audit_printed_in_full=printed_in_full,
        audit_tally=[] if printed_in_full else audit_tally(record.audit),
    )


def write_binder(
    record: StudyRecord, printing: Printing, target: Path, audit_data: AuditDataFile
) -> int:
    """Render the binder into ``target``; returns its page count."""
    return write_pdf(binder_html(record, printing, audit_data), target)
