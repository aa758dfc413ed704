"""The DOMAIN.md example with a receipt and a dispense on record, for the monitor's visit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ids_app.db import Database
from ids_app.inventory.ledger import reverse_entry
from ids_app.inventory.models import EntryKind, Kit, LedgerEntry, Shipment
from ids_app.monitoring.models import MonitoringVisit, VisitMode
from ids_app.monitoring.services import open_visit
from ids_app.studies.models import Study
from ids_app.users.models import Role, User
from ids_app.users.services import add_user, change_password, sign_in
from tests.factories import PASSWORD, TODAY, Example

PERIOD_START = TODAY - dt.timedelta(days=30)


def visit_of(db: Database, example: Example, monitor: User | None = None) -> MonitoringVisit:
    with db.unit_of_work() as session:
        return open_visit(
            session,
            monitor or example.people.monitor,
            session.get_one(Study, example.study.id),
            visit_on=TODAY,
            mode=VisitMode.ON_SITE,
            period_start=PERIOD_START,
            period_end=TODAY,
        )


def shipment_id(db: Database, number: str = "SHP-0001") -> int:
    with db.read_session() as session:
        return session.scalars(select(Shipment.id).where(Shipment.shipment_number == number)).one()


def reverse_receipt_of(db: Database, example: Example, kit_number: str) -> None:
    """A pharmacist corrects a receipt: the kit was never in the box."""
    with db.unit_of_work() as session:
        entry = session.scalars(
            select(LedgerEntry)
            .join(Kit, Kit.id == LedgerEntry.kit_id)
            .where(Kit.kit_number == kit_number, LedgerEntry.kind == EntryKind.RECEIVE)
        ).one()
        reverse_entry(session, example.people.pharm, entry.id, "kit not in the box", PASSWORD)


def other_monitor(db: Database, admin: User) -> User:
    """A monitor of another sponsor, assigned to no study of this one."""
    with db.unit_of_work() as session:
        add_user(session, admin, "monitor2", "Olive Other", Role.MONITOR, "temporary-1")
    with db.unit_of_work() as session:
        user = sign_in(session, "monitor2", "temporary-1")
        return change_password(session, user, "temporary-1", PASSWORD)
