"""Temperature readings: the day's manual entry, and logger files imported whole or not at all.

ICH E6 asks for IP stored as the sponsor specifies, with records that show it. Every
reading is kept in °C at a UTC instant, names who recorded it and where it came from
(ALCOA+: attributable, original) and is never changed (database triggers). Recording a
reading runs excursion detection at once, so an excursion quarantines its stock in the
same unit of work (excursions.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import utc_now
from ids_app.errors import InvalidInput
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import Location, Shipment
from ids_app.storage.excursions import check_location, check_min_max
from ids_app.storage.models import (
    Excursion,
    ReadingSource,
    TemperatureLogFile,
    TemperatureReading,
    TemperatureUnit,
    in_force,
)
from ids_app.studies.tables import (
    CSV_SUFFIXES,
    CellValue,
    RowError,
    Table,
    TableRow,
    TableUnreadable,
    UnreadableDate,
    cell_text,
    headed_by,
    parse_date,
    read_table,
)
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require

READING_ROLES = PERMISSIONS[Action.RECORD_TEMPERATURES].roles

# Beyond these a value is a sensor fault (loggers write -999.9 or 3276.7 for a broken
# probe) or a typing mistake, not a storage temperature; cryogenic (LN2) storage is out of
# scope, as no location's range goes below -90 °C (inventory/locations.py).
COLDEST_POSSIBLE_C, HOTTEST_POSSIBLE_C = -100.0, 100.0
ERRORS_SHOWN = 3
DAILY_ENTRY_LATENESS = dt.timedelta(days=7)

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}")
NUMERIC_TIME = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}[ T]+\d{1,2}:\d{2}")
# Logger software that writes the month in words: 31-May-2027 14:05, 31 May 2027 14:05:30.
WORDED_TIME = re.compile(r"(\d{1,2}[- ]?[A-Za-z]{3,9}\.?[- ]?\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?")
OFFSET_ZONE = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?", re.IGNORECASE)
VALUE = re.compile(r"([+-]?\d+(?:[.,]\d+)?)\s*(°?\s*[CF])?", re.IGNORECASE)
FORMAT_WORDS = {
    "%d": "DD",
    "%m": "MM",
    "%Y": "YYYY",
    "%y": "YY",
    "%H": "hh",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%p": "AM/PM",
}


class ImportRejected(InvalidInput):
    """The logger file has wrong lines or settings; none of it was imported."""


class DuplicateLogFile(InvalidInput):
    """This very file (same SHA-256) was imported before."""


def to_celsius(value: float, unit: TemperatureUnit) -> float:
    """°F to °C, rounded to 0.001 °C so that 46.4 °F is exactly the 8 °C limit."""
    if unit is TemperatureUnit.CELSIUS:
        return value
    return round((value - 32.0) * 5.0 / 9.0, 3)


def implausible(celsius: float) -> bool:
    return not COLDEST_POSSIBLE_C <= celsius <= HOTTEST_POSSIBLE_C


def _shown(value: float, unit: TemperatureUnit) -> str:
    celsius = to_celsius(value, unit)
    if unit is TemperatureUnit.CELSIUS:
        return f"{value:g} °C"
    return f"{value:g} °F ({celsius:g} °C)"


def _impossible(value: float, unit: TemperatureUnit) -> str:
    return (
        f"{_shown(value, unit)} is not a storage temperature (readings lie between "
        f"{COLDEST_POSSIBLE_C:g} and {HOTTEST_POSSIBLE_C:g} °C); a sensor fault or a "
        "typing mistake?"
    )


# --- the day's manual entry -------------------------------------------------------------


@dataclass(frozen=True)
class ReadingOutcome:
    """The reading recorded, and the excursions it opened or lengthened."""

    reading: TemperatureReading
    excursions: list[Excursion]


def _aware(when: dt.datetime | None) -> dt.datetime:
    now = utc_now()
    if when is None:
        return now
    if when.tzinfo is None:
        raise InvalidInput("The reading's time has no time zone; give the time with its zone.")
    if when > now:
        raise InvalidInput("The reading's time is in the future; check the date and time.")
    return when.astimezone(dt.UTC)


def record_daily_reading(
    session: Session,
    actor: User,
    location: Location,
    *,
    current: float,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: TemperatureUnit = TemperatureUnit.CELSIUS,
    taken_at: dt.datetime | None = None,
    device_id: str | None = None,
    note: str | None = None,
) -> ReadingOutcome:
    """The daily check: the thermometer's current temperature and its min/max memory.

    The min and max cover the time since the thermometer was last reset, taken to be the
    location's previous manual entry (the daily check resets it). A min or max out of
    range opens an excursion even when the current temperature is back in range.
    """
    require(session, actor, Action.RECORD_TEMPERATURES)
    location = get_location(session, location.id)
    _check_display(current, minimum, maximum, unit)
    when = _aware(taken_at)
    if utc_now() - when > DAILY_ENTRY_LATENESS and not (note or "").strip():
        raise InvalidInput(
            "A reading entered more than a week late needs a note saying why (ALCOA+: "
            "contemporaneous records)."
        )
    attribute_changes(session, actor, reason="temperature recorded")
    reading = TemperatureReading(
        location_id=location.id,
        taken_at=when,
        temperature_c=to_celsius(current, unit),
        min_c=None if minimum is None else to_celsius(minimum, unit),
        max_c=None if maximum is None else to_celsius(maximum, unit),
        source=ReadingSource.MANUAL,
        device_id=(device_id or "").strip() or None,
        note=(note or "").strip() or None,
        recorded_by_id=actor.id,
    )
    return _detect(session, actor, location, reading)


def _check_display(
    current: float, minimum: float | None, maximum: float | None, unit: TemperatureUnit
) -> None:
    """The thermometer's three numbers, as a display can show them."""
    for value in (current, minimum, maximum):
        if value is not None and implausible(to_celsius(value, unit)):
            raise InvalidInput(_impossible(value, unit))
    if minimum is not None and minimum > current:
        raise InvalidInput(
            "The minimum is above the current temperature; read the thermometer's display again."
        )
    if maximum is not None and maximum < current:
        raise InvalidInput(
            "The maximum is below the current temperature; read the thermometer's display again."
        )


