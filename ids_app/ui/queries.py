"""What the screens show, read from the records: plain rows, no Qt, no rules.

Each function reads in the session it is given and returns frozen rows the Qt models
wrap, so a table never touches a closed session. Big lists are read a page at a time
(``offset``/``limit`` or, for the audit trail, keyset paging on the id). Arms are read
only when the caller passes ``show_arms=True`` (decided by ``studies.services.is_unblinded``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import can_belong_to_a_study
from ids_app.db import Base
from ids_app.inventory.counts import open_discrepancies
from ids_app.inventory.dispensing import dispensed_on
from ids_app.inventory.disposal import (
    DisposalItem,
    destruction_certificate,
    disposable_stock,
    monitor_verifications,
)
from ids_app.inventory.expiry import expiring_stock
from ids_app.inventory.kit_register import on_site_kits
from ids_app.inventory.ledger import Balance, balances, study_stock
from ids_app.inventory.models import (
    ON_SITE_STATES,
    Discrepancy,
    DispenseOrder,
    Disposal,
    HoldDecision,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    OrderState,
    PhysicalCount,
    QuarantineHold,
    Shipment,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import held_stock, open_holds
from ids_app.inventory.receiving import shipment_reconciliation
from ids_app.inventory.returns import compliance, dose_units
from ids_app.inventory.scanning import identify_scan
from ids_app.studies.models import (
    Arm,
    Blinding,
    Prescriber,
    Product,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
)
from ids_app.studies.services import is_unblinded
from ids_app.users.models import User
from ids_app.users.signatures import manifestation, signatures_of

HIDDEN_FOR_BLINDING = "(hidden: blinded)"
DEFAULT_EXPIRING_DAYS = 90


def local_time(value: dt.datetime | None) -> str:
    """A stored UTC instant as the pharmacy's local time (DESIGN.md: UTC stored, local shown)."""
    return "" if value is None else f"{value.astimezone():%Y-%m-%d %H:%M}"


def number_text(value: Fraction | float | int) -> str:
    """A count as a person writes it: 28, 2.5, 0.3 (one decimal at most)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.1f}".removesuffix(".0")


def day_text(value: dt.date | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


# --- studies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyRow:
    id: int
    protocol_number: str
    title: str
    sponsor: str
    principal_investigator: str
    status: StudyStatus
    blinding: Blinding
    ind_number: str | None

    @property
    def is_blinded(self) -> bool:
        return self.blinding is not Blinding.OPEN_LABEL


def _study_row(study: Study) -> StudyRow:
    return StudyRow(
        study.id,
        study.protocol_number,
        study.title,
        study.sponsor,
        study.principal_investigator,
        study.status,
        study.blinding,
        study.ind_number,
    )


def list_studies(
    session: Session,
    *,
    status: StudyStatus | None = None,
    sponsor: str | None = None,
    text: str = "",
) -> list[StudyRow]:
    """Studies by protocol number, filtered in SQL."""
    query = select(Study).order_by(Study.protocol_number)
    if status is not None:
        query = query.where(Study.status == status)
    if sponsor:
        query = query.where(Study.sponsor == sponsor)
    words = text.split()
    for word in words:
        pattern = f"%{word}%"
        query = query.where(
            or_(
                Study.protocol_number.ilike(pattern),
                Study.title.ilike(pattern),
                Study.sponsor.ilike(pattern),
                Study.principal_investigator.ilike(pattern),
            )
        )
    return [_study_row(study) for study in session.scalars(query)]


def sponsor_names(session: Session) -> list[str]:
    return list(session.scalars(select(Study.sponsor).distinct().order_by(Study.sponsor)))


def study_row(session: Session, study_id: int) -> StudyRow:
    return _study_row(session.get_one(Study, study_id))


def shows_arms(session: Session, user: User, study_id: int) -> bool:
    return is_unblinded(session, user, session.get_one(Study, study_id))


# --- products, subjects, prescribers, locations ----------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    id: int
    description: str
    role: str
    tracking: str
    unit: str
    dose_unit: str
    units_per_kit: int | None
    storage: str
    rule: str
    is_kit_tracked: bool


def product_rows(session: Session, study_id: int) -> list[ProductRow]:
    rows = []
    for product in session.scalars(
        select(Product).where(Product.study_id == study_id).order_by(Product.id)
    ):
        kit = f" of {product.units_per_kit} {product.dose_unit}" if product.units_per_kit else ""
        rows.append(
            ProductRow(
                product.id,
                product.description,
                product.role.value,
                product.tracking.value,
                product.unit,
                product.dose_unit,
                product.units_per_kit,
                f"{product.storage_min_c:g} to {product.storage_max_c:g} °C",
                f"{product.dispense_quantity} {product.unit}{kit} per visit, "
                f"{product.days_supply} days' supply",
                product.is_kit_tracked,
            )
        )
    return rows


@dataclass(frozen=True)
class Choice:
    """An item of a drop-down list: the record's id and how it reads."""

    id: int
    text: str


