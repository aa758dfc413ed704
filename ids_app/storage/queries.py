"""What the overview and the binder ask of the temperature record; reading only.

The overview alerts on excursions still under way, excursions whose held stock awaits
the sponsor's decision, and locations without today's reading. The binder's temperature
section lists a location's readings, excursions and the decisions made on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory.models import HoldDecision, Location, LocationKind, QuarantineHold, Shipment
from ids_app.inventory.quarantine import open_holds
from ids_app.storage.models import (
    Excursion,
    ExcursionHold,
    ExcursionStatus,
    ReadingSource,
    TemperatureLogFile,
    TemperatureReading,
    in_force,
)
from ids_app.users.models import User

# Returned units are never dispensed again (DOMAIN.md), so Returns needs no daily check.
UNCHECKED_KINDS = frozenset({LocationKind.RETURNS})


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The workstation's local calendar day as a UTC interval [start, end)."""
    start = dt.datetime.combine(day, dt.time()).astimezone()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).astimezone()
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def locations_missing_reading(session: Session, day: dt.date | None = None) -> list[Location]:
    """Active storage locations with no reading taken on ``day`` (default: today)."""
    start, end = local_day_bounds(day or today())
    r = TemperatureReading
    read = select(r.location_id).where(
        r.location_id.is_not(None), r.taken_at >= start, r.taken_at < end
    )
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.active.is_(True),
                Location.kind.not_in(UNCHECKED_KINDS),
                Location.id.not_in(read),
            )
            .order_by(Location.name)
        )
    )


def locations_out_of_range_now(session: Session) -> list[tuple[Location, TemperatureReading]]:
    """Active locations whose latest reading is out of their range, with that reading.

    A single reading is not yet an excursion (that needs the minimum duration), but the
    overview shows it at once so someone checks the fridge (USP <659>).
    """
    r = TemperatureReading
    latest = (
        select(r.location_id, func.max(r.taken_at).label("taken_at"))
        .where(r.location_id.is_not(None), in_force())
        .group_by(r.location_id)
        .subquery()
    )
    rows = session.execute(
        select(Location, r)
        .join(latest, latest.c.location_id == Location.id)
        .join(r, (r.location_id == Location.id) & (r.taken_at == latest.c.taken_at))
        .where(
            Location.active.is_(True),
            in_force(),
            (r.temperature_c < Location.storage_min_c) | (r.temperature_c > Location.storage_max_c),
        )
        .order_by(Location.name, r.id)
    ).all()
    seen: dict[int, tuple[Location, TemperatureReading]] = {}
    for location, reading in rows:
        seen.setdefault(location.id, (location, reading))
    return list(seen.values())


def open_excursions(session: Session) -> list[Excursion]:
    """Excursions still under way: the latest reading is out of range."""
    return list(
        session.scalars(
            select(Excursion)
            .where(Excursion.status == ExcursionStatus.OPEN)
            .order_by(Excursion.started_at, Excursion.id)
        )
    )


def excursions_awaiting_decision(session: Session) -> list[Excursion]:
    """Excursions with stock still held, waiting for a pharmacist to record the sponsor's
    decision per lot."""
    links = session.execute(
        select(ExcursionHold.excursion_id, QuarantineHold.id, QuarantineHold.study_id).join(
            QuarantineHold, QuarantineHold.id == ExcursionHold.hold_id
        )
    ).all()
    holding: set[int] = set()
    for study_id in {study_id for _, _, study_id in links}:
        holding |= {hold.id for hold in open_holds(session, study_id)}
    waiting = {excursion_id for excursion_id, hold_id, _ in links if hold_id in holding}
    return list(
        session.scalars(
            select(Excursion)
            .where(Excursion.id.in_(waiting))
            .order_by(Excursion.started_at, Excursion.id)
        )
    )


def excursions_at(
    session: Session, location: Location, start: dt.datetime, end: dt.datetime
) -> list[Excursion]:
    """A location's excursions that overlap [start, end), oldest first."""
    x = Excursion
    return list(
        session.scalars(
            select(x)
            .where(x.location_id == location.id, x.started_at < end, x.ended_at >= start)
            .order_by(x.started_at, x.id)
        )
    )


def shipment_excursions(session: Session, shipment: Shipment) -> list[Excursion]:
    return list(
        session.scalars(
            select(Excursion)
            .where(Excursion.shipment_id == shipment.id)
            .order_by(Excursion.started_at, Excursion.id)
        )
    )


def excursion_decisions(session: Session, excursion: Excursion) -> list[HoldDecision]:
    """The sponsor's decisions recorded on the excursion's holds, per lot, in order."""
    return list(
        session.scalars(
            select(HoldDecision)
            .join(ExcursionHold, ExcursionHold.hold_id == HoldDecision.hold_id)
            .where(ExcursionHold.excursion_id == excursion.id)
            .order_by(HoldDecision.decided_at, HoldDecision.id)
        )
    )


def readings_at(
    session: Session, location: Location, start: dt.datetime, end: dt.datetime
) -> list[TemperatureReading]:
    """A location's readings taken in [start, end), in time order: the log's table."""
    r = TemperatureReading
    return list(
        session.scalars(
            select(r)
            .where(r.location_id == location.id, r.taken_at >= start, r.taken_at < end, in_force())
            .order_by(r.taken_at, r.id)
        )
    )


@dataclass(frozen=True)
class DailyReadingRow:
    """A daily check as typed, for choosing the one to correct."""

    id: int
    taken_at: dt.datetime
    current_c: float
    min_c: float | None
    max_c: float | None
    recorded_by: str
    note: str


def daily_readings(session: Session, location_id: int, since: dt.datetime) -> list[DailyReadingRow]:
    """The location's daily checks taken since ``since`` that still count, newest first."""
    r = TemperatureReading
    rows = session.execute(
        select(r, User.full_name)
        .join(User, User.id == r.recorded_by_id)
        .where(
            r.location_id == location_id,
            r.source == ReadingSource.MANUAL,
            r.taken_at >= since,
            in_force(),
        )
        .order_by(r.taken_at.desc(), r.id.desc())
    )
    return [
        DailyReadingRow(
            reading.id,
            reading.taken_at,
            reading.temperature_c,
            reading.min_c,
            reading.max_c,
            name,
            reading.note or "",
        )
        for reading, name in rows
    ]


def log_files(session: Session, location: Location) -> list[TemperatureLogFile]:
    """The logger files imported for a location, newest first."""
    f = TemperatureLogFile
    return list(
        session.scalars(
            select(f).where(f.location_id == location.id).order_by(f.imported_at.desc(), f.id)
        )
    )
