"""Dispensing: an order is prepared by one person and verified by another pharmacist.

order (subject, visit, prescriber, kit or quantity) → a technician prepares it by scanning
the kit or lot → a pharmacist who did not prepare it verifies and signs → the stock moves
to the subject (DESIGN.md, "Workflows" 4). Both signatures are Part 11 signatures
(21 CFR 11.50, 11.200); the stock moves only at verification.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today, utc_now
from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.ledger import Links, Place, balances, move, quantity_at
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    OrderState,
    StockState,
)
from ids_app.studies.identifiers import optional_identifier
from ids_app.studies.irb import approval_lapsed
from ids_app.studies.models import (
    Prescriber,
    Product,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
)
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.users.signatures import sign_record

ORDER_ROLES = PERMISSIONS[Action.ENTER_ORDERS].roles
# Closed to accrual takes no new subjects, but those enrolled keep getting study drug.
DISPENSING_STATUSES = frozenset({StudyStatus.OPEN, StudyStatus.CLOSED_TO_ACCRUAL})


class DispenseRefused(IdsError):
    """A dispense the rules forbid: wrong subject, prescriber, stock, state or person."""


@dataclass(frozen=True)
class Pick:
    """The stock chosen for an order: the lot, the kit (kit-tracked products) and where."""

    lot: Lot
    kit: Kit | None
    location: Location

    @property
    def name(self) -> str:
        return f"Kit {self.kit.kit_number}" if self.kit else f"Lot {self.lot.lot_number}"

    @property
    def name_with_lot(self) -> str:
        """A kit with the lot it belongs to; a lot on its own (never "Lot V102 (lot V102)")."""
        return f"{self.name} (lot {self.lot.lot_number})" if self.kit else self.name


@dataclass(frozen=True)
class OrderHistory:
    """One order of a subject with the ledger movements it caused (dispense, returns)."""

    order: DispenseOrder
    entries: tuple[LedgerEntry, ...]


def create_order(
    session: Session,
    actor: User,
    study: Study,
    *,
    subject: Subject,
    prescriber: Prescriber,
    product: Product,
    visit: str,
    quantity: int | None = None,
    assigned_kit_number: str | None = None,
) -> DispenseOrder:
    """Enter a prescriber's order for one subject's visit.

    A kit-tracked product is dispensed one kit per order (an order holds one kit and the
    ledger moves one kit per entry); a bulk product defaults to its rule's quantity.
    """
    require(session, actor, Action.ENTER_ORDERS)
    visit = visit.strip()
    if not visit:
        raise InvalidInput("The visit is empty; type the visit the drug is for.")
    if quantity is None:
        quantity = 1 if product.is_kit_tracked else product.dispense_quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInput("The quantity ordered is a whole number greater than zero.")
    _check_parties(study, subject, prescriber, product)
    assigned = optional_identifier(assigned_kit_number, "assigned kit number")
    if product.is_kit_tracked:
        if quantity != 1:
            raise InvalidInput(
                f"{product.description} is dispensed by kit: enter one order for each kit."
            )
        if assigned is not None:
            _find_kit(session, study, product, assigned)
    elif assigned is not None:
        raise InvalidInput(f"{product.description} is counted in bulk; it has no kit numbers.")
    attribute_changes(session, actor, reason="dispense ordered")
    order = DispenseOrder(
        study_id=study.id,
        subject_id=subject.id,
        product_id=product.id,
        prescriber_id=prescriber.id,
        visit=visit,
        quantity=quantity,
        assigned_kit_number=assigned,
        state=OrderState.PENDING,
        ordered_by_id=actor.id,
    )
    session.add(order)
    session.flush()  # the order is prepared by its id
    return order


def prepare_order(
    session: Session,
    actor: User,
    order: DispenseOrder,
    *,
    password: str,
    kit_number: str | None = None,
    lot_number: str | None = None,
    location: Location,
) -> DispenseOrder:
    """Record what the technician scanned for the order, and sign it as prepared.

    The stock stays on the shelf until a second person verifies (DESIGN.md).
    """
    require(session, actor, Action.PREPARE_DISPENSES)
    lock_order(session, order)
    if order.state is not OrderState.PENDING:
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a pending order is prepared."
        )
    study, subject, prescriber, product = _parties(session, order)
    _check_parties(study, subject, prescriber, product)
    place = get_location(session, location.id)
    pick = _scanned(session, study, product, order, place, kit_number, lot_number)
    _check_stock(session, order, subject, product, pick)
    attribute_changes(session, actor, reason="dispense prepared")
    order.prepared_by_id = actor.id
    order.prepared_at = utc_now()
    order.lot_id = pick.lot.id
    order.kit_id = pick.kit.id if pick.kit else None
    order.location_id = pick.location.id
    order.state = OrderState.PREPARED
    sign_record(session, actor.username, password, SignatureMeaning.PREPARED, order)
    return order


def can_verify(session: Session, user: User, order: DispenseOrder) -> str | None:
    """Why ``user`` may not verify ``order`` now, or None: the service's own checks."""
    try:
        _check_verify(session, user, order)
    except IdsError as refusal:
        return str(refusal)
    return None


