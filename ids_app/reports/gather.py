"""Reading a study's records into a :class:`StudyRecord`: the data layer of the reports.

One read of one database snapshot feeds the binder and the workbook alike, so both show
the same record. Nothing here writes; the export itself is recorded by :mod:`exports`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import Base, today
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import (
    ON_SITE_STATES,
    Discrepancy,
    DispenseOrder,
    Disposal,
    EntryKind,
    HoldDecision,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    OrderState,
    PackingListLine,
    PhysicalCount,
    QuarantineHold,
    Shipment,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import held_stock
from ids_app.inventory.receiving import shipment_reconciliation
from ids_app.inventory.returns import compliance
from ids_app.monitoring.models import QueryState
from ids_app.monitoring.views import query_rows
from ids_app.reports.accountability import darf_records, late_entry_mark, late_mark
from ids_app.reports.audit_extract import audit_rows
from ids_app.reports.blinding import Blinder
from ids_app.reports.common import hold_entries, initials, product_info, put_on_hold, site_name
from ids_app.reports.period import WHOLE_RECORD, EmptyPeriod, Period
from ids_app.reports.progress import Steps
from ids_app.reports.records import (
    ArmInfo,
    ClosedOrderRow,
    CorrectionRow,
    CountRow,
    DecisionRow,
    DiscrepancyRow,
    DispenseRow,
    DisposalLine,
    DisposalRow,
    Edition,
    EntryInfo,
    HeldStock,
    HoldRow,
    InventoryRow,
    LocationInfo,
    PrescriberInfo,
    QueryInfo,
    QueryStepInfo,
    ReturnRow,
    ShipmentInfo,
    ShipmentLineInfo,
    SignatureEntry,
    StaffInfo,
    StudyInfo,
    StudyRecord,
)
from ids_app.reports.temperature import gather_temperature
from ids_app.studies.irb import approval_text
from ids_app.studies.models import Prescriber, Product, Study, StudyStaff, Subject
from ids_app.studies.services import get_study, is_unblinded
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.permissions import (
    PERMISSIONS,
    Action,
    refuse,
    require_role,
    require_study_access,
)
from ids_app.users.signatures import manifestation, signature_holds

# Everyone who works with a study may take its records away; a monitor, read-only in the
# app, is who most often asks for them (DESIGN.md, "Who uses it").
REPORT_ROLES = PERMISSIONS[Action.EXPORT_RECORDS].roles
NO_SIGNATURE = "no valid signature on file"

# Sections read one after another, each one progress step.
GATHER_STEPS = 13


def report_study(session: Session, actor: User, protocol_number: str, *, to: str) -> Study:
    """The study a report is about, after checking the actor may take reports."""
    require_role(session, actor, *REPORT_ROLES, to=to)
    study = get_study(session, protocol_number)
    require_study_access(session, actor, study, to=to)
    return study


def choose_edition(session: Session, actor: User, study: Study, unblinded: bool) -> Edition:
    """Open-label for an open-label study; otherwise blinded unless asked, and unblinded
    only for staff with unblinded access to the study."""
    if not study.is_blinded:
        return Edition.OPEN_LABEL
    if not unblinded:
        return Edition.BLINDED
    if not is_unblinded(session, actor, study):
        raise refuse(
            actor,
            f"{actor.full_name} is blinded on {study.protocol_number}; only staff with "
            "unblinded access to the study may export an unblinded edition.",
            to="export an unblinded edition",
            record=study,
        )
    return Edition.UNBLINDED


@dataclass
class Lookups:
    """The study's records by id, read once, so each section is a few queries."""

    study: Study
    period: Period
    blinder: Blinder
    users: dict[int, User]
    locations: dict[int, Location]
    products: dict[int, Product]
    lots: dict[int, Lot]
    kits: dict[int, Kit]
    subjects: dict[int, Subject]
    prescribers: dict[int, Prescriber]
    orders: dict[int, DispenseOrder]
    signatures: dict[tuple[str, str], list[Signature]]

    @classmethod
    def read(cls, session: Session, study: Study, period: Period, edition: Edition) -> Lookups:
        sid = study.id
        products = {p.id: p for p in study.products}
        orders = {
            o.id: o
            for o in session.scalars(select(DispenseOrder).where(DispenseOrder.study_id == sid))
        }
        lookups = cls(
            study=study,
            period=period,
            blinder=Blinder(edition, study),
            users={u.id: u for u in session.scalars(select(User))},
            locations={loc.id: loc for loc in session.scalars(select(Location))},
            products=products,
            lots={
                lot.id: lot
                for lot in session.scalars(select(Lot).where(Lot.product_id.in_(products)))
            },
            kits={k.id: k for k in session.scalars(select(Kit).where(Kit.study_id == sid))},
            subjects={
                s.id: s for s in session.scalars(select(Subject).where(Subject.study_id == sid))
            },
            prescribers={
                p.id: p
                for p in session.scalars(select(Prescriber).where(Prescriber.study_id == sid))
            },
            orders=orders,
            signatures={},
        )
        lookups.signatures = _signatures_by_record(session, study)
        return lookups

    def user_name(self, user_id: int | None) -> str:
        user = self.users.get(user_id) if user_id is not None else None
        return user.full_name if user is not None else "—"

    def user_initials(self, user_id: int | None) -> str:
        user = self.users.get(user_id) if user_id is not None else None
        return initials(user.full_name) if user is not None else "—"

    def is_satellite(self, location_id: int | None) -> bool:
        location = self.locations.get(location_id) if location_id is not None else None
        return location is not None and location.kind is LocationKind.SATELLITE

    def location_name(self, location_id: int | None) -> str:
        location = self.locations.get(location_id) if location_id is not None else None
        return location.name if location is not None else "—"

    def kit_number(self, kit_id: int | None) -> str | None:
        return self.kits[kit_id].kit_number if kit_id is not None else None

    def kit_arm(self, kit_id: int | None) -> str | None:
        return self.blinder.arm(self.kits[kit_id].arm_id) if kit_id is not None else None

    def signed(self, record: Base, table: str, record_id: int, meaning: SignatureMeaning) -> str:
        """The manifestation of the record's signature with that meaning, while it holds."""
        for signature in self.signatures.get((table, str(record_id)), []):
            if signature.meaning is meaning and signature_holds(signature, record):
                return manifestation(signature)
        return NO_SIGNATURE

    def place(self, state: StockState | None, location_id: int | None) -> str:
        if state is None:
            return "—"
        if location_id is None:
            return state.value
        return f"{state.value} at {self.location_name(location_id)}"

    def held(
        self, lot_id: int, kit_id: int | None, location_id: int | None, quantity: int
    ) -> HeldStock:
        lot = self.lots[lot_id]
        product = self.products[lot.product_id]
        return HeldStock(
            product=product.description,
            lot_number=lot.lot_number,
            kit_number=self.kit_number(kit_id),
            location=self.location_name(location_id),
            quantity=quantity,
            unit=product.unit,
        )

    def decision_row(self, decision: HoldDecision, entries: Iterable[LedgerEntry]) -> DecisionRow:
        """A signed decision on a lot; ``entries`` are its hold's, for the quantity decided."""
        return DecisionRow(
            lot_number=self.lots[decision.lot_id].lot_number,
            decision=decision.decision.value,
            sponsor_reference=self.blinder.required_text(decision.sponsor_reference),
            decided_at=decision.decided_at,
            signature=self.signed(
                decision, "hold_decision", decision.id, SignatureMeaning.APPROVED
            ),
            quantity=sum(
                e.quantity
                for e in entries
                if e.lot_id == decision.lot_id and e.kind in (EntryKind.RELEASE, EntryKind.CONDEMN)
            ),
        )