def _detect(
    session: Session, actor: User, location: Location, reading: TemperatureReading
) -> ReadingOutcome:
    session.add(reading)
    session.flush()  # detection reads it back with the location's other readings
    found: list[Excursion] = []
    memory = check_min_max(session, actor, location, reading)
    if memory is not None:
        found.append(memory)
    for excursion in check_location(session, actor, location, since=reading.taken_at):
        if excursion not in found:
            found.append(excursion)
    return ReadingOutcome(reading, found)


def _celsius_text(value: float | None) -> str:
    return "—" if value is None else f"{value:g} °C"


def correct_daily_reading(
    session: Session,
    actor: User,
    reading: TemperatureReading,
    *,
    current: float,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: TemperatureUnit = TemperatureUnit.CELSIUS,
    reason: str,
) -> ReadingOutcome:
    """Replace a daily reading typed wrongly by a correcting reading at the same time.

    The wrong reading stays (append-only) and the correction names it and its values. An
    excursion the wrong reading opened stays on record too: its held stock is decided on
    as any other, with the correction as the evidence; the corrected values are checked
    again and may open an excursion of their own.
    """
    require(session, actor, Action.RECORD_TEMPERATURES)
    why = reason.strip()
    if not why:
        raise InvalidInput("Say why the reading is corrected; the audit trail keeps it.")
    if reading.source is not ReadingSource.MANUAL or reading.location_id is None:
        raise InvalidInput(
            "Only a daily reading typed at a location is corrected here; a logger's readings "
            "are the device's own record."
        )
    if not session.scalar(select(in_force()).where(TemperatureReading.id == reading.id)):
        raise InvalidInput(
            "That reading was already corrected; correct the latest correction instead."
        )
    location = get_location(session, reading.location_id)
    _check_display(current, minimum, maximum, unit)
    was = (
        f"{_celsius_text(reading.temperature_c)} (min {_celsius_text(reading.min_c)}, "
        f"max {_celsius_text(reading.max_c)})"
    )
    attribute_changes(session, actor, reason=f"temperature reading corrected: {why}")
    correction = TemperatureReading(
        location_id=location.id,
        taken_at=reading.taken_at,
        temperature_c=to_celsius(current, unit),
        min_c=None if minimum is None else to_celsius(minimum, unit),
        max_c=None if maximum is None else to_celsius(maximum, unit),
        source=ReadingSource.MANUAL,
        device_id=reading.device_id,
        note=f"Corrects the reading entered as {was}: {why}",
        recorded_by_id=actor.id,
        corrects_id=reading.id,
    )
    return _detect(session, actor, location, correction)