def subject_choices(session: Session, study_id: int) -> list[Choice]:
    return [
        Choice(subject.id, f"{subject.subject_code} ({subject.initials}) — {subject.status.value}")
        for subject in session.scalars(
            select(Subject).where(Subject.study_id == study_id).order_by(Subject.subject_code)
        )
    ]


def enrolled_first(choices: list[Choice]) -> list[Choice]:
    enrolled = SubjectStatus.ENROLLED.value
    return sorted(choices, key=lambda c: (not c.text.endswith(enrolled), c.text))


def prescriber_choices(session: Session, study_id: int) -> list[Choice]:
    choices = []
    for p in session.scalars(
        select(Prescriber).where(Prescriber.study_id == study_id).order_by(Prescriber.name)
    ):
        credentials = f", {p.credentials}" if p.credentials else ""
        withdrawn = "" if p.authorized else " (no longer authorized)"
        choices.append(Choice(p.id, f"{p.name}{credentials}{withdrawn}"))
    return choices


def location_choices(session: Session, kinds: Iterable[LocationKind] | None = None) -> list[Choice]:
    query = select(Location).where(Location.active.is_(True)).order_by(Location.name)
    if kinds is not None:
        query = query.where(Location.kind.in_(list(kinds)))
    return [
        Choice(location.id, f"{location.name} ({location.kind.value}, {location.range_text})")
        for location in session.scalars(query)
    ]


def location_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Location.id, Location.name)).all())


def user_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.full_name)).all())


def other_study_choices(session: Session, study_id: int) -> list[Choice]:
    return [
        Choice(study.id, f"{study.protocol_number} — {study.sponsor}")
        for study in session.scalars(
            select(Study).where(Study.id != study_id).order_by(Study.protocol_number)
        )
    ]


def product_choices(session: Session, study_id: int) -> list[Choice]:
    return [Choice(row.id, row.description) for row in product_rows(session, study_id)]


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
    session: Session, study_id: int, today: dt.date, expiring_days: int
) -> list[StockRow]:
    """On-site stock per product, lot, location and state (ledger.study_stock)."""
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
            )
        )
    return rows


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


def hold_rows(session: Session, study_id: int) -> list[HoldRow]:
    """Holds still holding stock (quarantine.open_holds), with what they hold."""
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
                hold.details,
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


def decision_rows(session: Session, study_id: int) -> list[DecisionRow]:
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
                decision.sponsor_reference,
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


# --- orders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    id: int
    study_id: int
    protocol_number: str
    subject_code: str
    subject_initials: str
    prescriber: str
    visit: str
    product: str
    product_is_kit: bool
    quantity: int
    unit: str
    assigned_kit_number: str | None
    state: OrderState
    ordered_at: dt.datetime
    ordered_by: str
    prepared_by_id: int | None
    prepared_by: str | None
    prepared_at: dt.datetime | None
    kit_number: str | None
    lot_number: str | None
    expiry: dt.date | None
    location: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    closed_reason: str | None
    # Filled only for a caller who may see arms (is_unblinded).
    kit_arm: str | None = None
    subject_arm: str | None = None

    @property
    def picked(self) -> str:
        if self.kit_number:
            return f"kit {self.kit_number} (lot {self.lot_number})"
        return f"lot {self.lot_number}" if self.lot_number else ""

    @property
    def ordered(self) -> str:
        if self.assigned_kit_number:
            return f"kit {self.assigned_kit_number}"
        return f"{self.quantity} {self.unit}"


_Orderer = aliased(User)
_Preparer = aliased(User)
_Verifier = aliased(User)


