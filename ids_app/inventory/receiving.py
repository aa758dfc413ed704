"""Receiving a shipment: lines by lot and kit, matched against the packing list.

Stock that arrives damaged or with a temperature excursion is quarantined at receipt and
stays undispensable until a pharmacist records the sponsor's decision (DOMAIN.md). Stock
already past its expiry on the day it arrives is quarantined too, under an expiry hold, so
it never stands "available" on a shelf (:func:`expired_on_arrival` says which lines).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ids_app.audit.trail import attribute_changes
from ids_app.db import today
from ids_app.errors import InvalidInput, NotFound
from ids_app.inventory.late_entries import EventTime, Judged, after_last_record, happened_on
from ids_app.inventory.ledger import Links, Place, move
from ids_app.inventory.locations import check_storage_fits, get_location
from ids_app.inventory.models import (
    EntryKind,
    HoldReason,
    Kit,
    LedgerEntry,
    LocationKind,
    Lot,
    PackingListLine,
    QuarantineHold,
    Shipment,
    ShipmentCondition,
    StockState,
    TemperatureMonitor,
)
from ids_app.inventory.quarantine import open_hold
from ids_app.studies.identifiers import identifier, optional_identifier
from ids_app.studies.models import Product, Study, StudyStatus
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require

RECEIVING_ROLES = PERMISSIONS[Action.RECEIVE].roles


@dataclass(frozen=True)
class ReceivedLine:
    """One lot (and kit) as counted off the box. A kit line has quantity 1."""

    product_id: int
    lot_number: str
    expiry: dt.date
    quantity: int = 1
    kit_number: str | None = None
    damaged: bool = False


@dataclass(frozen=True)
class ExpectedLine:
    """One line of the depot's packing list."""

    product_id: int
    lot_number: str
    expiry: dt.date
    quantity: int = 1
    kit_number: str | None = None


@dataclass(frozen=True)
class ShipmentReceipt:
    shipment_number: str
    sender: str
    carrier: str
    received_on: dt.date
    location_id: int
    lines: tuple[ReceivedLine, ...]
    packing_list: tuple[ExpectedLine, ...] = ()
    tracking_number: str | None = None
    condition: ShipmentCondition = ShipmentCondition.GOOD
    temperature_monitor: TemperatureMonitor = TemperatureMonitor.IN_RANGE
    notes: str | None = None
    received_at: EventTime | None = None


@dataclass(frozen=True)
class ReconciliationLine:
    product_id: int
    lot_number: str
    kit_number: str | None
    expected: int
    received: int
    damaged: int

    @property
    def missing(self) -> int:
        return max(self.expected - self.received, 0)

    @property
    def extra(self) -> int:
        return max(self.received - self.expected, 0)


@dataclass(frozen=True)
class Reconciliation:
    """Expected against received, line by line: what is missing, extra and damaged."""

    lines: tuple[ReconciliationLine, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[ReconciliationLine, ...]:
        return tuple(line for line in self.lines if line.missing)

    @property
    def extra(self) -> tuple[ReconciliationLine, ...]:
        return tuple(line for line in self.lines if line.extra)

    @property
    def damaged(self) -> tuple[ReconciliationLine, ...]:
        return tuple(line for line in self.lines if line.damaged)

    @property
    def matches(self) -> bool:
        return not (self.missing or self.extra or self.damaged)


LineKey = tuple[int, str, str | None]


def reconcile(
    expected: tuple[ExpectedLine, ...] | list[ExpectedLine],
    received: tuple[ReceivedLine, ...] | list[ReceivedLine],
) -> Reconciliation:
    """Match by product, lot and kit number; quantities compared for bulk lines."""
    wanted: Counter[LineKey] = Counter()
    got: Counter[LineKey] = Counter()
    broken: Counter[LineKey] = Counter()
    for line in expected:
        wanted[(line.product_id, line.lot_number, line.kit_number)] += line.quantity
    for received_line in received:
        key = (received_line.product_id, received_line.lot_number, received_line.kit_number)
        got[key] += received_line.quantity
        if received_line.damaged:
            broken[key] += received_line.quantity
    keys = sorted(set(wanted) | set(got), key=lambda k: (k[0], k[1], k[2] or ""))
    return Reconciliation(
        tuple(
            ReconciliationLine(key[0], key[1], key[2], wanted[key], got[key], broken[key])
            for key in keys
        )
    )


def _with_known_states(receipt: ShipmentReceipt) -> ShipmentReceipt:
    """The receipt with its condition and monitor result as the states we know.

    A screen may hand over the plain text of a drop-down ("excursion"); read as anything
    but the excursion it names, it would put held stock on the shelf.
    """
    try:
        condition = ShipmentCondition(receipt.condition)
        monitor = TemperatureMonitor(receipt.temperature_monitor)
    except ValueError:
        raise InvalidInput(
            "The shipment's condition or temperature monitor result is not one we know; "
            "choose it from the list."
        ) from None
    return replace(receipt, condition=condition, temperature_monitor=monitor)


def _check_receipt(session: Session, study: Study, receipt: ShipmentReceipt) -> None:
    if study.status is StudyStatus.CLOSED:
        raise InvalidInput(f"Study {study.protocol_number} is closed; it receives no stock.")
    if not receipt.shipment_number.strip():
        raise InvalidInput("The shipment number is empty; type it from the packing slip.")
    identifier(receipt.shipment_number, "shipment number")
    for line in receipt.lines:
        optional_identifier(line.kit_number, "kit number")
        optional_identifier(line.lot_number, "lot number")
    if not receipt.sender.strip() or not receipt.carrier.strip():
        raise InvalidInput("Type who sent the shipment (depot) and the carrier.")
    if receipt.received_on > today():
        raise InvalidInput("The date received is in the future.")
    if not receipt.lines:
        raise InvalidInput("The shipment has no lines; scan or type what arrived.")
    if session.scalar(
        select(Shipment.id).where(
            Shipment.study_id == study.id,
            Shipment.shipment_number == receipt.shipment_number.strip(),
        )
    ):
        raise InvalidInput(f"Shipment {receipt.shipment_number.strip()} was already received.")
    kit_numbers = [line.kit_number for line in receipt.lines if line.kit_number]
    repeated = sorted(number for number, n in Counter(kit_numbers).items() if n > 1)
    if repeated:
        raise InvalidInput(f"Kit {repeated[0]} is listed twice in this shipment.")


def _product(session: Session, study: Study, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.study_id != study.id:
        raise InvalidInput(f"That product is not part of study {study.protocol_number}.")
    if product.retired_on is not None:
        raise InvalidInput(
            f"{product.description} was retired on {product.retired_on}; no new stock of it "
            "is received. Ask the pharmacist before accepting this shipment."
        )
    return product


def find_or_create_lot(session: Session, product: Product, lot_number: str, expiry: dt.date) -> Lot:
    number = lot_number.strip()
    if not number:
        raise InvalidInput("A line has no lot number; type it from the label.")
    lot = session.scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_number == number))
    if lot is None:
        lot = Lot(product_id=product.id, lot_number=number, expiry=expiry)
        session.add(lot)
        session.flush()  # ledger entries refer to it
    elif lot.expiry != expiry:
        raise InvalidInput(
            f"Lot {number} is on record with expiry {lot.expiry:%Y-%m-%d}, not {expiry:%Y-%m-%d}; "
            "check the label."
        )
    return lot


def kit_was_received(session: Session, kit: Kit) -> bool:
    """True while a receipt of the kit stands (a reversed receipt does not count)."""
    received = session.scalars(
        select(LedgerEntry.id).where(
            LedgerEntry.kit_id == kit.id, LedgerEntry.kind == EntryKind.RECEIVE
        )
    ).all()
    if not received:
        return False
    reversed_ids = set(
        session.scalars(
            select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.in_(received))
        )
    )
    return any(entry_id not in reversed_ids for entry_id in received)


