"""Factories: the DOMAIN.md example study, built through the real services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ids_app.db import Database
from ids_app.inventory.dispensing import Scanned
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    DispenseOrder,
    Kit,
    Location,
    LocationKind,
    Lot,
    Shipment,
    TemperatureMonitor,
)
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.models import (
    Arm,
    Blinding,
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
)
from ids_app.users.models import Role, User
from ids_app.users.services import add_user, change_password, create_first_administrator, sign_in

PASSWORD = "user-pass-1"
TODAY = dt.date.today()
EXPIRY = TODAY + dt.timedelta(days=420)  # "expiring in 14 months"


@dataclass
class People:
    admin: User
    tech: User
    pharm: User
    pharm2: User
    monitor: User
    # The pharmacist unblinded on ABC-123 who records each subject's arm from the IWRS.
    unblinded: User


@dataclass
class Example:
    """Protocol ABC-123: double-blind, drug vs placebo, kits of 30 tablets per 28 days."""

    people: People
    study: Study
    drug_arm: Arm
    placebo_arm: Arm
    product: Product
    shelf: Location
    returns: Location
    quarantine: Location
    fridge: Location
    prescriber: Prescriber
    subject: Subject


def make_people(db: Database) -> People:
    with db.unit_of_work() as session:
        admin = create_first_administrator(session, "admin", "Alex Admin", PASSWORD)

    def person(username: str, full_name: str, role: Role) -> User:
        with db.unit_of_work() as session:
            add_user(session, admin, username, full_name, role, "temporary-1")
        with db.unit_of_work() as session:
            user = sign_in(session, username, "temporary-1")
            return change_password(session, user, "temporary-1", PASSWORD)

    return People(
        admin=admin,
        tech=person("tech", "Terry Tech", Role.TECHNICIAN),
        pharm=person("pharm", "Jane Roe", Role.PHARMACIST),
        pharm2=person("pharm2", "Sam Lee", Role.PHARMACIST),
        monitor=person("monitor", "Morgan Monitor", Role.MONITOR),
        unblinded=person("unblinded", "Ivy Reyes", Role.PHARMACIST),
    )


def make_example(db: Database) -> Example:
    people = make_people(db)
    with db.unit_of_work() as session:
        tech, pharm = people.tech, people.pharm
        study = create_study(
            session,
            tech,
            protocol_number="ABC-123",
            title="A double-blind study of ABC",
            sponsor="Acme Pharma",
            principal_investigator="Dr. Pat Investigator",
            blinding=Blinding.DOUBLE_BLIND,
            ind_number="IND 123456",
        )
        drug = add_arm(session, tech, study, "A", "ABC 10 mg")
        placebo = add_arm(session, tech, study, "B", "Placebo")
        product = add_product(
            session,
            tech,
            study,
            agent_name="ABC-123",
            strength="10 mg or placebo",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.BLINDED,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            dose_unit="tablet",
            units_per_kit=30,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )
        shelf = add_location(session, pharm, "IDS Shelf A", LocationKind.SHELF, 20, 25)
        returns = add_location(session, pharm, "Returns", LocationKind.RETURNS, 15, 30)
        quarantine = add_location(session, pharm, "Quarantine", LocationKind.QUARANTINE, 20, 25)
        fridge = add_location(session, pharm, "IDS Fridge 1", LocationKind.FRIDGE, 2, 8)
        prescriber = add_prescriber(session, tech, study, "Dr. Pat Investigator", "MD")
        add_staff(session, pharm, study, people.pharm, "Research pharmacist")
        add_staff(session, pharm, study, people.tech, "IDS technician")
        add_staff(session, pharm, study, people.monitor, "Sponsor monitor (CRA)")
        add_staff(
            session,
            people.admin,
            study,
            people.unblinded,
            "Unblinded pharmacist",
            unblinded=True,
            reason="keeps the IWRS arm of each subject",
        )
        subject = add_subject(
            session,
            people.unblinded,
            study,
            "01-004",
            "JD",
            status=SubjectStatus.ENROLLED,
            arm=drug,
        )
        change_study_status(session, pharm, study, StudyStatus.OPEN, "site activated")
    return Example(
        people,
        study,
        drug,
        placebo,
        product,
        shelf,
        returns,
        quarantine,
        fridge,
        prescriber,
        subject,
    )


def add_bulk_product(
    db: Database,
    example: Example,
    *,
    lot: str = "R100",
    quantity: int = 100,
    dispense_quantity: int = 30,
    doses_per_day: float = 1,
    expiry: dt.date = EXPIRY,
    temperature_monitor: TemperatureMonitor = TemperatureMonitor.IN_RANGE,
) -> Product:
    """An open-label rescue tablet counted in bulk, its lot received onto IDS Shelf A."""
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        product = add_product(
            session,
            example.people.pharm,
            study,
            agent_name="Rescue",
            strength="5 mg",
            dosage_form="tablet",
            unit="tablet",
            role=ProductRole.ACTIVE,
            tracking=Tracking.BULK,
            storage_min_c=15,
            storage_max_c=30,
            dispense_quantity=dispense_quantity,
            days_supply=30,
            doses_per_day=doses_per_day,
        )
        receipt = ShipmentReceipt(
            "SHP-B1",
            "Acme Depot",
            "World Courier",
            TODAY,
            example.shelf.id,
            (ReceivedLine(product.id, lot, expiry, quantity=quantity),),
            temperature_monitor=temperature_monitor,
        )
        receive_shipment(session, example.people.tech, study, receipt)
        return product


def kit_lines(
    example: Example, numbers: range, lot: str = "L2301", expiry: dt.date = EXPIRY
) -> tuple[ReceivedLine, ...]:
    return tuple(
        ReceivedLine(example.product.id, lot, expiry, kit_number=str(number)) for number in numbers
    )


def receive_kits(
    db: Database,
    example: Example,
    numbers: range = range(1001, 1021),
    *,
    shipment_number: str = "SHP-0001",
    lot: str = "L2301",
    expiry: dt.date = EXPIRY,
    **receipt_fields: object,
) -> Shipment:
    """The depot's 20 kits of lot L2301 into IDS Shelf A."""
    receipt = ShipmentReceipt(
        shipment_number=shipment_number,
        sender="Acme Depot",
        carrier="World Courier",
        received_on=TODAY,
        location_id=example.shelf.id,
        lines=kit_lines(example, numbers, lot, expiry),
        **receipt_fields,  # type: ignore[arg-type]
    )
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        return receive_shipment(session, example.people.tech, study, receipt)


def scan_of(kit: str | None, lot: str | None = None) -> Scanned:
    """The technician's scan of the item in hand: the kit label, or a bulk lot's label."""
    return Scanned(kit or lot or "")


def prepared_item(session: Session, order: DispenseOrder) -> Scanned:
    """The verifier's scan of the item that was prepared for ``order``."""
    if order.kit_id is not None:
        return Scanned(session.get_one(Kit, order.kit_id).kit_number)
    return Scanned(session.get_one(Lot, order.lot_id).lot_number)