def _order_query() -> Any:
    return (
        select(
            DispenseOrder,
            Study,
            Subject,
            Product,
            Kit,
            Lot,
            Location,
            _Orderer,
            _Preparer,
            _Verifier,
            Prescriber,
        )
        .join(Study, Study.id == DispenseOrder.study_id)
        .join(Prescriber, Prescriber.id == DispenseOrder.prescriber_id)
        .join(Subject, Subject.id == DispenseOrder.subject_id)
        .join(Product, Product.id == DispenseOrder.product_id)
        .outerjoin(Kit, Kit.id == DispenseOrder.kit_id)
        .outerjoin(Lot, Lot.id == DispenseOrder.lot_id)
        .outerjoin(Location, Location.id == DispenseOrder.location_id)
        .join(_Orderer, _Orderer.id == DispenseOrder.ordered_by_id)
        .outerjoin(_Preparer, _Preparer.id == DispenseOrder.prepared_by_id)
        .outerjoin(_Verifier, _Verifier.id == DispenseOrder.verified_by_id)
    )


def _order_rows(session: Session, query: Any, show_arms: bool) -> list[OrderRow]:
    rows = []
    arms: dict[int, str] = {}
    if show_arms:
        arms = {arm.id: f"{arm.code} — {arm.name}" for arm in session.scalars(select(Arm))}
    for (
        order,
        study,
        subject,
        product,
        kit,
        lot,
        location,
        orderer,
        preparer,
        verifier,
        prescriber,
    ) in session.execute(query):
        rows.append(
            OrderRow(
                id=order.id,
                study_id=study.id,
                protocol_number=study.protocol_number,
                subject_code=subject.subject_code,
                subject_initials=subject.initials,
                prescriber=prescriber.name,
                visit=order.visit,
                product=product.description,
                product_is_kit=product.is_kit_tracked,
                quantity=order.quantity,
                unit=product.unit,
                assigned_kit_number=order.assigned_kit_number,
                state=order.state,
                ordered_at=order.ordered_at,
                ordered_by=orderer.full_name,
                prepared_by_id=order.prepared_by_id,
                prepared_by=preparer.full_name if preparer else None,
                prepared_at=order.prepared_at,
                kit_number=kit.kit_number if kit else None,
                lot_number=lot.lot_number if lot else None,
                expiry=lot.expiry if lot else None,
                location=location.name if location else None,
                verified_by=verifier.full_name if verifier else None,
                verified_at=order.verified_at,
                closed_reason=order.closed_reason,
                kit_arm=arms.get(kit.arm_id) if show_arms and kit and kit.arm_id else None,
                subject_arm=arms.get(subject.arm_id) if show_arms and subject.arm_id else None,
            )
        )
    return rows


def orders_page(
    session: Session,
    study_id: int,
    *,
    state: OrderState | None,
    limit: int,
    before_id: int | None = None,
    kit_id: int | None = None,
) -> list[OrderRow]:
    """One page of a study's orders, newest first, after ``before_id`` (keyset paging)."""
    query = _order_query().where(DispenseOrder.study_id == study_id)
    if state is not None:
        query = query.where(DispenseOrder.state == state)
    if kit_id is not None:
        query = query.where(DispenseOrder.kit_id == kit_id)
    if before_id is not None:
        query = query.where(DispenseOrder.id < before_id)
    query = query.order_by(DispenseOrder.id.desc()).limit(limit)
    return _order_rows(session, query, show_arms=False)


def order_row(session: Session, order_id: int, *, show_arms: bool = False) -> OrderRow:
    rows = _order_rows(session, _order_query().where(DispenseOrder.id == order_id), show_arms)
    return rows[0]


def orders_in_state(
    session: Session, state: OrderState, *, study_ids: Iterable[int] | None = None
) -> list[OrderRow]:
    """Every study's orders in one state, oldest first (the work queues)."""
    query = _order_query().where(DispenseOrder.state == state)
    if study_ids is not None:
        query = query.where(DispenseOrder.study_id.in_(list(study_ids)))
    return _order_rows(session, query.order_by(DispenseOrder.id), show_arms=False)


def kit_location(session: Session, kit_id: int) -> int | None:
    """Where a kit stands available now (to preselect the location when it is scanned)."""
    for balance in study_balances_of_kit(session, kit_id):
        if balance.state is StockState.AVAILABLE and balance.location_id is not None:
            return balance.location_id
    return None


