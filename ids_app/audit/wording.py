"""The audit trail in words: "Kit 1014 dispensed to 01-003 (order 26)", "Sam Lee signed in".

The trail stores rows (table, record id, field, old and new value); an inspector and a
pharmacist read events. Each entry is told as a sentence from the values the entry holds
*after* blinding redaction (audit.views.BlindingRedactor), with names looked up for the
ids it carries: people, kits, subjects, lots, locations. An arm is never looked up, so a
sentence can show no more than the raw row the reader may already see. The raw row stays
on demand beside it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import FAILED_SUFFIX, REFUSED
from ids_app.audit.views import AuditRow
from ids_app.inventory.models import DispenseOrder, Kit, Location, Lot, Shipment
from ids_app.studies.models import Subject
from ids_app.users.models import User
from ids_app.wording import local_time_with_zone

# What a table's record is called at the pharmacy.
RECORD_NAMES = {
    "app_user": "user",
    "arm": "study arm",
    "dispense_order": "order",
    "ledger_entry": "stock movement",
    "subject_return": "return",
    "quarantine_hold": "hold",
    "hold_decision": "hold decision",
    "packing_list_line": "packing-list line",
    "physical_count": "count",
    "study_staff": "study staff member",
    "temperature_reading": "temperature reading",
    "temperature_log_file": "temperature logger file",
    "excursion_hold": "excursion hold",
}

# Order states as a sentence ends: "Order 26 prepared".
ORDER_STATE_WORDS = {
    "prepared": "prepared",
    "dispensed": "verified and dispensed",
    "rejected": "rejected",
    "cancelled": "cancelled",
    "pending": "sent back to be prepared",
}

# Stock movements by kind: "Kit 1014 dispensed to 01-003 (order 26)".
MOVEMENT_WORDS = {
    "receive": "received",
    "transfer": "moved",
    "dispense": "dispensed",
    "return": "returned",
    "quarantine": "quarantined",
    "release": "released from quarantine",
    "condemn": "condemned",
    "destroy": "destroyed",
    "return to sponsor": "returned to the sponsor",
    "transfer out": "transferred to another study",
    "transfer in": "transferred in from another study",
    "adjust": "adjusted",
    "reversal": "reversed",
}


def record_name(table_name: str) -> str:
    return RECORD_NAMES.get(table_name, table_name.replace("_", " "))


def field_name(name: str) -> str:
    """``monitor_verified_by_id`` reads "monitor verified by"."""
    return name.removesuffix("_id").replace("_", " ")


def _moment(text: str) -> str | None:
    """A stored instant ("2026-08-11T14:10:00+00:00") in local time with its zone."""
    if len(text) < 19 or text[10] != "T":
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return local_time_with_zone(moment) if moment.tzinfo else None


# The field that names a record, where it has one: "Location IDS Shelf A added".
NAMING_FIELDS = (
    "protocol_number",
    "shipment_number",
    "disposal_number",
    "lot_number",
    "kit_number",
    "subject_code",
    "username",
    "name",
    "agent_name",
)


def _values(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        values = json.loads(text)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _ids(rows: Iterable[dict[str, Any]], key: str) -> set[int]:
    found = set()
    for values in rows:
        value = values.get(key)
        if isinstance(value, str | int) and str(value).isdigit():
            found.add(int(value))
    return found


def _pairs(session: Session, query: Select[int, str]) -> dict[int, str]:
    return {key: value for key, value in session.execute(query)}


@dataclass
class Names:
    """The names the sentences need, read once for a page of entries."""

    people: dict[str, str] = field(default_factory=dict)  # user name -> full name
    users: dict[int, str] = field(default_factory=dict)  # user id -> full name
    kits: dict[int, str] = field(default_factory=dict)
    lots: dict[int, str] = field(default_factory=dict)
    places: dict[int, str] = field(default_factory=dict)
    shipments: dict[int, str] = field(default_factory=dict)
    subjects: dict[int, str] = field(default_factory=dict)  # subject id -> code
    order_subjects: dict[int, str] = field(default_factory=dict)  # order id -> subject code

    @classmethod
    def read(cls, session: Session, rows: list[AuditRow]) -> Names:
        inserted = [_values(row.new_value) for row in rows if row.action == "insert"]
        names = cls()
        for user in session.scalars(select(User)):
            names.people[user.username] = user.full_name
            names.users[user.id] = user.full_name
        kit_ids = _ids(inserted, "kit_id") | {
            int(row.record_id)
            for row in rows
            if row.table_name == "kit" and row.record_id and row.record_id.isdigit()
        }
        if kit_ids:
            names.kits = _pairs(session, select(Kit.id, Kit.kit_number).where(Kit.id.in_(kit_ids)))
        lot_ids = _ids(inserted, "lot_id")
        if lot_ids:
            names.lots = _pairs(session, select(Lot.id, Lot.lot_number).where(Lot.id.in_(lot_ids)))
        names.places = _pairs(session, select(Location.id, Location.name))
        shipment_ids = _ids(inserted, "shipment_id")
        if shipment_ids:
            names.shipments = _pairs(
                session,
                select(Shipment.id, Shipment.shipment_number).where(Shipment.id.in_(shipment_ids)),
            )
        order_ids = _ids(inserted, "dispense_order_id") | {
            int(row.record_id)
            for row in rows
            if row.table_name == "dispense_order" and row.record_id and row.record_id.isdigit()
        }
        if order_ids:
            names.order_subjects = _pairs(
                session,
                select(DispenseOrder.id, Subject.subject_code)
                .join(Subject, Subject.id == DispenseOrder.subject_id)
                .where(DispenseOrder.id.in_(order_ids)),
            )
        subject_ids = _ids(inserted, "subject_id")
        if subject_ids:
            names.subjects = _pairs(
                session, select(Subject.id, Subject.subject_code).where(Subject.id.in_(subject_ids))
            )
        return names

    def subject_of_order(self, order: object) -> str | None:
        text = str(order)
        return self.order_subjects.get(int(text)) if text.isdigit() else None

    def person(self, username: str) -> str:
        return self.people.get(username, username)

    def value(self, name: str, value: object) -> str:
        """A field's value as a person reads it: ids become the names they stand for."""
        if value is None or value == "":
            return "nothing"
        text = str(value)
        if not text.isdigit():
            return _moment(text) or text
        number = int(text)
        lookups = {
            "kit_id": self.kits,
            "lot_id": self.lots,
            "location_id": self.places,
            "from_location_id": self.places,
            "to_location_id": self.places,
            "shipment_id": self.shipments,
            "subject_id": self.subjects,
        }
        if name.endswith("_by_id") or name == "user_id":
            return self.users.get(number, text)
        found = lookups.get(name, {}).get(number)
        return found if found is not None else text


