"""The accountability record: one DARF per product and strength, with a running balance.

Every ledger entry of the product is a line, in the order it happened. The balance is the
stock on site that is the pharmacy's to account for (available, quarantined, condemned);
it ends at today's on-hand. Units a subject brings back are shown in their own columns
and running total and are never added back to the balance (DOMAIN.md, NCI audit
checklist: "drug returned by a patient is not added back to the dispensable balance").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, assert_never

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.inventory.ledger import Balance, balances
from ids_app.inventory.models import (
    Disposal,
    EntryKind,
    LedgerEntry,
    Location,
    LocationKind,
    Shipment,
    StockState,
    SubjectReturn,
)
from ids_app.reports.common import initials, product_info, site_name
from ids_app.reports.records import AccountabilityRecord, DarfLine
from ids_app.studies.models import Product
from ids_app.users.models import SignatureMeaning
from ids_app.wording import local_time, quantity_text

if TYPE_CHECKING:
    from ids_app.reports.gather import Lookups

# Stock the balance counts; RETURNED is kept apart, the rest has left the site.
BALANCE_STATES = frozenset({StockState.AVAILABLE, StockState.QUARANTINED, StockState.CONDEMNED})
CONTROL_RECORD = "Control record (all locations)"
MAIN_PHARMACY_RECORD = "Control record (main pharmacy; each satellite keeps its own)"


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


def late_entry_mark(entry: LedgerEntry, look: Lookups) -> str | None:
    """The mark of a late entry: both times and the reason it was entered late, or None
    for an entry made at the time (inventory.late_entries)."""
    return late_mark(entry.occurred_at, entry.recorded_at, entry.late_reason, look)


def late_mark(
    happened: dt.datetime, recorded: dt.datetime | None, reason: str | None, look: Lookups
) -> str | None:
    """A late record's mark (a movement's or a count's), the same words wherever it prints."""
    if reason is None:
        return None
    return (
        f"Late entry: happened {local_time(happened)}, recorded "
        f"{local_time(recorded or happened)}; {look.blinder.text(reason)}"
    )


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

    def late_entry(self, entry: LedgerEntry) -> str | None:
        return late_entry_mark(entry, self.look)

    def transaction_in(self, entry: LedgerEntry, unit: str, scope: _Scope, crossing: int) -> str:
        """The transaction as the record of ``scope`` reads it: a transfer across its edge
        says where the stock came from or went (NCI: "to satellite", "received from main")."""
        if not crossing:
            return self.transaction(entry, unit)
        look = self.look
        moved = quantity_text(entry.quantity, unit)
        if crossing > 0:
            source = entry.from_location_id
            where = "satellite" if look.is_satellite(source) else "the main pharmacy"
            return f"Received {moved} from {where} ({look.location_name(source)})"
        target = entry.to_location_id
        if look.is_satellite(target):
            return f"To satellite {look.location_name(target)}: {moved}"
        return f"Back to the main pharmacy ({look.location_name(target)}): {moved}"

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


@dataclass(frozen=True)
class _Scope:
    """The storage locations one record accounts for: the main pharmacy's (the control
    record) or one satellite's. Off-shelf states (dispensed, destroyed…) have no location
    and belong to no scope; what left a location shows on that location's record."""

    location_ids: frozenset[int]
    satellite: Location | None = None
    everything: bool = False  # the control record of a product no satellite has held

    def holds(self, location_id: int | None) -> bool:
        return self.everything or location_id in self.location_ids

    def touches(self, entry: LedgerEntry) -> bool:
        return self.everything or (
            (entry.from_state is not None and entry.from_location_id in self.location_ids)
            or (entry.to_state is not None and entry.to_location_id in self.location_ids)
        )

    def balance_change(self, entry: LedgerEntry) -> int:
        change = 0
        if entry.to_state in BALANCE_STATES and self.holds(entry.to_location_id):
            change += entry.quantity
        if entry.from_state in BALANCE_STATES and self.holds(entry.from_location_id):
            change -= entry.quantity
        return change

    def returns_change(self, entry: LedgerEntry) -> int:
        change = 0
        if entry.to_state is StockState.RETURNED and self.holds(entry.to_location_id):
            change += entry.quantity
        if entry.from_state is StockState.RETURNED and self.holds(entry.from_location_id):
            change -= entry.quantity
        return change

    @property
    def record_kind(self) -> str:
        if self.satellite is not None:
            return f"Satellite record: {self.satellite.name}"
        return CONTROL_RECORD if self.everything else MAIN_PHARMACY_RECORD


