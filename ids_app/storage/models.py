"""Temperature readings, the logger files they came from, and excursions.

ICH E6 asks that investigational product be stored as the sponsor specifies, with records
that show it. Readings are written once and never changed (append-only in the database);
an excursion is updated only while later readings lengthen it, and every change is in
the audit trail.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy import exists as sql_exists
from sqlalchemy.orm import Mapped, aliased, mapped_column

from ids_app.db import Base, utc_now

# Where a time-and-place reading belongs: a storage location, or a shipment in transit.
ONE_PLACE = "(location_id IS NULL) <> (shipment_id IS NULL)"


class ReadingSource(enum.StrEnum):
    MANUAL = "manual"
    LOGGER = "logger"


class TemperatureUnit(enum.StrEnum):
    CELSIUS = "C"
    FAHRENHEIT = "F"

    @property
    def symbol(self) -> str:
        return f"°{self.value}"


class ExcursionStatus(enum.StrEnum):
    """OPEN while the latest reading is still out of range; CLOSED once one is back in."""

    OPEN = "open"
    CLOSED = "closed"


class ExcursionEvidence(enum.StrEnum):
    """What showed the excursion: timed readings, or a thermometer's min/max memory,
    which says the range was left but not for how long."""

    READINGS = "readings"
    MIN_MAX = "min/max memory"


class TemperatureLogFile(Base):
    """An imported logger export. Its SHA-256 recognises the same file offered again."""

    __tablename__ = "temperature_log_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(unique=True)
    file_name: Mapped[str]
    layout: Mapped[str]
    device_id: Mapped[str]
    unit: Mapped[TemperatureUnit]
    time_zone: Mapped[str | None]
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))
    reading_count: Mapped[int]
    skipped_count: Mapped[int]
    first_reading_at: Mapped[dt.datetime]
    last_reading_at: Mapped[dt.datetime]
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (CheckConstraint(ONE_PLACE, name="one_place"),)


class TemperatureReading(Base):
    """One temperature at one instant, in °C, at a location or in a shipment.

    A manual daily entry also carries the thermometer's min and max since its last reset;
    a logger reading names its file and line, so it can be traced to the original (ALCOA+).
    """

    __tablename__ = "temperature_reading"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))
    taken_at: Mapped[dt.datetime]
    temperature_c: Mapped[float]
    min_c: Mapped[float | None]
    max_c: Mapped[float | None]
    source: Mapped[ReadingSource]
    device_id: Mapped[str | None]
    log_file_id: Mapped[int | None] = mapped_column(ForeignKey("temperature_log_file.id"))
    line: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # A manual reading entered wrongly is corrected by a new reading naming it here; the
    # wrong one stays on record but no longer counts.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("temperature_reading.id"))

    __table_args__ = (
        CheckConstraint(ONE_PLACE, name="one_place"),
        Index("ix_temperature_reading_location_time", "location_id", "taken_at"),
        Index("ix_temperature_reading_shipment_time", "shipment_id", "taken_at"),
        Index("ix_temperature_reading_device_time", "device_id", "taken_at"),
        # in_force() asks of every reading whether a correction names it: without this
        # index that question scans the table once per reading.
        Index("ix_temperature_reading_corrects_id", "corrects_id"),
    )


def in_force() -> ColumnElement[bool]:
    """Readings that count: every reading but one a later correction replaced.

    Excursion detection, kinetic temperatures, charts and the binder use only these; the
    replaced reading stays in the table and the audit trail, and the correction names it.
    """
    correction = aliased(TemperatureReading)
    return ~sql_exists().where(correction.corrects_id == TemperatureReading.id)


class Excursion(Base):
    """Time out of a storage range at a location, or out of the products' range in transit.

    ``ended_at`` is the first reading back in range (closed), or the latest reading while
    still out (open). ``duration_seconds`` is None when only a min/max memory showed it.
    The range and the minimum duration in force are kept, so the record explains itself.
    """

    __tablename__ = "excursion"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))
    range_min_c: Mapped[float]
    range_max_c: Mapped[float]
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime]
    min_c: Mapped[float]
    max_c: Mapped[float]
    duration_seconds: Mapped[int | None]
    status: Mapped[ExcursionStatus]
    evidence: Mapped[ExcursionEvidence]
    minimum_minutes: Mapped[int]
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        CheckConstraint(ONE_PLACE, name="one_place"),
        Index("ix_excursion_location_time", "location_id", "started_at"),
        Index("ix_excursion_shipment", "shipment_id"),
    )

    @property
    def duration(self) -> dt.timedelta | None:
        if self.duration_seconds is None:
            return None
        return dt.timedelta(seconds=self.duration_seconds)

    @property
    def range_text(self) -> str:
        return f"{self.range_min_c:g} to {self.range_max_c:g} °C"


class ExcursionHold(Base):
    """The quarantine hold an excursion opened (or, in transit, the receipt's own hold)."""

    __tablename__ = "excursion_hold"
    __table_args__ = (UniqueConstraint("excursion_id", "hold_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    excursion_id: Mapped[int] = mapped_column(ForeignKey("excursion.id"))
    hold_id: Mapped[int] = mapped_column(ForeignKey("quarantine_hold.id"))


class ExcursionRule(Base):
    """How long a location may be out of range before it is an excursion.

    One row without a location is the site's default; a row for a location overrides it.
    """

    __tablename__ = "excursion_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), unique=True)
    minimum_minutes: Mapped[int]
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
