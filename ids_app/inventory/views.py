"""What the stock screens show, read from the ledger: locations, stock on the shelves,
holds and expiring stock, shipments, disposal, counts, the "My work" queues and scans;
plain rows, no Qt, no rules.

Each function reads in the session it is given and returns frozen rows the Qt models
wrap, so a table never touches a closed session. Big lists are read a page at a time.
Orders and returns are in ``order_views``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.db import Base
from ids_app.inventory.counts import open_discrepancies
from ids_app.inventory.disposal import (
    DisposalItem,
    destruction_certificate,
    disposable_stock,
    monitor_verifications,
)
from ids_app.inventory.expiry import expiring_stock
from ids_app.inventory.kit_register import on_site_kits, prepared_orders_of, state_text
from ids_app.inventory.ledger import Balance, balances, study_stock
from ids_app.inventory.locations import location_names
from ids_app.inventory.models import (
    ON_SITE_STATES,
    Discrepancy,
    Disposal,
    HoldDecision,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    PhysicalCount,
    QuarantineHold,
    Shipment,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import held_stock, open_holds
from ids_app.inventory.receiving import shipment_reconciliation
from ids_app.inventory.scanning import identify_scan
from ids_app.studies.blinding import ArmMask, ReaderMasks, reader_mask
from ids_app.studies.models import Product, Study
from ids_app.studies.views import Choice, user_names
from ids_app.users.models import User
from ids_app.users.permissions import require_study_access, sees_study
from ids_app.users.signatures import manifestation, signatures_of
from ids_app.wording import day_text, local_time, quantity_text

DEFAULT_EXPIRING_DAYS = 90


# --- locations -------------------------------------------------------------------------------


def location_choices(session: Session, kinds: Iterable[LocationKind] | None = None) -> list[Choice]:
    query = select(Location).where(Location.active.is_(True)).order_by(Location.name)
    if kinds is not None:
        query = query.where(Location.kind.in_(list(kinds)))
    return [
        Choice(location.id, f"{location.name} ({location.kind.value}, {location.range_text})")
        for location in session.scalars(query)
    ]


# --- signatures ------------------------------------------------------------------------------


def signed_by(session: Session, record: Base) -> str:
    return "; ".join(manifestation(signature) for signature in signatures_of(session, record))


# --- stock -----------------------------------------------------------------------------------


def stock_status(state: StockState, expiry: dt.date, today: dt.date, expiring_days: int) -> str:
    """Which colour a balance gets: held, expired and expiring stock stand out."""
    if state is StockState.QUARANTINED:
        return "quarantined"
    if state is StockState.CONDEMNED:
        return "condemned"
    if state is StockState.RETURNED:
        return "returned"
    if is_expired_on(expiry, today):
        return "expired"
    if expiry <= today + dt.timedelta(days=expiring_days):
        return "expiring"
    return ""


def is_expired_on(expiry: dt.date, today: dt.date) -> bool:
    return expiry < today


@dataclass(frozen=True)
class StockRow:
    product: str
    lot_number: str
    expiry: dt.date
    location: str
    state: StockState
    quantity: int
    unit: str
    status: str


def stock_rows(
    session: Session, study_id: int, today: dt.date, expiring_days: int, *, reader: User
) -> list[StockRow]:
    """On-site stock per product, lot, location and state (ledger.study_stock)."""
    require_study_access(session, reader, session.get_one(Study, study_id), to="see its stock")
    balances = [row for row in study_stock(session, study_id) if row.state in ON_SITE_STATES]
    lots = {
        lot.id: lot
        for lot in session.scalars(select(Lot).where(Lot.id.in_({b.lot_id for b in balances})))
    }
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.study_id == study_id))
    }
    places = location_names(session)
    rows = [
        StockRow(
            products[b.product_id].description,
            lots[b.lot_id].lot_number,
            lots[b.lot_id].expiry,
            places.get(b.location_id, "—") if b.location_id is not None else "—",
            b.state,
            b.quantity,
            products[b.product_id].unit,
            stock_status(b.state, lots[b.lot_id].expiry, today, expiring_days),
        )
        for b in balances
    ]
    return sorted(rows, key=lambda r: (r.product, r.expiry, r.lot_number, r.location, r.state))


@dataclass(frozen=True)
class BalanceRow:
    """One kit's or lot's balance at one place-and-state, with what it takes to move it."""

    product_id: int
    lot_id: int
    kit_id: int | None
    location_id: int
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    location: str
    state: StockState
    quantity: int
    unit: str
    status: str
    held_for_order: int | None = None  # the prepared order that holds the kit

    @property
    def state_text(self) -> str:
        return state_text(self.state, self.held_for_order)


def on_site_balances(
    session: Session,
    study_id: int,
    today: dt.date,
    *,
    location_id: int | None = None,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
) -> list[BalanceRow]:
    """Kit-by-kit balances on site, optionally at one location (a count sheet): the kits on
    site (kit_register.on_site_kits) and the study's stock counted by the unit."""
    e = LedgerEntry
    found = balances(session, e.kit_id.in_(on_site_kits(study_id, location_id))) + balances(
        session, e.study_id == study_id, e.kit_id.is_(None)
    )
    rows = _balance_rows(session, study_id, _on_site(found, location_id), today, expiring_days)
    return sorted(
        rows, key=lambda r: (r.location, r.product, r.lot_number, r.kit_number or "", r.state)
    )