# --- logger files ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggerExport:
    """A logger file read for import: its rows by line, and the SHA-256 of its bytes."""

    table: Table
    sha256: str
    file_name: str


def read_logger_file(path: Path) -> LoggerExport:
    """Read a logger's CSV/TXT or xlsx export (studies/tables.py) and fingerprint it.

    Logger software on Windows often writes its °C/°F headers in the ANSI code page, not
    UTF-8; such a text file is read as Windows-1252 rather than refused.
    """
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TableUnreadable(f"Cannot read {path.name}: {error.strerror}.") from None
    digest = hashlib.sha256(content).hexdigest()
    try:
        table = read_table(path)
    except TableUnreadable:
        if path.suffix.lower() not in CSV_SUFFIXES:
            raise
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _windows_text(content, path.name)
        else:
            raise  # UTF-8 already, so the problem is elsewhere
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / path.name
            copy.write_text(text, encoding="utf-8")
            table = read_table(copy)
    return LoggerExport(table, digest, path.name)


def _windows_text(content: bytes, name: str) -> str:
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise TableUnreadable(
            f"{name} is neither UTF-8 nor Windows text; export it again as CSV."
        ) from None


@dataclass(frozen=True)
class LoggerMapping:
    """Which column holds what, and how to read it.

    ``unit`` None: the temperature column's name must say °C or °F. ``time_zone`` None:
    every time must carry its UTC offset (2026-11-03T02:10:00-05:00). ``time_format`` is
    a strptime format for times that are not ISO 8601 (03/11/2026 02:10 needs one: the
    day-month order cannot be guessed). ``date`` names a separate date column.
    ``device_id`` names a column holding the logger's serial number.
    """

    time: str
    temperature: str
    unit: TemperatureUnit | None = None
    time_zone: str | None = None
    time_format: str | None = None
    date: str | None = None
    device_id: str | None = None
    layout: str = "column mapping"

    @property
    def columns(self) -> tuple[str, ...]:
        named = (self.date, self.time, self.temperature, self.device_id)
        return tuple(column for column in named if column is not None)


GENERIC_LAYOUT = LoggerMapping("Time", "Temperature", layout="generic CSV (Time, Temperature)")
# Lascar EasyLog USB software's export: "<logger name>,Time,Celsius(°C)[,Humidity(%rh),
# Dew Point(°C)],Serial Number", a running number in the first column, times as
# 2026-11-03 02:10:00 in the exporting computer's local time, the serial on row one only.
EASYLOG_CELSIUS = LoggerMapping(
    "Time",
    "Celsius(°C)",
    unit=TemperatureUnit.CELSIUS,
    device_id="Serial Number",
    layout="EasyLog USB export (°C)",
)
EASYLOG_FAHRENHEIT = LoggerMapping(
    "Time",
    "Fahrenheit(°F)",
    unit=TemperatureUnit.FAHRENHEIT,
    device_id="Serial Number",
    layout="EasyLog USB export (°F)",
)
LOGGER_LAYOUTS = (EASYLOG_CELSIUS, EASYLOG_FAHRENHEIT, GENERIC_LAYOUT)


def _header_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def guess_logger_mapping(headers: list[str]) -> LoggerMapping | None:
    """The first layout whose columns the file has (ignoring case and spacing), spelled
    as the file spells them. The time zone is still to be chosen."""
    by_key = {_header_key(name): name for name in headers}
    for layout in LOGGER_LAYOUTS:
        spelled = {column: by_key.get(_header_key(column)) for column in layout.columns}
        if all(spelled.values()):
            return LoggerMapping(
                time=spelled[layout.time] or layout.time,
                temperature=spelled[layout.temperature] or layout.temperature,
                unit=layout.unit,
                device_id=spelled[layout.device_id] if layout.device_id else None,
                layout=layout.layout,
            )
    return None


