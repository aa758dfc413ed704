"""Dispensing: an order is prepared by one person and verified by another pharmacist.

order (subject, visit, prescriber, kit or quantity) → a technician prepares it by scanning
the kit or lot → a pharmacist who did not prepare it verifies and signs → the stock moves
to the subject (DESIGN.md, "Workflows" 4). Both signatures are Part 11 signatures
(21 CFR 11.50, 11.200); the stock moves only at verification.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.history import value_at
from ids_app.audit.trail import attribute_changes
from ids_app.db import today, utc_now
from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.late_entries import EventTime, Judged, when_it_happened
from ids_app.inventory.ledger import Links, Place, balances, move, quantity_at
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Identification,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    OrderState,
    StockState,
)
from ids_app.inventory.scanning import ScanResult, UnknownScan, identify_scan
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
from ids_app.studies.subject_history import status_on
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, refuse, require
from ids_app.users.services import SignInRefused, find_user
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
class Scanned:
    """The item in hand, as the scanner read its label (or a kit label's plain number)."""

    code: str


@dataclass(frozen=True)
class Typed:
    """A kit or lot number typed by hand: an override of the scan, with the reason the
    label could not be scanned ("label torn"); the verifier is shown it."""

    code: str
    reason: str


InHand = Scanned | Typed


class Row(enum.StrEnum):
    """The rows of the ordered-against-in-hand comparison a check marks ✓ or ✗."""

    PRODUCT = "product"
    KIT = "kit"
    LOT = "lot"
    EXPIRY = "expiry"
    LOCATION = "location"
    QUANTITY = "quantity"


@dataclass(frozen=True)
class Problem:
    """One rule the item in hand breaks, on the row of the comparison it concerns."""

    row: Row
    message: str


@dataclass(frozen=True)
class ItemCheck:
    """The item in hand checked against the order, the moment it is scanned.

    ``problems`` is empty when it may be prepared (or verified); the first is the refusal.
    ``kit_number``, ``lot_number``, ``expiry`` and ``location_id`` are what the scan named.
    """

    problems: tuple[Problem, ...]
    kit_number: str | None = None
    lot_number: str | None = None
    expiry: dt.date | None = None
    location_id: int | None = None
    typed_reason: str | None = None

    @property
    def refusal(self) -> str | None:
        return self.problems[0].message if self.problems else None

    def matches(self, row: Row) -> bool:
        return all(problem.row is not row for problem in self.problems)


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
    when: EventTime | None = None,
) -> DispenseOrder:
    """Enter a prescriber's order for one subject's visit.

    A kit-tracked product is dispensed one kit per order (an order holds one kit and the
    ledger moves one kit per entry); a bulk product defaults to its rule's quantity.
    ``when`` is the time it was ordered, for an order entered late from a paper log: the
    study's and subject's rules are judged on that day.
    """
    require(session, actor, Action.ENTER_ORDERS)
    visit = visit.strip()
    if not visit:
        raise InvalidInput("The visit is empty; type the visit the drug is for.")
    if quantity is None:
        quantity = 1 if product.is_kit_tracked else product.dispense_quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInput("The quantity ordered is a whole number greater than zero.")
    judged = when_it_happened(session, study, when, what="the order")
    _check_parties(session, study, subject, prescriber, product, judged.day, judged.given_at)
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
    attribute_changes(session, actor, reason=_audit_reason("dispense ordered", judged))
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
        ordered_at=judged.occurred_at,
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
    item: InHand,
    location: Location,
    when: EventTime | None = None,
) -> DispenseOrder:
    """Record the kit or lot the technician scanned for the order, and sign it as prepared.

    The item must be scanned; a number typed instead needs the reason, and both are
    recorded on the order for the verifier. The stock stays on the shelf until a second
    person verifies (DESIGN.md). ``when`` is the time it was prepared (a late entry's):
    expiry and the study's rules are judged on that day.
    """
    require(session, actor, Action.PREPARE_DISPENSES)
    lock_order(session, order)
    if order.state is not OrderState.PENDING:
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a pending order is prepared."
        )
    study, subject, prescriber, product = _parties(session, order)
    how, reason = _identification(item, "prepared")
    place = get_location(session, location.id)
    pick = _in_hand(session, study, product, order, place, item.code)
    judged = when_it_happened(
        session,
        study,
        when,
        kit=pick.kit,
        lot=pick.lot,
        not_before=order.ordered_at,
        what="the preparation",
    )
    _check_parties(session, study, subject, prescriber, product, judged.day, judged.given_at)
    _check_stock(session, order, subject, product, pick, judged.day)
    attribute_changes(session, actor, reason=_audit_reason("dispense prepared", judged))
    order.prepared_by_id = actor.id
    order.prepared_at = judged.occurred_at
    order.lot_id = pick.lot.id
    order.kit_id = pick.kit.id if pick.kit else None
    order.location_id = pick.location.id
    order.prepared_identified = how
    order.prepared_typed_reason = reason
    order.state = OrderState.PREPARED
    sign_record(session, actor.username, password, SignatureMeaning.PREPARED, order)
    return order


