"""Just enough of a spreadsheet to check the workbook's formulas without Excel.

openpyxl writes formulas but never computes them. These tests compute the few shapes the
workbook uses (cell references across sheets, + and -, SUM, SUMIFS with one criterion,
IF with an equality) from the cells as read back, so "the totals reconcile" is checked on
the file itself.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils import column_index_from_string  # type: ignore[import-untyped]

REF = r"(?:(?P<sheet>'[^']+'|[A-Za-z][\w &]*)!)?\$?(?P<col>[A-Z]{1,3})\$?(?P<row>\d+)"
RANGE = rf"{REF}:\$?(?P<col2>[A-Z]{{1,3}})\$?(?P<row2>\d+)"


class Sheets:
    def __init__(self, book: Any) -> None:
        self.book = book

    def value(self, sheet: str, col: str, row: int) -> Any:
        cell = self.book[sheet].cell(row=row, column=column_index_from_string(col))
        value = cell.value
        if isinstance(value, str) and value.startswith("="):
            return self.evaluate(sheet, value)
        return value

    def cells(self, sheet: str, text: str) -> list[Any]:
        match = re.fullmatch(RANGE, text.strip())
        assert match is not None, text
        where = _sheet(match.group("sheet"), sheet)
        col, col2 = match.group("col"), match.group("col2")
        assert col == col2, "ranges here are single columns"
        first, last = int(match.group("row")), int(match.group("row2"))
        return [self.value(where, col, row) for row in range(first, last + 1)]

    def evaluate(self, sheet: str, formula: str) -> Any:
        body = formula.removeprefix("=").strip()
        if body.startswith("SUM("):
            return sum(v or 0 for v in self.cells(sheet, body[4:-1]))
        if body.startswith("SUMIFS("):
            values, criteria, wanted = _split(body[7:-1])
            wanted = wanted.strip().strip('"').replace('""', '"')
            return sum(
                v or 0
                for v, c in zip(self.cells(sheet, values), self.cells(sheet, criteria), strict=True)
                if c == wanted
            )
        if body.startswith("IF("):
            test, yes, no = _split(body[3:-1])
            left, right = test.split("=")
            same = self.evaluate(sheet, left) == self.evaluate(sheet, right)
            return (yes if same else no).strip().strip('"')
        return self._arithmetic(sheet, body)

    def _arithmetic(self, sheet: str, body: str) -> int | float:
        total: int | float = 0
        sign = 1
        position = 0
        pattern = re.compile(rf"\s*(?:(?P<ref>{REF})|(?P<number>\d+(?:\.\d+)?)|(?P<op>[+-]))")
        while position < len(body):
            match = pattern.match(body, position)
            assert match is not None, f"cannot read {body!r} at {position}"
            position = match.end()
            if match.group("op"):
                sign = 1 if match.group("op") == "+" else -1
                continue
            if match.group("number"):
                value: Any = float(match.group("number"))
                value = int(value) if value.is_integer() else value
            else:
                where = _sheet(match.group("sheet"), sheet)
                value = self.value(where, match.group("col"), int(match.group("row"))) or 0
            total += sign * value
            sign = 1
        return total


def _sheet(named: str | None, current: str) -> str:
    if named is None:
        return current
    return named.strip("'")


def _split(arguments: str) -> list[str]:
    """Split a function's arguments at top-level commas (not inside quotes)."""
    parts, current, quoted = [], "", False
    for ch in arguments:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts
