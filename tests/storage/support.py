"""Storage test data: a fridge study beside the DOMAIN.md example, logger files, readings.

Readings are taken after the stock was received, on a simulated clock set a few days
ahead (readings in the future are refused), starting at ``BASE``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ids_app.db import Database, simulated_clock
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import Location, Lot, Shipment, StockState
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.storage.models import TemperatureUnit
from ids_app.storage.readings import (
    LoggerMapping,
    LogImport,
    ReadingOutcome,
    import_logger_file,
    read_logger_file,
    record_daily_reading,
)
from ids_app.studies.models import Blinding, Product, ProductRole, Study, Tracking
from ids_app.studies.services import add_product, create_study
from ids_app.users.models import User
from tests.factories import EXPIRY, TODAY, Example

BASE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(
    hour=0, minute=0, second=0, microsecond=0
)
UTC_MAPPING = LoggerMapping(
    "Time", "Temperature", unit=TemperatureUnit.CELSIUS, time_zone="UTC", layout="test"
)


def at(minutes: float) -> dt.datetime:
    """``minutes`` after BASE."""
    return BASE + dt.timedelta(minutes=minutes)


@contextmanager
def later(days: int = 5) -> Iterator[None]:
    """The clock a few days after BASE, so every reading of a test is in the past."""
    with simulated_clock(BASE + dt.timedelta(days=days)):
        yield


@dataclass
class FridgeStudy:
    """XYZ-789: open-label vials (2-8 °C, counted in bulk) in IDS Fridge 1."""

    study: Study
    vial: Product
    shipment: Shipment


def add_fridge_study(db: Database, example: Example, vials: int = 10) -> FridgeStudy:
    tech = example.people.tech
    with db.unit_of_work() as session:
        study = create_study(
            session,
            tech,
            protocol_number="XYZ-789",
            title="An open-label study of Zelumab",
            sponsor="Zenith Bio",
            principal_investigator="Dr. Marcus Hale",
            blinding=Blinding.OPEN_LABEL,
        )
        vial = add_product(
            session,
            tech,
            study,
            agent_name="Zelumab",
            strength="100 mg/10 mL",
            dosage_form="vial",
            unit="vial",
            role=ProductRole.ACTIVE,
            tracking=Tracking.BULK,
            storage_min_c=2,
            storage_max_c=8,
            dispense_quantity=1,
            days_supply=21,
            doses_per_day=1,
        )
        shipment = receive_shipment(
            session,
            tech,
            study,
            ShipmentReceipt(
                shipment_number="ZB-0001",
                sender="Zenith Depot",
                carrier="Cold Chain Express",
                received_on=TODAY,
                location_id=example.fridge.id,
                lines=(ReceivedLine(vial.id, "Z2401", EXPIRY, quantity=vials),),
            ),
        )
    return FridgeStudy(study, vial, shipment)


def add_shelf_product(
    db: Database, example: Example, low: float, high: float, name: str = "ABC-123 solution"
) -> Product:
    """A second product of ABC-123, counted in bulk, kept on IDS Shelf A."""
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        return add_product(
            session,
            example.people.tech,
            study,
            agent_name=name,
            strength="1 mg/mL or placebo",
            dosage_form="oral solution",
            unit="bottle",
            role=ProductRole.BLINDED,
            tracking=Tracking.BULK,
            storage_min_c=low,
            storage_max_c=high,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )


def receive_bulk(
    db: Database,
    example: Example,
    product: Product,
    lot: str,
    quantity: int,
    location: Location,
    shipment_number: str,
) -> Shipment:
    with db.unit_of_work() as session:
        study = session.get_one(Study, product.study_id)
        return receive_shipment(
            session,
            example.people.tech,
            study,
            ShipmentReceipt(
                shipment_number=shipment_number,
                sender="Acme Depot",
                carrier="World Courier",
                received_on=TODAY,
                location_id=location.id,
                lines=(ReceivedLine(product.id, lot, EXPIRY, quantity=quantity),),
            ),
        )


def write_log(
    folder: Path,
    name: str,
    readings: Sequence[tuple[float, float]],
    *,
    header: str = "Time,Temperature",
) -> Path:
    """A generic log: each (minutes after BASE, °C) as an ISO UTC time."""
    lines = [header] + [
        f"{at(minutes):%Y-%m-%d %H:%M:%S},{celsius}" for minutes, celsius in readings
    ]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_log(
    db: Database,
    actor: User,
    location: Location,
    path: Path,
    mapping: LoggerMapping = UTC_MAPPING,
    device_id: str | None = "LOG-0001",
) -> LogImport:
    export = read_logger_file(path)
    with later(), db.unit_of_work() as session:
        return import_logger_file(
            session,
            actor,
            export,
            mapping,
            location=session.get_one(Location, location.id),
            device_id=device_id,
        )


def record(
    db: Database,
    actor: User,
    location: Location,
    current: float,
    *,
    minutes: float,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: TemperatureUnit = TemperatureUnit.CELSIUS,
) -> ReadingOutcome:
    with later(), db.unit_of_work() as session:
        return record_daily_reading(
            session,
            actor,
            session.get_one(Location, location.id),
            current=current,
            minimum=minimum,
            maximum=maximum,
            unit=unit,
            taken_at=at(minutes),
        )


def states(db: Database, study_id: int) -> dict[tuple[StockState, int | None], int]:
    """Quantity per state and location in one study."""
    with db.read_session() as session:
        totals: dict[tuple[StockState, int | None], int] = {}
        for row in study_balances(session, study_id):
            key = (row.state, row.location_id)
            totals[key] = totals.get(key, 0) + row.quantity
        return totals


def lot(db: Database, number: str) -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.lot_number == number)).one()
