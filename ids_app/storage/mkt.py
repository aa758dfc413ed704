"""Mean kinetic temperature (USP <1079>) and time out of range, per location and period.

MKT is the single temperature that would age a product as much as the varying
temperatures it saw did (Arrhenius):

    MKT = (ΔH/R) / -ln( Σ wᵢ·exp(-ΔH / (R·Tᵢ)) / Σ wᵢ )      (T in kelvin)

with ΔH = 83.144 kJ/mol and R = 8.3144 J/(mol·K), so ΔH/R = 10 000 K exactly. USP
<1079> writes it for readings taken at equal intervals (every wᵢ = 1); readings at
uneven intervals are weighted by the time each stands for, which is the same thing for
an even log and keeps a daily manual reading from counting as much as a day of
five-minute logger readings.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import utc_now
from ids_app.inventory.models import Location
from ids_app.storage.models import Excursion, TemperatureReading, in_force

ACTIVATION_ENERGY_J_PER_MOL = 83_144.0
GAS_CONSTANT_J_PER_MOL_K = 8.3144
ACTIVATION_K = ACTIVATION_ENERGY_J_PER_MOL / GAS_CONSTANT_J_PER_MOL_K  # 10 000 K
KELVIN_AT_0_C = 273.15

Point = tuple[dt.datetime, float]


def mean_kinetic_temperature(
    temperatures_c: Sequence[float], weights: Sequence[float] | None = None
) -> float:
    """MKT in °C of ``temperatures_c``, equally weighted unless ``weights`` are given."""
    if not temperatures_c:
        raise ValueError("MKT needs at least one temperature")
    if weights is None:
        weights = [1.0] * len(temperatures_c)
    if len(weights) != len(temperatures_c):
        raise ValueError("one weight per temperature")
    total = math.fsum(weights)
    if total <= 0:
        raise ValueError("the weights must add up to more than zero")
    mean_factor = (
        math.fsum(
            weight * math.exp(-ACTIVATION_K / (celsius + KELVIN_AT_0_C))
            for celsius, weight in zip(temperatures_c, weights, strict=True)
        )
        / total
    )
    return ACTIVATION_K / -math.log(mean_factor) - KELVIN_AT_0_C


def held_spans(points: Sequence[Point], start: dt.datetime, end: dt.datetime) -> list[float]:
    """Seconds each point stands for inside [start, end): until the next point, or ``end``.

    ``points`` are in time order. A point before ``start`` (the last one) carries into the
    period; points after ``end`` stand for nothing in it.
    """
    spans = []
    for index, (taken_at, _) in enumerate(points):
        until = points[index + 1][0] if index + 1 < len(points) else end
        begin, finish = max(taken_at, start), min(until, end)
        spans.append(max((finish - begin).total_seconds(), 0.0))
    return spans


def time_out_of_range(
    points: Sequence[Point], start: dt.datetime, end: dt.datetime, low: float, high: float
) -> dt.timedelta:
    """How long the held readings were below ``low`` or above ``high`` (a limit is in range)."""
    seconds = math.fsum(
        span
        for (_, celsius), span in zip(points, held_spans(points, start, end), strict=True)
        if celsius < low or celsius > high
    )
    return dt.timedelta(seconds=seconds)


def weighted_mkt(points: Sequence[Point], start: dt.datetime, end: dt.datetime) -> float | None:
    """MKT of the points held over [start, end); None without a reading in it.

    A period that is a single instant (an excursion seen by one reading) weighs its
    readings equally.
    """
    spans = held_spans(points, start, end)
    inside = [(celsius, span) for (_, celsius), span in zip(points, spans, strict=True) if span]
    if inside:
        return mean_kinetic_temperature([c for c, _ in inside], [s for _, s in inside])
    at_instant = [celsius for taken_at, celsius in points if start <= taken_at <= end]
    return mean_kinetic_temperature(at_instant) if at_instant else None


@dataclass(frozen=True)
class PeriodSummary:
    """What the temperature section of the binder shows for one location and period."""

    start: dt.datetime
    end: dt.datetime
    reading_count: int
    min_c: float | None
    max_c: float | None
    mkt_c: float | None
    time_out_of_range: dt.timedelta
    time_covered: dt.timedelta


def location_points(
    session: Session, location: Location, start: dt.datetime, end: dt.datetime
) -> tuple[list[TemperatureReading], TemperatureReading | None]:
    """The readings taken in [start, end) in time order, and the last one before ``start``."""
    r = TemperatureReading
    readings = list(
        session.scalars(
            select(r)
            .where(r.location_id == location.id, r.taken_at >= start, r.taken_at < end, in_force())
            .order_by(r.taken_at, r.id)
        )
    )
    before = session.scalars(
        select(r)
        .where(r.location_id == location.id, r.taken_at < start, in_force())
        .order_by(r.taken_at.desc(), r.id.desc())
        .limit(1)
    ).first()
    return readings, before


def location_summary(
    session: Session, location: Location, start: dt.datetime, end: dt.datetime
) -> PeriodSummary:
    """Readings, extremes, MKT and time out of the location's range over [start, end).

    The period stops at now: the latest reading is not assumed to hold in the future.
    """
    end = min(end, utc_now())
    readings, before = location_points(session, location, start, end)
    held = ([before] if before is not None else []) + readings
    points = [(reading.taken_at, reading.temperature_c) for reading in held]
    # A manual entry's min/max memory is an observation too (USP <1079>: the extremes).
    extremes = [reading.temperature_c for reading in readings]
    extremes += [
        value
        for reading in readings
        for value in (reading.min_c, reading.max_c)
        if value is not None
    ]
    covered = math.fsum(held_spans(points, start, end)) if points else 0.0
    return PeriodSummary(
        start=start,
        end=end,
        reading_count=len(readings),
        min_c=min(extremes) if extremes else None,
        max_c=max(extremes) if extremes else None,
        mkt_c=weighted_mkt(points, start, end) if points else None,
        time_out_of_range=time_out_of_range(
            points, start, end, location.storage_min_c, location.storage_max_c
        ),
        time_covered=dt.timedelta(seconds=covered),
    )


def excursion_points(session: Session, excursion: Excursion) -> list[Point]:
    """The readings of the excursion's location or shipment from its start to its end."""
    r = TemperatureReading
    place = (
        r.location_id == excursion.location_id
        if excursion.location_id is not None
        else r.shipment_id == excursion.shipment_id
    )
    rows = session.execute(
        select(r.taken_at, r.temperature_c)
        .where(
            place,
            r.taken_at >= excursion.started_at,
            r.taken_at <= excursion.ended_at,
            in_force(),
        )
        .order_by(r.taken_at, r.id)
    )
    return [(taken_at, celsius) for taken_at, celsius in rows]


def excursion_mkt(session: Session, excursion: Excursion) -> float | None:
    """MKT over the excursion itself, for the sponsor's stability assessment."""
    points = excursion_points(session, excursion)
    return weighted_mkt(points, excursion.started_at, excursion.ended_at) if points else None