def check_for_preparing(
    session: Session, actor: User, order: DispenseOrder, item: InHand, location_id: int | None
) -> ItemCheck:
    """The item just scanned checked against the order and the stock rules, with the very
    checks :func:`prepare_order` makes, so a refusal shows at the scan, not at signing.

    Without a location chosen, a kit is checked where it stands (available, or held).
    """
    require(session, actor, Action.PREPARE_DISPENSES)
    if order.state is not OrderState.PENDING:
        message = f"Order {order.id} is {order.state.value}; only a pending order is prepared."
        return ItemCheck((Problem(Row.PRODUCT, message),))
    study, subject, prescriber, product = _parties(session, order)
    typed = item.reason if isinstance(item, Typed) else None
    try:
        _check_parties(session, study, subject, prescriber, product)
        result = identify_scan(session, study, item.code)
    except (DispenseRefused, UnknownScan) as refusal:
        row = Row.KIT if isinstance(refusal, UnknownScan) else Row.PRODUCT
        return ItemCheck((Problem(row, str(refusal)),), typed_reason=typed)
    if location_id is None and result.kit is not None:
        location_id = _kit_shelf(session, result.kit)
    problems = _identity_problems(order, product, result)
    if not problems and result.lot is not None:
        if location_id is None and result.kit is not None:
            problems = [Problem(Row.LOCATION, _kit_gone(session, result.kit))]
        elif location_id is None:
            problems = [Problem(Row.LOCATION, "Choose where the stock is taken from.")]
        else:
            pick = Pick(result.lot, result.kit, session.get_one(Location, location_id))
            problems = _stock_problems(session, order, subject, product, pick)
    return ItemCheck(
        tuple(problems),
        kit_number=result.kit.kit_number if result.kit else None,
        lot_number=_lot_number(result) or None,
        expiry=result.lot.expiry if result.lot else None,
        location_id=location_id,
        typed_reason=typed,
    )


def check_for_verifying(session: Session, order: DispenseOrder, item: InHand) -> ItemCheck:
    """The item the verifier scanned checked against what was prepared and the stock rules
    as they stand now: the checks :func:`verify_order` makes, shown at the scan. Who signs
    is checked when they sign (they may not be the person signed in)."""
    typed = item.reason if isinstance(item, Typed) else None
    study = session.get_one(Study, order.study_id)
    try:
        result = identify_scan(session, study, item.code)
    except UnknownScan as refusal:
        return ItemCheck((Problem(Row.KIT, str(refusal)),), typed_reason=typed)
    problems = _verify_problems(session, order, result)
    try:
        pick = _check_order_verifiable(session, order, stock=False)
    except IdsError as refusal:
        problems.append(Problem(Row.PRODUCT, str(refusal)))
    else:
        subject = session.get_one(Subject, order.subject_id)
        product = session.get_one(Product, order.product_id)
        problems.extend(_stock_problems(session, order, subject, product, pick))
    return ItemCheck(
        tuple(problems),
        kit_number=result.kit.kit_number if result.kit else None,
        lot_number=_lot_number(result) or None,
        expiry=result.lot.expiry if result.lot else None,
        location_id=order.location_id,
        typed_reason=typed,
    )


def can_verify(session: Session, user: User, order: DispenseOrder) -> str | None:
    """Why ``user`` may not verify ``order`` now, or None: the service's own checks."""
    try:
        _check_verify(session, user, order)
    except IdsError as refusal:
        return str(refusal)
    return None