def _kit_for(session: Session, study: Study, product: Product, lot: Lot, number: str) -> Kit:
    kit = session.scalar(select(Kit).where(Kit.study_id == study.id, Kit.kit_number == number))
    if kit is None:
        kit = Kit(study_id=study.id, product_id=product.id, lot_id=lot.id, kit_number=number)
        session.add(kit)
        session.flush()  # the ledger entry names the kit
        return kit
    if kit.product_id != product.id or kit.lot_id != lot.id:
        raise InvalidInput(
            f"Kit {number} is on the sponsor's kit list with another product or lot; "
            "check the label against the kit list."
        )
    if kit_was_received(session, kit):
        raise InvalidInput(f"Kit {number} was already received; a kit is received only once.")
    return kit


def _check_line_shape(product: Product, line: ReceivedLine) -> None:
    if product.is_kit_tracked:
        if not (line.kit_number or "").strip():
            raise InvalidInput(f"{product.description} is tracked by kit: scan each kit number.")
        if line.quantity != 1:
            raise InvalidInput("A kit line counts one kit.")
    elif line.kit_number:
        raise InvalidInput(f"{product.description} is counted in bulk; it has no kit numbers.")


def receive_shipment(
    session: Session, actor: User, study: Study, receipt: ShipmentReceipt
) -> Shipment:
    """Record a shipment and put its stock on the shelf, or in quarantine when it must be.

    ``receipt.received_at`` is the time it was received, for a receipt typed in later from
    the paper log: its lines are then recorded at that time, marked late with its reason.
    """
    require(session, actor, Action.RECEIVE, study)
    receipt = _with_known_states(receipt)
    _check_receipt(session, study, receipt)
    judged = happened_on(
        session, study, receipt.received_on, receipt.received_at, what="the receipt"
    )
    location = get_location(session, receipt.location_id)
    if not location.dispenses and location.kind is not LocationKind.QUARANTINE:
        raise InvalidInput(f"{location.name} is not a storage location for new stock.")
    attribute_changes(session, actor, reason="shipment received")
    shipment = Shipment(
        study_id=study.id,
        shipment_number=receipt.shipment_number.strip(),
        sender=receipt.sender.strip(),
        carrier=receipt.carrier.strip(),
        tracking_number=(receipt.tracking_number or "").strip() or None,
        received_on=receipt.received_on,
        condition=receipt.condition,
        temperature_monitor=receipt.temperature_monitor,
        received_by_id=actor.id,
        location_id=location.id,
        notes=receipt.notes,
    )
    session.add(shipment)
    session.flush()  # lines and holds refer to it
    for expected in receipt.packing_list:
        _product(session, study, expected.product_id)
        session.add(
            PackingListLine(
                shipment_id=shipment.id,
                product_id=expected.product_id,
                lot_number=expected.lot_number.strip(),
                expiry=expected.expiry,
                kit_number=expected.kit_number,
                quantity=expected.quantity,
            )
        )
    _put_away(session, actor, study, shipment, receipt, judged)
    return shipment


def arrives_expired(line: ReceivedLine, received_on: dt.date) -> bool:
    """Whether a line's lot had expired by the day the shipment arrived (usable through its
    expiry date, as ``expiry.is_expired`` reads it)."""
    return line.expiry < received_on


def expired_on_arrival(receipt: ShipmentReceipt) -> list[ReceivedLine]:
    """The lines received into quarantine for their expiry, never onto the shelf as
    available stock."""
    return [line for line in receipt.lines if arrives_expired(line, receipt.received_on)]


