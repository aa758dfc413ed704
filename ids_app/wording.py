"""How dates, times and counts read to a person."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction


def local_time(value: dt.datetime | None) -> str:
    """A stored UTC instant as the pharmacy's local time (DESIGN.md: UTC stored, local shown)."""
    return "" if value is None else f"{value.astimezone():%Y-%m-%d %H:%M}"


def number_text(value: Fraction | float | int) -> str:
    """A count as a person writes it: 28, 2.5, 0.3 (one decimal at most)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.1f}".removesuffix(".0")


def day_text(value: dt.date | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"