SIGNED_TABLES: dict[str, Any] = {
    "dispense_order": DispenseOrder,
    "subject_return": SubjectReturn,
    "hold_decision": HoldDecision,
    "disposal": Disposal,
}


def _study_signed_ids(session: Session, study: Study) -> dict[str, set[str]]:
    sid = study.id
    decisions = select(HoldDecision.id).join(
        QuarantineHold, QuarantineHold.id == HoldDecision.hold_id
    )
    return {
        "dispense_order": {
            str(i)
            for i in session.scalars(select(DispenseOrder.id).where(DispenseOrder.study_id == sid))
        },
        "subject_return": {
            str(i)
            for i in session.scalars(select(SubjectReturn.id).where(SubjectReturn.study_id == sid))
        },
        "hold_decision": {
            str(i) for i in session.scalars(decisions.where(QuarantineHold.study_id == sid))
        },
        "disposal": {
            str(i) for i in session.scalars(select(Disposal.id).where(Disposal.study_id == sid))
        },
    }


def _signatures_by_record(session: Session, study: Study) -> dict[tuple[str, str], list[Signature]]:
    found: dict[tuple[str, str], list[Signature]] = defaultdict(list)
    for table, ids in _study_signed_ids(session, study).items():
        if not ids:
            continue
        for signature in session.scalars(
            select(Signature)
            .where(Signature.record_table == table, Signature.record_id.in_(ids))
            .order_by(Signature.signed_at, Signature.id)
        ):
            found[(table, signature.record_id)].append(signature)
    return found


