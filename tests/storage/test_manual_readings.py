"""The day's manual entry: current, min and max, by whom, and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from ids_app.audit.models import AuditEntry
from ids_app.db import Database, utc_now
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.models import Location
from ids_app.storage.models import ReadingSource, TemperatureReading, TemperatureUnit
from ids_app.storage.readings import record_daily_reading
from tests.factories import Example, make_example
from tests.storage.support import at, record
from tests.tampering import raw_sql


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _readings(db: Database) -> list[TemperatureReading]:
    with db.read_session() as session:
        return list(session.scalars(select(TemperatureReading).order_by(TemperatureReading.id)))


def test_the_daily_entry_keeps_current_min_max_time_and_recorder(
    db: Database, example: Example
) -> None:
    outcome = record(
        db, example.people.tech, example.fridge, 4.6, minimum=3.1, maximum=6.2, minutes=0
    )
    assert outcome.excursions == []
    (reading,) = _readings(db)
    assert (reading.temperature_c, reading.min_c, reading.max_c) == (4.6, 3.1, 6.2)
    assert (reading.taken_at, reading.location_id) == (at(0), example.fridge.id)
    assert (reading.source, reading.recorded_by_id) == (
        ReadingSource.MANUAL,
        example.people.tech.id,
    )
    with db.read_session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "temperature_reading")
        ).one()
    assert (entry.username, entry.reason) == ("tech", "temperature recorded")


def test_a_reading_without_a_time_is_taken_now(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        record_daily_reading(
            session,
            example.people.pharm,
            session.get_one(Location, example.fridge.id),
            current=5.0,
        )
    (reading,) = _readings(db)
    assert utc_now() - reading.taken_at < dt.timedelta(minutes=1)


def test_a_fahrenheit_thermometer_is_recorded_in_celsius_and_its_limit_stays_in_range(
    db: Database, example: Example
) -> None:
    # 46.4 °F is exactly 8 °C, the fridge's upper limit.
    outcome = record(
        db,
        example.people.tech,
        example.fridge,
        41.0,
        minimum=35.6,
        maximum=46.4,
        unit=TemperatureUnit.FAHRENHEIT,
        minutes=0,
    )
    (reading,) = _readings(db)
    assert (reading.temperature_c, reading.min_c, reading.max_c) == (5.0, 2.0, 8.0)
    assert outcome.excursions == []


@pytest.mark.parametrize(
    ("current", "unit", "message"),
    [
        (500.0, TemperatureUnit.CELSIUS, "500 °C is not a storage temperature"),
        (-120.0, TemperatureUnit.CELSIUS, "-120 °C is not a storage temperature"),
        (-999.9, TemperatureUnit.CELSIUS, "a sensor fault or a typing mistake"),
        (500.0, TemperatureUnit.FAHRENHEIT, r"500 °F \(260 °C\) is not"),
    ],
)
def test_a_physically_impossible_reading_is_refused(
    db: Database, example: Example, current: float, unit: TemperatureUnit, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        record(db, example.people.tech, example.fridge, current, unit=unit, minutes=0)
    assert _readings(db) == []


def test_min_and_max_must_bracket_the_current_temperature(db: Database, example: Example) -> None:
    tech = example.people.tech
    with pytest.raises(InvalidInput, match="minimum is above the current"):
        record(db, tech, example.fridge, 5.0, minimum=6.0, minutes=0)
    with pytest.raises(InvalidInput, match="maximum is below the current"):
        record(db, tech, example.fridge, 5.0, maximum=4.0, minutes=0)
    assert _readings(db) == []


def test_a_reading_in_the_future_or_without_a_time_zone_is_refused(
    db: Database, example: Example
) -> None:
    for when, message in (
        (utc_now() + dt.timedelta(hours=1), "in the future"),
        (dt.datetime(2026, 11, 3, 8, 0), "no time zone"),
    ):
        with db.unit_of_work() as session, pytest.raises(InvalidInput, match=message):
            record_daily_reading(
                session,
                example.people.tech,
                session.get_one(Location, example.fridge.id),
                current=5.0,
                taken_at=when,
            )
    assert _readings(db) == []


def test_a_reading_entered_more_than_a_week_late_needs_a_note(
    db: Database, example: Example
) -> None:
    late = utc_now() - dt.timedelta(days=8)
    with db.unit_of_work() as session:
        fridge = session.get_one(Location, example.fridge.id)
        with pytest.raises(InvalidInput, match="more than a week late needs a note"):
            record_daily_reading(session, example.people.tech, fridge, current=5.0, taken_at=late)
        record_daily_reading(
            session,
            example.people.tech,
            fridge,
            current=5.0,
            taken_at=late,
            note="paper log of the weekend, typed in on Monday",
        )
    (reading,) = _readings(db)
    assert reading.note == "paper log of the weekend, typed in on Monday"


def test_a_monitor_cannot_record_temperatures(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist may record"):
        record(db, example.people.monitor, example.fridge, 5.0, minutes=0)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE temperature_reading SET temperature_c = 5", "DELETE FROM temperature_reading"],
)
def test_raw_sql_cannot_change_a_reading(db: Database, example: Example, statement: str) -> None:
    record(db, example.people.tech, example.fridge, 9.0, minutes=0)
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(db, statement)
    (reading,) = _readings(db)
    assert reading.temperature_c == 9.0
