"""Separation of duties: every role against every service, exactly as the permission table says.

One database holds ABC-123 with something waiting at every step (an order to prepare, one to
verify, a return and a destruction for the monitor, a hold, a discrepancy, a receipt to
reverse). Each case runs one service as one person in its own unit of work and is then undone,
so every case meets the same record. A person the table allows must succeed; anyone else is
refused, and the refusal is kept in the audit trail as a security event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import REFUSED
from ids_app.db import Database, today
from ids_app.errors import PermissionDenied
from ids_app.inventory.counts import CountedLine, record_count, resolve_discrepancy
from ids_app.inventory.dispensing import (
    cancel_order,
    create_order,
    prepare_order,
    reject_order,
    verify_order,
)
from ids_app.inventory.disposal import DisposalItem, dispose, verify_disposal
from ids_app.inventory.kit_register import KitFilter, kit_register_page
from ids_app.inventory.ledger import reverse_entry
from ids_app.inventory.locations import add_location, retire_location
from ids_app.inventory.models import (
    Discrepancy,
    DispenseOrder,
    Disposal,
    DisposalKind,
    EntryKind,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    QuarantineHold,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import decide_hold, quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.transfers import transfer_stock, transfer_to_study
from ids_app.monitoring.models import MonitoringVisit, MonitorQuery, RecordKind, VisitMode
from ids_app.monitoring.services import (
    answer_query,
    authorize_destruction,
    close_visit,
    mark_period_reviewed,
    open_visit,
    raise_query,
    require_monitor_authorization,
)
from ids_app.reports.exports import record_export
from ids_app.reports.labels import LabelSettings, gather_label
from ids_app.storage.excursions import set_minimum_duration
from ids_app.storage.readings import record_daily_reading
from ids_app.studies.import_presets import (
    PresetMapping,
    archive_import_preset,
    save_import_preset,
)
from ids_app.studies.irb import record_irb_approval
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import (
    Arm,
    Blinding,
    ImportKind,
    Prescriber,
    Product,
    ProductRole,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
    Tracking,
)
from ids_app.studies.services import (
    add_arm,
    add_prescriber,
    add_product,
    add_staff,
    add_subject,
    change_study_status,
    create_study,
    set_subject_arm,
    set_subject_status,
    withdraw_prescriber,
)
from ids_app.studies.tables import read_table
from ids_app.users.models import Role, User
from ids_app.users.permissions import PERMISSIONS, Action, permission_table
from ids_app.users.services import (
    add_user,
    change_password,
    deactivate_user,
    reactivate_user,
    reset_password,
    sign_in,
    unlock_user,
)
from tests import databases
from tests.factories import (
    EXPIRY,
    PASSWORD,
    TODAY,
    Example,
    make_example,
    prepared_item,
    receive_kits,
    scan_of,
)


class Undo(Exception):
    """Raised at the end of an allowed case: its unit of work rolls back."""


@dataclass(frozen=True)
class World:
    db: Database
    example: Example
    folder: Path
    people: dict[str, User]
    ids: dict[str, int]


# Six people: the table's four roles, a pharmacist the administrator unblinded on ABC-123,
# and a monitor of another sponsor who is assigned to no study here.
PERSONAS = ("technician", "pharmacist", "unblinded", "monitor", "outsider", "administrator")
UNBLINDED = frozenset({"unblinded"})
ASSIGNED_TO_ABC = frozenset({"technician", "pharmacist", "unblinded", "monitor", "administrator"})


def _one(session: Session, model: type[object], **where: object) -> object:
    query = select(model).filter_by(**where)
    return session.scalars(query).first()


def _dispensed(db: Database, ex: Example, kit: str) -> int:
    with db.unit_of_work() as session:
        order = _order(session, ex, kit)
        prepare_order(
            session,
            ex.people.tech,
            order,
            password=PASSWORD,
            item=scan_of(kit),
            location=session.get_one(Location, ex.shelf.id),
        )
        verify_order(
            session, ex.people.pharm, order, password=PASSWORD, item=prepared_item(session, order)
        )
        return order.id


def _order(session: Session, ex: Example, kit: str) -> DispenseOrder:
    return create_order(
        session,
        ex.people.tech,
        session.get_one(Study, ex.study.id),
        subject=session.get_one(Subject, ex.subject.id),
        prescriber=session.get_one(Prescriber, ex.prescriber.id),
        product=session.get_one(Product, ex.product.id),
        visit="Visit 2",
        assigned_kit_number=kit,
    )


def _returned(db: Database, ex: Example, kit: str) -> int:
    order_id = _dispensed(db, ex, kit)
    with db.unit_of_work() as session:
        return record_return(
            session,
            ex.people.tech,
            session.get_one(DispenseOrder, order_id),
            returned_on=today(),
            quantity=1,
            units_counted=3,
            condition="bottle opened",
            location=session.get_one(Location, ex.returns.id),
        ).id


def _build(db: Database, folder: Path) -> World:
    ex = make_example(db)
    receive_kits(db, ex)
    ids: dict[str, int] = {}
    with db.unit_of_work() as session:
        ids["pending_order"] = _order(session, ex, "1003").id
    with db.unit_of_work() as session:
        order = _order(session, ex, "1004")
        prepare_order(
            session,
            ex.people.tech,
            order,
            password=PASSWORD,
            item=scan_of("1004"),
            location=session.get_one(Location, ex.shelf.id),
        )
        ids["prepared_order"] = order.id
    ids["dispensed_order"] = _dispensed(db, ex, "1007")
    ids["return"] = _returned(db, ex, "1008")
    verified = _returned(db, ex, "1009")
    with db.unit_of_work() as session:
        verify_return(
            session, ex.people.monitor, session.get_one(SubjectReturn, verified), password=PASSWORD
        )
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1009")).one()
        ids["disposal"] = dispose(
            session,
            ex.people.tech,
            session.get_one(Study, ex.study.id),
            kind=DisposalKind.DESTROYED_ON_SITE,
            disposal_number="D-001",
            method="incineration",
            sponsor_authorization="Acme letter 2026-11",
            performed_on=TODAY,
            items=[DisposalItem(kit.lot_id, kit.id, ex.returns.id, StockState.RETURNED, 1)],
            performer_password=PASSWORD,
            witness_username="pharm2",
            witness_password=PASSWORD,
        ).id
    with db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1010")).one()
        ids["hold"] = quarantine_stock(
            session,
            ex.people.tech,
            session.get_one(Study, ex.study.id),
            reason=HoldReason.DAMAGE,
            details="Cap cracked",
            kit=kit,
        ).id
    with db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1011")).one()
        condemned = quarantine_stock(
            session,
            ex.people.tech,
            session.get_one(Study, ex.study.id),
            reason=HoldReason.DAMAGE,
            details="Kit crushed",
            kit=kit,
        )
        decide_hold(
            session,
            ex.people.pharm,
            condemned,
            session.get_one(Lot, kit.lot_id),
            decision=HoldDecisionKind.CONDEMN,
            sponsor_reference="Acme e-mail 11",
            password=PASSWORD,
        )
        ids["kit_1011"] = kit.id
        ids["shelf_b"] = add_location(
            session, ex.people.pharm, "IDS Shelf B", LocationKind.SHELF, 20, 25
        ).id
    with db.unit_of_work() as session:
        shelf = session.get_one(Location, ex.shelf.id)
        record_count(session, ex.people.tech, session.get_one(Study, ex.study.id), shelf, [])
        ids["discrepancy"] = session.scalars(select(Discrepancy.id)).first() or 0
    with db.read_session() as session:
        ids["receipt"] = (
            session.scalars(
                select(LedgerEntry.id).where(LedgerEntry.kind == EntryKind.RECEIVE)
            ).first()
            or 0
        )
        ids["lot"] = session.scalars(select(Lot.id)).one()
        ids["kit_1020"] = session.scalars(select(Kit.id).where(Kit.kit_number == "1020")).one()
    with db.unit_of_work() as session:
        add_user(session, ex.people.admin, "cra2", "Casey Other", Role.MONITOR, "temporary-1")
        add_user(session, ex.people.admin, "locked", "Lee Locked", Role.TECHNICIAN, "temporary-1")
        add_user(session, ex.people.admin, "gone", "Gil Gone", Role.TECHNICIAN, "temporary-1")
    with db.unit_of_work() as session:
        outsider = change_password(
            session, sign_in(session, "cra2", "temporary-1"), "temporary-1", PASSWORD
        )
        ids["withdrawn_prescriber"] = add_prescriber(
            session, ex.people.pharm, session.get_one(Study, ex.study.id), "Dr. Second"
        ).id
    with db.unit_of_work() as session:
        deactivate_user(session, ex.people.admin, "gone", "left the pharmacy")
        session.get_one(User, _user_id(session, "locked")).locked = True
    with db.unit_of_work() as session:
        twin = create_study(
            session,
            ex.people.tech,
            protocol_number="ABC-124",
            title="The extension of ABC-123",
            sponsor="Acme Pharma",
            principal_investigator="Dr. Pat Investigator",
            blinding=Blinding.OPEN_LABEL,
        )
        ids["twin_study"] = twin.id
        ids["twin_product"] = add_product(
            session,
            ex.people.tech,
            twin,
            agent_name="ABC-123",
            strength="10 mg or placebo",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.ACTIVE,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            dose_unit="tablet",
            units_per_kit=30,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        ).id
    with db.unit_of_work() as session:
        study = session.get_one(Study, ex.study.id)
        monitor = session.get_one(User, ex.people.monitor.id)
        ids["visit"] = open_visit(
            session,
            monitor,
            study,
            visit_on=today(),
            mode=VisitMode.ON_SITE,
            period_start=today() - dt.timedelta(days=30),
            period_end=today(),
        ).id
        ids["query"] = raise_query(
            session,
            monitor,
            study,
            kind=RecordKind.DISPENSE,
            record_id=ids["dispensed_order"],
            problem="The label copy is missing",
            request="File the label copy",
        ).id
    with db.unit_of_work() as session:
        ids["preset"] = save_import_preset(
            session,
            ex.people.tech,
            session.get_one(Study, ex.study.id),
            ImportKind.KIT_LIST,
            "Acme IWRS",
            KIT_PRESET,
        ).id
    kit_list = folder / "kits.csv"
    kit_list.write_text("Kit Number,Lot Number,Expiry Date\n2001,L9901,2027-12-31\n")
    people = {
        "technician": ex.people.tech,
        "pharmacist": ex.people.pharm,
        "unblinded": ex.people.unblinded,
        "monitor": ex.people.monitor,
        "outsider": outsider,
        "administrator": ex.people.admin,
    }
    return World(db, ex, folder, people, ids)


KIT_PRESET = PresetMapping(
    {"kit_number": "Kit Number", "lot_number": "Lot Number", "expiry": "Expiry Date"}
)


def _user_id(session: Session, username: str) -> int:
    return session.scalars(select(User.id).where(User.username == username)).one()


@pytest.fixture(scope="module")
def world(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("duties")
    db, name = databases.fresh_database(migrated_template, folder)
    yield _build(db, folder)
    databases.discard(db, name)


Attempt = Callable[[Session, User, World], object]


def _study(session: Session, w: World) -> Study:
    return session.get_one(Study, w.example.study.id)


def _location(session: Session, w: World, location: Location) -> Location:
    return session.get_one(Location, location.id)


def _other(user: User, w: World) -> str:
    """Someone else for a second signature: the witness is never the one disposing."""
    return "pharm2" if user.username != "pharm2" else "pharm"


SERVICES: dict[str, tuple[Action, Attempt]] = {
    "add_user": (
        Action.ADD_USERS,
        lambda s, u, w: add_user(s, u, "newtech", "New Tech", Role.TECHNICIAN, "temporary-1"),
    ),
    "deactivate_user": (
        Action.DEACTIVATE_USERS,
        lambda s, u, w: deactivate_user(s, u, "locked", "left the pharmacy"),
    ),
    "reactivate_user": (
        Action.REACTIVATE_USERS,
        lambda s, u, w: reactivate_user(s, u, "gone", "came back"),
    ),
    "unlock_user": (Action.UNLOCK_ACCOUNTS, lambda s, u, w: unlock_user(s, u, "locked")),
    "reset_password": (
        Action.RESET_PASSWORDS,
        lambda s, u, w: reset_password(s, u, "locked", "temporary-2"),
    ),
    "create_study": (
        Action.SET_UP_STUDIES,
        lambda s, u, w: create_study(
            s,
            u,
            protocol_number="NEW-1",
            title="A new study",
            sponsor="Acme Pharma",
            principal_investigator="Dr. P",
            blinding=Blinding.OPEN_LABEL,
        ),
    ),
    "add_arm": (Action.SET_UP_STUDIES, lambda s, u, w: add_arm(s, u, _study(s, w), "C", "High")),
    "change_study_status": (
        Action.CHANGE_STUDY_STATUS,
        lambda s, u, w: change_study_status(s, u, _study(s, w), StudyStatus.ON_HOLD, "audit"),
    ),
    "record_irb_approval": (
        Action.CHANGE_STUDY_STATUS,
        lambda s, u, w: record_irb_approval(
            s,
            u,
            _study(s, w),
            approved_on=dt.date(2026, 1, 15),
            expires_on=dt.date(2027, 1, 14),
            protocol_version="Amendment 3",
            reason="annual continuing review",
        ),
    ),
    "add_staff": (
        Action.ASSIGN_STAFF,
        lambda s, u, w: add_staff(
            s, u, _study(s, w), s.get_one(User, _user_id(s, "cra2")), "Sponsor monitor"
        ),
    ),
    "grant_unblinded": (
        Action.GRANT_UNBLINDED,
        lambda s, u, w: add_staff(
            s,
            u,
            _study(s, w),
            w.example.people.pharm2,
            "Unblinded pharmacist",
            unblinded=True,
            reason="covers for the unblinded pharmacist",
        ),
    ),
    "add_prescriber": (
        Action.AUTHORIZE_PRESCRIBERS,
        lambda s, u, w: add_prescriber(s, u, _study(s, w), "Dr. New", "MD"),
    ),
    "withdraw_prescriber": (
        Action.WITHDRAW_PRESCRIBERS,
        lambda s, u, w: withdraw_prescriber(
            s, u, s.get_one(Prescriber, w.ids["withdrawn_prescriber"]), "left the site"
        ),
    ),
    "add_subject": (
        Action.REGISTER_SUBJECTS,
        lambda s, u, w: add_subject(s, u, _study(s, w), "01-099", "AB"),
    ),
    "set_subject_status": (
        Action.CHANGE_SUBJECT_STATUS,
        lambda s, u, w: set_subject_status(
            s, u, s.get_one(Subject, w.example.subject.id), SubjectStatus.COMPLETED, "finished"
        ),
    ),
    "set_subject_arm": (
        Action.RECORD_SUBJECT_ARM,
        lambda s, u, w: set_subject_arm(
            s,
            u,
            s.get_one(Subject, w.example.subject.id),
            s.get_one(Arm, w.example.placebo_arm.id),
        ),
    ),
    "import_kit_list": (
        Action.IMPORT_KIT_LISTS,
        lambda s, u, w: import_kit_list(
            s,
            u,
            _study(s, w),
            s.get_one(Product, w.example.product.id),
            read_table(w.folder / "kits.csv"),
            KitListMapping("Kit Number", "Lot Number", "Expiry Date"),
        ),
    ),
    "save_import_preset": (
        Action.SAVE_IMPORT_PRESETS,
        lambda s, u, w: save_import_preset(
            s, u, _study(s, w), ImportKind.KIT_LIST, "Acme IWRS v2", KIT_PRESET
        ),
    ),
    "archive_import_preset": (
        Action.ARCHIVE_IMPORT_PRESETS,
        lambda s, u, w: archive_import_preset(s, u, w.ids["preset"], "vendor changed"),
    ),
    "add_location": (
        Action.ADD_LOCATIONS,
        lambda s, u, w: add_location(s, u, "IDS Shelf C", LocationKind.SHELF, 20, 25),
    ),
    "retire_location": (
        Action.CORRECT_SETUP,
        lambda s, u, w: retire_location(
            s, u, s.get_one(Location, w.ids["shelf_b"]), "replaced by a new shelf"
        ),
    ),
    "set_minimum_duration": (
        Action.SET_EXCURSION_RULE,
        lambda s, u, w: set_minimum_duration(s, u, 30, reason="sponsor's rule"),
    ),
    "receive_shipment": (
        Action.RECEIVE,
        lambda s, u, w: receive_shipment(
            s,
            u,
            _study(s, w),
            ShipmentReceipt(
                "SHP-9",
                "Acme Depot",
                "World Courier",
                TODAY,
                w.example.shelf.id,
                (ReceivedLine(w.example.product.id, "L2301", EXPIRY, kit_number="3001"),),
            ),
        ),
    ),
    "create_order": (
        Action.ENTER_ORDERS,
        lambda s, u, w: create_order(
            s,
            u,
            _study(s, w),
            subject=s.get_one(Subject, w.example.subject.id),
            prescriber=s.get_one(Prescriber, w.example.prescriber.id),
            product=s.get_one(Product, w.example.product.id),
            visit="Visit 3",
            assigned_kit_number="1005",
        ),
    ),
    "prepare_order": (
        Action.PREPARE_DISPENSES,
        lambda s, u, w: prepare_order(
            s,
            u,
            s.get_one(DispenseOrder, w.ids["pending_order"]),
            password=PASSWORD,
            item=scan_of("1003"),
            location=_location(s, w, w.example.shelf),
        ),
    ),
    "cancel_order": (
        Action.CANCEL_ORDERS,
        lambda s, u, w: cancel_order(
            s, u, s.get_one(DispenseOrder, w.ids["pending_order"]), "visit moved"
        ),
    ),
    "verify_order": (
        Action.VERIFY_DISPENSES,
        lambda s, u, w: verify_order(
            s,
            u,
            s.get_one(DispenseOrder, w.ids["prepared_order"]),
            password=PASSWORD,
            item=prepared_item(s, s.get_one(DispenseOrder, w.ids["prepared_order"])),
        ),
    ),
    "reject_order": (
        Action.REJECT_DISPENSES,
        lambda s, u, w: reject_order(
            s, u, s.get_one(DispenseOrder, w.ids["prepared_order"]), "wrong kit"
        ),
    ),
    "record_return": (
        Action.RECORD_RETURNS,
        lambda s, u, w: record_return(
            s,
            u,
            s.get_one(DispenseOrder, w.ids["dispensed_order"]),
            returned_on=today(),
            quantity=1,
            units_counted=2,
            condition="opened",
            location=_location(s, w, w.example.returns),
        ),
    ),
    "verify_return": (
        Action.VERIFY_RETURNS,
        lambda s, u, w: verify_return(
            s, u, s.get_one(SubjectReturn, w.ids["return"]), password=PASSWORD
        ),
    ),
    "quarantine_stock": (
        Action.QUARANTINE,
        lambda s, u, w: quarantine_stock(
            s,
            u,
            _study(s, w),
            reason=HoldReason.DAMAGE,
            details="Label torn",
            kit=s.get_one(Kit, w.ids["kit_1020"]),
        ),
    ),
    "decide_hold": (
        Action.DECIDE_ON_HELD_STOCK,
        lambda s, u, w: decide_hold(
            s,
            u,
            s.get_one(QuarantineHold, w.ids["hold"]),
            s.get_one(Lot, w.ids["lot"]),
            decision=HoldDecisionKind.CONDEMN,
            sponsor_reference="Acme e-mail 12",
            password=PASSWORD,
        ),
    ),
    "transfer_to_study": (
        Action.TRANSFER_TO_STUDY,
        lambda s, u, w: transfer_to_study(
            s,
            u,
            source_study=_study(s, w),
            lot=s.get_one(Lot, w.ids["lot"]),
            kit=s.get_one(Kit, w.ids["kit_1020"]),
            location=_location(s, w, w.example.shelf),
            quantity=1,
            target_study=s.get_one(Study, w.ids["twin_study"]),
            target_product=s.get_one(Product, w.ids["twin_product"]),
            sponsor_approval_reference="Acme approval 7",
        ),
    ),
    "transfer_stock": (
        Action.MOVE_STOCK,
        lambda s, u, w: transfer_stock(
            s,
            u,
            lot=s.get_one(Lot, w.ids["lot"]),
            kit=s.get_one(Kit, w.ids["kit_1020"]),
            from_location=_location(s, w, w.example.shelf),
            to_location=s.get_one(Location, w.ids["shelf_b"]),
            quantity=1,
        ),
    ),
    "record_count": (
        Action.RECORD_COUNTS,
        lambda s, u, w: record_count(
            s,
            u,
            _study(s, w),
            _location(s, w, w.example.shelf),
            [CountedLine(w.ids["lot"], w.ids["kit_1020"], StockState.AVAILABLE, 1)],
        ),
    ),
    "resolve_discrepancy": (
        Action.RESOLVE_DISCREPANCIES,
        lambda s, u, w: resolve_discrepancy(
            s, u, s.get_one(Discrepancy, w.ids["discrepancy"]), "kit found broken", PASSWORD
        ),
    ),
    "reverse_entry": (
        Action.REVERSE_ENTRIES,
        lambda s, u, w: reverse_entry(s, u, w.ids["receipt"], "keyed twice", PASSWORD),
    ),
    "dispose": (
        Action.DESTROY,
        lambda s, u, w: dispose(
            s,
            u,
            _study(s, w),
            kind=DisposalKind.DESTROYED_ON_SITE,
            disposal_number="D-002",
            method="incineration",
            sponsor_authorization="Acme letter",
            performed_on=TODAY,
            items=[
                DisposalItem(
                    w.ids["lot"], w.ids["kit_1011"], w.example.shelf.id, StockState.CONDEMNED, 1
                )
            ],
            performer_password=PASSWORD,
            witness_username=_other(u, w),
            witness_password=PASSWORD,
        ),
    ),
    "verify_disposal": (
        Action.VERIFY_DESTRUCTIONS,
        lambda s, u, w: verify_disposal(
            s, u, s.get_one(Disposal, w.ids["disposal"]), password=PASSWORD
        ),
    ),
    "record_daily_reading": (
        Action.RECORD_TEMPERATURES,
        lambda s, u, w: record_daily_reading(
            s, u, _location(s, w, w.example.shelf), current=21.5, minimum=20.1, maximum=23.0
        ),
    ),
    "gather_label": (
        Action.PRINT_LABELS,
        lambda s, u, w: gather_label(
            s, u, w.ids["dispensed_order"], LabelSettings("IDS Pharmacy", "555-0100")
        ),
    ),
    "kit_register_page": (
        Action.SEE_KIT_REGISTER,
        lambda s, u, w: kit_register_page(s, u, w.example.study.id, KitFilter()),
    ),
    "close_visit": (
        Action.OPEN_VISITS,
        lambda s, u, w: close_visit(
            s, u, s.get_one(MonitoringVisit, w.ids["visit"]), password=PASSWORD
        ),
    ),
    "mark_period_reviewed": (
        Action.REVIEW_RECORDS,
        lambda s, u, w: mark_period_reviewed(s, u, s.get_one(MonitoringVisit, w.ids["visit"])),
    ),
    "raise_query": (
        Action.RAISE_QUERIES,
        lambda s, u, w: raise_query(
            s,
            u,
            _study(s, w),
            kind=RecordKind.RECEIPT,
            record_id=_one(s, LedgerEntry, id=w.ids["receipt"]).shipment_id,  # type: ignore[attr-defined]
            problem="The packing list is not signed",
            request="File the signed packing list",
        ),
    ),
    "answer_query": (
        Action.ANSWER_QUERIES,
        lambda s, u, w: answer_query(
            s, u, s.get_one(MonitorQuery, w.ids["query"]), answer="Filed in the binder"
        ),
    ),
    "authorize_destruction": (
        Action.AUTHORIZE_DESTRUCTION,
        lambda s, u, w: authorize_destruction(
            s, u, _study(s, w), reference="DA-1", password=PASSWORD, quantity=1
        ),
    ),
    "set_destruction_rule": (
        Action.SET_DESTRUCTION_RULE,
        lambda s, u, w: require_monitor_authorization(
            s, u, _study(s, w), required=True, reason="the sponsor's pharmacy manual"
        ),
    ),
    "record_export": (
        Action.EXPORT_RECORDS,
        lambda s, u, w: record_export(s, u, w.example.study.id, "binder (blinded)"),
    ),
}

# What the table's "Also" column adds to a role, for the people of this world.
NEEDS_UNBLINDED = frozenset({Action.RECORD_SUBJECT_ARM})
# A monitor only acts on a study they are assigned to; these act on ABC-123.
ON_THE_STUDY = frozenset(
    {
        Action.VERIFY_RETURNS,
        Action.VERIFY_DESTRUCTIONS,
        Action.RECORD_COUNTS,
        Action.SEE_KIT_REGISTER,
        Action.EXPORT_RECORDS,
        Action.OPEN_VISITS,
        Action.REVIEW_RECORDS,
        Action.RAISE_QUERIES,
        Action.AUTHORIZE_DESTRUCTION,
    }
)


def allowed(persona: str, role: Role, action: Action) -> bool:
    if role not in PERMISSIONS[action].roles:
        return False
    if action in NEEDS_UNBLINDED and persona not in UNBLINDED:
        return False
    return not (action in ON_THE_STUDY and persona not in ASSIGNED_TO_ABC)


def _refusals(db: Database) -> int:
    with db.read_session() as session:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == REFUSED)
        return session.scalar(query) or 0


def test_every_service_is_in_the_matrix() -> None:
    """Each action of the permission table is walked by at least one service below."""
    assert {action for action, _ in SERVICES.values()} >= set(PERMISSIONS) - {
        Action.ATTACH_TRANSIT_LOG,  # needs a logger file: tests/storage/test_transit.py
        Action.IMPORT_TEMPERATURE_LOGS,  # needs a logger file: tests/storage/test_logger_import.py
    }


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_role_succeeds_or_is_refused_as_the_table_says(
    world: World, persona: str, service: str
) -> None:
    action, attempt = SERVICES[service]
    user = world.people[persona]
    before = _refusals(world.db)
    if allowed(persona, user.role, action):
        with pytest.raises(Undo), world.db.unit_of_work() as session:
            attempt(session, user, world)
            raise Undo
        assert _refusals(world.db) == before
    else:
        with pytest.raises(PermissionDenied), world.db.unit_of_work() as session:
            attempt(session, user, world)
        assert _refusals(world.db) == before + 1


def test_the_readme_table_is_rendered_from_the_code() -> None:
    table = permission_table()
    assert table.splitlines()[0] == (
        "| Action | Technician | Pharmacist | Monitor | Administrator | Also |"
    )
    assert "| Receive shipments | ✓ | ✓ | — | — |" in table
    assert len(table.splitlines()) == 2 + len(PERMISSIONS)


def test_the_readme_shows_the_table_the_code_enforces() -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert permission_table() in readme.read_text(encoding="utf-8")