def _study_info(study: Study) -> StudyInfo:
    return StudyInfo(
        protocol_number=study.protocol_number,
        title=study.title,
        sponsor=study.sponsor,
        principal_investigator=study.principal_investigator,
        ind_number=study.ind_number,
        status=study.status.value,
        blinding=study.blinding.value,
        site=site_name(),
        irb_approval=approval_text(study),
    )


def _locations(session: Session, look: Lookups) -> tuple[LocationInfo, ...]:
    """The locations the study's stock has been in (locations are shared between studies)."""
    e = LedgerEntry
    used = set(session.scalars(select(e.to_location_id).where(e.study_id == look.study.id)))
    used |= set(session.scalars(select(e.from_location_id).where(e.study_id == look.study.id)))
    used |= set(
        session.scalars(select(Shipment.location_id).where(Shipment.study_id == look.study.id))
    )
    return tuple(
        LocationInfo(loc.name, loc.kind.value, loc.range_text, loc.active)
        for loc in sorted(look.locations.values(), key=lambda loc: loc.name)
        if loc.id in used
    )


def _record_name(look: Lookups, table: str, record_id: str) -> str:
    if table == "dispense_order":
        order = look.orders.get(int(record_id))
        if order is not None:
            return (
                f"Dispense order {order.id}, subject {look.subjects[order.subject_id].subject_code}"
                f", {look.blinder.required_text(order.visit)}"
            )
    if table == "subject_return":
        return f"Return {record_id}"
    if table == "hold_decision":
        return f"Sponsor's decision {record_id} on held stock"
    if table == "disposal":
        return f"Disposal record {record_id}"
    return f"{table} {record_id}"


def _signature_log(session: Session, look: Lookups) -> tuple[SignatureEntry, ...]:
    entries = []
    for (table, record_id), signatures in look.signatures.items():
        record = session.get(SIGNED_TABLES[table], int(record_id))
        for signature in signatures:
            if not look.period.holds(signature.signed_at):
                continue
            entries.append(
                SignatureEntry(
                    signed_at=signature.signed_at,
                    printed_name=signature.printed_name,
                    role=signature.role.label,
                    meaning=signature.meaning.value.capitalize(),
                    record=_record_name(look, table, record_id),
                    manifestation=manifestation(signature),
                    holds=record is not None and signature_holds(signature, record),
                )
            )
    return tuple(sorted(entries, key=lambda s: (s.signed_at, s.record)))


def _staff(session: Session, look: Lookups, log: Iterable[SignatureEntry]) -> tuple[StaffInfo, ...]:
    by_name: dict[str, list[SignatureEntry]] = defaultdict(list)
    for entry in log:
        by_name[entry.printed_name].append(entry)
    rows = session.scalars(
        select(StudyStaff).where(StudyStaff.study_id == look.study.id).order_by(StudyStaff.id)
    )
    staff = []
    for member in rows:
        user = look.users[member.user_id]
        signed = by_name.get(user.full_name, [])
        staff.append(
            StaffInfo(
                printed_name=user.full_name,
                username=user.username,
                initials=initials(user.full_name),
                system_role=user.role.label,
                study_role=member.study_role,
                unblinded=member.unblinded,
                active=member.active and user.active,
                signatures=len(signed),
                sample_signature=signed[-1].manifestation if signed else None,
            )
        )
    return tuple(staff)