def header_unit(name: str) -> TemperatureUnit | None:
    """The unit a column's name states (Celsius(°C), Temp °F, T [F]); None if it doesn't."""
    text = name.casefold()
    says_f = bool(re.search(r"°\s*f|fahrenheit|\bdeg\.?\s*f\b|[(\[]\s*f\s*[)\]]", text))
    says_c = bool(re.search(r"°\s*c|celsius|centigrade|\bdeg\.?\s*c\b|[(\[]\s*c\s*[)\]]", text))
    if says_f == says_c:
        return None
    return TemperatureUnit.FAHRENHEIT if says_f else TemperatureUnit.CELSIUS


def resolve_time_zone(name: str) -> dt.tzinfo:
    """An IANA zone (America/New_York), UTC, or a fixed offset (UTC-05:00, +01:00)."""
    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return dt.UTC
    if match := OFFSET_ZONE.fullmatch(text):
        sign, hours, minutes = match[1], int(match[2]), int(match[3] or 0)
        if hours <= 14 and minutes < 60:
            offset = dt.timedelta(hours=hours, minutes=minutes)
            return dt.timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"'{text}' is not a time zone; choose one such as America/New_York, "
            "Europe/Paris or UTC."
        ) from None


@dataclass(frozen=True)
class ReadingDraft:
    line: int
    taken_at: dt.datetime
    temperature_c: float


@dataclass(frozen=True)
class LogPreview:
    """What importing the file would record, and everything that stops it, by line.

    ``skipped`` are lines already on record (same logger, same time, same value): a
    logger exported again repeats its earlier readings. ``out_of_range`` counts readings
    outside the location's range, to warn before importing.
    """

    file_name: str
    sha256: str
    device_id: str | None
    unit: TemperatureUnit | None
    readings: list[ReadingDraft]
    errors: list[RowError]
    skipped: list[int] = field(default_factory=list)
    duplicate_of: TemperatureLogFile | None = None
    out_of_range: int | None = None
    header_line: int = 0  # the row taken as the header; 0 when no row holds the columns

    @property
    def ok(self) -> bool:
        return not self.errors and self.duplicate_of is None

    @property
    def first(self) -> dt.datetime | None:
        return self.readings[0].taken_at if self.readings else None

    @property
    def last(self) -> dt.datetime | None:
        return self.readings[-1].taken_at if self.readings else None


class _LineProblem(Exception):
    """One line's problem, in the sentence the preview shows."""


def _spoken(time_format: str) -> str:
    for code, word in FORMAT_WORDS.items():
        time_format = time_format.replace(code, word)
    return time_format


def _time_text(row: TableRow, mapping: LoggerMapping) -> str | dt.datetime:
    """The cell(s) holding the time: text, or a spreadsheet's own date-time."""
    cell = row.values.get(mapping.time, "")
    if mapping.date is None:
        if isinstance(cell, dt.datetime):
            return cell
        if isinstance(cell, dt.date):
            raise _LineProblem(f"The time cell holds the date {cell} but no time of day.")
        return cell_text(cell)
    day = row.values.get(mapping.date, "")
    day_text = day.date().isoformat() if isinstance(day, dt.datetime) else cell_text(day)
    time_text = cell.time().isoformat() if isinstance(cell, dt.datetime) else cell_text(cell)
    if not day_text or not time_text:
        raise _LineProblem("The date or the time is empty.")
    return f"{day_text} {time_text}"


def _parse_time(value: str | dt.datetime, time_format: str | None) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not value:
        raise _LineProblem("The time is empty.")
    if time_format:
        try:
            return dt.datetime.strptime(value, time_format)
        except ValueError:
            raise _LineProblem(
                f"Time '{value}' does not match the time format {_spoken(time_format)}."
            ) from None
    if ISO_TIME.match(value):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise _LineProblem(f"Time '{value}' is not a moment of the calendar.") from None
    if worded := WORDED_TIME.fullmatch(value):
        return _worded_time(value, worded)
    if NUMERIC_TIME.fullmatch(value):
        raise _LineProblem(
            f"Time '{value}' is ambiguous (day and month order); set the time format in "
            "the mapping."
        )
    raise _LineProblem(
        f"'{value}' is not a date and time; write it as 2026-11-03 14:05 or set the time "
        "format in the mapping."
    )


