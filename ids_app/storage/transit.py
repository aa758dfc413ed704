"""Transit temperature: the logger that travelled with a shipment, attached at receipt.

DOMAIN.md: stock received with a temperature excursion is on hold from the moment of
receipt and must not be dispensable before a pharmacist records the sponsor's decision.
Receiving already holds a shipment whose monitor showed an excursion (receiving.py);
this reads the logger itself, against each received product's own range, and holds
what the shipment put on the shelf when the file shows what the monitor did not.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session, aliased

from ids_app.inventory.ledger import Balance, balances
from ids_app.inventory.models import (
    EntryKind,
    HoldReason,
    LedgerEntry,
    QuarantineHold,
    Shipment,
    StockState,
)
from ids_app.storage.excursions import (
    describe,
    excursion_holds,
    link_hold,
    lock_location,
    minimum_minutes,
    out_of_range_runs,
    quarantine_balances,
    record_runs,
)
from ids_app.storage.models import Excursion, TemperatureLogFile, TemperatureReading
from ids_app.storage.readings import (
    LoggerExport,
    LoggerMapping,
    store_logger_file,
)
from ids_app.studies.models import Product
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require

TRANSIT_LOG_ROLES = PERMISSIONS[Action.ATTACH_TRANSIT_LOG].roles


@dataclass(frozen=True)
class TransitOutcome:
    log_file: TemperatureLogFile
    readings: list[TemperatureReading]
    skipped: int
    excursions: list[Excursion]


@dataclass(frozen=True)
class _Received:
    product: Product
    lot_id: int
    kit_id: int | None
    quantity: int


def _received(session: Session, shipment: Shipment) -> list[_Received]:
    """What the shipment's receipt put on site, receipts later reversed left out."""
    e = LedgerEntry
    reversal = aliased(LedgerEntry)
    rows = session.execute(
        select(e, Product)
        .join(Product, Product.id == e.product_id)
        .where(
            e.shipment_id == shipment.id,
            e.kind == EntryKind.RECEIVE,
            ~select(reversal.id).where(reversal.reverses_id == e.id).exists(),
        )
        .order_by(e.id)
    )
    return [
        _Received(product, entry.lot_id, entry.kit_id, entry.quantity) for entry, product in rows
    ]


def attach_transit_log(
    session: Session,
    actor: User,
    shipment: Shipment,
    export: LoggerExport,
    mapping: LoggerMapping,
    *,
    device_id: str | None = None,
) -> TransitOutcome:
    """Record the shipment's logger file whole, then hold what an excursion exposed."""
    require(session, actor, Action.ATTACH_TRANSIT_LOG)
    log_file, readings, skipped = store_logger_file(
        session, actor, export, mapping, shipment=shipment, device_id=device_id
    )
    return TransitOutcome(log_file, readings, skipped, check_shipment(session, actor, shipment))


def check_shipment(session: Session, actor: User, shipment: Shipment) -> list[Excursion]:
    """Excursions in the shipment's readings, one range at a time: each received product is
    judged against its own storage range, with the site's default minimum duration."""
    lock_location(session, shipment.location_id)  # one check at a time per receipt place
    r = TemperatureReading
    # Transit ends when the shipment was received: a logger left running on the bench
    # afterwards records the room, not the journey.
    arrived = session.scalar(
        select(func.max(LedgerEntry.occurred_at)).where(
            LedgerEntry.shipment_id == shipment.id, LedgerEntry.kind == EntryKind.RECEIVE
        )
    )
    points = [
        (taken_at, celsius)
        for taken_at, celsius in session.execute(
            select(r.taken_at, r.temperature_c)
            .where(r.shipment_id == shipment.id)
            .where(r.taken_at <= arrived if arrived is not None else true())
            .order_by(r.taken_at, r.id)
        )
    ]
    received = _received(session, shipment)
    ranges = sorted({(item.product.storage_min_c, item.product.storage_max_c) for item in received})
    minimum = minimum_minutes(session, None)
    found: list[Excursion] = []
    for low, high in ranges:
        # Transit ends at receipt: a run still out at the logger's last reading is over.
        runs = [
            dataclasses.replace(run, closed=True) for run in out_of_range_runs(points, low, high)
        ]
        for excursion in record_runs(
            session, actor, runs, low=low, high=high, minimum=minimum, shipment_id=shipment.id
        ):
            in_range = [
                item
                for item in received
                if (item.product.storage_min_c, item.product.storage_max_c) == (low, high)
            ]
            _hold_received(session, actor, shipment, excursion, in_range)
            found.append(excursion)
    return found


def _hold_received(
    session: Session,
    actor: User,
    shipment: Shipment,
    excursion: Excursion,
    received: list[_Received],
) -> list[QuarantineHold]:
    """Hold the shipment's stock of the breached products where it is now available.

    A receipt already held for an excursion (the monitor said so) keeps its hold, which is
    linked to this excursion so the sponsor's decision names both.
    """
    receipt_holds = session.scalars(
        select(QuarantineHold).where(
            QuarantineHold.shipment_id == shipment.id,
            QuarantineHold.reason == HoldReason.EXCURSION,
        )
    ).all()
    for hold in receipt_holds:
        link_hold(session, actor, excursion, hold)
    hold_ids = [hold.id for hold in excursion_holds(session, excursion)]
    already = {
        (lot_id, kit_id)
        for lot_id, kit_id in session.execute(
            select(LedgerEntry.lot_id, LedgerEntry.kit_id).where(
                LedgerEntry.hold_id.in_(hold_ids),
                LedgerEntry.to_state == StockState.QUARANTINED,
            )
        )
    }
    items = [item for item in received if (item.lot_id, item.kit_id) not in already]
    kits = {item.kit_id: item for item in items if item.kit_id is not None}
    bulk: dict[int, int] = defaultdict(int)
    study_of: dict[int, int] = {}
    for item in items:
        study_of[item.lot_id] = item.product.study_id
        if item.kit_id is None:
            bulk[item.lot_id] += item.quantity
    targets: list[tuple[int, Balance]] = []
    if kits:
        for row in balances(session, LedgerEntry.kit_id.in_(list(kits))):
            if row.state is StockState.AVAILABLE:
                targets.append((study_of[row.lot_id], row))
    for row in balances(session, LedgerEntry.lot_id.in_(list(bulk))) if bulk else []:
        if (
            row.state is StockState.AVAILABLE
            and row.kit_id is None
            and row.location_id == shipment.location_id
        ):
            quantity = min(row.quantity, bulk[row.lot_id])
            targets.append((study_of[row.lot_id], dataclasses.replace(row, quantity=quantity)))
    if not targets:
        return []
    details = describe(excursion, f"in transit, shipment {shipment.shipment_number}")
    return quarantine_balances(session, actor, excursion, targets, details, shipment_id=shipment.id)


def transit_log_files(session: Session, study_id: int) -> dict[int, str]:
    """Each of the study's shipments that has its logger file attached: the file's name and
    how many readings it gave, for the shipments list to say."""
    log = TemperatureLogFile
    rows = session.execute(
        select(log.shipment_id, log.file_name, log.reading_count)
        .join(Shipment, Shipment.id == log.shipment_id)
        .where(Shipment.study_id == study_id)
        .order_by(log.id)
    )
    return {
        shipment_id: f"{file_name} ({count} readings)"
        for shipment_id, file_name, count in rows
        if shipment_id is not None
    }
