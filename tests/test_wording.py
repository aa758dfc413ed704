"""Counts with their unit and percentages as a pharmacy writes them on a record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from ids_app.wording import local_time_with_zone, percent_text, quantity_text


@pytest.mark.parametrize(
    ("count", "unit", "expected"),
    [
        (60, "capsule", "60 capsules"),
        (1, "capsule", "1 capsule"),
        (3, "tablet", "3 tablets"),
        (0, "vial", "0 vials"),
        (2, "box", "2 boxes"),
        (4, "patch", "4 patches"),
        (5, "capsules", "5 capsules"),  # a unit entered already plural stays as written
        (Fraction(5, 2), "mL", "2.5 mL"),  # a measure never takes an s
        (100, "mg", "100 mg"),
        (1, "kit", "1 kit"),
    ],
)
def test_a_count_reads_with_its_unit_in_the_plural_when_it_should(
    count: Fraction | int, unit: str, expected: str
) -> None:
    assert quantity_text(count, unit) == expected


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        (Decimal(48) / Decimal(56) * 100, "85.7 %"),  # the protocol's 48 of 56 doses
        (Decimal(100), "100.0 %"),
        (Decimal("87.5"), "87.5 %"),
        (None, "—"),
    ],
)
def test_compliance_reads_with_one_decimal(percent: Decimal | None, expected: str) -> None:
    assert percent_text(percent) == expected


def test_a_time_reads_local_with_its_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        winter = dt.datetime(2026, 1, 15, 17, 30, tzinfo=dt.UTC)
        summer = dt.datetime(2026, 7, 15, 16, 30, tzinfo=dt.UTC)
        assert local_time_with_zone(winter) == "2026-01-15 12:30:00 EST"
        assert local_time_with_zone(summer) == "2026-07-15 12:30:00 EDT"
    finally:
        monkeypatch.undo()
        time.tzset()