def why_not_verifiable(session: Session, order: DispenseOrder) -> str | None:
    """Why nobody may verify ``order`` now (its state, parties or stock), or None. Shown at a
    workstation where a pharmacist may verify with their own name, whoever is signed in."""
    try:
        _check_order_verifiable(session, order)
    except IdsError as refusal:
        return str(refusal)
    return None


def next_in_queue(session: Session, study_id: int, *, verifying: bool) -> int | None:
    """The order to open next at the bench: the oldest prepared one for a verifier (then the
    oldest pending), the oldest pending one for a preparer."""
    states = [OrderState.PREPARED, OrderState.PENDING] if verifying else [OrderState.PENDING]
    for state in states:
        found = session.scalar(
            select(DispenseOrder.id)
            .where(DispenseOrder.study_id == study_id, DispenseOrder.state == state)
            .order_by(DispenseOrder.prepared_at, DispenseOrder.ordered_at, DispenseOrder.id)
            .limit(1)
        )
        if found is not None:
            return found
    return None


def verify_order(
    session: Session,
    pharmacist: User,
    order: DispenseOrder,
    *,
    password: str,
    item: InHand,
    when: EventTime | None = None,
) -> DispenseOrder:
    """The second person's check and signature; the stock leaves the shelf for the subject.

    The pharmacist scans the prepared item in hand (or types its number with a reason); it
    must be what was prepared. The stock rules are checked again: time has passed since
    preparation, and the kit may have expired or been quarantined meanwhile. ``when`` is
    the time it was verified, for a late entry: the rules are judged on that day, and the
    dispense's ledger entry carries both times and the late-entry reason.
    """
    require(session, pharmacist, Action.VERIFY_DISPENSES)
    lock_order(session, order)
    how, reason = _identification(item, "verified")
    study = session.get_one(Study, order.study_id)
    prepared = _prepared_pick(session, order) if order.state is OrderState.PREPARED else None
    judged = when_it_happened(
        session,
        study,
        when,
        kit=prepared.kit if prepared else None,
        lot=prepared.lot if prepared else None,
        not_before=order.prepared_at,
        what="the verification",
    )
    pick = _check_verify(session, pharmacist, order, day=judged.day, at=judged.given_at)
    try:
        result = identify_scan(session, study, item.code)
    except UnknownScan as refusal:
        raise DispenseRefused(str(refusal)) from refusal
    mismatch = _verify_problems(session, order, result)
    if mismatch:
        raise DispenseRefused(mismatch[0].message)
    now = judged.occurred_at
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
        late_reason=judged.late_reason,
    )
    attribute_changes(session, pharmacist, reason=_audit_reason("dispense verified", judged))
    order.verified_by_id = pharmacist.id
    order.verified_at = now
    order.verified_identified = how
    order.verified_typed_reason = reason
    order.state = OrderState.DISPENSED
    # The signature binds what was prepared; the workflow fields are left out of its hash.
    sign_record(session, pharmacist.username, password, SignatureMeaning.VERIFIED, order)
    return order


def verify_order_here(
    session: Session,
    order: DispenseOrder,
    *,
    username: str,
    password: str,
    item: InHand,
    when: EventTime | None = None,
) -> DispenseOrder:
    """A pharmacist verifies at the workstation someone else is signed in at, with their
    own user name and password, as a witness signs: nobody signs out, and the signature,
    the role check and the preparer-is-not-verifier check are the pharmacist's."""
    pharmacist = find_user(session, username)
    if pharmacist is None:
        # Like any signing attempt with a wrong user name: refused and kept (21 CFR 11.300).
        raise SignInRefused(
            "The pharmacist's user name or password is wrong.",
            attempted_name=username.strip(),
            user_id=None,
            when="signature",
        )
    roles = PERMISSIONS[Action.VERIFY_DISPENSES].roles
    if pharmacist.role not in roles:
        # Said of the person named, not of whoever is signed in at the workstation.
        article = "an" if pharmacist.role.value[0] in "aeiou" else "a"
        raise refuse(
            pharmacist,
            f"{pharmacist.full_name} is {article} {pharmacist.role.value}; only a pharmacist "
            "verifies a dispense. Ask a pharmacist to sign with their own user name.",
            to=Action.VERIFY_DISPENSES.value,
            record=order,
        )
    return verify_order(session, pharmacist, order, password=password, item=item, when=when)


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


