"""The data of the binder's and workbook's temperature section, one location at a time.

DESIGN.md ("Reports"): a temperature log with chart and excursions. For each location
that held the study's stock: the period's readings summarised (extremes, MKT per USP
<1079>, time out of range), the chart, every excursion with its own MKT, and what was
held for it and decided. A study's binder shows only that study's holds and decisions:
another sponsor's lots at the same fridge are not its business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.db import utc_now
from ids_app.inventory.models import (
    HoldDecision,
    LedgerEntry,
    Location,
    QuarantineHold,
    Shipment,
    StockState,
)
from ids_app.inventory.quarantine import held_stock
from ids_app.storage.chart import location_chart
from ids_app.storage.excursions import describe, dispensed_after_exposure, excursion_holds
from ids_app.storage.mkt import PeriodSummary, excursion_mkt, location_summary
from ids_app.storage.models import (
    Excursion,
    ReadingSource,
    TemperatureLogFile,
    TemperatureReading,
    in_force,
)
from ids_app.storage.queries import excursion_decisions, excursions_at, log_files

ON_SITE = (StockState.AVAILABLE, StockState.QUARANTINED, StockState.RETURNED, StockState.CONDEMNED)


@dataclass(frozen=True)
class ExcursionReport:
    """One excursion as the binder prints it; holds and decisions of the study asked for."""

    excursion: Excursion
    description: str
    mkt_c: float | None
    holds: list[QuarantineHold]
    decisions: list[HoldDecision]
    dispensed_after: list[LedgerEntry]
    awaiting_decision: bool


@dataclass(frozen=True)
class ReadingCount:
    """How many readings one source gave: the daily thermometer, or a logger by serial."""

    source: ReadingSource
    device_id: str | None
    count: int


@dataclass(frozen=True)
class LocationSection:
    location: Location
    summary: PeriodSummary
    chart_svg: str
    excursions: list[ExcursionReport]
    log_files: list[TemperatureLogFile]
    sources: list[ReadingCount]


def excursion_report(
    session: Session, excursion: Excursion, *, study_id: int | None = None
) -> ExcursionReport:
    """An excursion with its MKT, holds, decisions and the exposed stock dispensed before
    it was found; with ``study_id``, only that study's part."""
    if excursion.location_id is not None:
        where = f"at {session.get_one(Location, excursion.location_id).name}"
    else:
        shipment = session.get_one(Shipment, excursion.shipment_id)
        where = f"in transit, shipment {shipment.shipment_number}"
    holds = [
        hold
        for hold in excursion_holds(session, excursion)
        if study_id is None or hold.study_id == study_id
    ]
    hold_ids = {hold.id for hold in holds}
    return ExcursionReport(
        excursion=excursion,
        description=describe(excursion, where),
        mkt_c=excursion_mkt(session, excursion),
        holds=holds,
        decisions=[d for d in excursion_decisions(session, excursion) if d.hold_id in hold_ids],
        # Until the excursion was on record: from then on the exposed stock was held, and
        # what went out later was released by the sponsor or was never exposed.
        dispensed_after=[
            entry
            for entry in dispensed_after_exposure(session, excursion)
            if (study_id is None or entry.study_id == study_id)
            and entry.occurred_at <= excursion.opened_at
        ],
        awaiting_decision=any(held_stock(session, hold) for hold in holds),
    )


def study_locations(session: Session, study_id: int) -> list[Location]:
    """Locations where the study's stock has ever stood on site, by name."""
    e = LedgerEntry
    arrived = select(e.to_location_id).where(
        e.study_id == study_id, e.to_location_id.is_not(None), e.to_state.in_(ON_SITE)
    )
    return list(
        session.scalars(select(Location).where(Location.id.in_(arrived)).order_by(Location.name))
    )


def location_section(
    session: Session,
    location: Location,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    study_id: int | None = None,
    tz: dt.tzinfo | None = None,
) -> LocationSection:
    """A location's temperature section over [start, end); open ends run from the first
    reading and up to now."""
    if start is None:
        first = session.scalar(
            select(TemperatureReading.taken_at)
            .where(TemperatureReading.location_id == location.id)
            .order_by(TemperatureReading.taken_at)
            .limit(1)
        )
        start = first or utc_now()
    end = min(end or utc_now(), utc_now())
    excursions = [
        excursion_report(session, excursion, study_id=study_id)
        for excursion in excursions_at(session, location, start, end)
    ]
    files = [
        f
        for f in log_files(session, location)
        if f.first_reading_at < end and f.last_reading_at >= start
    ]
    return LocationSection(
        location=location,
        summary=location_summary(session, location, start, end),
        chart_svg=location_chart(session, location, start, end, tz=tz),
        excursions=excursions,
        log_files=files,
        sources=reading_sources(session, location, start, end),
    )


def reading_sources(
    session: Session, location: Location, start: dt.datetime, end: dt.datetime
) -> list[ReadingCount]:
    """The readings taken in [start, end) counted by source and device (ALCOA+: where each
    came from), manual first."""
    r = TemperatureReading
    rows = session.execute(
        select(r.source, r.device_id, func.count(r.id))
        .where(r.location_id == location.id, r.taken_at >= start, r.taken_at < end, in_force())
        .group_by(r.source, r.device_id)
    ).all()
    counts = [ReadingCount(source, device_id, count) for source, device_id, count in rows]
    return sorted(counts, key=lambda c: (c.source is not ReadingSource.MANUAL, c.device_id or ""))


def last_reading_at(
    session: Session,
    locations: Sequence[Location],
    start: dt.datetime,
    end: dt.datetime | None = None,
) -> dt.datetime | None:
    """When the latest reading at any of ``locations`` in [start, end) was taken."""
    r = TemperatureReading
    query = select(r.taken_at).where(
        r.location_id.in_([location.id for location in locations]), r.taken_at >= start
    )
    if end is not None:
        query = query.where(r.taken_at < end)
    return session.scalar(query.order_by(r.taken_at.desc()).limit(1))


def transit_excursions(session: Session, study_id: int) -> list[ExcursionReport]:
    """Excursions in transit of the study's shipments, oldest first."""
    shipments = select(Shipment.id).where(Shipment.study_id == study_id)
    found = session.scalars(
        select(Excursion)
        .where(Excursion.shipment_id.in_(shipments))
        .order_by(Excursion.started_at, Excursion.id)
    )
    return [excursion_report(session, excursion, study_id=study_id) for excursion in found]