def _worded_time(value: str, match: re.Match[str]) -> dt.datetime:
    """31-May-2027 14:05: the day read as the kit list reads it, then the time of day."""
    try:
        day = parse_date(match[1])
        return dt.datetime.combine(day, dt.time(int(match[2]), int(match[3]), int(match[4] or 0)))
    except (UnreadableDate, ValueError):
        raise _LineProblem(f"Time '{value}' is not a moment of the calendar.") from None


def _to_utc(
    local: dt.datetime, zone: dt.tzinfo, previous: dt.datetime | None, shown: str
) -> dt.datetime:
    """A wall-clock time in ``zone`` as UTC, refusing times the zone's clocks skipped and
    resolving the repeated hour when clocks go back by the line before (a log runs forward).
    """
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise _LineProblem(
            f"Time '{shown}' does not exist in {zone} (the clocks went forward); check the "
            "logger's clock or the time zone."
        )
    early, late = first.astimezone(dt.UTC), second.astimezone(dt.UTC)
    if early == late:
        return early
    if previous is None:
        raise _LineProblem(
            f"Time '{shown}' happens twice in {zone} (the clocks went back) and no earlier "
            "line tells which; export the file in UTC or with UTC offsets."
        )
    return early if early > previous else late


def _parse_value(cell: CellValue, unit: TemperatureUnit) -> float:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        value = float(cell)
    else:
        text = cell_text(cell)
        if not text:
            raise _LineProblem("The temperature is empty.")
        match = VALUE.fullmatch(text)
        if match is None:
            raise _LineProblem(f"'{text}' is not a temperature.")
        value = float(match[1].replace(",", "."))
        written = match[2]
        if written and written.replace("°", "").strip().upper() != unit.value:
            raise _LineProblem(
                f"'{text}' is in °{written.replace('°', '').strip().upper()}, but the file "
                f"is read as {unit.symbol}; check the unit in the mapping."
            )
    if implausible(to_celsius(value, unit)):
        raise _LineProblem(_impossible(value, unit))
    return to_celsius(value, unit)


def _file_unit(table: Table, mapping: LoggerMapping) -> TemperatureUnit:
    stated = header_unit(mapping.temperature)
    if mapping.unit is None and stated is None:
        raise InvalidInput(
            f"The column '{mapping.temperature}' does not say whether it is in °C or °F; "
            "choose the unit in the mapping."
        )
    if mapping.unit is not None and stated is not None and mapping.unit is not stated:
        raise InvalidInput(
            f"The column '{mapping.temperature}' is in {stated.symbol}, but the mapping says "
            f"{mapping.unit.symbol}; choose the unit the file is in."
        )
    unit = mapping.unit or stated
    assert unit is not None
    return unit


def _file_device(table: Table, mapping: LoggerMapping, typed: str | None, source: str) -> str:
    typed = (typed or "").strip() or None
    listed: set[str] = set()
    if mapping.device_id is not None:
        listed = {row.text(mapping.device_id) for row in table.rows} - {""}
    if len(listed) > 1:
        serials = ", ".join(sorted(listed))
        raise InvalidInput(
            f"{source} holds readings of more than one logger ({serials}); export each "
            "logger to its own file."
        )
    in_file = next(iter(listed), None)
    if in_file and typed and in_file != typed:
        raise InvalidInput(
            f"{source} comes from logger {in_file}, not {typed} as typed; check the serial "
            "number on the logger's label."
        )
    device = in_file or typed
    if device is None:
        raise InvalidInput(
            "Type the logger's serial number (on its label): every reading names the "
            "device it came from."
        )
    return device


def _place_filter(location: Location | None, shipment: Shipment | None) -> ColumnElement[bool]:
    r = TemperatureReading
    if location is not None:
        return r.location_id == location.id
    assert shipment is not None
    return r.shipment_id == shipment.id


