"""Logger files: layouts, units and time zones, the preview's line errors, all or nothing,
and a file offered twice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import PermissionDenied
from ids_app.inventory.models import Location
from ids_app.storage.models import (
    ReadingSource,
    TemperatureLogFile,
    TemperatureReading,
    TemperatureUnit,
)
from ids_app.storage.readings import (
    EASYLOG_CELSIUS,
    GENERIC_LAYOUT,
    DuplicateLogFile,
    ImportRejected,
    LoggerMapping,
    LogPreview,
    guess_logger_mapping,
    header_unit,
    preview_logger_file,
    read_logger_file,
    resolve_time_zone,
)
from ids_app.studies.tables import RowError, guess_header
from tests.factories import Example, make_example
from tests.storage.support import UTC_MAPPING, at, import_log, later, write_log

NEW_YORK = "America/New_York"


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def _preview(
    db: Database,
    example: Example,
    path: Path,
    mapping: LoggerMapping = UTC_MAPPING,
    device_id: str | None = "LOG-0001",
) -> LogPreview:
    with later(), db.read_session() as session:
        return preview_logger_file(
            session,
            read_logger_file(path),
            mapping,
            location=session.get_one(Location, example.fridge.id),
            device_id=device_id,
        )


def _counts(db: Database) -> tuple[int, int]:
    with db.read_session() as session:
        readings = session.scalar(select(func.count()).select_from(TemperatureReading)) or 0
        files = session.scalar(select(func.count()).select_from(TemperatureLogFile)) or 0
    return readings, files


def _taken(db: Database) -> list[tuple[dt.datetime, float]]:
    with db.read_session() as session:
        return [
            (reading.taken_at, reading.temperature_c)
            for reading in session.scalars(
                select(TemperatureReading).order_by(TemperatureReading.taken_at)
            )
        ]


def test_a_generic_file_is_imported_with_its_file_line_and_device(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(tmp_path, "fridge.csv", [(0, 4.5), (15, 4.8), (30, 5.1)])
    outcome = import_log(db, example.people.tech, example.fridge, path)
    assert (outcome.log_file.reading_count, outcome.skipped, outcome.excursions) == (3, 0, [])
    assert outcome.log_file.device_id == "LOG-0001"
    assert (outcome.log_file.first_reading_at, outcome.log_file.last_reading_at) == (at(0), at(30))
    assert [(r.line, r.source, r.log_file_id) for r in outcome.readings] == [
        (2, ReadingSource.LOGGER, outcome.log_file.id),
        (3, ReadingSource.LOGGER, outcome.log_file.id),
        (4, ReadingSource.LOGGER, outcome.log_file.id),
    ]
    assert _taken(db) == [(at(0), 4.5), (at(15), 4.8), (at(30), 5.1)]


def test_times_with_their_own_offsets_need_no_time_zone(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "offsets.csv",
        "Time,Temperature\n2025-11-03T02:10:00-05:00,5.0\n2025-11-03T07:20:00Z,5.5\n",
    )
    mapping = LoggerMapping("Time", "Temperature", unit=TemperatureUnit.CELSIUS)
    import_log(db, example.people.tech, example.fridge, path, mapping)
    assert [taken for taken, _ in _taken(db)] == [
        dt.datetime(2025, 11, 3, 7, 10, tzinfo=dt.UTC),
        dt.datetime(2025, 11, 3, 7, 20, tzinfo=dt.UTC),
    ]


EASYLOG = (
    "Fridge 1,Time,Celsius(°C),Serial Number\n"
    "1,2025-07-01 09:00:00,4.5,010012345\n"
    "2,2025-07-01 09:05:00,5.0\n"
    "3,2025-07-01 09:10:00,5.5\n"
)


def test_the_easylog_layout_is_recognised_and_read_in_the_chosen_time_zone(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "Fridge 1.txt", EASYLOG)
    guessed = guess_logger_mapping(read_logger_file(path).table.headers)
    assert guessed is not None
    assert (guessed.layout, guessed.unit, guessed.device_id) == (
        "EasyLog USB export (°C)",
        TemperatureUnit.CELSIUS,
        "Serial Number",
    )
    mapping = LoggerMapping(**{**guessed.__dict__, "time_zone": NEW_YORK})
    outcome = import_log(db, example.people.tech, example.fridge, path, mapping, device_id=None)
    assert outcome.log_file.device_id == "010012345"
    assert outcome.log_file.layout == "EasyLog USB export (°C)"
    # 09:00 in New York in July is EDT, UTC-4.
    assert _taken(db)[0] == (dt.datetime(2025, 7, 1, 13, 0, tzinfo=dt.UTC), 4.5)


def test_an_easylog_file_in_the_windows_code_page_is_read(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "Fridge 1.txt", EASYLOG, encoding="cp1252")
    export = read_logger_file(path)
    assert export.table.headers == ["Fridge 1", "Time", "Celsius(°C)", "Serial Number"]
    mapping = LoggerMapping(**{**EASYLOG_CELSIUS.__dict__, "time_zone": NEW_YORK})
    import_log(db, example.people.tech, example.fridge, path, mapping, device_id=None)
    assert len(_taken(db)) == 3


def test_a_fahrenheit_file_is_converted_when_its_header_says_so(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "fahrenheit.csv",
        "Time,Temp (°F)\n2025-07-01 09:00:00,41\n2025-07-01 09:05:00,46.4\n",
    )
    assert header_unit("Temp (°F)") is TemperatureUnit.FAHRENHEIT
    outcome = import_log(
        db,
        example.people.tech,
        example.fridge,
        path,
        LoggerMapping("Time", "Temp (°F)", time_zone="UTC"),
    )
    assert outcome.log_file.unit is TemperatureUnit.FAHRENHEIT
    # 46.4 °F is exactly the fridge's 8 °C limit: in range, no excursion.
    assert [celsius for _, celsius in _taken(db)] == [5.0, 8.0]


def test_a_file_that_does_not_say_its_unit_is_refused_until_the_mapping_does(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(tmp_path, "plain.csv", [(0, 41.0)])
    preview = _preview(db, example, path, LoggerMapping("Time", "Temperature", time_zone="UTC"))
    assert preview.errors == [
        RowError(
            1,
            "The column 'Temperature' does not say whether it is in °C or °F; choose the "
            "unit in the mapping.",
        )
    ]
    with pytest.raises(ImportRejected, match="does not say whether it is in °C or °F"):
        import_log(db, example.people.tech, example.fridge, path, GENERIC_LAYOUT, device_id="LOG-1")
    assert _counts(db) == (0, 0)


def test_a_mapping_that_contradicts_the_header_unit_is_refused(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "f.csv", "Time,Fahrenheit(°F)\n2025-07-01 09:00:00,41\n")
    preview = _preview(
        db,
        example,
        path,
        LoggerMapping("Time", "Fahrenheit(°F)", unit=TemperatureUnit.CELSIUS, time_zone="UTC"),
    )
    assert [error.message for error in preview.errors] == [
        "The column 'Fahrenheit(°F)' is in °F, but the mapping says °C; choose the unit the "
        "file is in."
    ]


def test_times_without_a_zone_are_refused_until_the_mapping_names_one(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "Fridge 1.txt", EASYLOG)
    preview = _preview(db, example, path, EASYLOG_CELSIUS, device_id=None)
    assert [str(error) for error in preview.errors] == [
        "Line 1: The times in 'Time' carry no time zone (line 2); choose the time zone of the "
        "logger's clock (or of the computer that exported it)."
    ]
    unknown = LoggerMapping(**{**EASYLOG_CELSIUS.__dict__, "time_zone": "Mars/Olympus"})
    (error,) = _preview(db, example, path, unknown, device_id=None).errors
    assert "'Mars/Olympus' is not a time zone" in error.message


def test_time_zones_by_name_and_by_offset() -> None:
    assert resolve_time_zone("UTC") is dt.UTC
    assert resolve_time_zone("UTC-05:00") == dt.timezone(-dt.timedelta(hours=5))
    assert resolve_time_zone("+0530") == dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert str(resolve_time_zone("Europe/Paris")) == "Europe/Paris"


def test_a_numeric_date_needs_the_time_format_and_is_read_with_it(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "eu.csv", "Time;Temperature\n03/11/2025 02:10;5,2\n")
    (error,) = _preview(db, example, path).errors
    assert str(error) == (
        "Line 2: Time '03/11/2025 02:10' is ambiguous (day and month order); set the time "
        "format in the mapping."
    )
    mapping = LoggerMapping(**{**UTC_MAPPING.__dict__, "time_format": "%d/%m/%Y %H:%M"})
    import_log(db, example.people.tech, example.fridge, path, mapping)
    assert _taken(db) == [(dt.datetime(2025, 11, 3, 2, 10, tzinfo=dt.UTC), 5.2)]


def test_separate_date_and_time_columns_are_combined(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "split.csv", "Date,Time,Temperature\n2025-07-01,09:00,5.0\n")
    mapping = LoggerMapping(**{**UTC_MAPPING.__dict__, "date": "Date"})
    import_log(db, example.people.tech, example.fridge, path, mapping)
    assert _taken(db) == [(dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC), 5.0)]


def test_malformed_lines_are_listed_by_line_and_nothing_is_imported(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "bad.csv",
        "Time,Temperature\n"
        "2025-07-01 09:00:00,5.0\n"  # line 2: fine
        "2025-07-01 09:05:00,abc\n"  # line 3: not a number
        "yesterday,5.0\n"  # line 4: not a time
        "2025-07-01 09:15:00,500\n"  # line 5: impossible
        "2025-07-01 09:10:00,5.0\n"  # line 6: runs backwards (after 09:15 on line 5)
        "2025-07-01 09:20:00,\n"  # line 7: empty temperature
        "2025-07-01 09:25:00,41 °F\n"  # line 8: a °F value in a °C file
        "2099-01-01 00:00:00,5.0\n",  # line 9: in the future
    )
    preview = _preview(db, example, path)
    assert [(error.line, error.message) for error in preview.errors] == [
        (3, "'abc' is not a temperature."),
        (
            4,
            "'yesterday' is not a date and time; write it as 2026-11-03 14:05 or set the time "
            "format in the mapping.",
        ),
        (
            5,
            "500 °C is not a storage temperature (readings lie between -100 and 100 °C); a "
            "sensor fault or a typing mistake?",
        ),
        (
            6,
            "Time '2025-07-01 09:10:00' is not after line 5 ('2025-07-01 09:15:00'); a "
            "logger's readings run forward in time.",
        ),
        (7, "The temperature is empty."),
        (8, "'41 °F' is in °F, but the file is read as °C; check the unit in the mapping."),
        (
            9,
            "Time '2099-01-01 00:00:00' is in the future; check the logger's clock and the "
            "time zone.",
        ),
    ]
    assert [draft.line for draft in preview.readings] == [2]
    assert not preview.ok
    with pytest.raises(ImportRejected) as refused:
        import_log(db, example.people.tech, example.fridge, path)
    assert str(refused.value).startswith(
        "7 lines of the logger file are wrong, so no reading was imported. "
        "Line 3: 'abc' is not a temperature."
    )
    assert str(refused.value).endswith("…and 4 more.")
    assert _counts(db) == (0, 0)


def test_a_clock_change_is_handled_the_way_the_logger_lived_it(
    db: Database, example: Example, tmp_path: Path
) -> None:
    mapping = LoggerMapping(**{**UTC_MAPPING.__dict__, "time_zone": NEW_YORK})
    # 2025-03-09 02:30 never happened in New York: the clocks went from 02:00 to 03:00.
    spring = _write(tmp_path, "spring.csv", "Time,Temperature\n2025-03-09 02:30:00,5.0\n")
    (error,) = _preview(db, example, spring, mapping).errors
    assert error.message.startswith(
        "Time '2025-03-09 02:30:00' does not exist in America/New_York (the clocks went forward)"
    )
    # 2025-11-02 01:00-02:00 happened twice; the order of the lines tells which is which.
    autumn = _write(
        tmp_path,
        "autumn.csv",
        "Time,Temperature\n"
        "2025-11-02 00:50:00,4.9\n"
        "2025-11-02 01:30:00,5.0\n"
        "2025-11-02 01:45:00,5.1\n"
        "2025-11-02 01:00:00,5.2\n"
        "2025-11-02 01:15:00,5.3\n",
    )
    import_log(db, example.people.tech, example.fridge, autumn, mapping)
    assert [taken.strftime("%H:%M") for taken, _ in _taken(db)] == [
        "04:50",
        "05:30",  # EDT, UTC-4
        "05:45",
        "06:00",  # EST, UTC-5: the second 01:00
        "06:15",
    ]
    first_line_repeated = _write(
        tmp_path, "repeated.csv", "Time,Temperature\n2025-11-02 01:10:00,5.0\n"
    )
    (error,) = _preview(db, example, first_line_repeated, mapping).errors
    assert "happens twice in America/New_York (the clocks went back)" in error.message


def test_a_file_already_imported_is_recognised_and_refused(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(tmp_path, "week-45.csv", [(0, 5.0), (15, 5.2)])
    import_log(db, example.people.tech, example.fridge, path)
    copy = tmp_path / "week-45 (copy).csv"
    copy.write_bytes(path.read_bytes())
    preview = _preview(db, example, copy)
    assert preview.duplicate_of is not None
    assert preview.duplicate_of.file_name == "week-45.csv"
    with pytest.raises(DuplicateLogFile, match=r"week-45\.csv was already imported on .*; a file"):
        import_log(db, example.people.tech, example.fridge, copy)
    assert _counts(db) == (2, 1)


def test_a_logger_exported_again_adds_only_its_new_readings(
    db: Database, example: Example, tmp_path: Path
) -> None:
    first = write_log(tmp_path, "download-1.csv", [(0, 5.0), (15, 5.2)])
    import_log(db, example.people.tech, example.fridge, first)
    again = write_log(tmp_path, "download-2.csv", [(0, 5.0), (15, 5.2), (30, 5.4)])
    outcome = import_log(db, example.people.tech, example.fridge, again)
    assert (outcome.log_file.reading_count, outcome.skipped) == (1, 2)
    assert len(_taken(db)) == 3


def test_a_different_value_at_a_time_already_on_record_is_an_error(
    db: Database, example: Example, tmp_path: Path
) -> None:
    import_log(db, example.people.tech, example.fridge, write_log(tmp_path, "a.csv", [(0, 5.0)]))
    path = write_log(tmp_path, "b.csv", [(0, 6.0), (15, 5.0)])
    (error,) = _preview(db, example, path).errors
    assert (error.line, error.message) == (
        2,
        "Logger LOG-0001 already has 5 °C on record at this time, not 6 °C; is this the right "
        "logger?",
    )


def test_the_logger_serial_must_be_known_and_single(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(tmp_path, "plain.csv", [(0, 5.0)])
    (error,) = _preview(db, example, path, device_id=None).errors
    assert error.message.startswith("Type the logger's serial number")
    mixed = _write(
        tmp_path,
        "mixed.csv",
        "Time,Temperature,Serial\n2025-07-01 09:00,5.0,A1\n2025-07-01 09:05,5.0,B2\n",
    )
    with_serial = LoggerMapping(**{**UTC_MAPPING.__dict__, "device_id": "Serial"})
    (error,) = _preview(db, example, mixed, with_serial, device_id=None).errors
    assert "more than one logger (A1, B2)" in error.message
    easylog = _write(tmp_path, "Fridge 1.txt", EASYLOG)
    mapping = LoggerMapping(**{**EASYLOG_CELSIUS.__dict__, "time_zone": "UTC"})
    (error,) = _preview(db, example, easylog, mapping, device_id="999").errors
    assert "comes from logger 010012345, not 999 as typed" in error.message


def test_missing_columns_and_empty_files_are_named(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "other.csv", "When,Value\n2025-07-01 09:00,5.0\n")
    (error,) = _preview(db, example, path).errors
    assert (
        error.message == "No row of other.csv holds the columns 'Time', 'Temperature'; "
        "choose the columns in the mapping."
    )
    empty = _write(tmp_path, "empty.csv", "Time,Temperature\n")
    (error,) = _preview(db, example, empty).errors
    assert error.message == "There are no readings under the header row."


def test_a_spreadsheet_export_is_read_with_its_date_cells(
    db: Database, example: Example, tmp_path: Path
) -> None:
    import openpyxl  # type: ignore[import-untyped]

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Time", "Temperature (°C)"])
    sheet.append([dt.datetime(2025, 7, 1, 9, 0), 5.0])
    sheet.append([dt.datetime(2025, 7, 1, 9, 5), 5.5])
    path = tmp_path / "log.xlsx"
    workbook.save(path)
    import_log(
        db,
        example.people.tech,
        example.fridge,
        path,
        LoggerMapping("Time", "Temperature (°C)", time_zone="UTC"),
    )
    assert _taken(db) == [
        (dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC), 5.0),
        (dt.datetime(2025, 7, 1, 9, 5, tzinfo=dt.UTC), 5.5),
    ]


def test_a_monitor_cannot_import_a_log(db: Database, example: Example, tmp_path: Path) -> None:
    path = write_log(tmp_path, "fridge.csv", [(0, 5.0)])
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist"):
        import_log(db, example.people.monitor, example.fridge, path)
    assert _counts(db) == (0, 0)


def test_a_logger_export_with_device_lines_above_its_header_is_imported(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "fridge-export.csv",
        "Device,TempLog-T1 v2.3\n"
        "Serial,LOG-0001\n"
        "\n"
        f"Time,Temperature\n{at(0):%Y-%m-%d %H:%M},4.5\n{at(15):%Y-%m-%d %H:%M},4.8\n",
    )
    found = guess_header(read_logger_file(path).table, guess_logger_mapping)
    assert found is not None
    assert (found[0].header_line, found[1].layout) == (4, GENERIC_LAYOUT.layout)
    preview = _preview(db, example, path)
    assert (preview.header_line, preview.errors) == (4, [])
    assert [draft.line for draft in preview.readings] == [5, 6]
    import_log(db, example.people.tech, example.fridge, path)
    assert _taken(db) == [(at(0), 4.5), (at(15), 4.8)]


def test_a_logger_time_with_the_month_in_words_is_read_without_a_time_format(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "worded.csv", "Time,Temperature\n03-Nov-2025 02:10,5.2\n")
    import_log(db, example.people.tech, example.fridge, path)
    assert _taken(db) == [(dt.datetime(2025, 11, 3, 2, 10, tzinfo=dt.UTC), 5.2)]


def test_a_us_logger_time_is_read_in_the_order_its_time_format_states(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(tmp_path, "us.csv", "Time,Temperature\n11/03/2025 02:10,5.2\n")
    mapping = LoggerMapping(**{**UTC_MAPPING.__dict__, "time_format": "%m/%d/%Y %H:%M"})
    import_log(db, example.people.tech, example.fridge, path, mapping)
    assert _taken(db) == [(dt.datetime(2025, 11, 3, 2, 10, tzinfo=dt.UTC), 5.2)]


def test_a_logger_header_no_layout_knows_is_found_below_device_lines_by_its_columns(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "vendor.csv",
        f"TempTrak export\nUnit,Fridge 1\n\nReading time,Probe\n{at(0):%Y-%m-%d %H:%M},4.5\n",
    )
    assert guess_header(read_logger_file(path).table, guess_logger_mapping) is None
    mapping = LoggerMapping("Reading time", "Probe", unit=TemperatureUnit.CELSIUS, time_zone="UTC")
    preview = _preview(db, example, path, mapping)
    assert (preview.header_line, preview.errors) == (4, [])