def _audit_reason(doing: str, judged: Judged) -> str:
    """The audit trail's reason for a step; a late entry says so, with its reason."""
    if judged.late_reason is None:
        return doing
    return f"{doing} (late entry: {judged.late_reason})"


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


def _check_verify(
    session: Session,
    user: User,
    order: DispenseOrder,
    *,
    stock: bool = True,
    day: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Pick:
    """Every check of a verification, in one place for the service, :func:`can_verify` and
    :func:`check_for_verifying` (which marks the stock rules per row itself)."""
    require(session, user, Action.VERIFY_DISPENSES)
    if order.state is OrderState.PREPARED and order.prepared_by_id == user.id:
        raise DispenseRefused(
            f"{user.full_name} prepared this order; another pharmacist must verify it."
        )
    return _check_order_verifiable(session, order, stock=stock, day=day, at=at)


def _check_order_verifiable(
    session: Session,
    order: DispenseOrder,
    *,
    stock: bool = True,
    day: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Pick:
    """The checks of a verification that do not depend on who verifies, on ``day`` (the
    day it happened, for a late entry; today otherwise) and, for a time given, ``at``."""
    if order.state is not OrderState.PREPARED:
        raise DispenseRefused(
            f"Order {order.id} is {order.state.value}; only a prepared order is verified."
        )
    study, subject, prescriber, product = _parties(session, order)
    _check_parties(session, study, subject, prescriber, product, day, at)
    pick = _prepared_pick(session, order)
    if stock:
        _check_stock(session, order, subject, product, pick, day)
    return pick


def _parties(session: Session, order: DispenseOrder) -> tuple[Study, Subject, Prescriber, Product]:
    return (
        session.get_one(Study, order.study_id),
        session.get_one(Subject, order.subject_id),
        session.get_one(Prescriber, order.prescriber_id),
        session.get_one(Product, order.product_id),
    )


def _check_parties(
    session: Session,
    study: Study,
    subject: Subject,
    prescriber: Prescriber,
    product: Product,
    day: dt.date | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Study drug goes only to enrolled subjects of an open study under a current IRB
    approval, on an authorized prescriber's order, used only per the protocol (ICH E6,
    investigational product). The IRB approval and the subject's enrolment are judged on
    ``day``, the day the dispense happened (a late entry's), today by default; the study's
    status and the prescriber's authorization as they stood ``at`` the time given for a
    late entry (read back from the audit trail), as they are now otherwise."""
    protocol = study.protocol_number
    study_status = study.status
    if at is not None:
        then = value_at(session, Study.__tablename__, study.id, "status", at)
        study_status = StudyStatus(then.text) if then is not None and then.text else study_status
    if study_status not in DISPENSING_STATUSES:
        raise DispenseRefused(
            f"Study {protocol} is {study_status.value}; study drug is dispensed only while it "
            "is open (or closed to accrual, for subjects already enrolled)."
        )
    on = day or today()
    lapsed = approval_lapsed(study, on)
    if lapsed is not None:
        raise DispenseRefused(lapsed)
    if subject.study_id != study.id:
        raise DispenseRefused(f"Subject {subject.subject_code} is not in study {protocol}.")
    status = status_on(session, subject, on)
    if status is not SubjectStatus.ENROLLED:
        was = (
            f"is {subject.status.value}"
            if on == today()
            else f"was {status.value if status else 'not yet on record'} on {on:%Y-%m-%d}"
        )
        raise DispenseRefused(
            f"Subject {subject.subject_code} {was}, not enrolled; study drug is dispensed only "
            "to enrolled subjects."
        )
    if prescriber.study_id != study.id:
        raise DispenseRefused(f"{prescriber.name} is not a prescriber for study {protocol}.")
    authorized = prescriber.authorized
    if at is not None:
        then = value_at(session, Prescriber.__tablename__, prescriber.id, "authorized", at)
        authorized = then.text == "true" if then is not None else authorized
    if not authorized:
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


def _identification(item: InHand, step: str) -> tuple[Identification, str | None]:
    """Scanned, or typed with its reason: a number typed without one is refused."""
    if not item.code.strip():
        raise InvalidInput("Scan the kit or lot in hand; nothing was scanned.")
    if isinstance(item, Scanned):
        return Identification.SCANNED, None
    reason = item.reason.strip()
    if not reason:
        raise InvalidInput(
            f"{item.code.strip()} was typed, not scanned: scan the label, or say why it cannot "
            f"be scanned (the reason is kept on the order and shown to whoever checks it "
            f"after it is {step})."
        )
    return Identification.TYPED, reason


def _in_hand(
    session: Session,
    study: Study,
    product: Product,
    order: DispenseOrder,
    location: Location,
    code: str,
) -> Pick:
    """The stock the scan (or typed number) names, checked to be this order's item."""
    try:
        result = identify_scan(session, study, code)
    except UnknownScan as refusal:
        raise DispenseRefused(str(refusal)) from refusal
    problems = _identity_problems(order, product, result)
    if problems:
        raise DispenseRefused(problems[0].message)
    assert result.lot is not None  # a kit or a lot, never neither: _identity_problems
    return Pick(result.lot, result.kit, location)


def _identity_problems(order: DispenseOrder, product: Product, result: ScanResult) -> list[Problem]:
    """Is the item the order's: its product, the IWRS-assigned kit, a kit for a kit order."""
    if result.product.id != product.id:
        named = f"Kit {result.kit.kit_number}" if result.kit else f"Lot {_lot_number(result)}"
        return [
            Problem(
                Row.PRODUCT,
                f"{named} is {result.product.description}, not the {product.description} ordered.",
            )
        ]
    if product.is_kit_tracked and result.kit is None:
        return [
            Problem(
                Row.KIT,
                f"{product.description} is dispensed by kit; scan the kit label, not the lot.",
            )
        ]
    if not product.is_kit_tracked and result.kit is not None:
        return [
            Problem(Row.KIT, f"{product.description} is counted in bulk; scan the lot, not a kit.")
        ]
    assigned = order.assigned_kit_number
    if result.kit is not None and assigned is not None and result.kit.kit_number != assigned:
        return [
            Problem(
                Row.KIT,
                f"The IWRS assigned kit {assigned} to this order; kit "
                f"{result.kit.kit_number} was scanned.",
            )
        ]
    return []


def _lot_number(result: ScanResult) -> str:
    return result.lot.lot_number if result.lot else ""


def _verify_problems(session: Session, order: DispenseOrder, result: ScanResult) -> list[Problem]:
    """Is the item the verifier holds the one that was prepared?"""
    if order.kit_id is not None:
        prepared = session.get_one(Kit, order.kit_id)
        if result.kit is None or result.kit.id != prepared.id:
            scanned = f"kit {result.kit.kit_number}" if result.kit else f"lot {_lot_number(result)}"
            return [
                Problem(
                    Row.KIT,
                    f"Kit {prepared.kit_number} was prepared; {scanned} was "
                    "scanned. Check the item in hand.",
                )
            ]
        return []
    if result.kit is not None or result.lot is None or result.lot.id != order.lot_id:
        lot = session.get_one(Lot, order.lot_id) if order.lot_id is not None else None
        prepared_lot = lot.lot_number if lot else "no lot"
        return [
            Problem(
                Row.LOT,
                f"Lot {prepared_lot} was prepared; {_lot_number(result) or 'a kit'} "
                "was scanned. Check the item in hand.",
            )
        ]
    return []


def _kit_shelf(session: Session, kit: Kit) -> int | None:
    """Where a kit stands available now, else where it stands at all (held, say), so the
    check can say what state it is in there; None when it is in no location."""
    rows = [row for row in balances(session, LedgerEntry.kit_id == kit.id) if row.location_id]
    for row in rows:
        if row.state is StockState.AVAILABLE:
            return row.location_id
    return rows[0].location_id if rows else None


def _kit_gone(session: Session, kit: Kit) -> str:
    """A kit in no location: dispensed, destroyed, returned to the sponsor, or never received."""
    rows = balances(session, LedgerEntry.kit_id == kit.id)
    if not rows:
        return f"Kit {kit.kit_number} is not in stock anywhere; it cannot be dispensed."
    return f"Kit {kit.kit_number} is {rows[0].state.value}; only available stock is dispensed."


def _prepared_pick(session: Session, order: DispenseOrder) -> Pick:
    if order.lot_id is None or order.location_id is None:
        raise DispenseRefused(f"Order {order.id} names no stock; prepare it again.")
    return Pick(
        session.get_one(Lot, order.lot_id),
        session.get_one(Kit, order.kit_id) if order.kit_id is not None else None,
        session.get_one(Location, order.location_id),
    )


def _check_stock(
    session: Session,
    order: DispenseOrder,
    subject: Subject,
    product: Product,
    pick: Pick,
    day: dt.date | None = None,
) -> None:
    """Refuse with the first rule the stock breaks (see :func:`_stock_problems`)."""
    problems = _stock_problems(session, order, subject, product, pick, day)
    if problems:
        raise DispenseRefused(problems[0].message)


def _stock_problems(
    session: Session,
    order: DispenseOrder,
    subject: Subject,
    product: Product,
    pick: Pick,
    day: dt.date | None = None,
) -> list[Problem]:
    """No dispense of stock that is elsewhere, held, held for another order, expired,
    expiring within the days' supply, or of another arm (DESIGN.md, "The ledger").

    Expiry is judged on ``day``: the day the dispense happened, for a late entry (a kit
    valid when dispensed on paper is not expired when typed in later). Stock on hand and
    holds are the current balance, which is the balance then: a late entry may not come
    before a later record of the same kit or lot (inventory.late_entries).
    """
    problems: list[Problem] = []
    location = pick.location
    if not location.dispenses:
        problems.append(
            Problem(
                Row.LOCATION,
                f"{location.name} is a {location.kind.value} location; study drug is dispensed "
                "only from a shelf, fridge, freezer or satellite.",
            )
        )
    if (
        pick.kit is not None
        and pick.kit.arm_id is not None
        and subject.arm_id is not None
        and pick.kit.arm_id != subject.arm_id
    ):
        # Blinded staff read this too: it must not say which arm either belongs to.
        problems.append(
            Problem(
                Row.KIT,
                f"Kit {pick.kit.kit_number} is not for this subject's treatment arm; "
                "check the IWRS assignment.",
            )
        )
    expiry = pick.lot.expiry
    day = day or today()
    last_day = day + dt.timedelta(days=product.days_supply)
    if expiry < day:
        problems.append(
            Problem(
                Row.EXPIRY,
                f"{pick.name_with_lot} expired on {expiry:%Y-%m-%d}; it cannot be dispensed.",
            )
        )
    elif expiry < last_day:
        problems.append(
            Problem(
                Row.EXPIRY,
                f"{pick.name_with_lot} expires on {expiry:%Y-%m-%d}, before the end of the "
                f"{product.days_supply} days' supply ({last_day:%Y-%m-%d}); choose stock "
                "with a later expiry.",
            )
        )
    holder = _held_for(session, order, pick)
    if holder is not None:
        problems.append(
            Problem(
                Row.KIT,
                f"{pick.name} is held for order {holder}, already prepared; scan another.",
            )
        )
    kit_id = pick.kit.id if pick.kit else None
    available = quantity_at(session, pick.lot.id, Place(StockState.AVAILABLE, location.id), kit_id)
    available -= _quantity_held(session, order, pick)
    if available < order.quantity and holder is None:
        row = Row.LOCATION if pick.kit is not None else Row.QUANTITY
        problems.append(Problem(row, _where_stock_stands(session, pick, available, order.quantity)))
    order_of_rows = list(Row)
    return sorted(problems, key=lambda problem: order_of_rows.index(problem.row))


def _held_for(session: Session, order: DispenseOrder, pick: Pick) -> int | None:
    """The other prepared order a kit is held for: it stays on the shelf until verified."""
    if pick.kit is None:
        return None
    return session.scalar(
        select(DispenseOrder.id).where(
            DispenseOrder.kit_id == pick.kit.id,
            DispenseOrder.state == OrderState.PREPARED,
            DispenseOrder.id != order.id,
        )
    )


def _quantity_held(session: Session, order: DispenseOrder, pick: Pick) -> int:
    """Bulk stock at this place already prepared for other orders, not yet verified."""
    if pick.kit is not None:
        return 0
    held = session.scalars(
        select(DispenseOrder.quantity).where(
            DispenseOrder.lot_id == pick.lot.id,
            DispenseOrder.kit_id.is_(None),
            DispenseOrder.location_id == pick.location.id,
            DispenseOrder.state == OrderState.PREPARED,
            DispenseOrder.id != order.id,
        )
    )
    return sum(held)


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