def preview_logger_file(
    session: Session,
    export: LoggerExport,
    mapping: LoggerMapping,
    *,
    location: Location | None = None,
    shipment: Shipment | None = None,
    device_id: str | None = None,
) -> LogPreview:
    """What importing ``export`` would record, and every line that stops it."""
    if (location is None) == (shipment is None):
        raise InvalidInput("Choose where the logger was: a storage location or a shipment.")
    duplicate = session.scalar(
        select(TemperatureLogFile).where(TemperatureLogFile.sha256 == export.sha256)
    )

    headed = headed_by(export.table, mapping.columns)
    if isinstance(headed, RowError):
        return LogPreview(
            export.file_name, export.sha256, None, None, [], [headed], duplicate_of=duplicate
        )
    table = headed

    def refused(message: str, unit: TemperatureUnit | None = None) -> LogPreview:
        return LogPreview(
            export.file_name,
            export.sha256,
            None,
            unit,
            [],
            [RowError(table.header_line, message)],
            duplicate_of=duplicate,
            header_line=table.header_line,
        )

    try:
        unit = _file_unit(table, mapping)
        zone = resolve_time_zone(mapping.time_zone) if mapping.time_zone else None
        device = _file_device(table, mapping, device_id, export.file_name)
    except InvalidInput as problem:
        return refused(str(problem))
    if not table.rows:
        return refused("There are no readings under the header row.", unit)
    drafts, errors, naive_line = _read_rows(table, mapping, unit, zone)
    if naive_line is not None:
        return refused(
            f"The times in '{mapping.time}' carry no time zone (line {naive_line}); choose "
            "the time zone of the logger's clock (or of the computer that exported it).",
            unit,
        )
    skipped: list[int] = []
    if drafts:
        drafts, skipped = _against_record(session, drafts, device, location, shipment, errors)
    errors.sort(key=lambda error: error.line)
    out_of_range = None
    if location is not None:
        out_of_range = sum(
            1
            for draft in drafts
            if not location.storage_min_c <= draft.temperature_c <= location.storage_max_c
        )
    return LogPreview(
        export.file_name,
        export.sha256,
        device,
        unit,
        drafts,
        errors,
        skipped,
        duplicate,
        out_of_range,
        table.header_line,
    )


def _read_rows(
    table: Table, mapping: LoggerMapping, unit: TemperatureUnit, zone: dt.tzinfo | None
) -> tuple[list[ReadingDraft], list[RowError], int | None]:
    """Each row as a reading in UTC, or the line's problems; the first naive line when no
    time zone was chosen."""
    drafts: list[ReadingDraft] = []
    errors: list[RowError] = []
    previous: tuple[int, dt.datetime, str] | None = None
    now = utc_now()
    for row in table.rows:
        problems: list[str] = []
        taken_at = None
        try:
            raw = _time_text(row, mapping)
            shown = raw if isinstance(raw, str) else raw.isoformat(sep=" ")
            parsed = _parse_time(raw, mapping.time_format)
            if parsed.tzinfo is None:
                if zone is None:
                    return [], [], row.line
                taken_at = _to_utc(parsed, zone, previous[1] if previous else None, shown)
            else:
                taken_at = parsed.astimezone(dt.UTC)
            if previous is not None and taken_at <= previous[1]:
                problems.append(
                    f"Time '{shown}' is not after line {previous[0]} ('{previous[2]}'); a "
                    "logger's readings run forward in time."
                )
            elif taken_at > now:
                problems.append(
                    f"Time '{shown}' is in the future; check the logger's clock and the time zone."
                )
            else:
                previous = (row.line, taken_at, shown)
        except _LineProblem as problem:
            problems.append(str(problem))
        celsius = None
        try:
            celsius = _parse_value(row.values.get(mapping.temperature, ""), unit)
        except _LineProblem as problem:
            problems.append(str(problem))
        if problems or taken_at is None or celsius is None:
            errors.extend(RowError(row.line, problem) for problem in problems)
        else:
            drafts.append(ReadingDraft(row.line, taken_at, celsius))
    return drafts, errors, None


def _against_record(
    session: Session,
    drafts: list[ReadingDraft],
    device: str,
    location: Location | None,
    shipment: Shipment | None,
    errors: list[RowError],
) -> tuple[list[ReadingDraft], list[int]]:
    """Drop readings already on record (same logger, time and value); a different value
    at the same time is an error."""
    r = TemperatureReading
    recorded = {
        taken_at: celsius
        for taken_at, celsius in session.execute(
            select(r.taken_at, r.temperature_c).where(
                _place_filter(location, shipment),
                r.device_id == device,
                r.taken_at >= drafts[0].taken_at,
                r.taken_at <= drafts[-1].taken_at,
            )
        )
    }
    fresh: list[ReadingDraft] = []
    skipped: list[int] = []
    for draft in drafts:
        known = recorded.get(draft.taken_at)
        if known is None:
            fresh.append(draft)
        elif abs(known - draft.temperature_c) < 1e-6:
            skipped.append(draft.line)
        else:
            errors.append(
                RowError(
                    draft.line,
                    f"Logger {device} already has {known:g} °C on record at this time, not "
                    f"{draft.temperature_c:g} °C; is this the right logger?",
                )
            )
    return fresh, skipped


