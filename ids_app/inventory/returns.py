"""Returns: what a subject brings back from a dispense, counted, and the compliance it shows.

Returned units never go back to dispensable stock: they wait in a returns location until
they are destroyed or sent back to the sponsor (DOMAIN.md, NCI audit checklist). This
module moves stock only from DISPENSED to RETURNED, and no service moves RETURNED stock
to AVAILABLE.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import moment_of, today
from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.dispensing import dispensed_on, lock_order
from ids_app.inventory.late_entries import EventTime, when_it_happened
from ids_app.inventory.ledger import Links, Place, move
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    OrderState,
    StockState,
    SubjectReturn,
)
from ids_app.studies.models import Product, Study
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.users.signatures import sign_record
from ids_app.wording import quantity_text

RETURN_ROLES = PERMISSIONS[Action.RECORD_RETURNS].roles
# Compliance the bench accepts without a question (taken ÷ expected): below 80 % (the
# usual protocol floor) the subject missed doses; above 100 % they took more than
# prescribed, or the count is wrong. Either way the count is checked and the team told.
COMPLIANCE_RANGE = (Decimal(80), Decimal(100))


class ReturnRefused(IdsError):
    """A return the record cannot hold: more than was dispensed, a wrong date or place."""


@dataclass(frozen=True)
class Compliance:
    """Doses taken against doses expected, from the count of what came back (DOMAIN.md)."""

    days: int
    units_dispensed: int
    units_returned: int
    units_expected: Fraction

    @property
    def units_taken(self) -> int:
        return self.units_dispensed - self.units_returned

    @property
    def ratio(self) -> Fraction | None:
        """Taken ÷ expected; None when nothing was expected yet (returned the same day)."""
        if self.units_expected == 0:
            return None
        return Fraction(self.units_taken) / self.units_expected

    @property
    def percent(self) -> Decimal | None:
        """The ratio as a percentage with one decimal, as protocols state it (48/56 → 85.7);
        worked from the exact ratio, halves rounded up (27/28 → 96.4)."""
        ratio = self.ratio
        if ratio is None:
            return None
        return Decimal(math.floor(ratio * 1000 + Fraction(1, 2))).scaleb(-1)

    @property
    def concern(self) -> str | None:
        """What a compliance outside the protocol's range asks of the counter, or None."""
        return compliance_concern(self.percent)


def compliance_concern(percent: Decimal | None) -> str | None:
    low, high = COMPLIANCE_RANGE
    if percent is None or low <= percent <= high:
        return None
    if percent < low:
        return (
            f"below {low} %: fewer doses taken than prescribed; ask the subject, tell the "
            "study team"
        )
    return (
        f"above {high} %: more taken than prescribed; count again, ask the subject, tell the "
        "study team"
    )


def compliance_between(
    *,
    dispensed_on: dt.date,
    returned_on: dt.date,
    units_dispensed: int,
    units_returned: int,
    doses_per_day: float,
) -> Compliance:
    """The compliance rule on its own, from dates and counts.

    Expected doses are ``doses_per_day`` for each day between the dispense and the return.
    ``doses_per_day`` is read as written (0.5 is one half), not as its binary float.
    """
    if returned_on < dispensed_on:
        raise InvalidInput("A return date is never before the dispense date.")
    days = (returned_on - dispensed_on).days
    return Compliance(
        days=days,
        units_dispensed=units_dispensed,
        units_returned=units_returned,
        units_expected=Fraction(str(doses_per_day)) * days,
    )


def compliance(session: Session, subject_return: SubjectReturn) -> Compliance:
    """Compliance up to this return: everything counted back on its order so far."""
    order = session.get_one(DispenseOrder, subject_return.dispense_order_id)
    product = session.get_one(Product, order.product_id)
    counted = session.scalar(
        select(func.coalesce(func.sum(SubjectReturn.units_counted), 0)).where(
            SubjectReturn.dispense_order_id == order.id,
            SubjectReturn.id <= subject_return.id,
        )
    )
    return compliance_between(
        dispensed_on=dispensed_on(order),
        returned_on=subject_return.returned_on,
        units_dispensed=dose_units(product, order.quantity),
        units_returned=int(counted or 0),
        doses_per_day=product.doses_per_day,
    )


