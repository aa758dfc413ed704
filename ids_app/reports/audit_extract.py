"""The audit-trail extract of one study for a period (21 CFR 11.10(e)), blinded as needed.

The trail has no study column: an entry belongs to a study through the record it names.
Entries are shown as written, with their chain hash, except that a blinded edition hides
what would unblind: the arms themselves and every ``arm_id`` (which kits share an arm is
already half the code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import String, and_, cast, literal, or_, select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.inventory.models import (
    Discrepancy,
    DispenseOrder,
    Disposal,
    HoldDecision,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    PackingListLine,
    PhysicalCount,
    QuarantineHold,
    Shipment,
    SubjectReturn,
)
from ids_app.reports.blinding import Blinder
from ids_app.reports.period import Period
from ids_app.reports.records import AuditEntries, AuditRow
from ids_app.studies.blinding import ARM_HIDDEN
from ids_app.studies.models import Arm, Prescriber, Product, Study, StudyStaff, Subject
from ids_app.users.models import Signature, User

ARM_FIELD = "arm_id"
SIGNED_TABLES = ("dispense_order", "subject_return", "hold_decision", "disposal")


def _as_text(column: Any) -> Any:
    return cast(column, String)


def study_records(study_id: int) -> dict[str, Any]:
    """For each audited table, a query of the ids (as the trail writes them) of the study's
    records in it."""
    sid = study_id
    records: dict[str, Any] = {
        "study": select(literal(str(sid))),
        "arm": select(_as_text(Arm.id)).where(Arm.study_id == sid),
        "product": select(_as_text(Product.id)).where(Product.study_id == sid),
        "study_staff": select(_as_text(StudyStaff.id)).where(StudyStaff.study_id == sid),
        "prescriber": select(_as_text(Prescriber.id)).where(Prescriber.study_id == sid),
        "subject": select(_as_text(Subject.id)).where(Subject.study_id == sid),
        "lot": select(_as_text(Lot.id))
        .join(Product, Product.id == Lot.product_id)
        .where(Product.study_id == sid),
        "kit": select(_as_text(Kit.id)).where(Kit.study_id == sid),
        "shipment": select(_as_text(Shipment.id)).where(Shipment.study_id == sid),
        "packing_list_line": select(_as_text(PackingListLine.id))
        .join(Shipment, Shipment.id == PackingListLine.shipment_id)
        .where(Shipment.study_id == sid),
        "dispense_order": select(_as_text(DispenseOrder.id)).where(DispenseOrder.study_id == sid),
        "subject_return": select(_as_text(SubjectReturn.id)).where(SubjectReturn.study_id == sid),
        "quarantine_hold": select(_as_text(QuarantineHold.id)).where(
            QuarantineHold.study_id == sid
        ),
        "hold_decision": select(_as_text(HoldDecision.id))
        .join(QuarantineHold, QuarantineHold.id == HoldDecision.hold_id)
        .where(QuarantineHold.study_id == sid),
        "disposal": select(_as_text(Disposal.id)).where(Disposal.study_id == sid),
        "physical_count": select(_as_text(PhysicalCount.id)).where(PhysicalCount.study_id == sid),
        "discrepancy": select(_as_text(Discrepancy.id))
        .join(PhysicalCount, PhysicalCount.id == Discrepancy.count_id)
        .where(PhysicalCount.study_id == sid),
        "ledger_entry": select(_as_text(LedgerEntry.id)).where(LedgerEntry.study_id == sid),
    }
    records["signature"] = select(_as_text(Signature.id)).where(
        or_(
            *(
                and_(Signature.record_table == table, Signature.record_id.in_(records[table]))
                for table in SIGNED_TABLES
            )
        )
    )
    return records


# What a reference field's id stands for, as a reader knows it.
Names = dict[str, dict[str, str]]
USER_FIELD = re.compile(r"(^user_id$|_by_id$)")


def field_name(field: str) -> str:
    """ "verified_by_id" → "verified by", "occurred_at" → "occurred at": whole words an
    inspector reads (and a narrow column wraps between), not a database column."""
    return field.removesuffix("_id").replace("_", " ")


def reference_names(session: Session, study: Study) -> Names:
    """For each reference field, its ids as names: people, kit and lot numbers, places."""
    sid = study.id
    users = {str(u.id): u.full_name for u in session.scalars(select(User))}
    places = {str(loc.id): loc.name for loc in session.scalars(select(Location))}
    products = {str(p.id): p.description for p in study.products}
    names: Names = {
        "kit_id": {
            str(k.id): k.kit_number for k in session.scalars(select(Kit).where(Kit.study_id == sid))
        },
        "lot_id": {
            str(lot.id): lot.lot_number
            for lot in session.scalars(
                select(Lot)
                .join(Product, Product.id == Lot.product_id)
                .where(Product.study_id == sid)
            )
        },
        "location_id": places,
        "from_location_id": places,
        "to_location_id": places,
        "product_id": products,
        "subject_id": {
            str(s.id): s.subject_code
            for s in session.scalars(select(Subject).where(Subject.study_id == sid))
        },
        "prescriber_id": {
            str(p.id): p.name
            for p in session.scalars(select(Prescriber).where(Prescriber.study_id == sid))
        },
        "shipment_id": {
            str(s.id): s.shipment_number
            for s in session.scalars(select(Shipment).where(Shipment.study_id == sid))
        },
        "study_id": {str(sid): study.protocol_number},
    }
    return names | {"users": users}


def _named(names: Names, field: str, value: Any) -> Any:
    """A reference id as the name it stands for; any other value as written."""
    if value is None:
        return None
    table = names["users"] if USER_FIELD.search(field) else names.get(field)
    return table.get(str(value), value) if table is not None else value


def _readable(value: str | None, field: str | None, names: Names) -> str | None:
    """An inserted record's values (JSON in the trail) as "field: value; …", leaving out
    the fields that were empty, so the extract stays readable (the trail keeps them);
    reference ids as names."""
    if value is None:
        return None
    if not value.startswith("{"):
        return str(_named(names, field, value)) if field is not None else value
    try:
        fields = json.loads(value)
    except ValueError:
        return value
    if not isinstance(fields, dict):
        return value
    return "; ".join(
        f"{field_name(key)}: {_named(names, key, item)}"
        for key, item in fields.items()
        if item is not None
    )


def _mask_fields(value: str | None) -> str | None:
    """Hide ``arm_id`` inside an inserted record's JSON."""
    if value is None or not value.startswith("{"):
        return value
    try:
        fields = json.loads(value)
    except ValueError:
        return value
    if isinstance(fields, dict) and fields.get(ARM_FIELD) is not None:
        fields[ARM_FIELD] = ARM_HIDDEN
        return json.dumps(fields, ensure_ascii=False, sort_keys=True)
    return value