def on_site_page(
    session: Session,
    study_id: int,
    today: dt.date,
    *,
    reader: User,
    after: BalanceRow | None,
    limit: int,
    kit_id: int | None = None,
    lot_id: int | None = None,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
) -> list[BalanceRow]:
    """On-site stock a page at a time: the first page starts with the stock counted by the
    unit (a few lots), then ``limit`` kits follow in kit-number order after ``after``.

    ``kit_id`` or ``lot_id`` narrows it to what was scanned. A study with tens of thousands
    of kits on its shelves opens its Transfers screen in one page's time.
    """
    require_study_access(session, reader, session.get_one(Study, study_id), to="see its stock")
    e = LedgerEntry
    found: list[Balance] = []
    if after is None and kit_id is None:
        bulk = [e.study_id == study_id, e.kit_id.is_(None)]
        if lot_id is not None:
            bulk.append(e.lot_id == lot_id)
        found += balances(session, *bulk)
    kits = select(Kit.id).where(Kit.id.in_(on_site_kits(study_id))).order_by(Kit.kit_number)
    if kit_id is not None:
        kits = kits.where(Kit.id == kit_id)
    if lot_id is not None:
        kits = kits.where(Kit.lot_id == lot_id)
    if after is not None and after.kit_number is not None:
        kits = kits.where(Kit.kit_number > after.kit_number)
    page = list(session.scalars(kits.limit(limit)))
    if page:
        found += balances(session, e.kit_id.in_(page))
    rows = _balance_rows(session, study_id, _on_site(found, None), today, expiring_days)
    return sorted(rows, key=lambda r: (r.kit_number is not None, r.kit_number or "", r.lot_number))


def _on_site(found: list[Balance], location_id: int | None) -> list[Balance]:
    return [
        b
        for b in found
        if b.state in ON_SITE_STATES
        and b.location_id is not None
        and (location_id is None or b.location_id == location_id)
    ]


def _balance_rows(
    session: Session,
    study_id: int,
    found: list[Balance],
    today: dt.date,
    expiring_days: int,
) -> list[BalanceRow]:
    """Balances on site described: product, lot and expiry, kit number, place, colour."""
    lots = {
        lot.id: lot
        for lot in session.scalars(select(Lot).where(Lot.id.in_({b.lot_id for b in found})))
    }
    kits = dict(
        session.execute(
            select(Kit.id, Kit.kit_number).where(Kit.id.in_({b.kit_id for b in found if b.kit_id}))
        ).all()
    )
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.study_id == study_id))
    }
    places = location_names(session)
    held = prepared_orders_of(session, {b.kit_id for b in found if b.kit_id is not None})
    rows = []
    for b in found:
        assert b.location_id is not None  # on-site stock always has a location
        lot = lots[b.lot_id]
        product = products[b.product_id]
        rows.append(
            BalanceRow(
                b.product_id,
                b.lot_id,
                b.kit_id,
                b.location_id,
                product.description,
                lot.lot_number,
                lot.expiry,
                kits.get(b.kit_id) if b.kit_id is not None else None,
                places.get(b.location_id, "?"),
                b.state,
                b.quantity,
                product.unit,
                stock_status(b.state, lot.expiry, today, expiring_days),
                held.get(b.kit_id) if b.kit_id is not None else None,
            )
        )
    return rows


def kit_location(session: Session, kit_id: int) -> int | None:
    """Where a kit stands available now (to preselect the location when it is scanned)."""
    for balance in study_balances_of_kit(session, kit_id):
        if balance.state is StockState.AVAILABLE and balance.location_id is not None:
            return balance.location_id
    return None


