"""One sheet of an xlsx as the app writes it: typed cells, and text that is never code.

Dates are dates and counts are numbers; text is neutralised (reports/cells.py) and stored
as a string, so nothing typed into the app or read from a sponsor's file runs when the
workbook is opened; the only formulas are the workbook's own totals. openpyxl's
write-only mode streams each row to the file as it is appended, so memory does not grow
with the rows; a data row costs little more than openpyxl's own floor of plain values
(bench/workbook.py), because only the cells that need a style or a forced type are built
as cells, with the column's style made once.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import Cell, WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ERROR_CODES  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from ids_app.reports.cells import Formula, cell_value, neutralised

DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
WRAP = Alignment(wrap_text=True, vertical="top")
# Points a line of 11 pt text takes in a row (Excel's and LibreOffice's default row).
LINE_HEIGHT = 15.0


@dataclass(frozen=True)
class Column:
    """A sheet column: its header, width (characters) and what its cells hold."""

    header: str
    width: float
    kind: str = "text"  # text, int, float, percent, share, date, time, celsius, mkt, hours

    @property
    def number_format(self) -> str | None:
        return {
            "date": DATE_FORMAT,
            "time": TIME_FORMAT,
            "int": "0",
            "float": "0.##",
            "percent": "0.0%",  # compliance, as protocols state it (85.7 %)
            "share": "0.0%",
            # A reading as recorded (7.778 °C) but never "8." for 8 °C.
            "celsius": "0.0##",
            "mkt": "0.00",
            "hours": "0.00",
        }.get(self.kind)


def new_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    """Every cell of the workbook is made here: text is neutralised (reports/cells.py) and
    stored as a string, a :class:`Formula` is the only formula.

    openpyxl guesses a cell's type from its value: text starting with "=" would be a
    formula and text such as "#N/A" an error value. Typed text is neither, so its type is
    set, not guessed.
    """
    cell = WriteOnlyCell(sheet, value=cell_value(value))
    if isinstance(value, Formula):
        cell.data_type = "f"
    elif isinstance(value, str):
        cell.data_type = "s"
    return cell


def data_value(sheet: Any, value: Any, style: Any = None) -> Any:
    """What a data row appends for ``value``: the same cell :func:`new_cell` makes, built
    only when it must be.

    Text openpyxl would store as a string anyway goes as plain (neutralised) text, an empty
    cell as nothing, a number or date of an unformatted column as itself; a number or date
    of a formatted column is a cell with the column's ``style`` (a style array made once
    per column); text that openpyxl would read as an error value or a formula is a cell
    typed as a string. A cell built for every value made a large workbook twice as slow.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = neutralised(value)
        if text in ERROR_CODES or text.startswith("="):
            return new_cell(sheet, value)
        return text
    if isinstance(value, Formula):
        return new_cell(sheet, value)
    if style is None:
        return value
    return Cell(sheet, row=1, column=1, value=value, style_array=style)


def header_height(headers: Iterable[tuple[str, float]]) -> float:
    """The height (points) of a header row whose bold headers wrap at their columns'
    widths (characters), so the last line of a header never sits over the first value."""
    lines = max(
        (len(textwrap.wrap(header, max(1, int(width) - 2))) for header, width in headers),
        default=1,
    )
    return LINE_HEIGHT * max(1, lines)


def excel_time(moment: dt.datetime | None) -> dt.datetime | None:
    """Excel has no time zones: the pharmacy's local time, as every screen shows it."""
    return None if moment is None else moment.astimezone().replace(tzinfo=None)


def print_setup(sheet: Any, *, title_rows: str | None = None, one_page: bool = False) -> None:
    """Landscape, as wide as the paper, the header row again on every printed page; so an
    inspector's printout reads like the screen, not 86 portrait pages cut into strips."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1 if one_page else 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows is not None:
        sheet.print_title_rows = title_rows


class SheetWriter:
    """Writes one table sheet: header, typed rows, a totals row; freezes and filters it."""

    def __init__(self, book: Workbook, title: str, columns: Sequence[Column]) -> None:
        self.sheet = book.create_sheet(title)
        self.columns = list(columns)
        self.rows = 0
        self.total_rows = 0
        for index, column in enumerate(self.columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = column.width
        self.sheet.freeze_panes = "A2"
        print_setup(self.sheet, title_rows="1:1")
        self.sheet.row_dimensions[1].height = header_height(
            (c.header, c.width) for c in self.columns
        )
        self.sheet.append([self._cell(c.header, style="header") for c in self.columns])
        self._styles = [self._data_style(c) for c in self.columns]

    def letter(self, header: str) -> str:
        return str(get_column_letter([c.header for c in self.columns].index(header) + 1))

    def _cell(self, value: Any, *, column: Column | None = None, style: str = "") -> WriteOnlyCell:
        cell = new_cell(self.sheet, value)
        if style == "header":
            cell.font = BOLD
            cell.fill = HEADER_FILL
            cell.alignment = WRAP
        elif style == "total":
            cell.font = BOLD
        if column is not None and column.number_format is not None:
            cell.number_format = column.number_format
        return cell

    def _data_style(self, column: Column) -> Any:
        """The style array of the column's data cells (its number format), or None."""
        if column.number_format is None:
            return None
        return self._cell(None, column=column)._style

    def row(self, values: Sequence[Any]) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        sheet = self.sheet
        sheet.append([data_value(sheet, v, s) for v, s in zip(values, self._styles, strict=True)])
        self.rows += 1

    @property
    def last_data_row(self) -> int:
        return self.rows + 1

    def data_range(self, header: str) -> str:
        letter = self.letter(header)
        return f"${letter}$2:${letter}${self.last_data_row}"

    def totals(
        self, label: str, sums: Iterable[str], *, where: tuple[str, str] | None = None
    ) -> int:
        """A totals row of SUM (or SUMIFS on one column) formulas below the data; returns
        its row number. With no data rows the totals are plain zeros."""
        values: list[Any] = [None] * len(self.columns)
        values[0] = label
        for header in sums:
            formula: Any = 0
            if self.rows and where is None:
                formula = Formula(f"SUM({self.data_range(header)})")
            elif self.rows and where is not None:
                by, match = where
                formula = Formula(
                    f'SUMIFS({self.data_range(header)},{self.data_range(by)},"{_criterion(match)}")'
                )
            values[self.columns.index(self._column(header))] = formula
        self.sheet.append(
            [
                self._cell(v, column=c, style="total")
                for v, c in zip(values, self.columns, strict=True)
            ]
        )
        self.total_rows += 1
        return self.last_data_row + self.total_rows

    def _column(self, header: str) -> Column:
        return next(c for c in self.columns if c.header == header)

    def finish(self) -> None:
        last = get_column_letter(len(self.columns))
        self.sheet.auto_filter.ref = f"A1:{last}{max(self.last_data_row, 1)}"


def _criterion(text: str) -> str:
    """The SUMIFS criterion that matches a cell holding ``text``: the text as the cell
    stores it (neutralised), inside a formula's double quotes."""
    return neutralised(text).replace('"', '""')