def _shipments(session: Session, look: Lookups) -> tuple[ShipmentInfo, ...]:
    shipments = session.scalars(
        select(Shipment)
        .where(Shipment.study_id == look.study.id)
        .order_by(Shipment.received_on, Shipment.id)
    )
    found = []
    for shipment in shipments:
        if not look.period.holds_day(shipment.received_on):
            continue
        reconciliation = shipment_reconciliation(session, shipment)
        has_list = (
            session.scalar(
                select(PackingListLine.id)
                .where(PackingListLine.shipment_id == shipment.id)
                .limit(1)
            )
            is not None
        )
        found.append(
            ShipmentInfo(
                shipment_number=shipment.shipment_number,
                received_on=shipment.received_on,
                sender=shipment.sender,
                carrier=shipment.carrier,
                tracking_number=shipment.tracking_number,
                condition=shipment.condition.value,
                temperature_monitor=shipment.temperature_monitor.value,
                received_by=look.user_name(shipment.received_by_id),
                location=look.location_name(shipment.location_id),
                notes=look.blinder.text(shipment.notes),
                has_packing_list=has_list,
                matches=reconciliation.matches,
                lines=tuple(
                    ShipmentLineInfo(
                        product=look.products[line.product_id].description,
                        lot_number=line.lot_number,
                        kit_number=line.kit_number,
                        expected=line.expected,
                        received=line.received,
                        missing=line.missing,
                        extra=line.extra,
                        damaged=line.damaged,
                    )
                    for line in reconciliation.lines
                ),
            )
        )
    return tuple(found)


def ledger_conditions(study: Study, period: Period) -> list[Any]:
    """Ledger entries of the study up to the end of the period."""
    conditions: list[Any] = [LedgerEntry.study_id == study.id]
    if period.ends is not None:
        conditions.append(LedgerEntry.occurred_at < period.ends)
    return conditions


def _inventory(session: Session, look: Lookups, as_of: dt.date) -> tuple[InventoryRow, ...]:
    rows = []
    for row in balances(session, *ledger_conditions(look.study, look.period)):
        if row.state not in ON_SITE_STATES or row.location_id is None:
            continue
        lot = look.lots[row.lot_id]
        product = look.products[row.product_id]
        rows.append(
            InventoryRow(
                product=product.description,
                unit=product.unit,
                lot_number=lot.lot_number,
                expiry=lot.expiry,
                kit_number=look.kit_number(row.kit_id),
                arm=look.kit_arm(row.kit_id),
                location=look.location_name(row.location_id),
                state=row.state.value,
                quantity=row.quantity,
                expired=lot.expiry < as_of,
            )
        )
    return tuple(
        sorted(
            rows,
            key=lambda r: (r.product, r.lot_number, r.location, r.state, r.kit_number or ""),
        )
    )


def _dispensing(session: Session, look: Lookups) -> tuple[DispenseRow, ...]:
    late = {
        entry.dispense_order_id: late_entry_mark(entry, look)
        for entry in session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.study_id == look.study.id,
                LedgerEntry.kind == EntryKind.DISPENSE,
                LedgerEntry.late_reason.is_not(None),
            )
        )
    }
    rows = []
    for order in sorted(look.orders.values(), key=lambda o: (o.verified_at or o.ordered_at, o.id)):
        if order.state is not OrderState.DISPENSED or order.verified_at is None:
            continue
        if not look.period.holds(order.verified_at) or order.lot_id is None:
            continue
        product = look.products[order.product_id]
        subject = look.subjects[order.subject_id]
        prescriber = look.prescribers[order.prescriber_id]
        lot = look.lots[order.lot_id]
        units = order.quantity * (product.units_per_kit or 1)
        rows.append(
            DispenseRow(
                order_id=order.id,
                dispensed_at=order.verified_at,
                subject_code=subject.subject_code,
                initials=subject.initials,
                visit=look.blinder.required_text(order.visit),
                prescriber=prescriber.name
                + (f", {prescriber.credentials}" if prescriber.credentials else ""),
                product=product.description,
                kit_number=look.kit_number(order.kit_id),
                arm=look.kit_arm(order.kit_id),
                lot_number=lot.lot_number,
                expiry=lot.expiry,
                location=look.location_name(order.location_id),
                quantity=order.quantity,
                unit=product.unit,
                dose_units=units,
                dose_unit=product.dose_unit,
                prepared=look.signed(order, "dispense_order", order.id, SignatureMeaning.PREPARED),
                verified=look.signed(order, "dispense_order", order.id, SignatureMeaning.VERIFIED),
                late_entry=late.get(order.id),
            )
        )
    return tuple(rows)


