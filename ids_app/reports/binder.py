"""The audit binder: a study's whole accountability record as one paginated PDF.

Sections follow DESIGN.md ("Reports"). Each is a template under ``templates/binder/``.
The binder is laid out in pieces (pieces.py): a section each, and the rows that grow with
the study (the accountability record, signature log, shipments, inventory, dispensing log,
returns, holds, disposals, counts, corrections, audit-trail extract) in runs of about
``PIECE_ROWS`` table rows, each on its own pages, so memory stays bounded whatever the study's
size and a large binder uses every core. The cover and contents are laid out last, when
every section's first page is known; "Page X of Y" is drawn over every page at the join.
Every page carries the protocol number, the edition and "Page X of Y".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ids_app.reports.accountability import (
    BALANCE_COLUMNS,
    NUMERIC_COLUMNS,
    RETURN_COLUMNS,
    darf_columns,
)
from ids_app.reports.archival import Attachment, Manifest
from ids_app.reports.audit_data import AuditDataFile
from ids_app.reports.gather import NO_SIGNATURE
from ids_app.reports.pieces import (
    Bookmark,
    LaidOut,
    join,
    lay_out,
    lay_out_all,
    page_number_overlays,
    piece_folder,
    worker_pool,
    workers_for,
)
from ids_app.reports.records import AuditEntries, AuditRow, Printing, StudyRecord
from ids_app.reports.rendering import render_html


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


def audit_tally(rows: Iterable[AuditRow]) -> list[AuditTally]:
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


# Rows of a long table laid out as one piece: a few dozen pages, a few hundred MB at most.
PIECE_ROWS = 400
# Below this many rows in the long tables, the pieces are laid out here, one after another:
# starting worker processes costs more than it saves on a small binder.
PARALLEL_FROM_ROWS = 1_500
# Layouts of the cover and contents before their length is taken as settled.
FRONT_LAYOUTS = 3


@dataclass(frozen=True)
class BinderPiece:
    """One piece of the binder: a section, or a run of one of its long tables.

    ``record`` is the record as the piece shows it (a run of rows); ``opens_section``: the
    piece starts the section (its heading and introduction); ``continues_rows``: its table
    goes on from the previous piece; ``rows_follow``: it goes on in the next piece (the
    section's closing lines wait for the last piece).
    """

    section: Section
    number: int
    record: StudyRecord
    opens_section: bool = True
    continues_rows: bool = False
    rows_follow: bool = False


def _runs(
    rows: tuple[Any, ...], weight: Callable[[Any], int] = lambda _row: 1
) -> Iterator[tuple[tuple[Any, ...], bool, bool]]:
    """(run, continues, follows) for consecutive runs of rows weighing ``PIECE_ROWS`` at
    most (a row's weight: the table rows it prints; a heavier row has a run to itself);
    one empty run for no rows."""
    start, held = 0, 0
    for end, row in enumerate(rows):
        heavy = weight(row)
        if end > start and held + heavy > PIECE_ROWS:
            yield rows[start:end], start > 0, True
            start, held = end, 0
        held += heavy
    yield rows[start:], start > 0, False


def _section_pieces(section: Section, number: int, record: StudyRecord) -> Iterator[BinderPiece]:
    if section.id == "accountability" and record.accountability:
        for index, darf in enumerate(record.accountability):
            for lines, continues, follows in _runs(darf.lines):
                view = dataclasses.replace(
                    record, accountability=(dataclasses.replace(darf, lines=lines),)
                )
                opens = index == 0 and not continues
                yield BinderPiece(section, number, view, opens, continues, follows)
        return
    cut = LONG_TABLES.get(section.id)
    if cut is None or (section.id == "audit" and len(record.audit) > PRINTED_AUDIT_ENTRIES):
        yield BinderPiece(section, number, record)
        return
    for rows, continues, follows in _runs(cut.rows_of(record), cut.weight):
        view = cut.with_rows(record, rows)
        yield BinderPiece(section, number, view, not continues, continues, follows)


Rows = tuple[Any, ...]


@dataclass(frozen=True)
class LongTable:
    """A section's rows that grow with the study: how to read them, the record as a piece
    shows a run of them, and how many table rows one of them prints (a shipment: its
    heading and each of its lines)."""

    rows_of: Callable[[StudyRecord], Rows]
    with_rows: Callable[[StudyRecord, Rows], StudyRecord]
    weight: Callable[[Any], int] = lambda _row: 1


# The sections whose rows grow with the study, beside the accountability record. A section
# of items (shipments, holds, disposals, counts) is cut between items; the staff section's
# signature log is cut by signature, the staff table staying on its first piece.
LONG_TABLES: dict[str, LongTable] = {
    "staff": LongTable(
        lambda record: record.signatures,
        lambda record, rows: dataclasses.replace(record, signatures=rows),
    ),
    "shipments": LongTable(
        lambda record: record.shipments,
        lambda record, rows: dataclasses.replace(record, shipments=rows),
        lambda shipment: 4 + len(shipment.lines),
    ),
    "inventory": LongTable(
        lambda record: record.inventory,
        lambda record, rows: dataclasses.replace(record, inventory=rows),
    ),
    "dispensing": LongTable(
        lambda record: record.dispensing,
        lambda record, rows: dataclasses.replace(record, dispensing=rows),
    ),
    "returns": LongTable(
        lambda record: record.returns,
        lambda record, rows: dataclasses.replace(record, returns=rows),
    ),
    "quarantine": LongTable(
        lambda record: record.holds,
        lambda record, rows: dataclasses.replace(record, holds=rows),
        lambda hold: 6 + len(hold.held) + len(hold.decisions),
    ),
    "disposal": LongTable(
        lambda record: record.disposals,
        lambda record, rows: dataclasses.replace(record, disposals=rows),
        lambda disposal: 5 + len(disposal.lines),
    ),
    "counts": LongTable(
        lambda record: record.counts,
        lambda record, rows: dataclasses.replace(record, counts=rows),
        lambda count: 2 + len(count.discrepancies),
    ),
    "corrections": LongTable(
        lambda record: record.corrections,
        lambda record, rows: dataclasses.replace(record, corrections=rows),
        lambda _correction: 3,
    ),
    "audit": LongTable(
        lambda record: tuple(record.audit),
        lambda record, rows: dataclasses.replace(record, audit=AuditEntries(rows)),
    ),
}


def binder_pieces(record: StudyRecord) -> Iterator[BinderPiece]:
    """The binder's sections, in order, as the pieces they are laid out in."""
    for number, section in enumerate(SECTIONS, start=1):
        yield from _section_pieces(section, number, record)


def _common(
    record: StudyRecord, printing: Printing, audit_data: AuditDataFile | None
) -> dict[str, Any]:
    """What every piece's template needs beside its own rows (computed once)."""
    printed_in_full = len(record.audit) <= PRINTED_AUDIT_ENTRIES
    return {
        "printing": printing,
        "data_hash": record.data_hash,
        "edition": record.edition,
        "study": record.study,
        "sections": SECTIONS,
        "darf_columns": darf_columns(record.shows_arms),
        "darf_widths": [DARF_WIDTHS[column] for column in darf_columns(record.shows_arms)],
        "numeric_columns": NUMERIC_COLUMNS,
        "balance_columns": BALANCE_COLUMNS,
        "return_columns": RETURN_COLUMNS,
        "no_signature": NO_SIGNATURE,
        "audit_data": audit_data,
        "audit_printed_in_full": printed_in_full,
        "audit_tally": [] if printed_in_full else audit_tally(record.audit),
    }


def piece_html(piece: BinderPiece, common: dict[str, Any]) -> str:
    return render_html(
        "binder/binder.html", front=False, piece=piece, record=piece.record, **common
    )


def front_html(record: StudyRecord, common: dict[str, Any], starts: dict[str, int]) -> str:
    """The cover and contents; ``starts``: each section's first page (empty while the
    sections' pages are not yet known: the contents then take the same room)."""
    return render_html(
        "binder/binder.html", front=True, piece=None, record=record, starts=starts, **common
    )


def binder_html(
    record: StudyRecord, printing: Printing, audit_data: AuditDataFile | None = None
) -> list[str]:
    """The HTML of every piece, front first (what a test reads without laying it out)."""
    common = _common(record, printing, audit_data)
    return [front_html(record, common, {}), *(piece_html(p, common) for p in binder_pieces(record))]


def _long_rows(record: StudyRecord) -> int:
    return sum(len(darf.lines) for darf in record.accountability) + sum(
        len(table.rows_of(record)) for table in LONG_TABLES.values()
    )


def _starts(front_pages: int, pieces: list[BinderPiece], laid: list[LaidOut]) -> dict[str, int]:
    starts: dict[str, int] = {}
    page = front_pages + 1
    for piece, result in zip(pieces, laid, strict=True):
        starts.setdefault(piece.section.id, page)
        page += result.pages
    return starts


def _front(
    record: StudyRecord,
    common: dict[str, Any],
    pieces: list[BinderPiece],
    laid: list[LaidOut],
    folder: Path,
) -> tuple[LaidOut, dict[str, int]]:
    """The cover and contents, with the page each section starts on (returned with them):
    laid out again while the contents' own length moves the sections (a page number one
    digit longer can wrap a line); in practice the second layout is the last."""
    front = lay_out(front_html(record, common, {}), str(folder / "front.pdf"))
    for _ in range(FRONT_LAYOUTS):
        starts = _starts(front.pages, pieces, laid)
        numbered = lay_out(front_html(record, common, starts), str(folder / "front.pdf"))
        if numbered.pages == front.pages:
            break
        front = numbered
    return numbered, starts


def write_binder(
    record: StudyRecord,
    printing: Printing,
    target: Path,
    audit_data: AuditDataFile,
    *,
    archive: tuple[Manifest, Sequence[Attachment]] | None = None,
    done: Callable[[int, int], None] = lambda _done, _total: None,
) -> int:
    """Render the binder into ``target``; returns its page count. ``done(n, total)`` after
    each piece laid out; it may raise to stop (a cancellation), and then no file is left.
    ``archive``: the manifest and the files the binder carries (archival.py)."""
    common = _common(record, printing, audit_data)
    pieces = list(binder_pieces(record))
    total = len(pieces) + 1
    workers = workers_for(len(pieces)) if _long_rows(record) >= PARALLEL_FROM_ROWS else 1
    with piece_folder(target) as folder, worker_pool(workers) as pool:
        laid = lay_out_all(
            (piece_html(piece, common) for piece in pieces),
            folder,
            workers=pool,
            done=lambda n: done(n, total),
        )
        front, starts = _front(record, common, pieces, laid, folder)
        every = [front, *laid]
        overlays = page_number_overlays(every, folder, "binder/page_numbers.html", workers=pool)
        bookmarks = [Bookmark("Cover and contents", 1)] + [
            Bookmark(f"{number}. {section.title}", starts[section.id])
            for number, section in enumerate(SECTIONS, start=1)
        ]
        pages = join(every, overlays, bookmarks, target, archive=archive)
        done(total, total)
        return pages
