"""Temperatures for the demo, recorded through the storage services, for the reports.

On IDS Shelf A (20-25 °C), where ABC-123's kits (15-30 °C) stand: an EasyLog export
logged hourly from the study's first receipt to a few hours ago, with an afternoon 40
days ago when the room reached 32.5 °C for six hours (a failed air handler), and the
last week's daily checks with the thermometer's min/max memory. The excursion breaches
the kits' own range, so importing the file quarantines the kits on the shelf at once; a
pharmacist then records the sponsor's release. And for XYZ-789, the logger that
travelled with shipment ZB-0002 (14 °C for 6 h), attached to the receipt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ids_app.db import Database, utc_now
from ids_app.demo_history import history_start
from ids_app.inventory.models import HoldDecisionKind, Location, Lot, Shipment
from ids_app.storage.excursions import decide_excursion
from ids_app.storage.models import Excursion, TemperatureUnit
from ids_app.storage.readings import (
    EASYLOG_CELSIUS,
    GENERIC_LAYOUT,
    import_logger_file,
    read_logger_file,
    record_daily_reading,
)
from ids_app.storage.transit import attach_transit_log
from ids_app.users.services import get_user

SHELF = "IDS Shelf A"
LOGGER_SERIAL = "EL-USB-2-0457"
LOGGER_FILE = "IDS Shelf A.txt"
TRANSIT_FILE = "ZB-0002 transit logger.csv"
TRANSIT_SERIAL = "TT4-88213"
# Hourly from 13:00 UTC, day 80 of the demo: out of 20-25 °C from the first to the last,
# above the kits' 30 °C for three hours; 24 °C at 19:00 is back in range.
EXCURSION_DAY = 80
EXCURSION_C = (26.0, 28.5, 30.5, 32.5, 31.0, 27.0)
BACK_IN_RANGE_C = 24.0
DAILY_CHECKS = ((21.4, 20.9, 22.8), (21.9, 21.0, 23.1), (22.3, 21.2, 23.4), (21.7, 20.8, 22.9),
                (22.0, 21.1, 23.2), (21.8, 20.9, 23.0), (22.1, 21.3, 23.3))  # fmt: skip
SPONSOR_REFERENCE = "Acme TE-2026-118: 6 h up to 32.5 °C is within the stability data; use"
PHARMACIST_PASSWORD = "demo-pharm"


@dataclass(frozen=True)
class ShelfLog:
    excursion_id: int
    excursion_start: dt.datetime
    last_reading_at: dt.datetime
    logger_readings: int


def _wobble(hour: int) -> float:
    """A room's daily swing and a fixed, repeatable noise (the file must not change)."""
    daily = 1.1 * math.sin((hour % 24 - 9) * 2 * math.pi / 24)
    noise = (math.sin(hour * 12.9898) * 43758.5453 % 1.0 - 0.5) * 0.6
    return round(22.0 + daily + noise, 1)


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def shelf_readings(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, float]]:
    """Hourly readings in [start, end) with the excursion on its day."""
    excursion = history_start() + dt.timedelta(days=EXCURSION_DAY, hours=-1)
    points = []
    moment, index = _hour(start), 0
    while moment < end:
        offset = int((moment - excursion).total_seconds() // 3600)
        if 0 <= offset < len(EXCURSION_C):
            celsius = EXCURSION_C[offset]
        elif offset == len(EXCURSION_C):
            celsius = BACK_IN_RANGE_C
        else:
            celsius = _wobble(index)
        points.append((moment, celsius))
        moment += dt.timedelta(hours=1)
        index += 1
    return points


def _easylog(path: Path, points: list[tuple[dt.datetime, float]]) -> Path:
    lines = [f"{SHELF},Time,Celsius(°C),Serial Number"]
    for number, (moment, celsius) in enumerate(points, start=1):
        serial = f",{LOGGER_SERIAL}" if number == 1 else ""
        lines.append(f"{number},{moment:%Y-%m-%d %H:%M:%S},{celsius}{serial}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_shelf_log(db: Database, folder: Path) -> ShelfLog:
    """The shelf's logger file and daily checks, then the sponsor's decision, signed."""
    with db.read_session() as session:
        tech, pharm = get_user(session, "tech"), get_user(session, "pharm")
        shelf = session.scalars(select(Location).where(Location.name == SHELF)).one()
    start = history_start() + dt.timedelta(days=3)
    end = _hour(utc_now()) - dt.timedelta(hours=2)
    points = shelf_readings(start, end)
    path = _easylog(folder / LOGGER_FILE, points)
    # The exporting computer kept UTC: the mapping says so (EasyLog writes local times).
    mapping = dataclasses.replace(EASYLOG_CELSIUS, time_zone="UTC")
    with db.unit_of_work() as session:
        outcome = import_logger_file(
            session, tech, read_logger_file(path), mapping, location=shelf, device_id=None
        )
        (excursion,) = outcome.excursions
        excursion_id, excursion_start = excursion.id, excursion.started_at
    # Within the week a daily check may be entered without a note saying why it is late.
    checked = _hour(utc_now()) - dt.timedelta(hours=1)
    for days_ago, (current, low, high) in zip(range(6, -1, -1), DAILY_CHECKS, strict=True):
        with db.unit_of_work() as session:
            record_daily_reading(
                session,
                tech,
                shelf,
                current=current,
                minimum=low,
                maximum=high,
                taken_at=checked - dt.timedelta(days=days_ago),
                device_id="Thermometer T-12",
            )
    with db.unit_of_work() as session:
        lot = session.scalars(select(Lot).where(Lot.lot_number == "L2301")).one()
        decide_excursion(
            session,
            pharm,
            session.get_one(Excursion, excursion_id),
            lot,
            decision=HoldDecisionKind.RELEASE,
            sponsor_reference=SPONSOR_REFERENCE,
            password=PHARMACIST_PASSWORD,
        )
    return ShelfLog(excursion_id, excursion_start, checked, len(points))


def add_transit_log(db: Database, folder: Path) -> int:
    """ZB-0002's logger: two days at 5 °C with six hours at 14 °C; returns the excursion."""
    with db.read_session() as session:
        tech = get_user(session, "tech")
    arrived = history_start() + dt.timedelta(days=66, hours=-1)
    lines = ["Time,Temperature"]
    for hour in range(48):
        moment = arrived - dt.timedelta(hours=48 - hour)
        celsius = 14.0 if 20 <= hour < 26 else 5.0
        lines.append(f"{moment:%Y-%m-%dT%H:%M:%S}Z,{celsius}")
    path = folder / TRANSIT_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with db.unit_of_work() as session:
        shipment = session.scalars(
            select(Shipment).where(Shipment.shipment_number == "ZB-0002")
        ).one()
        outcome = attach_transit_log(
            session,
            tech,
            shipment,
            read_logger_file(path),
            dataclasses.replace(GENERIC_LAYOUT, unit=TemperatureUnit.CELSIUS),
            device_id=TRANSIT_SERIAL,
        )
        (excursion,) = outcome.excursions
        return excursion.id