def study_balances_of_kit(session: Session, kit_id: int) -> list[Balance]:
    return balances(session, LedgerEntry.kit_id == kit_id)


def ledger_count(session: Session, study_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.study_id == study_id)
        )
        or 0
    )


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldRow:
    id: int
    reason: str
    details: str
    placed_at: dt.datetime
    placed_by: str
    shipment_number: str | None
    held: str


def hold_rows(session: Session, study_id: int, reader: User) -> list[HoldRow]:
    """Holds still holding stock (quarantine.open_holds), with what they hold; their
    details as ``reader`` may read them (studies.blinding)."""
    mask = reader_mask(session, reader, study_id)
    names = user_names(session)
    rows = []
    for hold in open_holds(session, study_id):
        held = held_stock(session, hold)
        total = sum(b.quantity for b in held)
        units = {product.unit for product in _products_of(session, [b.product_id for b in held])}
        shipment = session.get(Shipment, hold.shipment_id) if hold.shipment_id else None
        rows.append(
            HoldRow(
                hold.id,
                hold.reason.value,
                mask.required_text(hold.details),
                hold.placed_at,
                names.get(hold.placed_by_id, "?"),
                shipment.shipment_number if shipment else None,
                f"{total} {'/'.join(sorted(units))}",
            )
        )
    return rows


def _products_of(session: Session, ids: Sequence[int]) -> list[Product]:
    return list(session.scalars(select(Product).where(Product.id.in_(set(ids)))))


@dataclass(frozen=True)
class HeldRow:
    lot_id: int
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    location: str
    quantity: int
    unit: str


def held_rows(session: Session, hold_id: int) -> list[HeldRow]:
    hold = session.get_one(QuarantineHold, hold_id)
    places = location_names(session)
    rows = []
    for b in held_stock(session, hold):
        lot = session.get_one(Lot, b.lot_id)
        product = session.get_one(Product, b.product_id)
        kit = session.get(Kit, b.kit_id) if b.kit_id is not None else None
        rows.append(
            HeldRow(
                lot.id,
                product.description,
                lot.lot_number,
                lot.expiry,
                kit.kit_number if kit else None,
                places.get(b.location_id, "—") if b.location_id is not None else "—",
                b.quantity,
                product.unit,
            )
        )
    return rows


@dataclass(frozen=True)
class DecisionRow:
    hold_id: int
    lot_number: str
    decision: str
    sponsor_reference: str
    signed: str


def decision_rows(session: Session, study_id: int, reader: User) -> list[DecisionRow]:
    mask = reader_mask(session, reader, study_id)
    rows = []
    for decision, lot in session.execute(
        select(HoldDecision, Lot)
        .join(Lot, Lot.id == HoldDecision.lot_id)
        .join(QuarantineHold, QuarantineHold.id == HoldDecision.hold_id)
        .where(QuarantineHold.study_id == study_id)
        .order_by(HoldDecision.decided_at.desc())
    ):
        rows.append(
            DecisionRow(
                decision.hold_id,
                lot.lot_number,
                decision.decision.value,
                mask.required_text(decision.sponsor_reference),
                signed_by(session, decision),
            )
        )
    return rows


@dataclass(frozen=True)
class ExpiringRow:
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    location: str
    state: StockState
    quantity: int
    expired: bool

    @property
    def status(self) -> str:
        return "expired" if self.expired else "expiring"


def expiring_rows(
    session: Session, study_id: int, within_days: int, today: dt.date
) -> list[ExpiringRow]:
    places = location_names(session)
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.study_id == study_id))
    }
    return [
        ExpiringRow(
            products[item.product_id].description,
            item.lot_number,
            item.expiry,
            item.kit_number,
            places.get(item.location_id, "?"),
            item.state,
            item.quantity,
            item.expired,
        )
        for item in expiring_stock(session, study_id, within_days=within_days, today=today)
    ]


# --- shipments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentRow:
    shipment_id: int
    number: str
    sender: str
    carrier: str
    received_on: dt.date
    condition: str
    temperature: str
    location: str
    received_by: str
    reconciliation: str