def _closed_orders(look: Lookups) -> tuple[ClosedOrderRow, ...]:
    rows = []
    for order in sorted(look.orders.values(), key=lambda o: (o.ordered_at, o.id)):
        if order.state not in (OrderState.REJECTED, OrderState.CANCELLED):
            continue
        if not look.period.holds(order.closed_at or order.ordered_at):
            continue
        rows.append(
            ClosedOrderRow(
                order_id=order.id,
                ordered_at=order.ordered_at,
                subject_code=look.subjects[order.subject_id].subject_code,
                visit=look.blinder.required_text(order.visit),
                state=order.state.value,
                closed_by=look.user_name(order.closed_by_id),
                closed_at=order.closed_at,
                reason=look.blinder.text(order.closed_reason),
            )
        )
    return tuple(rows)


def _returns(session: Session, look: Lookups) -> tuple[ReturnRow, ...]:
    returns = session.scalars(
        select(SubjectReturn)
        .where(SubjectReturn.study_id == look.study.id)
        .order_by(SubjectReturn.returned_on, SubjectReturn.id)
    )
    rows = []
    for back in returns:
        if not look.period.holds_day(back.returned_on):
            continue
        order = look.orders[back.dispense_order_id]
        product = look.products[order.product_id]
        subject = look.subjects[order.subject_id]
        taken = compliance(session, back)
        verification = look.signed(back, "subject_return", back.id, SignatureMeaning.VERIFIED)
        rows.append(
            ReturnRow(
                return_id=back.id,
                order_id=order.id,
                subject_code=subject.subject_code,
                initials=subject.initials,
                visit=look.blinder.required_text(order.visit),
                kit_number=look.kit_number(order.kit_id),
                lot_number=look.lots[order.lot_id].lot_number if order.lot_id else "—",
                dispensed_on=(order.verified_at or order.ordered_at).astimezone().date(),
                returned_on=back.returned_on,
                quantity=back.quantity,
                unit=product.unit,
                units_counted=back.units_counted,
                units_dispensed=taken.units_dispensed,
                units_expected=float(taken.units_expected),
                units_taken=taken.units_taken,
                compliance_percent=taken.percent,
                dose_unit=product.dose_unit,
                condition=look.blinder.required_text(back.condition),
                counted_by=look.user_name(back.counted_by_id),
                location=look.location_name(back.location_id),
                monitor_verification=None if verification == NO_SIGNATURE else verification,
            )
        )
    return tuple(rows)


def _holds(session: Session, look: Lookups) -> tuple[HoldRow, ...]:
    holds = session.scalars(
        select(QuarantineHold)
        .where(QuarantineHold.study_id == look.study.id)
        .order_by(QuarantineHold.placed_at, QuarantineHold.id)
    )
    shipments = {
        s.id: s.shipment_number
        for s in session.scalars(select(Shipment).where(Shipment.study_id == look.study.id))
    }
    rows = []
    for hold in holds:
        decisions = list(
            session.scalars(
                select(HoldDecision)
                .where(HoldDecision.hold_id == hold.id)
                .order_by(HoldDecision.decided_at, HoldDecision.id)
            )
        )
        if not look.period.holds(hold.placed_at) and not any(
            look.period.holds(d.decided_at) for d in decisions
        ):
            continue
        entries = hold_entries(session, hold)
        rows.append(
            HoldRow(
                hold_id=hold.id,
                placed_at=hold.placed_at,
                reason=hold.reason.value,
                details=look.blinder.required_text(hold.details),
                placed_by=look.user_name(hold.placed_by_id),
                shipment_number=shipments.get(hold.shipment_id) if hold.shipment_id else None,
                held=tuple(
                    look.held(e.lot_id, e.kit_id, e.to_location_id, e.quantity)
                    for e in put_on_hold(entries)
                ),
                decisions=tuple(look.decision_row(d, entries) for d in decisions),
                still_held=tuple(
                    look.held(b.lot_id, b.kit_id, b.location_id, b.quantity)
                    for b in held_stock(session, hold)
                ),
            )
        )
    return tuple(rows)


