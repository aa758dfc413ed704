"""Mean kinetic temperature (USP <1079>) and time out of range."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from ids_app.db import Database
from ids_app.inventory.models import Location
from ids_app.storage.mkt import (
    ACTIVATION_K,
    excursion_mkt,
    location_summary,
    mean_kinetic_temperature,
    time_out_of_range,
    weighted_mkt,
)
from tests.factories import Example, make_example
from tests.storage.support import at, import_log, later, write_log


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def test_mkt_of_20_25_30_degrees_equals_the_value_computed_by_hand() -> None:
    # ΔH/R = 83 144 J/mol ÷ 8.3144 J/(mol·K) = 10 000 K.
    # T = 293.15, 298.15, 303.15 K; 10 000/T = 34.11223, 33.54016, 32.98697.
    # exp(-10 000/T) = 1.53196e-15, 2.71451e-15, 4.71999e-15; their mean = 2.98882e-15.
    # ln(2.98882e-15) = -33.44390; MKT = 10 000 / 33.44390 = 299.0082 K = 25.858 °C
    # (above the arithmetic mean of 25 °C: warm hours age a product more than cool ones).
    assert pytest.approx(10_000.0) == ACTIVATION_K
    by_hand = 10_000 / 33.44390 - 273.15
    assert by_hand == pytest.approx(25.858, abs=0.001)
    assert mean_kinetic_temperature([20.0, 25.0, 30.0]) == pytest.approx(by_hand, abs=0.001)


def test_mkt_of_a_constant_temperature_is_that_temperature() -> None:
    assert mean_kinetic_temperature([5.0, 5.0, 5.0, 5.0]) == pytest.approx(5.0)


def test_uneven_readings_weigh_by_the_time_each_stands_for() -> None:
    # 5 °C held 2 h, then 25 °C held 1 h: the same as the even log 5, 5, 25.
    start = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    points = [(start, 5.0), (start + dt.timedelta(hours=2), 25.0)]
    held = weighted_mkt(points, start, start + dt.timedelta(hours=3))
    assert held == pytest.approx(mean_kinetic_temperature([5.0, 5.0, 25.0]))
    # exp(-10000/278.15) = 2.43400e-16, exp(-10000/298.15) = 2.71451e-15;
    # (2 * 2.43400e-16 + 2.71451e-15) / 3 = 1.06710e-15; -ln(1.06710e-15) = 34.47383;
    # 10000 / 34.47383 - 273.15 = 16.925 °C.
    assert held == pytest.approx(10_000 / -math.log(1.06710e-15) - 273.15, abs=0.001)
    assert held == pytest.approx(16.925, abs=0.001)


def test_time_out_of_range_counts_each_reading_until_the_next_and_limits_are_in_range() -> None:
    start = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)

    def t(minutes: int) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    points = [(t(0), 5.0), (t(10), 8.0), (t(20), 8.5), (t(50), 1.9), (t(55), 2.0)]
    # 8.0 and 2.0 are the limits themselves: in range. Out: 8.5 for 30 min, 1.9 for 5 min.
    assert time_out_of_range(points, t(0), t(60), 2.0, 8.0) == dt.timedelta(minutes=35)


def test_location_mkt_and_time_out_of_range_over_a_period(
    db: Database, example: Example, tmp_path: Path
) -> None:
    # Readings every hour: 20, 25, 30 °C, then 22 °C; the period is the first three hours.
    path = write_log(tmp_path, "shelf.csv", [(0, 20.0), (60, 25.0), (120, 30.0), (180, 22.0)])
    import_log(db, example.people.tech, example.shelf, path)
    with later(), db.read_session() as session:
        shelf = session.get_one(Location, example.shelf.id)
        summary = location_summary(session, shelf, at(0), at(180))
    assert summary.reading_count == 3
    assert (summary.min_c, summary.max_c) == (20.0, 30.0)
    assert summary.mkt_c == pytest.approx(25.858, abs=0.001)
    # The shelf is kept at 20-25 °C: only the hour at 30 °C is out of range.
    assert summary.time_out_of_range == dt.timedelta(hours=1)
    assert summary.time_covered == dt.timedelta(hours=3)


def test_excursion_mkt_is_taken_over_the_excursion_alone(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(
        tmp_path, "fridge.csv", [(0, 5.0), (30, 10.0), (60, 12.0), (90, 14.0), (120, 5.0)]
    )
    outcome = import_log(db, example.people.tech, example.fridge, path)
    (excursion,) = outcome.excursions
    with db.read_session() as session:
        value = excursion_mkt(session, excursion)
    assert value == pytest.approx(mean_kinetic_temperature([10.0, 12.0, 14.0]))