def _shown(
    entry: AuditEntry, blinder: Blinder, names: Names
) -> tuple[str | None, str | None, str | None]:
    """(old, new, reason) as this edition may show them."""
    old, new, reason = entry.old_value, entry.new_value, entry.reason
    if blinder.hides:
        if entry.table_name == "arm" or entry.field == ARM_FIELD:
            old = ARM_HIDDEN if old is not None else None
            new = ARM_HIDDEN if new is not None else None
        else:
            new = _mask_fields(new)
            old = _mask_fields(old)
        old, new = blinder.record_value(old), blinder.record_value(new)
        reason = blinder.text(reason)
    return _readable(old, entry.field, names), _readable(new, entry.field, names), reason


ENTRIES_A_BATCH = 5_000


class _Interned(dict[str, str]):
    """One string object for each distinct text, however many rows repeat it."""

    def __call__(self, text: str) -> str:
        return self.setdefault(text, text)


def audit_rows(session: Session, study: Study, period: Period, blinder: Blinder) -> AuditEntries:
    """The study's audit entries in the period, oldest first, as the edition may show them."""
    return AuditEntries(_shown_rows(session, study, period, blinder))


def _shown_rows(
    session: Session, study: Study, period: Period, blinder: Blinder
) -> Iterator[AuditRow]:
    belongs = or_(
        *(
            and_(AuditEntry.table_name == table, AuditEntry.record_id.in_(ids))
            for table, ids in study_records(study.id).items()
        )
    )
    query = select(AuditEntry).where(belongs)
    if period.starts is not None:
        query = query.where(AuditEntry.at >= period.starts)
    if period.ends is not None:
        query = query.where(AuditEntry.at < period.ends)
    names = reference_names(session, study)
    # A large study has hundreds of thousands of entries: read a batch at a time and hand
    # each row on to the extract's file, each name held once (the same few users, tables
    # and fields recur).
    same = _Interned()
    for entry in session.scalars(
        query.order_by(AuditEntry.id).execution_options(yield_per=ENTRIES_A_BATCH)
    ):
        old, new, reason = _shown(entry, blinder, names)
        yield AuditRow(
            entry_id=entry.id,
            at=entry.at,
            username=same(entry.username),
            action=same(entry.action),
            table_name=same(field_name(entry.table_name)),
            record_id=entry.record_id,
            field=None if entry.field is None else same(field_name(entry.field)),
            old_value=old,
            new_value=new,
            reason=reason,
            hash=entry.hash,
        )
