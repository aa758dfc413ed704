"""How dates, times and counts read to a person."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction


def local_time(value: dt.datetime | None) -> str:
    """A stored UTC instant as the pharmacy's local time (DESIGN.md: UTC stored, local shown)."""
    return "" if value is None else f"{value.astimezone():%Y-%m-%d %H:%M}"


def local_time_with_zone(value: dt.datetime) -> str:
    """A stored instant in local time with its zone, as an inspector must read a trail
    kept across a change of clocks: "2026-03-08 01:59 EST", "2026-03-08 03:01 EDT"."""
    local = value.astimezone()
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or local.strftime('%z')}"


def number_text(value: Fraction | float | int) -> str:
    """A count as a person writes it: 28, 2.5, 0.3 (one decimal at most)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.1f}".removesuffix(".0")


def day_text(value: dt.date | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


# Units of measure are written the same for one or many ("60 mL", never "60 mLs").
_MEASURES = frozenset({"ml", "l", "mg", "g", "kg", "mcg", "µg", "ug", "iu", "cc", "mmol"})


def unit_text(count: Fraction | float | int, unit: str) -> str:
    """The unit as it reads after ``count``: "capsule" for one, "capsules" for 60.

    A product's unit is stored as the pharmacy names one of it (capsule, tablet, vial, kit,
    bottle, syringe, mL); a measure or a unit already plural stays as written.
    """
    if count == 1 or not unit or unit.lower() in _MEASURES or unit.endswith("s"):
        return unit
    if not unit[-1].isalpha() or any(letter.isupper() for letter in unit[1:]):
        return unit
    if unit.endswith(("x", "ch", "sh")):
        return f"{unit}es"
    return f"{unit}s"


def quantity_text(count: Fraction | float | int, unit: str) -> str:
    """A count with its unit, plural when it should be: "1 kit", "60 capsules", "2.5 mL"."""
    return f"{number_text(count)} {unit_text(count, unit)}"


def percent_text(percent: Decimal | None) -> str:
    """A percentage with one decimal, as protocols state compliance: "85.7 %"; "—" for none."""
    return "—" if percent is None else f"{percent:.1f} %"