def _disposals(session: Session, look: Lookups) -> tuple[DisposalRow, ...]:
    disposals = session.scalars(
        select(Disposal)
        .where(Disposal.study_id == look.study.id)
        .order_by(Disposal.performed_on, Disposal.id)
    )
    rows = []
    for disposal in disposals:
        if not look.period.holds_day(disposal.performed_on):
            continue
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.disposal_id == disposal.id)
            .order_by(LedgerEntry.id)
        )
        lines = []
        for entry in entries:
            lot = look.lots[entry.lot_id]
            product = look.products[entry.product_id]
            lines.append(
                DisposalLine(
                    product=product.description,
                    lot_number=lot.lot_number,
                    expiry=lot.expiry,
                    kit_number=look.kit_number(entry.kit_id),
                    from_state=entry.from_state.value if entry.from_state else "—",
                    from_location=look.location_name(entry.from_location_id),
                    quantity=entry.quantity,
                    unit=product.unit,
                )
            )
        rows.append(
            DisposalRow(
                disposal_number=disposal.disposal_number,
                kind=disposal.kind.value,
                performed_on=disposal.performed_on,
                method=look.blinder.required_text(disposal.method),
                sponsor_authorization=look.blinder.required_text(disposal.sponsor_authorization),
                performed_by=look.user_name(disposal.performed_by_id),
                witness=look.signed(disposal, "disposal", disposal.id, SignatureMeaning.WITNESSED),
                courier=disposal.courier,
                tracking_number=disposal.tracking_number,
                lines=tuple(lines),
            )
        )
    return tuple(rows)


def _counts(session: Session, look: Lookups) -> tuple[CountRow, ...]:
    counts = session.scalars(
        select(PhysicalCount)
        .where(PhysicalCount.study_id == look.study.id)
        .order_by(PhysicalCount.counted_at, PhysicalCount.id)
    )
    rows = []
    for count in counts:
        if not look.period.holds(count.counted_at):
            continue
        found = session.scalars(
            select(Discrepancy).where(Discrepancy.count_id == count.id).order_by(Discrepancy.id)
        )
        rows.append(
            CountRow(
                count_id=count.id,
                counted_at=count.counted_at,
                location=look.location_name(count.location_id),
                counted_by=look.user_name(count.counted_by_id),
                discrepancies=tuple(
                    DiscrepancyRow(
                        product=look.products[d.product_id].description,
                        lot_number=look.lots[d.lot_id].lot_number,
                        kit_number=look.kit_number(d.kit_id),
                        state=d.state.value,
                        ledger_quantity=d.ledger_quantity,
                        counted_quantity=d.counted_quantity,
                        difference=d.difference,
                        status=d.status.value,
                        resolution=look.blinder.text(d.resolution),
                        resolved_by=look.user_name(d.resolved_by_id) if d.resolved_by_id else None,
                        resolved_at=d.resolved_at,
                    )
                    for d in found
                ),
                late_entry=late_mark(count.counted_at, count.recorded_at, count.late_reason, look),
            )
        )
    return tuple(rows)


def entry_info(look: Lookups, entry: LedgerEntry) -> EntryInfo:
    product = look.products[entry.product_id]
    return EntryInfo(
        entry_id=entry.id,
        occurred_at=entry.occurred_at,
        kind=entry.kind.value,
        quantity=entry.quantity,
        product=product.description,
        lot_number=look.lots[entry.lot_id].lot_number,
        kit_number=look.kit_number(entry.kit_id),
        moved=f"{look.place(entry.from_state, entry.from_location_id)} → "
        f"{look.place(entry.to_state, entry.to_location_id)}",
        recorded_by=look.user_name(entry.user_id),
    )


