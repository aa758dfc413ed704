"""Reading the sponsor's lists (kit lists, packing lists) from CSV or Excel files.

Sponsors' IWRS and depots export these in many shapes; the reader only turns a file into
a header and rows that remember their line, so an error can point at the line to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from ids_app.errors import InvalidInput

CellValue = str | int | float | dt.date  # dt.datetime is a dt.date too
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
DELIMITERS = (",", ";", "\t")
HEAD_LINES = 20  # lines looked at for the separator: title lines come first
HEADER_GUESS_LINES = 50  # rows a preset is looked for in
ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T][\d:.]+)?")
# IWRS exports write 31-JAN-2028, 31-Jan-2028, SAS's 31JAN2028, or 31 January 2028.
IWRS_DATE = re.compile(r"(\d{1,2})[- ]?([A-Za-z]{3,9})\.?[- ]?(\d{4})")
# US exports write the month first in words: May 31, 2027 or Jan 31 2028.
MONTH_FIRST_DATE = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})")
# Year first reads one way only: 2027/05/31, 2027.05.31.
YEAR_FIRST_DATE = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
NUMERIC_DATE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")
# Day or month first, as the mapping states: 31/05/2027, 05/31/2027, 31.05.27.
DAY_MONTH_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})")
MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
FORMAT_WORDS = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%b": "MON", "%B": "MONTH"}


GuessedMapping = TypeVar("GuessedMapping")


class DateOrder(StrEnum):
    """How a file writes numeric dates: 05/06/2027 is 5 June or May 6 by the country."""

    DAY_FIRST = "day/month/year"
    MONTH_FIRST = "month/day/year"


class TableUnreadable(InvalidInput):
    """The file is not a list we can read; nothing in it was looked at."""


class UnreadableDate(InvalidInput):
    """A cell that is not a date, or not an unambiguous one."""


@dataclass(frozen=True)
class TableRow:
    line: int
    values: dict[str, CellValue]

    def text(self, column: str) -> str:
        return cell_text(self.values.get(column, ""))


Line = tuple[int, tuple[CellValue, ...]]


@dataclass(frozen=True)
class Table:
    """A file's header row and the non-empty rows under it.

    ``header_line`` is where an error about the columns themselves points. ``lines`` keeps
    every non-empty line of the file, so the header can be looked for again below the
    title or device lines that exports put above it (:func:`headed_by`).
    """

    headers: list[str]
    rows: list[TableRow]
    header_line: int
    source: str
    lines: tuple[Line, ...] = ()

    @property
    def header_found(self) -> str:
        """Which row was taken as the header, for the preview to say."""
        return f"Header found on row {self.header_line}."

    def headed_at(self, line: int) -> Table:
        """The same file read with the header on ``line`` (one of ``lines``)."""
        return _table(
            self.source, [(number, list(cells)) for number, cells in self.lines if number >= line]
        )

    def candidate_headers(self) -> Iterable[tuple[int, list[str]]]:
        """Each non-empty line as a header could read it, top first."""
        if not self.lines:
            yield self.header_line, self.headers
        for number, cells in self.lines:
            yield number, [cell_text(cell) for cell in cells]


@dataclass(frozen=True)
class RowError:
    """What is wrong with one line of an imported list."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


class LotExpiries:
    """Each lot's expiry, as on record or as first listed: one lot has one expiry."""

    def __init__(self, recorded: Iterable[tuple[str, dt.date]]) -> None:
        self._known = {number: (expiry, "on record") for number, expiry in recorded}

    def conflict(self, lot_number: str, expiry: dt.date, line: int) -> str | None:
        known, where = self._known.setdefault(lot_number, (expiry, f"on line {line}"))
        if known == expiry:
            return None
        return (
            f"Lot {lot_number} has expiry {known:%Y-%m-%d} {where}, not {expiry:%Y-%m-%d}; "
            "one lot has one expiry."
        )