def verify_order(
    session: Session, pharmacist: User, order: DispenseOrder, *, password: str
) -> DispenseOrder:
    """The second person's check and signature; the stock leaves the shelf for the subject.

    The stock rules are checked again: time has passed since preparation, and the kit may
    have expired or been quarantined meanwhile.
    """
    require(session, pharmacist, Action.VERIFY_DISPENSES)
    lock_order(session, order)
    pick = _check_verify(session, pharmacist, order)
    now = utc_now()
    move(
        session,
        pharmacist,
        kind=EntryKind.DISPENSE,
        study_id=order.study_id,
        lot_id=pick.lot.id,
        kit_id=pick.kit.id if pick.kit else None,
        quantity=order.quantity,
        source=Place(StockState.AVAILABLE, pick.location.id),
        target=Place(StockState.DISPENSED),
        occurred_at=now,
        reason="dispensed",
        links=Links(dispense_order_id=order.id),
    )
    attribute_changes(session, pharmacist, reason="dispense verified")
    order.verified_by_id = pharmacist.id
    order.verified_at = now
    order.state = OrderState.DISPENSED
    # The signature binds what was prepared; the workflow fields are left out of its hash.
    sign_record(session, pharmacist.username, password, SignatureMeaning.VERIFIED, order)
    return order


def reject_order(
    session: Session, pharmacist: User, order: DispenseOrder, reason: str
) -> DispenseOrder:
    """A pharmacist sends back a prepared order; no stock had moved, so none moves now."""
    require(session, pharmacist, Action.REJECT_DISPENSES)
    lock_order(session, order)
    if order.state is not OrderState.PREPARED:
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a prepared order can be rejected."
        )
    _close(session, pharmacist, order, OrderState.REJECTED, reason, "rejecting the order")
    return order


def cancel_order(session: Session, actor: User, order: DispenseOrder, reason: str) -> DispenseOrder:
    """Withdraw an order before it is dispensed; a dispensed order is corrected by a return."""
    require(session, actor, Action.CANCEL_ORDERS)
    lock_order(session, order)
    if order.state not in (OrderState.PENDING, OrderState.PREPARED):
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a pending or prepared order "
            "can be cancelled."
        )
    _close(session, actor, order, OrderState.CANCELLED, reason, "cancelling the order")
    return order


def orders_awaiting_verification(
    session: Session, study_id: int | None = None
) -> list[DispenseOrder]:
    """Prepared orders, oldest first: the pharmacist's queue."""
    query = select(DispenseOrder).where(DispenseOrder.state == OrderState.PREPARED)
    if study_id is not None:
        query = query.where(DispenseOrder.study_id == study_id)
    return list(session.scalars(query.order_by(DispenseOrder.prepared_at, DispenseOrder.id)))


def subject_history(session: Session, subject_id: int) -> list[OrderHistory]:
    """A subject's orders, newest first, each with its ledger movements in order.

    The use of study drug by each subject is part of the record (21 CFR 312.62(a)).
    """
    orders = list(
        session.scalars(
            select(DispenseOrder)
            .where(DispenseOrder.subject_id == subject_id)
            .order_by(DispenseOrder.ordered_at.desc(), DispenseOrder.id.desc())
        )
    )
    entries: defaultdict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.dispense_order_id.in_([order.id for order in orders]))
        .order_by(LedgerEntry.id)
    ):
        if entry.dispense_order_id is not None:
            entries[entry.dispense_order_id].append(entry)
    return [OrderHistory(order, tuple(entries[order.id])) for order in orders]


def lock_order(session: Session, order: DispenseOrder) -> None:
    """Re-read the order under its row lock, so two workstations cannot both act on it.

    PostgreSQL queues the second until the first commits, which then sees the new state;
    on SQLite the unit of work's write lock already does the same.
    """
    session.refresh(order, with_for_update=True)