def dose_units(product: Product, quantity: int) -> int:
    """Ledger units as dose units: kits times units per kit, or the bulk count itself."""
    return quantity if product.units_per_kit is None else quantity * product.units_per_kit


def _more_than_dispensed(
    session: Session, order: DispenseOrder, product: Product, already: int, asked: int
) -> str:
    """The refusal of a return larger than what is still out: how many were dispensed, how
    many came back already and how many can still come back, never a bare negative count."""
    kit = session.get(Kit, order.kit_id) if order.kit_id is not None else None
    what = f"Order {order.id}" + (f" (kit {kit.kit_number})" if kit is not None else "")
    dispensed = quantity_text(order.quantity, product.unit)
    if already == 0:
        came_back = "none has come back yet"
    else:
        came_back = f"{already} {'has' if already == 1 else 'have'} already come back"
    left = order.quantity - already
    if left == 0:
        return (
            f"{what} dispensed {dispensed}, all already back: nothing more can be returned on it."
        )
    return (
        f"{what} dispensed {dispensed} and {came_back}, so at most {left} can still come "
        f"back, not {asked}."
    )


def returned_quantity(session: Session, order_id: int) -> int:
    """Ledger units already brought back on one order."""
    total = session.scalar(
        select(func.coalesce(func.sum(SubjectReturn.quantity), 0)).where(
            SubjectReturn.dispense_order_id == order_id
        )
    )
    return int(total or 0)


def record_return(
    session: Session,
    actor: User,
    order: DispenseOrder,
    *,
    returned_on: dt.date,
    quantity: int,
    units_counted: int,
    condition: str,
    location: Location,
    when: EventTime | None = None,
) -> SubjectReturn:
    """Count in what a subject brought back and put it in a returns location.

    ``quantity`` is in ledger units (kits, or tablets for a bulk product); ``units_counted``
    is what is left inside, in dose units, for compliance. The counted units never exceed
    what was dispensed, and the return date is never before the dispense (DOMAIN.md).
    ``when`` is the moment it came back, for a return entered late from a paper log.
    """
    require(session, actor, Action.RECORD_RETURNS)
    # One order's returns are counted one at a time, against what is already back.
    lock_order(session, order)
    if order.state is not OrderState.DISPENSED:
        raise ReturnRefused(
            f"Order {order.id} is {order.state.value}; only dispensed drug comes back as a return."
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidInput("The quantity returned is a whole number greater than zero.")
    if isinstance(units_counted, bool) or not isinstance(units_counted, int) or units_counted < 0:
        raise InvalidInput("The units counted are a whole number, zero or more.")
    product = session.get_one(Product, order.product_id)
    already = returned_quantity(session, order.id)
    if quantity > order.quantity - already:
        raise ReturnRefused(_more_than_dispensed(session, order, product, already, quantity))
    given = dispensed_on(order)
    if returned_on < given:
        raise ReturnRefused(
            f"The return date {returned_on:%Y-%m-%d} is before the dispense date "
            f"{given:%Y-%m-%d}; check the date."
        )
    if returned_on > today():
        raise ReturnRefused(f"The return date {returned_on:%Y-%m-%d} is in the future.")
    place = get_location(session, location.id)
    if place.kind is not LocationKind.RETURNS:
        raise ReturnRefused(
            f"{place.name} is not a returns location; returned drug is kept apart and never "
            "goes back to dispensable stock."
        )
    if product.is_kit_tracked:
        most = dose_units(product, quantity)
        if units_counted > most:
            raise ReturnRefused(
                f"{quantity_text(quantity, product.unit)} of {product.description} holds at "
                f"most {quantity_text(most, product.dose_unit)}; a count of {units_counted} is "
                "more than that. Count again."
            )
    elif units_counted != quantity:
        raise ReturnRefused(
            f"{product.description} is counted in bulk: the units counted ({units_counted}) "
            f"are the quantity returned ({quantity})."
        )
    described = condition.strip()
    if not described:
        raise InvalidInput("Describe what came back (sealed, opened, damaged…).")
    dispense = session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.dispense_order_id == order.id, LedgerEntry.kind == EntryKind.DISPENSE
        )
    ).one()
    judged = when_it_happened(
        session,
        session.get_one(Study, order.study_id),
        when,
        kit=session.get_one(Kit, dispense.kit_id) if dispense.kit_id is not None else None,
        lot=session.get_one(Lot, dispense.lot_id),
        what="the return",
    )
    attribute_changes(session, actor, reason="return recorded")
    subject_return = SubjectReturn(
        study_id=order.study_id,
        dispense_order_id=order.id,
        returned_on=returned_on,
        quantity=quantity,
        units_counted=units_counted,
        condition=described,
        counted_by_id=actor.id,
        location_id=place.id,
    )
    session.add(subject_return)
    session.flush()  # the ledger entry links to the return
    move(
        session,
        actor,
        kind=EntryKind.RETURN,
        study_id=order.study_id,
        lot_id=dispense.lot_id,
        kit_id=dispense.kit_id,
        quantity=quantity,
        source=Place(StockState.DISPENSED),
        target=Place(StockState.RETURNED, place.id),
        # A return entered on the day it was dispensed still follows the dispense.
        occurred_at=(
            judged.occurred_at
            if when is not None and when.at is not None
            else max(moment_of(returned_on), dispense.occurred_at)
        ),
        late_reason=judged.late_reason,
        reason="returned by the subject",
        links=Links(subject_return_id=subject_return.id, dispense_order_id=order.id),
    )
    return subject_return


