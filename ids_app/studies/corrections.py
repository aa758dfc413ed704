"""Correcting setup: a product's details, retiring a product, ending a staff member's role.

Setup rows are never deleted: orders, ledger entries and printed binders name them, and an
inspector must still find what they named. A correction changes fields with a reason that
the audit trail keeps beside the old and new values; a retirement keeps the row and stops
new use. A product already dispensed is corrected only with a pharmacist's signature,
because what was dispensed (the dispensing rule, the label's words) depended on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today
from ids_app.errors import InvalidInput
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import ON_SITE_STATES, LedgerEntry, StockState
from ids_app.studies.models import (
    Product,
    ProductCorrection,
    Study,
    StudyStaff,
)
from ids_app.users.models import Role, SignatureMeaning, User
from ids_app.users.permissions import Action, refuse, require
from ids_app.users.signatures import sign_record
from ids_app.wording import quantity_text


@dataclass(frozen=True)
class ProductDetails:
    """A product's correctable details. How it is counted (kit or bulk, units per kit) is
    not among them: received stock is counted in it, so a wrong count unit is a new
    product, not a correction."""

    agent_name: str
    strength: str
    dosage_form: str
    unit: str
    dose_unit: str
    storage_min_c: float
    storage_max_c: float
    dispense_quantity: int
    days_supply: int
    doses_per_day: float
    gtin: str | None

    @classmethod
    def of(cls, product: Product) -> ProductDetails:
        return cls(**{field.name: getattr(product, field.name) for field in fields(cls)})


@dataclass(frozen=True)
class Approval:
    """The pharmacist's user name and password, given again to sign (21 CFR 11.200)."""

    username: str
    password: str


def _reason(reason: str) -> str:
    cleaned = reason.strip()
    if not cleaned:
        raise InvalidInput("Say why in the reason field; the audit trail keeps it.")
    return cleaned


def _effective(on: dt.date | None) -> dt.date:
    day = on or today()
    if day > today():
        raise InvalidInput("The date is in the future; give the day it happened.")
    return day


def _cleaned(details: ProductDetails) -> ProductDetails:
    text = {
        name: getattr(details, name).strip()
        for name in ("agent_name", "strength", "dosage_form", "unit", "dose_unit")
    }
    for name, value in text.items():
        if not value:
            raise InvalidInput(f"The {name.replace('_', ' ')} is empty; type it.")
    if details.storage_min_c >= details.storage_max_c:
        raise InvalidInput("The lowest storage temperature must be below the highest.")
    if details.dispense_quantity <= 0 or details.days_supply <= 0 or details.doses_per_day <= 0:
        raise InvalidInput(
            "The dispensing rule needs a quantity per visit, days' supply and doses per day "
            "greater than zero."
        )
    gtin = (details.gtin or "").strip() or None
    return ProductDetails(
        **text,
        storage_min_c=details.storage_min_c,
        storage_max_c=details.storage_max_c,
        dispense_quantity=details.dispense_quantity,
        days_supply=details.days_supply,
        doses_per_day=details.doses_per_day,
        gtin=gtin,
    )


def was_dispensed(session: Session, product: Product) -> bool:
    """Whether any of the product has reached a subject: from then on, what was dispensed
    depended on its details, and a correction needs a pharmacist's signature."""
    return (
        session.scalar(
            select(LedgerEntry.id)
            .where(
                LedgerEntry.product_id == product.id,
                LedgerEntry.to_state == StockState.DISPENSED,
            )
            .limit(1)
        )
        is not None
    )


def correct_product(
    session: Session,
    actor: User,
    product: Product,
    details: ProductDetails,
    reason: str,
    approval: Approval | None = None,
) -> ProductCorrection:
    """Change a product's details, keeping what changed, why and (once dispensed) who
    approved it as a correction row of its own."""
    require(session, actor, Action.CORRECT_SETUP, product)
    why = _reason(reason)
    new = _cleaned(details)
    old = ProductDetails.of(product)
    changed = [
        f"{field.name}: {getattr(old, field.name)} → {getattr(new, field.name)}"
        for field in fields(ProductDetails)
        if getattr(old, field.name) != getattr(new, field.name)
    ]
    if not changed:
        raise InvalidInput("Nothing was changed; the product's details are as recorded.")
    dispensed = was_dispensed(session, product)
    if dispensed:
        approval = _pharmacist_approval(actor, product, approval)
    attribute_changes(session, actor, reason=f"product corrected: {why}")
    for field in fields(ProductDetails):
        setattr(product, field.name, getattr(new, field.name))
    correction = ProductCorrection(
        product_id=product.id, changes="; ".join(changed), reason=why, corrected_by_id=actor.id
    )
    session.add(correction)
    if approval is not None:
        sign_record(
            session, approval.username, approval.password, SignatureMeaning.APPROVED, correction
        )
    return correction


def _pharmacist_approval(actor: User, product: Product, approval: Approval | None) -> Approval:
    if actor.role is not Role.PHARMACIST:
        raise refuse(
            actor,
            f"{product.description} has been dispensed; only a pharmacist may correct it, "
            "with their signature.",
            to=Action.CORRECT_SETUP.value,
            record=product,
        )
    if approval is None:
        raise InvalidInput(
            f"{product.description} has been dispensed; sign the correction with your "
            "password to approve it."
        )
    if approval.username.strip() != actor.username:
        raise refuse(
            actor,
            "The approving signature must be your own; sign with your user name.",
            to=Action.CORRECT_SETUP.value,
            record=product,
        )
    return approval


def _on_hand(session: Session, *conditions: object) -> int:
    return sum(
        balance.quantity
        for balance in balances(session, *conditions, by_kit=False)
        if balance.state in ON_SITE_STATES
    )


def retire_product(
    session: Session, actor: User, product: Product, reason: str, on: dt.date | None = None
) -> Product:
    """Stop receiving a product (a formulation the sponsor withdrew); its history stays."""
    require(session, actor, Action.CORRECT_SETUP, product)
    why = _reason(reason)
    if product.retired_on is not None:
        raise InvalidInput(f"{product.description} was already retired on {product.retired_on}.")
    stock = _on_hand(session, LedgerEntry.product_id == product.id)
    if stock:
        raise InvalidInput(
            f"{product.description} still has {quantity_text(stock, product.unit)} on hand; "
            "destroy, return or transfer it before the product is retired."
        )
    attribute_changes(session, actor, reason=f"product retired: {why}")
    product.retired_on = _effective(on)
    return product


def end_staff_role(
    session: Session, actor: User, staff: StudyStaff, reason: str, on: dt.date | None = None
) -> StudyStaff:
    """A staff member leaves a study: their access to it ends, their records stay theirs."""
    study = session.get_one(Study, staff.study_id)
    require(session, actor, Action.ASSIGN_STAFF, study)
    why = _reason(reason)
    member = session.get_one(User, staff.user_id)
    if not staff.active:
        raise InvalidInput(
            f"{member.full_name}'s role on {study.protocol_number} already ended on "
            f"{staff.ended_on}."
        )
    attribute_changes(session, actor, reason=f"study role ended: {why}")
    staff.active = False
    staff.ended_on = _effective(on)
    return staff