def headed_by(table: Table, columns: tuple[str, ...]) -> Table | RowError:
    """The table whose header is the first row holding every mapped column.

    Exports put title lines, device lines and blank lines above the header; the header
    is where the mapped columns are, not the first line with text. When no row holds
    them all, one error names what was looked for.
    """
    if not all(column.strip() for column in columns):
        return RowError(
            table.header_line,
            "A column of the mapping is not chosen; name each column as the file heads it.",
        )
    for line, names in table.candidate_headers():
        if all(column in names for column in columns):
            return table if line == table.header_line else table.headed_at(line)
    wanted = ", ".join(f"'{column}'" for column in columns)
    noun = "column" if len(columns) == 1 else "columns"
    return RowError(
        table.header_line,
        f"No row of {table.source} holds the {noun} {wanted}; choose the columns in the mapping.",
    )


def guess_header(
    table: Table, guess: Callable[[list[str]], GuessedMapping | None]
) -> tuple[Table, GuessedMapping] | None:
    """The first row whose names ``guess`` recognises, as the header, and its mapping.

    Only the top ``HEADER_GUESS_LINES`` rows are tried: titles sit above the header, and
    a long file of unknown layout should not be guessed at line by line."""
    for line, names in itertools.islice(table.candidate_headers(), HEADER_GUESS_LINES):
        mapping = guess(names)
        if mapping is not None:
            return (table if line == table.header_line else table.headed_at(line)), mapping
    return None


# What openpyxl, zipfile and the XML parser raise on a damaged workbook.
DAMAGED_XLSX: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    ValueError,
    IndexError,
    TypeError,
    EOFError,
    zlib.error,
    SyntaxError,  # broken XML inside (ElementTree's and lxml's parse errors)
)