def verify_return(
    session: Session,
    monitor: User,
    subject_return: SubjectReturn,
    *,
    password: str,
    when: EventTime | None = None,
) -> SubjectReturn:
    """The monitor's independent check of a counted return, signed (21 CFR 11.50).

    Until then the return may not go into a destruction or a return shipment (DOMAIN.md).
    ``when`` is the time the monitor checked it, for a check entered late; it may not come
    before the return was counted.
    """
    study = session.get_one(Study, subject_return.study_id)
    require(session, monitor, Action.VERIFY_RETURNS, subject_return, study=study)
    session.refresh(subject_return, with_for_update=True)  # verified once, even by two at once
    if subject_return.monitor_verified_at is not None:
        raise ReturnRefused(
            f"This return was already verified by the monitor on "
            f"{subject_return.monitor_verified_at.astimezone():%Y-%m-%d}; a return is "
            "verified once."
        )
    counted = session.scalar(
        select(LedgerEntry.occurred_at).where(LedgerEntry.subject_return_id == subject_return.id)
    )
    judged = when_it_happened(session, study, when, not_before=counted, what="the monitor's check")
    why = "return verified by the monitor"
    if judged.late_reason is not None:
        why = f"{why} (late entry: {judged.late_reason})"
    attribute_changes(session, monitor, reason=why)
    subject_return.monitor_verified_by_id = monitor.id
    subject_return.monitor_verified_at = judged.occurred_at
    sign_record(session, monitor.username, password, SignatureMeaning.VERIFIED, subject_return)
    return subject_return


def returns_awaiting_monitor(session: Session, study_id: int) -> list[SubjectReturn]:
    """Counted returns the monitor has not verified yet, oldest first."""
    return list(
        session.scalars(
            select(SubjectReturn)
            .where(
                SubjectReturn.study_id == study_id,
                SubjectReturn.monitor_verified_at.is_(None),
            )
            .order_by(SubjectReturn.returned_on, SubjectReturn.id)
        )
    )