def shipment_rows(session: Session, study_id: int) -> list[ShipmentRow]:
    names = user_names(session)
    places = location_names(session)
    rows = []
    for shipment in session.scalars(
        select(Shipment).where(Shipment.study_id == study_id).order_by(Shipment.received_on.desc())
    ):
        rec = shipment_reconciliation(session, shipment)
        has_list = any(line.expected for line in rec.lines)
        if not has_list:
            summary = "no packing list"
        elif rec.matches:
            summary = "matches the packing list"
        else:
            summary = reconciliation_summary(
                sum(line.missing for line in rec.lines),
                sum(line.extra for line in rec.lines),
                sum(line.damaged for line in rec.lines),
            )
        rows.append(
            ShipmentRow(
                shipment.id,
                shipment.shipment_number,
                shipment.sender,
                shipment.carrier,
                shipment.received_on,
                shipment.condition.value,
                shipment.temperature_monitor.value,
                places.get(shipment.location_id, "?"),
                names.get(shipment.received_by_id, "?"),
                summary,
            )
        )
    return rows


def reconciliation_summary(missing: int, extra: int, damaged: int) -> str:
    return f"{missing} missing, {extra} extra, {damaged} damaged"


# --- disposal --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisposableRow:
    item: DisposalItem
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    location: str
    unit: str


def disposable_rows(session: Session, study_id: int, today: dt.date) -> list[DisposableRow]:
    """What may go now (disposal.disposable_stock), described."""
    places = location_names(session)
    rows = []
    for item in disposable_stock(session, study_id, today):
        lot = session.get_one(Lot, item.lot_id)
        product = session.get_one(Product, lot.product_id)
        kit = session.get(Kit, item.kit_id) if item.kit_id is not None else None
        rows.append(
            DisposableRow(
                item,
                product.description,
                lot.lot_number,
                lot.expiry,
                kit.kit_number if kit else None,
                places.get(item.location_id, "?"),
                product.unit,
            )
        )
    return sorted(rows, key=lambda r: (r.location, r.product, r.lot_number, r.kit_number or ""))


@dataclass(frozen=True)
class DisposalRow:
    id: int
    number: str
    kind: str
    method: str
    authorization: str
    performed_on: dt.date
    performed_by: str
    witness: str
    lines: int
    quantity: str
    monitor: str


def disposal_rows(session: Session, study_id: int, reader: User) -> list[DisposalRow]:
    mask = reader_mask(session, reader, study_id)
    rows = []
    for disposal in session.scalars(
        select(Disposal).where(Disposal.study_id == study_id).order_by(Disposal.performed_on.desc())
    ):
        try:
            certificate = destruction_certificate(session, disposal)
        except Exception as error:  # a broken signature is shown, not hidden
            witness = str(error)
            lines = 0
            quantity = ""
        else:
            witness = certificate.witness_signature
            lines = len(certificate.lines)
            by_unit: dict[str, int] = {}
            for line in certificate.lines:
                by_unit[line.unit] = by_unit.get(line.unit, 0) + line.quantity
            quantity = ", ".join(quantity_text(n, unit) for unit, n in sorted(by_unit.items()))
        verified = monitor_verifications(session, disposal)
        rows.append(
            DisposalRow(
                disposal.id,
                disposal.disposal_number,
                disposal.kind.value,
                mask.required_text(disposal.method),
                mask.required_text(disposal.sponsor_authorization),
                disposal.performed_on,
                session.get_one(User, disposal.performed_by_id).full_name,
                witness,
                lines,
                quantity,
                manifestation(verified[0]) if verified else "",
            )
        )
    return rows


# --- counts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiscrepancyRow:
    id: int
    location: str
    product: str
    lot_number: str
    kit_number: str | None
    state: StockState
    ledger_quantity: int
    counted_quantity: int
    counted_at: dt.datetime
    counted_by: str
    resolution: str | None

    @property
    def difference(self) -> int:
        return self.counted_quantity - self.ledger_quantity


def discrepancy_rows(session: Session, study_id: int, reader: User) -> list[DiscrepancyRow]:
    """Open discrepancies (counts.open_discrepancies), described."""
    places = location_names(session)
    names = user_names(session)
    mask = reader_mask(session, reader, study_id)
    rows = []
    for item in open_discrepancies(session, study_id):
        rows.append(_discrepancy_row(session, item, places, names, mask))
    return rows


def count_discrepancy_rows(session: Session, count_id: int, reader: User) -> list[DiscrepancyRow]:
    places = location_names(session)
    names = user_names(session)
    mask = reader_mask(session, reader, session.get_one(PhysicalCount, count_id).study_id)
    return [
        _discrepancy_row(session, item, places, names, mask)
        for item in session.scalars(
            select(Discrepancy).where(Discrepancy.count_id == count_id).order_by(Discrepancy.id)
        )
    ]