def read_table(path: Path) -> Table:
    """Read a CSV (UTF-8, comma, semicolon or tab) or the first sheet of an .xlsx file."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        lines = _csv_lines(path)
    elif suffix in XLSX_SUFFIXES:
        lines = _xlsx_lines(path)
    elif suffix == ".xls":
        raise TableUnreadable(
            f"{path.name} is in the old Excel format; save it as .xlsx or CSV and try again."
        )
    else:
        raise TableUnreadable(f"{path.name} is not a CSV or Excel (.xlsx) file.")
    return _table(path.name, lines)


def _table(source: str, lines: Iterable[tuple[int, list[CellValue]]]) -> Table:
    header_line = 0
    headers: list[str] = []
    rows: list[TableRow] = []
    kept: list[Line] = []
    for line, cells in lines:
        if all(cell_text(cell) == "" for cell in cells):
            continue
        kept.append((line, tuple(cells)))
        if not headers:
            header_line, headers = line, [cell_text(cell) for cell in cells]
            repeated = sorted({name for name in headers if name and headers.count(name) > 1})
            if repeated:
                raise TableUnreadable(
                    f"The header row of {source} names the column '{repeated[0]}' twice; "
                    "rename one of them."
                )
            continue
        # Columns without a header (trailing separators in exports) are not data.
        values = {
            name: _clean(cell) for name, cell in zip(headers, cells, strict=False) if name != ""
        }
        rows.append(TableRow(line, values))
    if not headers:
        raise TableUnreadable(f"{source} is empty.")
    return Table([name for name in headers if name], rows, header_line, source, tuple(kept))


def _clean(cell: CellValue) -> CellValue:
    return cell.strip() if isinstance(cell, str) else cell


def _csv_lines(path: Path) -> list[tuple[int, list[CellValue]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise TableUnreadable(f"Cannot read {path.name}: {error.strerror}.") from None
    except UnicodeDecodeError:
        raise TableUnreadable(
            f"{path.name} is not UTF-8 text; in Excel save it as 'CSV UTF-8' and try again."
        ) from None
    if "\x00" in text:  # a binary file renamed .csv, or a damaged export
        line = text[: text.index("\x00")].count("\n") + 1
        raise TableUnreadable(
            f"{path.name} is not a text file (line {line} holds NUL characters); "
            "export it again as CSV."
        )
    # The header, not a title or device line above it, has the most separators; on a tie
    # the first line decides (a decimal comma in 5,2 is not a separator).
    first_lines = [line for line in text.splitlines() if line.strip()][:HEAD_LINES] or [""]
    delimiter = max(
        DELIMITERS,
        key=lambda mark: (
            max(line.count(mark) for line in first_lines),
            first_lines[0].count(mark),
        ),
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[tuple[int, list[CellValue]]] = []
    try:
        last_line = 0
        for cells in reader:
            # A quoted cell may span lines: the row starts after the previous one ended.
            lines.append((last_line + 1, list(cells)))
            last_line = reader.line_num
    except csv.Error as error:
        raise TableUnreadable(
            f"{path.name} is not a readable CSV file (line {reader.line_num}: {error})."
        ) from None
    return lines


def _xlsx_lines(path: Path) -> list[tuple[int, list[CellValue]]]:
    """The first sheet's rows by sheet row number; formulas read as their saved values.

    A damaged file (not a zip, a truncated or corrupt zip, broken XML inside, no sheet)
    fails as soon as it is opened or while its rows are read: either way it is one
    sentence, never a traceback."""
    import openpyxl  # type: ignore[import-untyped]

    unreadable = f"{path.name} is not a readable Excel (.xlsx) file."
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError as error:
        raise TableUnreadable(f"Cannot read {path.name}: {error.strerror}.") from None
    except DAMAGED_XLSX:
        raise TableUnreadable(unreadable) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some exporters write a wrong sheet size
        return [
            (number, [_xlsx_cell(value) for value in row])
            for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        ]
    except DAMAGED_XLSX:
        raise TableUnreadable(unreadable) from None
    finally:
        workbook.close()


def _xlsx_cell(value: object) -> CellValue:
    if value is None:
        return ""
    if isinstance(value, str | int | float | dt.date):
        return value
    return str(value)


def cell_text(value: CellValue) -> str:
    """A cell as text: Excel keeps kit number 1001 as the number 1001.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_date(
    value: CellValue, date_format: str | None = None, order: DateOrder | None = None
) -> dt.date:
    """An expiry from a cell: a date cell, 2028-01-31, 31-JAN-2028, 31 January 2028,
    Jan 31, 2028, 2028/01/31, a numeric date in the stated ``order``, or ``date_format``.

    Day-month order cannot be guessed from 01/02/2028, so numeric dates need the order
    (or the format) stated in the mapping.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    if not text:
        raise UnreadableDate("The date is empty.")
    if date_format:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            pass
    day = _known_date(text)
    if day is not None:
        return day
    if order is not None and (match := DAY_MONTH_DATE.fullmatch(text)):
        first, second, year = (int(part) for part in match.groups())
        if len(match[3]) == 2:
            year += 2000  # expiry dates are of this century
        day_number, month = (first, second) if order is DateOrder.DAY_FIRST else (second, first)
        return _calendar_day(text, year, month, day_number)
    if date_format:
        raise UnreadableDate(f"Date {text} does not match the date format {_spoken(date_format)}.")
    if order is not None:
        raise UnreadableDate(f"Date {text} is not written {order.value} nor 2028-01-31.")
    if NUMERIC_DATE.fullmatch(text):
        raise UnreadableDate(
            f"Date {text} is ambiguous; state the day/month order in the column mapping."
        )
    raise UnreadableDate(f"{text} is not a date; write it as 2028-01-31 or 31-JAN-2028.")


def _month(name: str) -> int | None:
    """JAN, Jan, January or Sept as the month's number; None for a word that is no month."""
    word = name.casefold()
    for number, full in enumerate(MONTH_NAMES, start=1):
        if word in (full, full[:3]) or (number == 9 and word == "sept"):
            return number
    return None


def _known_date(text: str) -> dt.date | None:
    """Dates that read the same way in every country: ISO, IWRS, months in words, year
    first."""
    if (match := ISO_DATE.fullmatch(text)) or (match := YEAR_FIRST_DATE.fullmatch(text)):
        year, month, day = (int(part) for part in match.groups())
    elif (match := IWRS_DATE.fullmatch(text)) and (named := _month(match[2])):
        year, month, day = int(match[3]), named, int(match[1])
    elif (match := MONTH_FIRST_DATE.fullmatch(text)) and (named := _month(match[1])):
        year, month, day = int(match[3]), named, int(match[2])
    else:
        return None
    return _calendar_day(text, year, month, day)


def _calendar_day(text: str, year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise UnreadableDate(f"Date {text} is not a day of the calendar.") from None


def _spoken(date_format: str) -> str:
    """%d/%m/%Y as the technician reads it: DD/MM/YYYY."""
    for code, word in FORMAT_WORDS.items():
        date_format = date_format.replace(code, word)
    return date_format