def _scopes(look: Lookups, entries: list[LedgerEntry]) -> list[_Scope]:
    """The control record, and one satellite record per satellite that held the product."""
    satellites = {
        loc.id: loc for loc in look.locations.values() if loc.kind is LocationKind.SATELLITE
    }
    held = sorted(
        {
            location_id
            for entry in entries
            for location_id in (entry.from_location_id, entry.to_location_id)
            if location_id in satellites
        },
        key=lambda location_id: satellites[location_id].name,
    )
    if not held:
        return [_Scope(frozenset(), everything=True)]
    main = frozenset(loc_id for loc_id in look.locations if loc_id not in satellites)
    return [_Scope(main)] + [
        _Scope(frozenset({loc_id}), satellite=satellites[loc_id]) for loc_id in held
    ]


def _crossing(scope: _Scope, entry: LedgerEntry) -> int:
    """A transfer across the scope's edge: +quantity coming in, -quantity going out, else 0."""
    if entry.kind is not EntryKind.TRANSFER or scope.everything:
        return 0
    into, out_of = scope.holds(entry.to_location_id), scope.holds(entry.from_location_id)
    if into and not out_of:
        return entry.quantity
    if out_of and not into:
        return -entry.quantity
    return 0


def darf_records(
    session: Session, look: Lookups, up_to_end: list[Any]
) -> tuple[AccountabilityRecord, ...]:
    """Per product of the study, the control record and each satellite's record, for the
    period, each ending at its locations' balance on the ledger."""
    entries = list(
        session.scalars(
            select(LedgerEntry).where(*up_to_end).order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )
    describer = _Describer(session, look, entries)
    stock = balances(session, *up_to_end, by_kit=False)
    by_product: defaultdict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_product[entry.product_id].append(entry)
    records: list[AccountabilityRecord] = []
    for product in look.products.values():
        product_entries = by_product[product.id]
        control, *satellites = _scopes(look, product_entries)
        records.append(_record(look, describer, product, control, product_entries, stock))
        starts = look.period.starts
        control_moves = [
            entry
            for entry in product_entries
            if (starts is None or entry.occurred_at >= starts) and control.touches(entry)
        ]
        for scope in satellites:
            assert scope.satellite is not None
            here = scope.satellite.id
            # The control record's own view: what it sent this satellite, net of returns.
            sent = sum(
                -_crossing(control, entry)
                for entry in control_moves
                if here in (entry.to_location_id, entry.from_location_id)
            )
            record = _record(look, describer, product, scope, product_entries, stock)
            records.append(dataclasses.replace(record, sent_by_control=sent))
    return tuple(records)


def _record(
    look: Lookups,
    describer: _Describer,
    product: Product,
    scope: _Scope,
    entries: list[LedgerEntry],
    stock: list[Balance],
) -> AccountabilityRecord:
    starts = look.period.starts
    mine = [entry for entry in entries if scope.touches(entry)]
    before = [e for e in mine if starts is not None and e.occurred_at < starts]
    within = [e for e in mine if starts is None or e.occurred_at >= starts]
    opening = sum(scope.balance_change(e) for e in before)
    opening_returns = sum(scope.returns_change(e) for e in before)
    balance, held = opening, opening_returns
    from_control = 0
    lines = []
    for number, entry in enumerate(within, start=1):
        change, back = scope.balance_change(entry), scope.returns_change(entry)
        crossing = _crossing(scope, entry)
        if scope.satellite is not None and not look.is_satellite(
            entry.from_location_id if crossing > 0 else entry.to_location_id
        ):
            from_control += crossing
        lot = look.lots[entry.lot_id]
        order = look.orders.get(entry.dispense_order_id or 0)
        subject = look.subjects[order.subject_id] if order is not None else None
        arrived = entry.kind is EntryKind.RECEIVE or (scope.satellite is not None and crossing > 0)
        received = change if arrived else None
        dispensed = -change if entry.kind is EntryKind.DISPENSE else None
        other = change if received is None and dispensed is None and change else None
        lines.append(
            DarfLine(
                number=number,
                entry_id=entry.id,
                occurred_at=entry.occurred_at,
                date=entry.occurred_at.astimezone().date(),
                transaction=describer.transaction_in(entry, product.unit, scope, crossing),
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
                late_entry=describer.late_entry(entry),
            )
        )
        balance += change
        held += back
    on_shelf = sum(
        row.quantity
        for row in stock
        if row.product_id == product.id
        and row.state in BALANCE_STATES
        and scope.holds(row.location_id)
    )
    apart = sum(
        row.quantity
        for row in stock
        if row.product_id == product.id
        and row.state is StockState.RETURNED
        and scope.holds(row.location_id)
    )
    return AccountabilityRecord(
        product=product_info(product),
        institution=site_name(),
        record_kind=scope.record_kind,
        opening_balance=opening,
        opening_returns=opening_returns,
        lines=tuple(lines),
        closing_balance=balance,
        closing_returns=held,
        ledger_balance=on_shelf,
        ledger_returns=apart,
        satellite=scope.satellite.name if scope.satellite is not None else None,
        received_from_control=from_control,
    )


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