def describe(session: Session, rows: list[AuditRow]) -> list[str]:
    """One sentence per entry, in the rows' order."""
    names = Names.read(session, rows)
    return [_sentence(row, names) for row in rows]


def told(session: Session, rows: list[AuditRow]) -> list[AuditRow]:
    """The rows with their sentences (``AuditRow.description``) filled in."""
    return [
        replace(row, description=text)
        for row, text in zip(rows, describe(session, rows), strict=True)
    ]


def _sentence(row: AuditRow, names: Names) -> str:
    who = names.person(row.username)
    thing = f"{record_name(row.table_name)} {row.record_id}" if row.record_id else ""
    if row.action == "sign_in":
        return f"{who} signed in"
    if row.action == "sign_out":
        return f"{who} signed out"
    if row.action.endswith(FAILED_SUFFIX):
        what = row.action.removesuffix(FAILED_SUFFIX).replace("_", " ")
        return f"Failed {what} for {row.username}"
    if row.action == REFUSED:
        return f"{who} was refused" + (f" ({row.new_value})" if row.new_value else "")
    if row.action == "export":
        return f"{who} exported {thing}".rstrip()
    if row.action == "insert":
        return _inserted(row, names, who)
    if row.action == "update":
        return _updated(row, names)
    return f"{who}: {row.action.replace('_', ' ')} {thing}".rstrip()


