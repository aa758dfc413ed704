"""The audit binder: a study's whole accountability record as one paginated PDF.

Sections follow DESIGN.md ("Reports"). Each is a template under ``templates/binder/``;
the contents page numbers them with CSS ``target-counter``, and every page carries the
protocol number, the edition and "Page X of Y".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ids_app.reports.accountability import (
    BALANCE_COLUMNS,
    NUMERIC_COLUMNS,
    RETURN_COLUMNS,
    darf_columns,
)
from ids_app.reports.gather import NO_SIGNATURE
from ids_app.reports.records import Printing, StudyRecord
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


def binder_html(record: StudyRecord, printing: Printing) -> str:
    return render_html(
        "binder/binder.html",
        record=record,
        printing=printing,
        sections=SECTIONS,
        darf_columns=darf_columns(record.shows_arms),
        darf_widths=[DARF_WIDTHS[column] for column in darf_columns(record.shows_arms)],
        numeric_columns=NUMERIC_COLUMNS,
        balance_columns=BALANCE_COLUMNS,
        return_columns=RETURN_COLUMNS,
        no_signature=NO_SIGNATURE,
    )


def write_binder(record: StudyRecord, printing: Printing, target: Path) -> int:
    """Render the binder into ``target``; returns its page count."""
    return write_pdf(binder_html(record, printing), target)