def _put_away(
    session: Session,
    actor: User,
    study: Study,
    shipment: Shipment,
    receipt: ShipmentReceipt,
    judged: Judged,
) -> None:
    expired = expired_on_arrival(receipt)
    expiry_hold = None
    if expired and receipt.temperature_monitor is not TemperatureMonitor.EXCURSION:
        lots = ", ".join(sorted({line.lot_number.strip() for line in expired}))
        expiry_hold = open_hold(
            session,
            actor,
            study.id,
            HoldReason.EXPIRY,
            f"Expired on receipt (lot {lots}), shipment {shipment.shipment_number}",
            shipment_id=shipment.id,
        )
    whole_held = receipt.temperature_monitor is TemperatureMonitor.EXCURSION
    any_damaged_line = any(line.damaged for line in receipt.lines)
    damaged_box = receipt.condition is ShipmentCondition.DAMAGED and not any_damaged_line
    excursion_hold = damage_hold = None
    if whole_held:
        excursion_hold = open_hold(
            session,
            actor,
            study.id,
            HoldReason.EXCURSION,
            f"Temperature excursion in transit, shipment {shipment.shipment_number}",
            shipment_id=shipment.id,
        )
    elif damaged_box or any_damaged_line:
        damage_hold = open_hold(
            session,
            actor,
            study.id,
            HoldReason.DAMAGE,
            f"Damaged on receipt, shipment {shipment.shipment_number}",
            shipment_id=shipment.id,
        )
    location = get_location(session, receipt.location_id)
    for line in receipt.lines:
        product = _product(session, study, line.product_id)
        _check_line_shape(product, line)
        check_storage_fits(location, product)
        lot = find_or_create_lot(session, product, line.lot_number, line.expiry)
        kit = (
            _kit_for(session, study, product, lot, (line.kit_number or "").strip())
            if product.is_kit_tracked
            else None
        )
        # A late receipt may not go before the records of its kit (a receipt reversed
        # since, say) or of its bulk lot already on site.
        after_last_record(session, judged, kit=kit, lot=lot if kit is None else None)
        hold = (
            excursion_hold
            or (damage_hold if (damaged_box or line.damaged) else None)
            or (expiry_hold if line in expired else None)
        )
        state = StockState.QUARANTINED if hold else StockState.AVAILABLE
        move(
            session,
            actor,
            kind=EntryKind.RECEIVE,
            study_id=study.id,
            lot_id=lot.id,
            kit_id=kit.id if kit else None,
            quantity=line.quantity,
            source=None,
            target=Place(state, location.id),
            occurred_at=judged.occurred_at,
            late_reason=judged.late_reason,
            reason="received" if hold is None else f"received into quarantine: {hold.details}",
            links=Links(shipment_id=shipment.id, hold_id=hold.id if hold else None),
        )


def shipment_reconciliation(session: Session, shipment: Shipment) -> Reconciliation:
    """The stored receipt against its stored packing list."""
    expected = [
        ExpectedLine(line.product_id, line.lot_number, line.expiry, line.quantity, line.kit_number)
        for line in session.scalars(
            select(PackingListLine).where(PackingListLine.shipment_id == shipment.id)
        )
    ]
    received = []
    reversal = aliased(LedgerEntry)
    rows = session.execute(
        select(LedgerEntry, Lot, Kit)
        .join(Lot, Lot.id == LedgerEntry.lot_id)
        .outerjoin(Kit, Kit.id == LedgerEntry.kit_id)
        .where(
            LedgerEntry.shipment_id == shipment.id,
            LedgerEntry.kind == EntryKind.RECEIVE,
            ~select(reversal.id).where(reversal.reverses_id == LedgerEntry.id).exists(),
        )
    )
    damage_holds = set(
        session.scalars(
            select(QuarantineHold.id).where(
                QuarantineHold.shipment_id == shipment.id,
                QuarantineHold.reason == HoldReason.DAMAGE,
            )
        )
    )
    for entry, lot, kit in rows:
        received.append(
            ReceivedLine(
                entry.product_id,
                lot.lot_number,
                lot.expiry,
                entry.quantity,
                kit.kit_number if kit else None,
                damaged=entry.hold_id in damage_holds,
            )
        )
    return reconcile(expected, received)


def get_shipment(session: Session, study: Study, shipment_number: str) -> Shipment:
    shipment = session.scalar(
        select(Shipment).where(
            Shipment.study_id == study.id, Shipment.shipment_number == shipment_number.strip()
        )
    )
    if shipment is None:
        raise NotFound(f"There is no shipment {shipment_number.strip()} in this study.")
    return shipment