def _inserted(row: AuditRow, names: Names, who: str) -> str:
    values = _values(row.new_value)
    record = row.record_id or ""
    if row.table_name == "ledger_entry":
        return _movement(values, names) + _late(values)
    if row.table_name == "dispense_order":
        subject = names.subject_of_order(record)
        kit = values.get("assigned_kit_number")
        for_whom = f" for {subject}" if subject else ""
        visit = f", {values['visit']}" if values.get("visit") else ""
        return f"Order {record} entered{for_whom}{visit}" + (f", kit {kit}" if kit else "")
    if row.table_name == "signature":
        meaning = values.get("meaning", "signed")
        signer = values.get("printed_name") or who
        signed = f"{record_name(str(values.get('record_table', '')))} {values.get('record_id', '')}"
        return f"{signer} signed {signed.strip()} ({meaning})"
    if row.table_name == "kit":
        return f"Kit {values.get('kit_number', record)} added to the kit list"
    if row.table_name == "subject":
        return f"Subject {values.get('subject_code', record)} added"
    if row.table_name == "arm":
        return f"Study arm {record} added"  # its name is for the unblinded, in the raw row
    if row.table_name == "subject_return":
        order = values.get("dispense_order_id")
        subject = names.subject_of_order(order)
        counted = values.get("units_counted")
        return (
            f"Return {record} counted"
            + (f" from {subject}" if subject else "")
            + (f" (order {order})" if order else "")
            + (f": {counted} counted" if counted is not None else "")
        )
    if row.table_name == "app_user":
        return f"User {values.get('username', record)} created"
    if row.table_name == "physical_count":
        return f"Count {record} recorded" + _late(values, "counted_at")
    named = next((str(values[key]) for key in NAMING_FIELDS if values.get(key)), record)
    return f"{record_name(row.table_name).capitalize()} {named} added".replace("  ", " ")


def _late(values: dict[str, Any], happened: str = "occurred_at") -> str:
    """A late entry says so, with when it happened and why it is entered late: inspectors
    look for late entries (DOMAIN.md, "Late entries")."""
    reason = values.get("late_reason")
    if not reason:
        return ""
    occurred = str(values.get(happened, ""))
    return f", a late entry (happened {_moment(occurred) or occurred}): {reason}"


def _movement(values: dict[str, Any], names: Names) -> str:
    kind = str(values.get("kind", ""))
    verb = MOVEMENT_WORDS.get(kind, kind or "moved")
    kit = names.value("kit_id", values.get("kit_id")) if values.get("kit_id") else None
    lot = names.value("lot_id", values.get("lot_id"))
    quantity = values.get("quantity")
    what = f"Kit {kit}" if kit else f"{quantity} of lot {lot}"
    order = values.get("dispense_order_id")
    if kind == "dispense" and order:
        subject = names.subject_of_order(order)
        return f"{what} dispensed" + (f" to {subject}" if subject else "") + f" (order {order})"
    target = values.get("to_location_id")
    source = values.get("from_location_id")
    where = ""
    if target:
        where = f" at {names.value('to_location_id', target)}"
    elif source:
        where = f" from {names.value('from_location_id', source)}"
    state = values.get("to_state")
    into = f" into {state}" if kind == "receive" and state and state != "available" else ""
    shipment = values.get("shipment_id")
    on = f" (shipment {names.value('shipment_id', shipment)})" if shipment else ""
    return f"{what} {verb}{into}{where}{on}"


def _updated(row: AuditRow, names: Names) -> str:
    record = row.record_id or ""
    if row.table_name == "app_user" and record.isdigit():
        record = names.users.get(int(record), record)
    thing = f"{record_name(row.table_name).capitalize()} {record}".rstrip()
    name = row.field or ""
    if row.table_name == "dispense_order" and name == "state" and row.new_value:
        return f"{thing} {ORDER_STATE_WORDS.get(row.new_value, row.new_value)}"
    if row.table_name == "app_user" and name == "failed_sign_ins":
        return f"{thing}: failed sign-ins {row.old_value} → {row.new_value}"
    old = names.value(name, row.old_value)
    new = names.value(name, row.new_value)
    return f"{thing}: {field_name(name)} {old} → {new}"
