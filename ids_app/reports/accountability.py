"""The accountability record: one DARF per product and strength, with a running balance.

Every ledger entry of the product is a line, in the order it happened. The balance is the
stock on site that is the pharmacy's to account for (available, quarantined, condemned);
it ends at today's on-hand. Units a subject brings back are shown in their own columns
and running total and are never added back to the balance (DOMAIN.md, NCI audit
checklist: "drug returned by a patient is not added back to the dispensable balance").
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any, assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.inventory.ledger import balances
from ids_app.inventory.models import (
    Disposal,
    EntryKind,
    LedgerEntry,
    Shipment,
    StockState,
    SubjectReturn,
)
from ids_app.reports.common import initials, product_info, site_name
from ids_app.reports.records import AccountabilityRecord, DarfLine
from ids_app.users.models import SignatureMeaning
from ids_app.wording import quantity_text

if TYPE_CHECKING:
    from ids_app.reports.gather import Lookups

# Stock the balance counts; RETURNED is kept apart, the rest has left the site.
BALANCE_STATES = frozenset({StockState.AVAILABLE, StockState.QUARANTINED, StockState.CONDEMNED})
CONTROL_RECORD = "Control record (all locations)"


def balance_change(entry: LedgerEntry) -> int:
    """What an entry does to the balance on the log."""
    change = 0
    if entry.to_state in BALANCE_STATES:
        change += entry.quantity
    if entry.from_state in BALANCE_STATES:
        change -= entry.quantity
    return change


def returns_change(entry: LedgerEntry) -> int:
    """What an entry does to the subject returns held apart."""
    change = 0
    if entry.to_state is StockState.RETURNED:
        change += entry.quantity
    if entry.from_state is StockState.RETURNED:
        change -= entry.quantity
    return change


class _Describer:
    """The transaction column: what happened, in the pharmacy's words."""

    def __init__(self, session: Session, look: Lookups, entries: list[LedgerEntry]) -> None:
        self.look = look
        shipment_ids = {e.shipment_id for e in entries if e.shipment_id is not None}
        disposal_ids = {e.disposal_id for e in entries if e.disposal_id is not None}
        return_ids = {e.subject_return_id for e in entries if e.subject_return_id is not None}
        self.shipments = {
            s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(shipment_ids)))
        }
        self.disposals = {
            d.id: d for d in session.scalars(select(Disposal).where(Disposal.id.in_(disposal_ids)))
        }
        self.returns = {
            r.id: r
            for r in session.scalars(select(SubjectReturn).where(SubjectReturn.id.in_(return_ids)))
        }

    def transaction(self, entry: LedgerEntry, unit: str) -> str:
        look = self.look
        moved = quantity_text(entry.quantity, unit)
        text = look.blinder.text
        kind = entry.kind
        if kind is EntryKind.RECEIVE:
            shipment = self.shipments.get(entry.shipment_id or 0)
            held = " into quarantine" if entry.to_state is StockState.QUARANTINED else ""
            number = shipment.shipment_number if shipment else "—"
            return f"Received{held}, shipment {number}"
        if kind is EntryKind.DISPENSE:
            return f"Dispensed, order {entry.dispense_order_id}"
        if kind is EntryKind.RETURN:
            return "Returned by the subject (kept apart)"
        if kind is EntryKind.QUARANTINE:
            return f"Quarantined {moved} at {look.location_name(entry.to_location_id)}"
        if kind in (EntryKind.RELEASE, EntryKind.CONDEMN):
            verb = "Released" if kind is EntryKind.RELEASE else "Condemned"
            return f"{verb} {moved} on the sponsor's decision ({text(entry.reference) or '—'})"
        if kind in (EntryKind.DESTROY, EntryKind.RETURN_TO_SPONSOR):
            disposal = self.disposals.get(entry.disposal_id or 0)
            verb = "Destroyed" if kind is EntryKind.DESTROY else "Returned to the sponsor"
            what = f" {entry.from_state.value} stock" if entry.from_state else ""
            number = disposal.disposal_number if disposal else "—"
            return f"{verb}{what}, disposal {number}"
        if kind is EntryKind.TRANSFER:
            return (
                f"Moved {moved}: {look.location_name(entry.from_location_id)} → "
                f"{look.location_name(entry.to_location_id)}"
            )
        if kind is EntryKind.TRANSFER_OUT:
            return f"Transferred to another study ({text(entry.reference) or '—'})"
        if kind is EntryKind.TRANSFER_IN:
            return f"Transferred in from another study ({text(entry.reference) or '—'})"
        if kind is EntryKind.ADJUST:
            return f"Count correction: {text(entry.reason) or '—'}"
        if kind is EntryKind.REVERSAL:
            return f"Reversal of entry {entry.reverses_id}: {text(entry.reason) or '—'}"
        assert_never(kind)

    def signatures(self, entry: LedgerEntry) -> str:
        """Who signed for the line, by initials; the sections print full manifestations."""
        look = self.look
        if entry.dispense_order_id is not None and entry.kind is EntryKind.DISPENSE:
            order = look.orders[entry.dispense_order_id]
            signed = look.signatures.get(("dispense_order", str(order.id)), [])
            by = {s.meaning: initials(s.printed_name) for s in signed}
            return (
                f"Prep. {by.get(SignatureMeaning.PREPARED, '—')}, "
                f"Ver. {by.get(SignatureMeaning.VERIFIED, '—')}"
            )
        if entry.subject_return_id is not None:
            back = self.returns.get(entry.subject_return_id)
            if back is not None:
                verified = look.signatures.get(("subject_return", str(back.id)), [])
                monitor = f", Mon. {initials(verified[0].printed_name)}" if verified else ""
                return f"Count {look.user_initials(back.counted_by_id)}{monitor}"
        if entry.disposal_id is not None:
            disposal = self.disposals.get(entry.disposal_id)
            if disposal is not None:
                return f"Wit. {look.user_initials(disposal.witness_id)}"
        if entry.kind in (EntryKind.RELEASE, EntryKind.CONDEMN):
            return f"Appr. {look.user_initials(entry.user_id)}"
        return "—"