def dispensed_on(order: DispenseOrder) -> dt.date:
    """The pharmacy's (local) date of a dispense: the day the pharmacist verified it."""
    if order.state is not OrderState.DISPENSED or order.verified_at is None:
        raise DispenseRefused(f"Order {order.id} is {order.state.value}, not dispensed.")
    return order.verified_at.astimezone().date()


def _close(
    session: Session,
    actor: User,
    order: DispenseOrder,
    state: OrderState,
    reason: str,
    doing: str,
) -> None:
    why = reason.strip()
    if not why:
        raise InvalidInput(f"Give a reason for {doing}; it is kept in the audit trail.")
    attribute_changes(session, actor, reason=why)
    order.state = state
    order.closed_by_id = actor.id
    order.closed_at = utc_now()
    order.closed_reason = why


def _check_verify(session: Session, user: User, order: DispenseOrder) -> Pick:
    """Every check of a verification, in one place for the service and :func:`can_verify`."""
    require(session, user, Action.VERIFY_DISPENSES)
    if order.state is not OrderState.PREPARED:
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a prepared order is verified."
        )
    if order.prepared_by_id == user.id:
        raise DispenseRefused("You prepared this order; another pharmacist must verify it.")
    study, subject, prescriber, product = _parties(session, order)
    _check_parties(study, subject, prescriber, product)
    pick = _prepared_pick(session, order)
    _check_stock(session, order, subject, product, pick)
    return pick


def _parties(session: Session, order: DispenseOrder) -> tuple[Study, Subject, Prescriber, Product]:
    return (
        session.get_one(Study, order.study_id),
        session.get_one(Subject, order.subject_id),
        session.get_one(Prescriber, order.prescriber_id),
        session.get_one(Product, order.product_id),
    )


def _check_parties(
    study: Study, subject: Subject, prescriber: Prescriber, product: Product
) -> None:
    """Study drug goes only to enrolled subjects of an open study under a current IRB
    approval, on an authorized prescriber's order, used only per the protocol (ICH E6,
    investigational product)."""
    protocol = study.protocol_number
    if study.status not in DISPENSING_STATUSES:
        raise DispenseRefused(
            f"Study {protocol} is {study.status.value}; study drug is dispensed only while it "
            "is open (or closed to accrual, for subjects already enrolled)."
        )
    lapsed = approval_lapsed(study, today())
    if lapsed is not None:
        raise DispenseRefused(lapsed)
    if subject.study_id != study.id:
        raise DispenseRefused(f"Subject {subject.subject_code} is not in study {protocol}.")
    if subject.status is not SubjectStatus.ENROLLED:
        raise DispenseRefused(
            f"Subject {subject.subject_code} is {subject.status.value}, not enrolled; study "
            "drug is dispensed only to enrolled subjects."
        )
    if prescriber.study_id != study.id:
        raise DispenseRefused(f"{prescriber.name} is not a prescriber for study {protocol}.")
    if not prescriber.authorized:
        raise DispenseRefused(
            f"{prescriber.name} is no longer authorized to prescribe for study {protocol}; "
            "the order needs an authorized prescriber."
        )
    if product.study_id != study.id:
        raise DispenseRefused(f"{product.description} is not a product of study {protocol}.")


def _find_kit(session: Session, study: Study, product: Product, number: str) -> Kit:
    kit = session.scalar(select(Kit).where(Kit.study_id == study.id, Kit.kit_number == number))
    if kit is None:
        if session.scalar(select(Kit.id).where(Kit.kit_number == number)) is not None:
            raise DispenseRefused(
                f"Kit {number} belongs to another study; it cannot be dispensed for "
                f"{study.protocol_number}."
            )
        raise DispenseRefused(
            f"Kit {number} is not on record for study {study.protocol_number}; "
            "check the number scanned."
        )
    if kit.product_id != product.id:
        raise DispenseRefused(f"Kit {number} is not a kit of {product.description}.")
    return kit