def rejection(errors: list[RowError], what: str = "logger file") -> str:
    """One message for an all-or-nothing refusal: how many lines, and the first few."""
    lines = len({error.line for error in errors})
    count = f"1 line of the {what} is" if lines == 1 else f"{lines} lines of the {what} are"
    shown = " ".join(str(error) for error in errors[:ERRORS_SHOWN])
    more = f" …and {len(errors) - ERRORS_SHOWN} more." if len(errors) > ERRORS_SHOWN else ""
    return f"{count} wrong, so no reading was imported. {shown}{more}"


def duplicate_message(earlier: TemperatureLogFile) -> str:
    return (
        f"{earlier.file_name} was already imported on "
        f"{earlier.imported_at.astimezone():%Y-%m-%d %H:%M}; a file is imported once."
    )


@dataclass(frozen=True)
class LogImport:
    """The file as recorded, its readings, and the excursions they opened or lengthened."""

    log_file: TemperatureLogFile
    readings: list[TemperatureReading]
    skipped: int
    excursions: list[Excursion]


def store_logger_file(
    session: Session,
    actor: User,
    export: LoggerExport,
    mapping: LoggerMapping,
    *,
    location: Location | None = None,
    shipment: Shipment | None = None,
    device_id: str | None = None,
) -> tuple[TemperatureLogFile, list[TemperatureReading], int]:
    """Record the whole file or nothing. The callers (``import_logger_file``, transit's
    ``attach_transit_log``) check the role first and look for excursions after."""
    preview = preview_logger_file(
        session, export, mapping, location=location, shipment=shipment, device_id=device_id
    )
    if preview.duplicate_of is not None:
        raise DuplicateLogFile(duplicate_message(preview.duplicate_of))
    if preview.errors:
        raise ImportRejected(rejection(preview.errors))
    if not preview.readings or preview.device_id is None or preview.unit is None:
        raise ImportRejected(
            f"Every reading in {export.file_name} is already on record; nothing was imported."
        )
    attribute_changes(session, actor, reason=f"logger file imported: {export.file_name}")
    log_file = TemperatureLogFile(
        sha256=export.sha256,
        file_name=export.file_name,
        layout=mapping.layout,
        device_id=preview.device_id,
        unit=preview.unit,
        time_zone=mapping.time_zone,
        location_id=location.id if location else None,
        shipment_id=shipment.id if shipment else None,
        reading_count=len(preview.readings),
        skipped_count=len(preview.skipped),
        first_reading_at=preview.readings[0].taken_at,
        last_reading_at=preview.readings[-1].taken_at,
        imported_by_id=actor.id,
    )
    session.add(log_file)
    session.flush()  # the readings name their file
    readings = [
        TemperatureReading(
            location_id=log_file.location_id,
            shipment_id=log_file.shipment_id,
            taken_at=draft.taken_at,
            temperature_c=draft.temperature_c,
            source=ReadingSource.LOGGER,
            device_id=preview.device_id,
            log_file_id=log_file.id,
            line=draft.line,
            recorded_by_id=actor.id,
        )
        for draft in preview.readings
    ]
    session.add_all(readings)
    session.flush()  # detection reads them back in time order
    return log_file, readings, len(preview.skipped)


def import_logger_file(
    session: Session,
    actor: User,
    export: LoggerExport,
    mapping: LoggerMapping,
    *,
    location: Location,
    device_id: str | None = None,
) -> LogImport:
    """Import a location's logger file whole, then look for excursions in it."""
    require(session, actor, Action.IMPORT_TEMPERATURE_LOGS)
    location = get_location(session, location.id)
    log_file, readings, skipped = store_logger_file(
        session, actor, export, mapping, location=location, device_id=device_id
    )
    excursions = check_location(session, actor, location, since=log_file.first_reading_at)
    return LogImport(log_file, readings, skipped, excursions)
