"""The temperature section of the binder and the workbook, read through ``storage.report``.

DESIGN.md ("Reports"): a temperature log with chart and excursions. ICH E6 asks for
records showing the product was stored as specified, so for each location that held the
study's stock: the readings summarised (extremes, MKT per USP <1079>, time out of range),
where they came from, the chart, every excursion with this study's holds and signed
decisions, and the logger files imported; then the excursions of its shipments in transit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.db import today, utc_now
from ids_app.inventory.models import LedgerEntry, Location, QuarantineHold, Shipment
from ids_app.inventory.quarantine import held_stock
from ids_app.reports.common import hold_entries, put_on_hold
from ids_app.reports.period import local_midnight
from ids_app.reports.records import (
    AFTER_LAST_READING,
    ExcursionHoldInfo,
    ExcursionInfo,
    ExposedDispense,
    LocationTemperature,
    LogFileInfo,
    ReadingSourceInfo,
    TemperatureRecord,
)
from ids_app.storage.models import ExcursionStatus, ReadingSource
from ids_app.storage.queries import UNCHECKED_KINDS
from ids_app.storage.report import (
    ExcursionReport,
    LocationSection,
    last_reading_at,
    location_section,
    study_locations,
    transit_excursions,
)

if TYPE_CHECKING:
    from ids_app.reports.gather import Lookups

# MKT to 0.01 °C, as docs/temperature-logs.md works it: enough for a stability judgement,
# and the data hash does not hang on the last bit of a floating-point sum.
MKT_DIGITS = 2


def temperature_period(
    session: Session, look: Lookups, locations: Sequence[Location]
) -> tuple[dt.datetime, dt.datetime, bool]:
    """The instants [start, end) the section covers, and whether the end is the last reading.

    From the period's first day, or from the study's first ledger entry (its stock was not
    on site before). A period already over ends where it ends. One still running ends just
    after the last reading at the study's locations: nothing is known after it, and ending
    at "now" would move the MKT, the time covered, the chart's axis and so the data hash
    on every build, although no record changed. A new reading changes them, as it should.
    """
    study_start = session.scalar(
        select(func.min(LedgerEntry.occurred_at)).where(LedgerEntry.study_id == look.study.id)
    )
    # Without any stock yet there is no location either; today keeps the hash steady.
    start = look.period.starts or study_start or local_midnight(today())
    ends = look.period.ends
    if ends is not None and ends <= utc_now():
        return start, ends, False
    latest = last_reading_at(session, locations, start, ends) if locations else None
    if latest is None:
        # Nothing recorded: the section still covers the study's months, up to the start
        # of the day its stock is counted (a date already in the record, so the hash holds
        # all day), not one instant at its first entry.
        return start, max(start, local_midnight(today())), False
    return start, max(start, latest + AFTER_LAST_READING), True


def _mkt(value: float | None) -> float | None:
    return None if value is None else round(value, MKT_DIGITS)


def _hold(
    session: Session, look: Lookups, hold: QuarantineHold, entries: list[LedgerEntry]
) -> ExcursionHoldInfo:
    return ExcursionHoldInfo(
        hold_id=hold.id,
        placed_at=hold.placed_at,
        held=tuple(
            look.held(e.lot_id, e.kit_id, e.to_location_id, e.quantity)
            for e in put_on_hold(entries)
        ),
        still_held=tuple(
            look.held(b.lot_id, b.kit_id, b.location_id, b.quantity)
            for b in held_stock(session, hold)
        ),
    )


def _dispensed(look: Lookups, entry: LedgerEntry) -> ExposedDispense:
    order = look.orders.get(entry.dispense_order_id) if entry.dispense_order_id else None
    product = look.products[entry.product_id]
    return ExposedDispense(
        dispensed_at=entry.occurred_at,
        subject_code=look.subjects[order.subject_id].subject_code if order else None,
        product=product.description,
        lot_number=look.lots[entry.lot_id].lot_number,
        kit_number=look.kit_number(entry.kit_id),
        quantity=entry.quantity,
        unit=product.unit,
    )


def excursion_info(
    session: Session,
    look: Lookups,
    report: ExcursionReport,
    place: str,
    shipment_number: str | None = None,
) -> ExcursionInfo:
    """An excursion as the record keeps it: only this study's holds, decisions and
    dispenses (storage.report filters them), free text masked in a blinded edition."""
    x = report.excursion
    entries = {hold.id: hold_entries(session, hold) for hold in report.holds}
    decisions = [look.decision_row(d, entries[d.hold_id]) for d in report.decisions]
    return ExcursionInfo(
        excursion_id=x.id,
        place=place,
        shipment_number=shipment_number,
        started_at=x.started_at,
        ended_at=x.ended_at,
        duration_seconds=x.duration_seconds,
        still_open=x.status is ExcursionStatus.OPEN,
        evidence=x.evidence.value,
        range_text=x.range_text,
        minimum_minutes=x.minimum_minutes,
        min_c=x.min_c,
        max_c=x.max_c,
        mkt_c=_mkt(report.mkt_c),
        holds=tuple(_hold(session, look, hold, entries[hold.id]) for hold in report.holds),
        decisions=tuple(decisions),
        dispensed_after=tuple(_dispensed(look, entry) for entry in report.dispensed_after),
        awaiting_decision=report.awaiting_decision,
    )


def _location(session: Session, look: Lookups, section: LocationSection) -> LocationTemperature:
    location, summary = section.location, section.summary
    return LocationTemperature(
        name=location.name,
        kind=location.kind.value,
        range_min_c=location.storage_min_c,
        range_max_c=location.storage_max_c,
        range_text=location.range_text,
        checked_daily=location.kind not in UNCHECKED_KINDS,
        start=summary.start,
        end=summary.end,
        reading_count=summary.reading_count,
        sources=tuple(
            ReadingSourceInfo(
                "manual" if count.source is ReadingSource.MANUAL else "logger",
                count.device_id,
                count.count,
            )
            for count in section.sources
        ),
        min_c=summary.min_c,
        max_c=summary.max_c,
        mkt_c=_mkt(summary.mkt_c),
        out_of_range_seconds=round(summary.time_out_of_range.total_seconds()),
        covered_seconds=round(summary.time_covered.total_seconds()),
        # An empty chart says less than the line "no readings", and costs layout time.
        chart_svg=section.chart_svg if summary.reading_count or section.excursions else None,
        excursions=tuple(
            excursion_info(session, look, report, location.name) for report in section.excursions
        ),
        log_files=tuple(
            LogFileInfo(
                file_name=look.blinder.required_text(f.file_name),
                layout=f.layout,
                device=f.device_id,
                unit=f.unit.symbol,
                time_zone=f.time_zone,
                first_reading_at=f.first_reading_at,
                last_reading_at=f.last_reading_at,
                reading_count=f.reading_count,
                skipped_count=f.skipped_count,
                imported_by=look.user_name(f.imported_by_id),
                imported_at=f.imported_at,
                sha256=f.sha256,
            )
            for f in sorted(section.log_files, key=lambda f: (f.first_reading_at, f.id))
        ),
    )


def gather_temperature(session: Session, look: Lookups) -> TemperatureRecord:
    """The study's temperature record for the period: its locations, then transit."""
    locations = study_locations(session, look.study.id)
    start, end, at_last_reading = temperature_period(session, look, locations)
    sections = [
        location_section(session, location, start, end, study_id=look.study.id)
        for location in locations
    ]
    transit = []
    for report in transit_excursions(session, look.study.id):
        shipment = session.get_one(Shipment, report.excursion.shipment_id)
        if look.period.holds_day(shipment.received_on):
            transit.append(
                excursion_info(
                    session,
                    look,
                    report,
                    f"in transit, shipment {shipment.shipment_number}",
                    shipment.shipment_number,
                )
            )
    return TemperatureRecord(
        start=start,
        end=end,
        ends_at_last_reading=at_last_reading,
        locations=tuple(_location(session, look, section) for section in sections),
        transit=tuple(transit),
    )