def study_balances_of_kit(session: Session, kit_id: int) -> list[Balance]:
    return balances(session, LedgerEntry.kit_id == kit_id)


def order_signatures(session: Session, order_id: int) -> list[str]:
    order = session.get_one(DispenseOrder, order_id)
    return [manifestation(signature) for signature in signatures_of(session, order)]


def signed_by(session: Session, record: Base) -> str:
    return "; ".join(manifestation(signature) for signature in signatures_of(session, record))


# --- returns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispensedRow:
    """A dispensed order and what has come back on it, with what compliance needs."""

    order: OrderRow
    returned: int
    counted_before: int
    dispensed_on: dt.date
    units_dispensed: int
    doses_per_day: float
    dose_unit: str

    @property
    def outstanding(self) -> int:
        return self.order.quantity - self.returned


def dispensed_rows(
    session: Session, study_id: int, *, limit: int = 500, kit_id: int | None = None
) -> list[DispensedRow]:
    """Dispensed orders (of one kit, if given), newest first, with what has come back on
    each so far, read for the whole list at once (one query per order made the Returns
    tab take half a second at 100,000 movements)."""
    page = orders_page(session, study_id, state=OrderState.DISPENSED, limit=limit, kit_id=kit_id)
    ids = [row.id for row in page]
    orders = {
        o.id: o for o in session.scalars(select(DispenseOrder).where(DispenseOrder.id.in_(ids)))
    }
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.study_id == study_id))
    }
    back: dict[int, tuple[int, int]] = {
        order_id: (int(quantity), int(counted))
        for order_id, quantity, counted in session.execute(
            select(
                SubjectReturn.dispense_order_id,
                func.sum(SubjectReturn.quantity),
                func.sum(SubjectReturn.units_counted),
            )
            .where(SubjectReturn.dispense_order_id.in_(ids))
            .group_by(SubjectReturn.dispense_order_id)
        )
    }
    rows = []
    for row in page:
        order = orders[row.id]
        product = products[order.product_id]
        returned, counted = back.get(row.id, (0, 0))
        rows.append(
            DispensedRow(
                row,
                returned,
                counted,
                dispensed_on(order),
                dose_units(product, order.quantity),
                product.doses_per_day,
                product.dose_unit,
            )
        )
    return rows


@dataclass(frozen=True)
class ReturnRow:
    id: int
    study_id: int
    protocol_number: str
    order_id: int
    subject_code: str
    visit: str
    picked: str
    returned_on: dt.date
    quantity: int
    unit: str
    units_counted: int
    dose_unit: str
    condition: str
    location: str
    counted_by: str
    compliance: str
    monitor_verified: str | None

    @property
    def status(self) -> str:
        return "ok" if self.monitor_verified else "waiting"