def _discrepancy_row(
    session: Session,
    item: Discrepancy,
    places: dict[int, str],
    names: dict[int, str],
    mask: ArmMask,
) -> DiscrepancyRow:
    count = session.get_one(PhysicalCount, item.count_id)
    lot = session.get_one(Lot, item.lot_id)
    product = session.get_one(Product, item.product_id)
    kit = session.get(Kit, item.kit_id) if item.kit_id is not None else None
    return DiscrepancyRow(
        item.id,
        places.get(count.location_id, "?"),
        product.description,
        lot.lot_number,
        kit.kit_number if kit else None,
        item.state,
        item.ledger_quantity,
        item.counted_quantity,
        count.counted_at,
        names.get(count.counted_by_id, "?"),
        mask.text(item.resolution),
    )


# --- my work ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """Something waiting for the signed-in user, and where to go to do it."""

    kind: str
    study_id: int
    protocol_number: str
    what: str
    since: dt.datetime | dt.date
    record_id: int
    note: str = ""

    @property
    def since_text(self) -> str:
        if isinstance(self.since, dt.datetime):
            return local_time(self.since)
        return day_text(self.since)


@dataclass(frozen=True)
class Queues:
    items: list[WorkItem] = field(default_factory=list)


def holds_needing_decision(session: Session, reader: User) -> list[WorkItem]:
    masks = ReaderMasks(session, reader)
    items = []
    for study in session.scalars(select(Study).order_by(Study.protocol_number)):
        for hold in open_holds(session, study.id):
            items.append(
                WorkItem(
                    "hold",
                    study.id,
                    study.protocol_number,
                    f"Hold {hold.id} ({hold.reason.value}): "
                    + masks.required_text(study.id, hold.details),
                    hold.placed_at,
                    hold.id,
                )
            )
    return items


def open_discrepancy_items(session: Session, reader: User) -> list[WorkItem]:
    items = []
    for study in session.scalars(select(Study).order_by(Study.protocol_number)):
        for row in discrepancy_rows(session, study.id, reader):
            kit = f" kit {row.kit_number}" if row.kit_number else ""
            items.append(
                WorkItem(
                    "discrepancy",
                    study.id,
                    study.protocol_number,
                    f"{row.location}: lot {row.lot_number}{kit} {row.state.value}, "
                    f"record {row.ledger_quantity}, counted {row.counted_quantity}",
                    row.counted_at,
                    row.id,
                )
            )
    return items


def study_ids_with_returns_awaiting(session: Session, reader: User) -> list[int]:
    """The studies with returns the monitor has not verified yet, of those ``reader`` sees
    (a monitor: only the studies they are assigned to)."""
    waiting = session.scalars(
        select(SubjectReturn.study_id).where(SubjectReturn.monitor_verified_at.is_(None)).distinct()
    )
    return [
        study_id
        for study_id in waiting
        if sees_study(session, reader, session.get_one(Study, study_id))
    ]


# --- scanning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannedItem:
    """What inventory.scanning.identify_scan named, as plain values."""

    kind: str
    kit_id: int | None
    kit_number: str | None
    lot_id: int | None
    lot_number: str | None
    expiry: dt.date | None
    product_id: int
    product: str
    product_is_kit: bool
    raw: str

    @property
    def summary(self) -> str:
        expiry = f", expires {self.expiry:%Y-%m-%d}" if self.expiry else ""
        if self.kit_number:
            return f"Kit {self.kit_number} — {self.product}, lot {self.lot_number}{expiry}"
        return f"Lot {self.lot_number} — {self.product}{expiry}"


def identify(session: Session, study_id: int, text: str) -> ScannedItem:
    """The kit or lot a scan names (raises scanning.UnknownScan with the reason)."""
    result = identify_scan(session, session.get_one(Study, study_id), text)
    lot = result.lot
    return ScannedItem(
        kind=result.kind.value,
        kit_id=result.kit.id if result.kit else None,
        kit_number=result.kit.kit_number if result.kit else None,
        lot_id=lot.id if lot else None,
        lot_number=lot.lot_number if lot else None,
        expiry=lot.expiry if lot else None,
        product_id=result.product.id,
        product=result.product.description,
        product_is_kit=result.product.is_kit_tracked,
        raw=result.raw,
    )