def _dose(look: Lookups, describer: _Describer, entry: LedgerEntry) -> str | None:
    if entry.dispense_order_id is None:
        return None
    order = look.orders[entry.dispense_order_id]
    product = look.products[order.product_id]
    visit = look.blinder.required_text(order.visit)
    if entry.kind is EntryKind.DISPENSE:
        dose = f"{visit}: {quantity_text(entry.quantity, product.unit)}"
        if product.units_per_kit is not None:
            dose += f" ({quantity_text(entry.quantity * product.units_per_kit, product.dose_unit)})"
        return dose
    back = describer.returns.get(entry.subject_return_id or 0)
    if back is not None:
        return f"{visit}: {quantity_text(back.units_counted, product.dose_unit)} counted back"
    return visit


def darf_records(
    session: Session, look: Lookups, up_to_end: list[Any]
) -> tuple[AccountabilityRecord, ...]:
    """One record per product of the study, for the period, ending at the ledger's balance."""
    period = look.period
    entries = list(
        session.scalars(
            select(LedgerEntry).where(*up_to_end).order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )
    describer = _Describer(session, look, entries)
    on_shelf: defaultdict[int, int] = defaultdict(int)
    held_apart: defaultdict[int, int] = defaultdict(int)
    for row in balances(session, *up_to_end, by_kit=False):
        if row.state in BALANCE_STATES:
            on_shelf[row.product_id] += row.quantity
        elif row.state is StockState.RETURNED:
            held_apart[row.product_id] += row.quantity
    by_product: defaultdict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_product[entry.product_id].append(entry)
    records = []
    for product in look.products.values():
        starts = period.starts
        before = [
            e for e in by_product[product.id] if starts is not None and e.occurred_at < starts
        ]
        within = [e for e in by_product[product.id] if starts is None or e.occurred_at >= starts]
        opening = sum(balance_change(e) for e in before)
        opening_returns = sum(returns_change(e) for e in before)
        balance, held = opening, opening_returns
        lines = []
        for number, entry in enumerate(within, start=1):
            change, back = balance_change(entry), returns_change(entry)
            lot = look.lots[entry.lot_id]
            order = look.orders.get(entry.dispense_order_id or 0)
            subject = look.subjects[order.subject_id] if order is not None else None
            received = change if entry.kind is EntryKind.RECEIVE else None
            dispensed = -change if entry.kind is EntryKind.DISPENSE else None
            other = change if received is None and dispensed is None and change else None
            lines.append(
                DarfLine(
                    number=number,
                    entry_id=entry.id,
                    occurred_at=entry.occurred_at,
                    date=entry.occurred_at.astimezone().date(),
                    transaction=describer.transaction(entry, product.unit),
                    subject_code=subject.subject_code if subject else None,
                    initials=subject.initials if subject else None,
                    dose=_dose(look, describer, entry),
                    kit_number=look.kit_number(entry.kit_id),
                    arm=look.kit_arm(entry.kit_id),
                    manufacturer=look.study.sponsor,
                    lot_number=lot.lot_number,
                    expiry=lot.expiry,
                    received=received,
                    dispensed=dispensed,
                    other=other,
                    balance_forward=balance,
                    new_balance=balance + change,
                    returns_in=back if back > 0 else None,
                    returns_out=-back if back < 0 else None,
                    returns_held=held + back,
                    recorder_initials=look.user_initials(entry.user_id),
                    recorder=look.user_name(entry.user_id),
                    signatures=describer.signatures(entry),
                )
            )
            balance += change
            held += back
        records.append(
            AccountabilityRecord(
                product=product_info(product),
                institution=site_name(),
                record_kind=CONTROL_RECORD,
                opening_balance=opening,
                opening_returns=opening_returns,
                lines=tuple(lines),
                closing_balance=balance,
                closing_returns=held,
                ledger_balance=on_shelf[product.id],
                ledger_returns=held_apart[product.id],
            )
        )
    return tuple(records)


# The columns of the accountability record, as the binder and the workbook head them: every
# column of the NCI DARF (DOMAIN.md), plus kit number, transaction and signatures.
DARF_COLUMNS = (
    "Line",
    "Date",
    "Transaction",
    "Patient ID",
    "Patient initials",
    "Dose",
    "Kit",
    "Manufacturer and lot number",
    "Quantity received",
    "Quantity dispensed",
    "Other (±)",
    "Balance forward",
    "New balance",
    "Returned by patient",
    "Returns out",
    "Returns held apart",
    "Recorder's initials",
    "Signatures",
)
ARM_COLUMN = "Arm"
NUMERIC_COLUMNS = frozenset(
    {
        "Line",
        "Quantity received",
        "Quantity dispensed",
        "Other (±)",
        "Balance forward",
        "New balance",
        "Returned by patient",
        "Returns out",
        "Returns held apart",
    }
)
BALANCE_COLUMNS = frozenset({"Balance forward", "New balance"})
RETURN_COLUMNS = frozenset({"Returned by patient", "Returns out", "Returns held apart"})


def darf_columns(shows_arms: bool) -> tuple[str, ...]:
    """The columns, with the kit's arm after the kit number in an edition that shows arms
    (unblinded or open-label) only."""
    if not shows_arms:
        return DARF_COLUMNS
    at = DARF_COLUMNS.index("Kit") + 1
    return (*DARF_COLUMNS[:at], ARM_COLUMN, *DARF_COLUMNS[at:])