def return_rows(
    session: Session,
    *,
    study_id: int | None = None,
    awaiting_monitor: bool = False,
    after: ReturnRow | None = None,
    limit: int | None = None,
) -> list[ReturnRow]:
    """Returns with compliance (returns.compliance) and the monitor's signature, newest
    first; ``after``/``limit`` read one page (keyset on the return day and id)."""
    query = (
        select(SubjectReturn, DispenseOrder, Subject, Product, Study, Kit, Lot, Location, User)
        .join(DispenseOrder, DispenseOrder.id == SubjectReturn.dispense_order_id)
        .join(Subject, Subject.id == DispenseOrder.subject_id)
        .join(Product, Product.id == DispenseOrder.product_id)
        .join(Study, Study.id == SubjectReturn.study_id)
        .outerjoin(Kit, Kit.id == DispenseOrder.kit_id)
        .outerjoin(Lot, Lot.id == DispenseOrder.lot_id)
        .join(Location, Location.id == SubjectReturn.location_id)
        .join(User, User.id == SubjectReturn.counted_by_id)
        .order_by(SubjectReturn.returned_on.desc(), SubjectReturn.id.desc())
    )
    if study_id is not None:
        query = query.where(SubjectReturn.study_id == study_id)
    if awaiting_monitor:
        query = query.where(SubjectReturn.monitor_verified_at.is_(None))
    if after is not None:
        query = query.where(
            or_(
                SubjectReturn.returned_on < after.returned_on,
                and_(SubjectReturn.returned_on == after.returned_on, SubjectReturn.id < after.id),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for ret, order, subject, product, study, kit, lot, location, counter in session.execute(query):
        rate = compliance(session, ret)
        percent = rate.percent
        taken = f"{rate.units_taken} of {number_text(rate.units_expected)} expected"
        text = (
            f"{percent} % ({taken})"
            if percent is not None
            else "— (returned the day it was dispensed)"
        )
        picked = f"kit {kit.kit_number}" if kit else f"lot {lot.lot_number}" if lot else ""
        rows.append(
            ReturnRow(
                id=ret.id,
                study_id=study.id,
                protocol_number=study.protocol_number,
                order_id=order.id,
                subject_code=subject.subject_code,
                visit=order.visit,
                picked=picked,
                returned_on=ret.returned_on,
                quantity=ret.quantity,
                unit=product.unit,
                units_counted=ret.units_counted,
                dose_unit=product.dose_unit,
                condition=ret.condition,
                location=location.name,
                counted_by=counter.full_name,
                compliance=text,
                monitor_verified=signed_by(session, ret) if ret.monitor_verified_at else None,
            )
        )
    return rows


# --- shipments -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShipmentRow:
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


def disposal_rows(session: Session, study_id: int) -> list[DisposalRow]:
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
            quantity = ", ".join(f"{n} {unit}" for unit, n in sorted(by_unit.items()))
        verified = monitor_verifications(session, disposal)
        rows.append(
            DisposalRow(
                disposal.id,
                disposal.disposal_number,
                disposal.kind.value,
                disposal.method,
                disposal.sponsor_authorization,
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


def discrepancy_rows(session: Session, study_id: int) -> list[DiscrepancyRow]:
    """Open discrepancies (counts.open_discrepancies), described."""
    places = location_names(session)
    names = user_names(session)
    rows = []
    for item in open_discrepancies(session, study_id):
        rows.append(_discrepancy_row(session, item, places, names))
    return rows


def count_discrepancy_rows(session: Session, count_id: int) -> list[DiscrepancyRow]:
    places = location_names(session)
    names = user_names(session)
    return [
        _discrepancy_row(session, item, places, names)
        for item in session.scalars(
            select(Discrepancy).where(Discrepancy.count_id == count_id).order_by(Discrepancy.id)
        )
    ]


def _discrepancy_row(
    session: Session, item: Discrepancy, places: dict[int, str], names: dict[int, str]
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
        item.resolution,
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


def holds_needing_decision(session: Session) -> list[WorkItem]:
    items = []
    for study in session.scalars(select(Study).order_by(Study.protocol_number)):
        for hold in open_holds(session, study.id):
            items.append(
                WorkItem(
                    "hold",
                    study.id,
                    study.protocol_number,
                    f"Hold {hold.id} ({hold.reason.value}): {hold.details}",
                    hold.placed_at,
                    hold.id,
                )
            )
    return items


def open_discrepancy_items(session: Session) -> list[WorkItem]:
    items = []
    for study in session.scalars(select(Study).order_by(Study.protocol_number)):
        for row in discrepancy_rows(session, study.id):
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


def study_ids_with_returns_awaiting(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(SubjectReturn.study_id)
            .where(SubjectReturn.monitor_verified_at.is_(None))
            .distinct()
        )
    )


# --- audit trail -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the audit-trail viewer narrows to; every field is applied in SQL.

    ``study_id`` scopes the trail to one study's entries (a study workspace's trail).
    """

    username: str | None = None
    table_name: str | None = None
    record_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    study_id: int | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    username: str
    action: str
    table_name: str
    record_id: str | None
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC)


def audit_page(
    session: Session,
    where: AuditFilter,
    *,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
    newest_first: bool = True,
) -> list[AuditRow]:
    """One page of the trail, in id order, continuing after the last row shown.

    Keyset paging (``id < before_id`` or ``id > after_id``) reads one page of the primary
    key's index however deep the person has scrolled: O(page), not O(offset). Within a
    study the (study, id), (study, user, id) and (study, table, id) indexes do the same.
    """
    e = AuditEntry
    query = select(
        e.id,
        e.at,
        e.username,
        e.action,
        e.table_name,
        e.record_id,
        e.field,
        e.old_value,
        e.new_value,
        e.reason,
    )
    if where.study_id is not None:
        query = query.where(*_study_conditions(session, where, where.study_id))
    else:
        query = query.where(*_site_conditions(session, where))
    if before_id is not None:
        query = query.where(e.id < before_id)
    if after_id is not None:
        query = query.where(e.id > after_id)
    query = query.order_by(e.id.desc() if newest_first else e.id.asc()).limit(limit)
    return [AuditRow(**dict(row._mapping)) for row in session.execute(query)]


RARE_ENOUGH_TO_SORT = 5_000
# A period with fewer entries than this is read through the time index within a study.
SHORT_PERIOD = 20_000


def _period(where: AuditFilter) -> list[Any]:
    e = AuditEntry
    period = []
    if where.date_from is not None:
        period.append(e.at >= _local_midnight_utc(where.date_from))
    if where.date_to is not None:
        period.append(e.at < _local_midnight_utc(where.date_to + dt.timedelta(days=1)))
    return period


def _site_conditions(session: Session, where: AuditFilter) -> list[Any]:
    e = AuditEntry
    conditions: list[Any] = []
    if where.username:
        # There is no index on the name; the (user id, time) index serves an account with
        # few entries, and names that are no account (failed sign-ins, user id NULL).
        account = session.scalar(select(User.id).where(User.username == where.username))
        by_id = e.user_id == account if account is not None else e.user_id.is_(None)
        if _fewer_than(session, by_id, RARE_ENOUGH_TO_SORT):
            conditions += [by_id, e.username == where.username]
        else:
            conditions.append(e.username == where.username)
    if where.table_name and where.record_id:
        # One record's history: the (table, record) index finds it at once.
        conditions += [e.table_name == where.table_name, e.record_id == where.record_id]
    elif where.table_name:
        # A whole table. Through the (table, record) index the database sorts every entry
        # of the table before the first page, which grows with the trail (~0.1 s for a
        # busy table at 1,000,000 entries); walking the id order stops at a page of
        # matches instead ("|| ''" keeps the planner off the index). A rarely written
        # table is better found through the index, so a bounded count chooses.
        if _fewer_than(session, e.table_name == where.table_name, RARE_ENOUGH_TO_SORT):
            conditions.append(e.table_name == where.table_name)
        else:
            conditions.append((e.table_name + "") == where.table_name)
    elif where.record_id:
        conditions.append(e.record_id == where.record_id)
    return conditions + _period(where)


def _study_conditions(session: Session, where: AuditFilter, study_id: int) -> list[Any]:
    """One study's entries, read through the index that reaches a page soonest.

    Each index the planner must not use is hidden from it ("+ 0", "|| ''"): a record's
    history comes from the (table, record) index; a short period from the time index,
    sorted; a user and a table together from whichever has few entries in the study
    (bounded counts in the study's indexes say which). Otherwise the (study, user, id),
    (study, table, id) or (study, id) index walks back from the newest entry.
    """
    e = AuditEntry
    period = _period(where)
    in_study = e.study_id == study_id
    by_user = e.username == where.username
    in_table = (
        e.table_name == where.table_name
        if where.table_name
        # An entry names a study only if its table's records can belong to one: listing
        # those tables lets the (table, record) index find a record id's entries.
        else e.table_name.in_(audit_table_names(in_a_study=True))
    )
    use_study = use_user = use_table = True
    if where.record_id:
        use_study = use_user = False
    elif period and _fewer_than(session, and_(*period), SHORT_PERIOD):
        use_study = use_user = use_table = False
    elif where.username and where.table_name:
        if _fewer_than(session, and_(in_study, by_user), RARE_ENOUGH_TO_SORT):
            use_table = False
        elif _fewer_than(session, and_(in_study, in_table), RARE_ENOUGH_TO_SORT):
            use_user = False
    conditions = [in_study if use_study else (e.study_id + 0) == study_id]
    if where.username:
        conditions.append(by_user if use_user else (e.username + "") == where.username)
    if where.table_name or where.record_id:
        conditions.append(in_table if use_table else (e.table_name + "") == where.table_name)
    if where.record_id:
        conditions.append(e.record_id == where.record_id)
    return conditions + period


def _fewer_than(session: Session, condition: Any, limit: int) -> bool:
    """True when fewer than ``limit`` entries match (reads at most ``limit`` index rows)."""
    found = select(AuditEntry.id).where(condition).limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(found)) or 0) < limit


def audit_usernames(session: Session) -> list[str]:
    """Account names for the user filter (failed sign-ins by unknown names are typed)."""
    return list(session.scalars(select(User.username).order_by(User.username)))


def audit_table_names(*, in_a_study: bool = False) -> list[str]:
    """The tables the trail can name, from the schema (instant, unlike DISTINCT over 1M rows);
    ``in_a_study``: only those whose records can belong to a study."""
    return sorted(
        table.name
        for table in Base.metadata.sorted_tables
        if table.name not in ("audit_entry", "audit_chain_head", "alembic_version")
        and (not in_a_study or can_belong_to_a_study(table))
    )


class BlindingRedactor:
    """Hides arms from the audit trail for a user blinded on a study.

    The trail holds every record's values, so an arm's name (the ``arm`` table) and a
    kit's or subject's ``arm_id`` are shown only to users unblinded for that study.
    """

    ARM_TABLES = ("arm", "kit", "subject")

    def __init__(self, session: Session, user: User) -> None:
        self.blinded_studies = {
            study.id
            for study in session.scalars(select(Study).where(Study.blinding != Blinding.OPEN_LABEL))
            if not is_unblinded(session, user, study)
        }

    @property
    def hides_anything(self) -> bool:
        return bool(self.blinded_studies)

    def redact(self, session: Session, rows: list[AuditRow]) -> list[AuditRow]:
        if not self.blinded_studies:
            return rows
        studies_of = self._studies_of(session, rows)
        return [self._redact_row(row, studies_of) for row in rows]

    def _studies_of(self, session: Session, rows: list[AuditRow]) -> dict[tuple[str, str], int]:
        wanted: dict[str, set[int]] = {name: set() for name in self.ARM_TABLES}
        for row in rows:
            if row.table_name in wanted and row.record_id and row.record_id.isdigit():
                wanted[row.table_name].add(int(row.record_id))
        found: dict[tuple[str, str], int] = {}
        for name, model in (("arm", Arm), ("kit", Kit), ("subject", Subject)):
            if wanted[name]:
                for record_id, study_id in session.execute(
                    select(model.id, model.study_id).where(model.id.in_(wanted[name]))
                ):
                    found[(name, str(record_id))] = study_id
        return found

    def _redact_row(self, row: AuditRow, studies_of: dict[tuple[str, str], int]) -> AuditRow:
        if row.table_name not in self.ARM_TABLES or row.record_id is None:
            return row
        study_id = studies_of.get((row.table_name, row.record_id))
        # A record not found (yet) is treated as blinded: hiding is the safe side.
        if study_id is not None and study_id not in self.blinded_studies:
            return row
        if row.table_name == "arm":
            hidden_old = HIDDEN_FOR_BLINDING if row.old_value is not None else None
            hidden_new = HIDDEN_FOR_BLINDING if row.new_value is not None else None
            return _replace(row, old_value=hidden_old, new_value=hidden_new)
        if row.field == "arm_id":
            return _replace(
                row,
                old_value=HIDDEN_FOR_BLINDING if row.old_value is not None else None,
                new_value=HIDDEN_FOR_BLINDING if row.new_value is not None else None,
            )
        if row.action == "insert" and row.new_value:
            return _replace(row, new_value=_hide_arm_in_json(row.new_value))
        return row


def _replace(row: AuditRow, **changes: str | None) -> AuditRow:
    values = {name: getattr(row, name) for name in AuditRow.__dataclass_fields__}
    values.update(changes)
    return AuditRow(**values)


def _hide_arm_in_json(text: str) -> str:
    try:
        values = json.loads(text)
    except ValueError:
        return HIDDEN_FOR_BLINDING
    if isinstance(values, dict) and values.get("arm_id") is not None:
        values["arm_id"] = HIDDEN_FOR_BLINDING
        return json.dumps(values, ensure_ascii=False, sort_keys=True)
    return text


def ledger_count(session: Session, study_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.study_id == study_id)
        )
        or 0
    )


# --- scanning ------------------------------------------------------------------------------


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
