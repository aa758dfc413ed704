"""Spreadsheet cells are data, never code.

Kit numbers, a sender, a visit or a hold's details are typed by people or imported from a
sponsor's file; written as they are, text beginning with ``=`` becomes a live formula in
the sponsor workbook (openpyxl stores any such string as a formula) and ``=``, ``+``, ``-``
or ``@`` runs when the CDISC CSV is opened in a spreadsheet: a ``HYPERLINK`` that sends a
cell's content away, or worse. OWASP's CSV-injection guidance: prefix such text with a
single quote so every spreadsheet reads it as text. Every xlsx and CSV writer passes its
values through :func:`cell_value`; the workbook's own totals are :class:`Formula`, the
only way a formula reaches a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What a spreadsheet reads as the start of a formula (OWASP), with the full-width forms
# some spreadsheets normalise to them.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Leading characters that a spreadsheet skips before looking for a formula start.
SKIPPED_BEFORE_A_FORMULA = " \t\r\n\u00a0"


@dataclass(frozen=True)
class Formula:
    """A formula the report itself writes (a total, a reconciliation), without its ``=``."""

    expression: str


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it: quoted when it would start a
    formula (also after blanks, tabs or line breaks, and when it starts with a tab or a
    carriage return, as OWASP lists them)."""
    if text.startswith(("\t", "\r")) or text.lstrip(SKIPPED_BEFORE_A_FORMULA).startswith(
        FORMULA_STARTS
    ):
        return "'" + text
    return text


def cell_value(value: Any) -> Any:
    """What a writer puts in a cell: a :class:`Formula` as a formula, text neutralised,
    numbers, dates and empty cells as they are (typed)."""
    if isinstance(value, Formula):
        return "=" + value.expression
    if isinstance(value, str):
        return neutralised(value)
    return value
