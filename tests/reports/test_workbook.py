"""The sponsor workbook and the CDISC DA file, reopened: types, totals, blinding, shape."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.reports.cells import neutralised
from ids_app.reports.exports import WorkbookResult, export_sponsor_workbook
from ids_app.reports.gather import gather_study_record
from ids_app.reports.sheet_writer import DATE_FORMAT, LINE_HEIGHT, TIME_FORMAT
from ids_app.reports.workbook import SHEETS
from tests.reports.conftest import (
    INJECTABLE,
    ORAL,
    Demo,
    arm_names,
    ledger_totals,
    public_wording,
    without,
)
from tests.reports.formulas import Sheets


@dataclass
class Exported:
    result: WorkbookResult
    book: Any

    def rows(self, sheet: str) -> list[tuple[Any, ...]]:
        return list(self.book[sheet].iter_rows(values_only=True))

    def headers(self, sheet: str) -> list[str]:
        return list(self.rows(sheet)[0])

    def column(self, sheet: str, header: str) -> list[Any]:
        index = self.headers(sheet).index(header)
        return [row[index] for row in self.rows(sheet)[1:] if not _is_total(row)]


def _is_total(row: tuple[Any, ...]) -> bool:
    return isinstance(row[0], str) and row[0].startswith("Total")


def _open(result: WorkbookResult) -> Exported:
    return Exported(result, load_workbook(result.path))


@pytest.fixture(scope="module")
def blinded(demo: Demo) -> Exported:
    return _open(
        export_sponsor_workbook(
            demo.db,
            demo.user("tech"),
            ORAL,
            demo.folder / "abc-123.xlsx",
            cdisc_out=demo.folder / "abc-123-da.csv",
        )
    )


@pytest.fixture(scope="module")
def unblinded(demo: Demo) -> Exported:
    return _open(
        export_sponsor_workbook(
            demo.db, demo.user("pharm"), ORAL, demo.folder / "abc-123.xlsx", unblinded=True
        )
    )


@pytest.fixture(scope="module")
def injectable(demo: Demo) -> Exported:
    return _open(
        export_sponsor_workbook(
            demo.db,
            demo.user("pharm"),
            INJECTABLE,
            demo.folder / "xyz-789.xlsx",
            cdisc_out=demo.folder / "xyz-789-da.csv",
        )
    )


def test_workbook_has_one_sheet_per_record_in_order(blinded: Exported) -> None:
    assert blinded.book.sheetnames == list(SHEETS)


def test_data_sheets_have_a_frozen_header_a_filter_and_widths(blinded: Exported) -> None:
    for name in SHEETS[1:]:
        sheet = blinded.book[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref is not None, name
        assert sheet.auto_filter.ref.startswith("A1:"), name
        assert sheet.column_dimensions["A"].width > 5, name
        assert all(isinstance(h, str) and h for h in blinded.headers(name)), name


def test_every_sheet_prints_landscape_to_the_papers_width_headers_on_each_page(
    blinded: Exported,
) -> None:
    for sheet in blinded.book.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert setup.fitToWidth == 1, sheet.title
        if sheet.title == "Summary":
            assert setup.fitToHeight == 1  # one page
        else:
            assert setup.fitToHeight == 0, sheet.title  # as many pages long as it needs
            assert sheet.print_title_rows == "$1:$1", sheet.title


def test_every_sheet_keeps_its_header_in_view(blinded: Exported) -> None:
    assert [blinded.book[name].freeze_panes for name in SHEETS] == ["A2"] * len(SHEETS)


def _lines_at_least(text: str, width: float) -> int:
    """Lines a wrapped header takes at the least: a column holds ``width`` characters."""
    return math.ceil(len(text) / width)


def test_a_wrapped_header_row_is_tall_enough_that_no_header_sits_over_a_value(
    blinded: Exported,
) -> None:
    for name in SHEETS[1:]:
        sheet = blinded.book[name]
        height = sheet.row_dimensions[1].height
        assert height is not None, name
        for cell in sheet[1]:
            assert cell.alignment.wrap_text, (name, cell.value)
            width = sheet.column_dimensions[cell.column_letter].width
            assert height >= LINE_HEIGHT * _lines_at_least(cell.value, width), (name, cell.value)
    # "Quantity received" in a column 10 characters wide takes two lines.
    assert blinded.book["Accountability"].row_dimensions[1].height >= 2 * LINE_HEIGHT
    summary = blinded.book["Summary"]
    header = next(row for row in summary.iter_rows() if row[0].value == "Product")
    height = summary.row_dimensions[header[0].row].height
    for cell in header:
        width = summary.column_dimensions[cell.column_letter].width
        assert height >= LINE_HEIGHT * _lines_at_least(cell.value, width), cell.value


def test_each_filter_covers_the_header_and_data_rows_not_the_totals(blinded: Exported) -> None:
    for name in SHEETS[1:]:
        rows = blinded.rows(name)
        data = [row for row in rows[1:] if not _is_total(row)]
        assert rows[1 : 1 + len(data)] == data, name  # totals come after every data row
        last = get_column_letter(len(rows[0]))
        assert blinded.book[name].auto_filter.ref == f"A1:{last}{1 + len(data)}", name
    assert len(blinded.rows("Accountability")) > 20


def test_every_number_and_date_of_a_data_row_has_its_columns_format(blinded: Exported) -> None:
    for name in SHEETS[1:]:
        for row in blinded.book[name].iter_rows(min_row=2):
            if _is_total(tuple(c.value for c in row)):
                continue
            for cell in row:
                where = (name, cell.coordinate)
                if isinstance(cell.value, dt.datetime):
                    assert cell.number_format in (DATE_FORMAT, TIME_FORMAT), where
                elif isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    assert cell.number_format != "General", where
                elif isinstance(cell.value, str):
                    assert cell.data_type == "s", where


def test_every_totals_row_adds_up_its_products_rows(blinded: Exported) -> None:
    sheets = Sheets(blinded.book)
    checked = 0
    for name in SHEETS[1:]:
        rows = blinded.rows(name)
        headers = rows[0]
        data = [row for row in rows[1:] if not _is_total(row)]
        for number, row in enumerate(rows[1:], start=2):
            if not _is_total(row):
                continue
            product = row[0].removeprefix("Total: ") if row[0] != "Total" else None
            mine = [
                r
                for r in data
                if product is None or r[headers.index("Product")] == neutralised(product)
            ]
            for index, value in enumerate(row[1:], start=1):
                if value is None:
                    continue
                letter = get_column_letter(index + 1)
                expected = sum(r[index] or 0 for r in mine)
                assert sheets.value(name, letter, number) == expected, (name, letter, number)
                checked += 1
    assert checked > 10


def test_cells_are_typed_dates_as_dates_and_counts_as_numbers(blinded: Exported) -> None:
    dates = blinded.column("Accountability", "Date")
    assert dates
    assert all(isinstance(d, dt.datetime) for d in dates)  # Excel dates read back as datetime
    assert all(isinstance(n, int) for n in blinded.column("Accountability", "New balance"))
    assert all(isinstance(n, int) for n in blinded.column("Inventory", "Quantity"))
    assert all(isinstance(d, dt.datetime) for d in blinded.column("Dispensing", "Dispensed at"))
    compliance = blinded.column("Returns & compliance", "Compliance")
    assert all(isinstance(c, int | float) and 0.9 <= c <= 1.1 for c in compliance)
    assert blinded.book["Returns & compliance"]["P2"].number_format == "0.0%"
    cell = blinded.book["Accountability"]["D2"]
    assert cell.number_format == "yyyy-mm-dd"


def test_totals_reconcile_with_the_ledgers_balances(demo: Demo, blinded: Exported) -> None:
    sheets = Sheets(blinded.book)
    summary = blinded.rows("Summary")
    header = next(i for i, row in enumerate(summary, start=1) if row[0] == "Product")
    (on_shelf, returned), *_ = ledger_totals(demo, ORAL).values()
    row = header + 1
    assert sheets.value("Summary", "G", row) == on_shelf == 7  # balance on the log, computed
    assert sheets.value("Summary", "H", row) == on_shelf  # stock on the ledger
    assert sheets.value("Summary", "I", row) == "yes"
    assert sheets.value("Summary", "L", row) == returned
    assert sheets.value("Summary", "N", row) == "yes"
    # The Accountability sheet's own totals match its lines.
    received = blinded.column("Accountability", "Quantity received")
    assert sheets.value("Summary", "D", row) == sum(n or 0 for n in received) == 21
    # Inventory's total is every kit on site, returned or not.
    inventory = blinded.rows("Inventory")
    total_row = next(i for i, r in enumerate(inventory, start=1) if _is_total(r))
    quantity = blinded.headers("Inventory").index("Quantity") + 1
    letter = chr(ord("A") + quantity - 1)
    assert sheets.value("Inventory", letter, total_row) == on_shelf + returned


def test_injectable_totals_reconcile_too(demo: Demo, injectable: Exported) -> None:
    sheets = Sheets(injectable.book)
    summary = injectable.rows("Summary")
    row = next(i for i, r in enumerate(summary, start=1) if r[0] == "Product") + 1
    (on_shelf, _returned), *_ = ledger_totals(demo, INJECTABLE).values()
    assert sheets.value("Summary", "G", row) == sheets.value("Summary", "H", row) == on_shelf
    destroyed = injectable.column("Destruction", "Quantity")
    assert destroyed == [10]


def test_blinded_workbook_names_no_arm_in_any_cell(demo: Demo, blinded: Exported) -> None:
    names = arm_names(demo, ORAL)
    allowed = public_wording(demo, ORAL)
    for sheet in blinded.book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    for name in names:
                        assert name not in without(value, allowed), (sheet.title, value)
    assert "Arm" not in blinded.headers("Inventory")


def test_unblinded_workbook_says_so_in_its_name_and_summary(unblinded: Exported) -> None:
    assert unblinded.result.path.name == "abc-123-unblinded.xlsx"
    edition = dict((row[0], row[1]) for row in unblinded.rows("Summary")[1:] if row[0])["Edition"]
    assert edition.startswith("UNBLINDED EDITION")
    arms = set(unblinded.column("Inventory", "Arm")) | set(unblinded.column("Dispensing", "Arm"))
    assert {"ABC 10 mg", "Placebo"} <= arms


def test_blinded_workbook_keeps_its_name_and_says_blinded(blinded: Exported) -> None:
    assert blinded.result.path.name == "abc-123.xlsx"
    summary = dict((row[0], row[1]) for row in blinded.rows("Summary")[1:] if row[0])
    assert summary["Edition"] == "BLINDED EDITION"
    assert re.fullmatch(r"[0-9a-f]{64}", summary["SHA-256 of the data"])
    # The chain head it was made from, for `ids-app verify --anchor` (a copy off the database).
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", summary["Audit-trail anchor (ID:hash)"])


def test_compliance_is_the_binders_one_decimal_percentage_as_a_number(
    demo: Demo, blinded: Exported
) -> None:
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("tech"), ORAL)
    expected = [r.compliance_percent for r in record.returns]
    assert Decimal("92.9") in expected  # 26 of 28 tablets taken
    shown = blinded.column("Returns & compliance", "Compliance")
    assert [Decimal(str(value)) * 100 for value in shown] == expected
    sheet = blinded.book["Returns & compliance"]
    column = blinded.headers("Returns & compliance").index("Compliance") + 1
    for row in range(2, len(shown) + 2):
        assert sheet.cell(row, column).data_type == "n"
        assert sheet.cell(row, column).number_format == "0.0%"


def _da(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cdisc_file_has_the_da_domains_columns_and_unique_daseq(blinded: Exported) -> None:
    assert blinded.result.cdisc_path is not None
    rows = _da(blinded.result.cdisc_path)
    required = {"STUDYID", "DOMAIN", "USUBJID", "DASEQ", "DATESTCD", "DATEST"}
    assert required <= set(rows[0])
    assert {
        "DAREFID",
        "DACAT",
        "DAORRES",
        "DAORRESU",
        "DASTRESN",
        "DASTRESU",
        "VISIT",
        "DADTC",
    } <= set(rows[0])
    assert len(rows) == 20  # 12 kits dispensed, 8 returned
    assert {r["DOMAIN"] for r in rows} == {"DA"}
    assert {r["STUDYID"] for r in rows} == {"ABC-123"}
    seqs = Counter((r["USUBJID"], r["DASEQ"]) for r in rows)
    assert max(seqs.values()) == 1
    for subject in {r["USUBJID"] for r in rows}:
        numbers = sorted(int(r["DASEQ"]) for r in rows if r["USUBJID"] == subject)
        assert numbers == list(range(1, len(numbers) + 1))
    assert all(len(r["DATESTCD"]) <= 8 and len(r["DATEST"]) <= 40 for r in rows)
    assert {r["DATESTCD"] for r in rows} == {"DISPAMT", "RETAMT"}
    assert all(dt.date.fromisoformat(r["DADTC"]) for r in rows)
    dispensed = [r for r in rows if r["DATESTCD"] == "DISPAMT"]
    assert {(r["DASTRESN"], r["DASTRESU"]) for r in dispensed} == {("30", "TABLET")}


def test_cdisc_file_of_a_bulk_product_refers_to_the_dispense_number(injectable: Exported) -> None:
    assert injectable.result.cdisc_path is not None
    rows = _da(injectable.result.cdisc_path)
    assert len(rows) == 12
    assert all(re.fullmatch(r"DSP-\d{6}", r["DAREFID"]) for r in rows)
    assert {(r["DASTRESN"], r["DASTRESU"]) for r in rows} == {("2", "VIAL")}


def test_workbook_and_cdisc_exports_are_in_the_audit_trail(
    demo: Demo, blinded: Exported, unblinded: Exported
) -> None:
    with demo.db.read_session() as session:
        details = {
            (entry.username, entry.new_value or "")
            for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        }
    users_and_kinds = {
        (user, text.split(",")[0] + "," + text.split(",")[1]) for user, text in details
    }
    assert ("tech", "sponsor workbook, blinded edition") in users_and_kinds
    assert ("tech", "CDISC DA file, blinded edition") in users_and_kinds
    assert ("pharm", "sponsor workbook, unblinded edition") in users_and_kinds


def _as_json(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(repr(value))


def test_the_data_hash_is_the_sha256_of_the_whole_record_as_one_json_document(
    demo: Demo,
) -> None:
    """Hashed a row at a time so a large study's record is not copied whole, the Summary's
    data hash is still the one a binder of the same data printed before."""
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("pharm"), ORAL, unblinded=True)
    # The extract's rows wait in a file (AuditEntries); as JSON they are one array.
    whole = dataclasses.replace(record, audit=tuple(record.audit))
    document = json.dumps(
        dataclasses.asdict(whole),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_as_json,
    )
    assert record.data_hash == hashlib.sha256(document.encode("utf-8")).hexdigest()