def _corrections(session: Session, look: Lookups) -> tuple[CorrectionRow, ...]:
    reversals = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.study_id == look.study.id, LedgerEntry.reverses_id.is_not(None))
        .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
    )
    rows = []
    for reversal in reversals:
        if not look.period.holds(reversal.occurred_at) or reversal.reverses_id is None:
            continue
        original = session.get_one(LedgerEntry, reversal.reverses_id)
        rows.append(
            CorrectionRow(
                original=entry_info(look, original),
                reversal=entry_info(look, reversal),
                reason=look.blinder.text(reversal.reason) or "—",
            )
        )
    return tuple(rows)


def _queries(session: Session, look: Lookups, actor: User) -> tuple[QueryInfo, ...]:
    """The monitor's queries raised in the period, and any still open, with their text
    blinded as the edition requires (a person may type an arm's name)."""
    text = look.blinder.required_text
    return tuple(
        QueryInfo(
            query_id=query.id,
            state=query.state.value,
            record=text(query.record),
            problem=text(query.problem),
            request=text(query.request),
            raised_by=query.raised_by,
            raised_at=query.raised_at,
            steps=tuple(
                QueryStepInfo(
                    message.step.value,
                    text(message.text),
                    look.blinder.text(message.correcting_action),
                    message.by,
                    message.at,
                )
                for message in query.messages[1:]
            ),
        )
        for query in sorted(query_rows(session, actor, look.study.id), key=lambda q: q.id)
        if look.period.holds(query.raised_at) or query.state is not QueryState.CLOSED
    )


def gather_study_record(
    session: Session,
    actor: User,
    protocol_number: str,
    *,
    period: Period = WHOLE_RECORD,
    unblinded: bool = False,
    steps: Steps | None = None,
) -> StudyRecord:
    """Read a study's whole record for the period, in the edition the actor may see.

    Refuses an unknown study, a blinded user asking for the unblinded edition, and a
    period in which nothing was recorded.
    """
    steps = steps or Steps(GATHER_STEPS)
    study = report_study(session, actor, protocol_number, to="export study records")
    edition = choose_edition(session, actor, study, unblinded)
    as_of = period.last or today()
    look = Lookups.read(session, study, period, edition)
    steps.step()
    signatures = _signature_log(session, look)
    staff = _staff(session, look, signatures)
    steps.step()
    accountability = darf_records(session, look, ledger_conditions(study, period))
    steps.step()
    audit = audit_rows(session, study, period, look.blinder)
    steps.step()
    if not period.is_whole_record and not audit and not any(r.lines for r in accountability):
        raise EmptyPeriod(
            f"Nothing was recorded for {study.protocol_number} from "
            f"{period.label(as_of)}; choose a period when the study had activity."
        )
    shipments = _shipments(session, look)
    steps.step()
    inventory = _inventory(session, look, as_of)
    steps.step()
    dispensing, closed = _dispensing(session, look), _closed_orders(look)
    steps.step()
    returns = _returns(session, look)
    steps.step()
    holds = _holds(session, look)
    steps.step()
    disposals = _disposals(session, look)
    steps.step()
    temperature = gather_temperature(session, look)
    steps.step()
    counts = _counts(session, look)
    steps.step()
    corrections = _corrections(session, look)
    queries = _queries(session, look, actor)
    steps.step()
    return StudyRecord(
        study=_study_info(study),
        edition=edition,
        period_label=period.label(as_of),
        period_phrase=period.phrase(as_of),
        period_text=period.text(as_of),
        as_of=as_of,
        products=tuple(product_info(p) for p in study.products),
        arms=() if look.blinder.hides else tuple(ArmInfo(a.code, a.name) for a in study.arms),
        locations=_locations(session, look),
        prescribers=tuple(
            PrescriberInfo(p.name, p.credentials, p.authorized) for p in look.prescribers.values()
        ),
        staff=staff,
        signatures=signatures,
        accountability=accountability,
        shipments=shipments,
        inventory=inventory,
        dispensing=dispensing,
        closed_orders=closed,
        returns=returns,
        holds=holds,
        disposals=disposals,
        counts=counts,
        corrections=corrections,
        audit=audit,
        temperature=temperature,
        queries=queries,
    )