def _scanned(
    session: Session,
    study: Study,
    product: Product,
    order: DispenseOrder,
    location: Location,
    kit_number: str | None,
    lot_number: str | None,
) -> Pick:
    """The stock the technician's scan names, checked to be this order's product."""
    kit_text = (kit_number or "").strip()
    lot_text = (lot_number or "").strip()
    if not product.is_kit_tracked:
        if kit_text:
            raise DispenseRefused(
                f"{product.description} is counted in bulk; scan the lot, not a kit."
            )
        if not lot_text:
            raise InvalidInput(f"Scan or type the lot number of the {product.description}.")
        lot = session.scalar(
            select(Lot).where(Lot.product_id == product.id, Lot.lot_number == lot_text)
        )
        if lot is None:
            raise DispenseRefused(
                f"Lot {lot_text} of {product.description} is not on record; check the label."
            )
        return Pick(lot, None, location)
    if not kit_text:
        raise InvalidInput(f"{product.description} is dispensed by kit; scan the kit number.")
    kit = _find_kit(session, study, product, kit_text)
    if order.assigned_kit_number is not None and kit.kit_number != order.assigned_kit_number:
        raise DispenseRefused(
            f"The IWRS assigned kit {order.assigned_kit_number} to this order; kit "
            f"{kit.kit_number} was scanned."
        )
    lot = session.get_one(Lot, kit.lot_id)
    if lot_text and lot_text != lot.lot_number:
        raise DispenseRefused(
            f"Kit {kit.kit_number} is of lot {lot.lot_number}, not {lot_text}; check the label."
        )
    return Pick(lot, kit, location)


def _prepared_pick(session: Session, order: DispenseOrder) -> Pick:
    if order.lot_id is None or order.location_id is None:
        raise DispenseRefused(f"Order {order.id} names no stock; prepare it again.")
    return Pick(
        session.get_one(Lot, order.lot_id),
        session.get_one(Kit, order.kit_id) if order.kit_id is not None else None,
        session.get_one(Location, order.location_id),
    )


def _check_stock(
    session: Session, order: DispenseOrder, subject: Subject, product: Product, pick: Pick
) -> None:
    """No dispense of stock that is elsewhere, held, expired, expiring within the days'
    supply, or of another arm (DESIGN.md, "The ledger")."""
    location = pick.location
    if not location.dispenses:
        raise DispenseRefused(
            f"{location.name} is a {location.kind.value} location; study drug is dispensed "
            "only from a shelf, fridge, freezer or satellite."
        )
    if (
        pick.kit is not None
        and pick.kit.arm_id is not None
        and subject.arm_id is not None
        and pick.kit.arm_id != subject.arm_id
    ):
        # Blinded staff read this too: it must not say which arm either belongs to.
        raise DispenseRefused(
            f"Kit {pick.kit.kit_number} is not for this subject's treatment arm; "
            "check the IWRS assignment."
        )
    expiry = pick.lot.expiry
    day = today()
    if expiry < day:
        raise DispenseRefused(
            f"{pick.name_with_lot} expired on {expiry:%Y-%m-%d}; it cannot be dispensed."
        )
    last_day = day + dt.timedelta(days=product.days_supply)
    if expiry < last_day:
        raise DispenseRefused(
            f"{pick.name_with_lot} expires on {expiry:%Y-%m-%d}, before the "
            f"end of the {product.days_supply} days' supply ({last_day:%Y-%m-%d}); choose "
            "stock with a later expiry."
        )
    kit_id = pick.kit.id if pick.kit else None
    available = quantity_at(session, pick.lot.id, Place(StockState.AVAILABLE, location.id), kit_id)
    if available < order.quantity:
        raise DispenseRefused(_where_stock_stands(session, pick, available, order.quantity))


def _where_stock_stands(session: Session, pick: Pick, available: int, wanted: int) -> str:
    """Say what state the stock is in, since it is not available here."""
    here = pick.location
    if pick.kit is not None:
        rows = balances(session, LedgerEntry.kit_id == pick.kit.id)
        if not rows:
            return f"{pick.name} is not in stock anywhere; it cannot be dispensed."
        row = rows[0]
        where = session.get_one(Location, row.location_id) if row.location_id else None
        if row.state is StockState.AVAILABLE and where is not None:
            return f"{pick.name} is at {where.name}, not {here.name}; prepare it from there."
        at = f" at {where.name}" if where else ""
        return f"{pick.name} is {row.state.value}{at}; only available stock is dispensed."
    others = [
        f"{row.quantity} {row.state.value}"
        for row in balances(
            session,
            LedgerEntry.lot_id == pick.lot.id,
            LedgerEntry.kit_id.is_(None),
        )
        if row.location_id == here.id and row.state is not StockState.AVAILABLE
    ]
    held = f"; {', '.join(others)} there cannot be dispensed" if others else ""
    return f"{pick.name} has {available} available at {here.name}, and {wanted} are needed{held}."
