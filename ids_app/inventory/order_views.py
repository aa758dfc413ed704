"""What the dispensing and returns screens show: orders, what was dispensed and what
came back; plain rows, no Qt, no rules.

Pages are read newest first with keyset paging on the id (or the return day and id).
Arms are read only when the caller passes ``show_arms=True`` (decided by
``studies.services.is_unblinded``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from ids_app.inventory.dispensing import dispensed_on
from ids_app.inventory.models import (
    DispenseOrder,
    Identification,
    Kit,
    Location,
    Lot,
    OrderState,
    SubjectReturn,
)
from ids_app.inventory.returns import compliance, dose_units
from ids_app.inventory.views import signed_by
from ids_app.studies.blinding import ReaderMasks
from ids_app.studies.models import Arm, Prescriber, Product, Study, Subject
from ids_app.users.models import User
from ids_app.users.signatures import manifestation, signatures_of
from ids_app.wording import number_text, percent_text, quantity_text

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
    days_supply: int = 0
    # How each person identified the item: "scanned", or "typed, not scanned: <reason>".
    prepared_how: str | None = None
    verified_how: str | None = None
    # The IWRS-assigned kit's lot and expiry (read for one order, by order_row).
    assigned_lot_number: str | None = None
    assigned_expiry: dt.date | None = None

    @property
    def picked(self) -> str:
        if self.kit_number:
            return f"kit {self.kit_number} (lot {self.lot_number})"
        return f"lot {self.lot_number}" if self.lot_number else ""

    @property
    def ordered(self) -> str:
        if self.assigned_kit_number:
            return f"kit {self.assigned_kit_number}"
        return quantity_text(self.quantity, self.unit)


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


def _order_rows(
    session: Session, query: Any, reader: User, show_arms: bool = False
) -> list[OrderRow]:
    """The orders as ``reader`` may read them: visit and reason masked on a study they
    are blinded on (studies.blinding); arms only when ``show_arms``."""
    masks = ReaderMasks(session, reader)
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
                visit=masks.required_text(study.id, order.visit),
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
                closed_reason=masks.text(study.id, order.closed_reason),
                kit_arm=arms.get(kit.arm_id) if show_arms and kit and kit.arm_id else None,
                subject_arm=arms.get(subject.arm_id) if show_arms and subject.arm_id else None,
                days_supply=product.days_supply,
                prepared_how=_how(
                    order.prepared_identified, masks.text(study.id, order.prepared_typed_reason)
                ),
                verified_how=_how(
                    order.verified_identified, masks.text(study.id, order.verified_typed_reason)
                ),
            )
        )
    return rows


def _how(identified: Identification | None, reason: str | None) -> str | None:
    if identified is Identification.TYPED:
        return f"typed, not scanned: {reason}"
    return identified.value if identified is not None else None


def orders_page(
    session: Session,
    study_id: int,
    *,
    state: OrderState | None,
    limit: int,
    reader: User,
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
    return _order_rows(session, query, reader)


def order_row(
    session: Session, order_id: int, reader: User, *, show_arms: bool = False
) -> OrderRow:
    query = _order_query().where(DispenseOrder.id == order_id)
    row = _order_rows(session, query, reader, show_arms)[0]
    if row.assigned_kit_number is None:
        return row
    assigned = session.execute(
        select(Lot.lot_number, Lot.expiry)
        .join(Kit, Kit.lot_id == Lot.id)
        .where(Kit.study_id == row.study_id, Kit.kit_number == row.assigned_kit_number)
    ).first()
    if assigned is None:
        return row
    return replace(row, assigned_lot_number=assigned.lot_number, assigned_expiry=assigned.expiry)


def orders_in_state(
    session: Session,
    state: OrderState,
    reader: User,
    *,
    study_ids: Iterable[int] | None = None,
) -> list[OrderRow]:
    """Every study's orders in one state, oldest first (the work queues)."""
    query = _order_query().where(DispenseOrder.state == state)
    if study_ids is not None:
        query = query.where(DispenseOrder.study_id.in_(list(study_ids)))
    return _order_rows(session, query.order_by(DispenseOrder.id), reader)


def order_signatures(session: Session, order_id: int) -> list[str]:
    order = session.get_one(DispenseOrder, order_id)
    return [manifestation(signature) for signature in signatures_of(session, order)]


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
    session: Session, study_id: int, reader: User, *, limit: int = 500, kit_id: int | None = None
) -> list[DispensedRow]:
    """Dispensed orders (of one kit, if given), newest first, with what has come back on
    each so far, read for the whole list at once (one query per order made the Returns
    tab take half a second at 100,000 movements)."""
    page = orders_page(
        session, study_id, state=OrderState.DISPENSED, limit=limit, reader=reader, kit_id=kit_id
    )
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
    reader: User,
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
    masks = ReaderMasks(session, reader)
    rows = []
    for ret, order, subject, product, study, kit, lot, location, counter in session.execute(query):
        rate = compliance(session, ret)
        taken = f"{rate.units_taken} of {number_text(rate.units_expected)} expected"
        text = (
            f"{percent_text(rate.percent)} ({taken})"
            if rate.percent is not None
            else "— (returned the day it was dispensed)"
        )
        if rate.concern is not None:
            text += f" — {rate.concern}"
        picked = f"kit {kit.kit_number}" if kit else f"lot {lot.lot_number}" if lot else ""
        rows.append(
            ReturnRow(
                id=ret.id,
                study_id=study.id,
                protocol_number=study.protocol_number,
                order_id=order.id,
                subject_code=subject.subject_code,
                visit=masks.required_text(study.id, order.visit),
                picked=picked,
                returned_on=ret.returned_on,
                quantity=ret.quantity,
                unit=product.unit,
                units_counted=ret.units_counted,
                dose_unit=product.dose_unit,
                condition=masks.required_text(study.id, ret.condition),
                location=location.name,
                counted_by=counter.full_name,
                compliance=text,
                monitor_verified=signed_by(session, ret) if ret.monitor_verified_at else None,
            )
        )
    return rows
