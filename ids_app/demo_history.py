"""Months of demo activity, written through the real services on a simulated clock.

Two studies: the double-blind oral study of DOMAIN.md (ABC-123) and an open-label
injectable study (XYZ-789) with vials in a fridge and a satellite, a temperature
excursion, and destructions. Events are scheduled on days of the history and then run in
time order, one unit of work each, so the ledger and the audit trail read as if the
pharmacy had used the app all along.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import Database, simulated_clock
from ids_app.inventory.dispensing import Scanned, create_order, prepare_order, verify_order
from ids_app.inventory.disposal import DisposalItem, dispose
from ids_app.inventory.late_entries import EventTime
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    DispenseOrder,
    DisposalKind,
    HoldDecisionKind,
    Location,
    LocationKind,
    Lot,
    QuarantineHold,
    StockState,
    SubjectReturn,
    TemperatureMonitor,
)
from ids_app.inventory.quarantine import decide_hold
from ids_app.inventory.receiving import (
    ExpectedLine,
    ReceivedLine,
    ShipmentReceipt,
    receive_shipment,
)
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.transfers import transfer_stock
from ids_app.storage.excursions import decide_excursion
from ids_app.storage.models import Excursion, TemperatureUnit
from ids_app.storage.readings import (
    LoggerExport,
    LoggerMapping,
    import_logger_file,
    read_logger_file,
)
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import (
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
from ids_app.studies.tables import Table, TableRow
from ids_app.users.models import User
from ids_app.users.services import get_user

HISTORY_DAYS = 120
ORAL_KITS = [str(n) for n in range(1001, 1021)]
ORAL_SUBJECTS = (
    ("01-001", "AB", 5),
    ("01-002", "CD", 9),
    ("01-003", "EF", 16),
    ("01-004", "JD", 30),
)
# One visit dispensed during a system downtime and typed in afterwards from the paper log.
DOWNTIME_VISIT = ("01-002", 3)
DOWNTIME_DELAY = 180  # minutes after the dispense it is typed in
DOWNTIME_REASON = "system downtime 14:00 to 16:30, entered from the paper log"
INJECTABLE_SUBJECTS = (("101", "RK"), ("102", "LM"), ("103", "ST"))

Step = Callable[[Session], None]


@dataclass
class Demo:
    """The demo's people (with the passwords they sign with) and what was made so far."""

    passwords: dict[str, str]
    users: dict[str, User] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return self.users[name]

    def password(self, name: str) -> str:
        return self.passwords[name]


def history_start() -> dt.datetime:
    """Day 0 of the demo history, at 14:00 UTC, HISTORY_DAYS ago."""
    now = dt.datetime.now(dt.UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    return now - dt.timedelta(days=HISTORY_DAYS)


class Timeline:
    """Steps scheduled on days of the history, run in time order."""

    def __init__(self) -> None:
        self.start = history_start()
        self._steps: list[tuple[dt.datetime, int, Step]] = []

    def day(self, offset: int) -> dt.date:
        return (self.start + dt.timedelta(days=offset)).date()

    def on(self, offset: int, minute: int = 0) -> Callable[[Step], Step]:
        def schedule(step: Step) -> Step:
            at = self.start + dt.timedelta(days=offset, minutes=minute)
            self._steps.append((at, len(self._steps), step))
            return step

        return schedule

    def run(self, db: Database) -> None:
        for at, _order, step in sorted(self._steps, key=lambda item: (item[0], item[1])):
            with simulated_clock(at), db.unit_of_work() as session:
                step(session)


def _study(session: Session, protocol: str) -> Study:
    return session.scalars(select(Study).where(Study.protocol_number == protocol)).one()


def _product(session: Session, protocol: str) -> Product:
    return _study(session, protocol).products[0]


def _location(session: Session, name: str) -> Location:
    return session.scalars(select(Location).where(Location.name == name)).one()


def _lot(session: Session, protocol: str, number: str) -> Lot:
    product = _product(session, protocol)
    return session.scalars(
        select(Lot).where(Lot.product_id == product.id, Lot.lot_number == number)
    ).one()


def _subject(session: Session, protocol: str, code: str) -> Subject:
    study = _study(session, protocol)
    return session.scalars(
        select(Subject).where(Subject.study_id == study.id, Subject.subject_code == code)
    ).one()


def _locations(t: Timeline, demo: Demo) -> None:
    @t.on(0)
    def add(session: Session) -> None:
        pharm = demo.user("pharm")
        add_location(session, pharm, "IDS Shelf A", LocationKind.SHELF, 20, 25)
        add_location(session, pharm, "IDS Fridge 1", LocationKind.FRIDGE, 2, 8)
        add_location(session, pharm, "Infusion Center Satellite", LocationKind.SATELLITE, 2, 8)
        add_location(session, pharm, "Returns", LocationKind.RETURNS, 15, 30)
        add_location(session, pharm, "Quarantine", LocationKind.QUARANTINE, 2, 8)


def _dispense(
    t: Timeline,
    demo: Demo,
    day: int,
    protocol: str,
    subject: str,
    visit: str,
    location: str,
    *,
    kit: str | None = None,
    lot: str | None = None,
    downtime: bool = False,
) -> str:
    """Order, prepare (technician), verify (pharmacist): the two-person dispense, each
    scanning the kit label (or, for bulk stock, the lot's).

    A ``downtime`` dispense happened while the system was down: it is typed in from the
    paper log three hours later, with its true times and the downtime as the reason, so
    the binder shows a late entry.
    """
    key = f"order {protocol} {subject} {visit}"
    label = Scanned(kit or lot or "")
    typed_later = DOWNTIME_DELAY if downtime else 0

    def when(minute: int) -> EventTime | None:
        if not downtime:
            return None
        return EventTime(t.start + dt.timedelta(days=day, minutes=minute), DOWNTIME_REASON)

    @t.on(day, typed_later)
    def order(session: Session) -> None:
        demo.ids[key] = create_order(
            session,
            demo.user("tech"),
            _study(session, protocol),
            subject=_subject(session, protocol, subject),
            prescriber=session.scalars(
                select(Prescriber).where(Prescriber.study_id == _study(session, protocol).id)
            ).one(),
            product=_product(session, protocol),
            visit=visit,
            assigned_kit_number=kit,
            when=when(0),
        ).id

    @t.on(day, typed_later + 10)
    def prepare(session: Session) -> None:
        prepare_order(
            session,
            demo.user("tech"),
            session.get_one(DispenseOrder, demo.ids[key]),
            password=demo.password("tech"),
            item=label,
            location=_location(session, location),
            when=when(10),
        )

    @t.on(day, typed_later + 25)
    def verify(session: Session) -> None:
        verify_order(
            session,
            demo.user("pharm"),
            session.get_one(DispenseOrder, demo.ids[key]),
            password=demo.password("pharm"),
            item=label,
            when=when(25),
        )

    return key


def _kit_list(expiry: dt.date) -> Table:
    """What the sponsor's IWRS sends: kit numbers, lot, expiry and the blinded arm."""
    rows = [
        TableRow(
            line=index + 2,
            values={
                "Kit Number": number,
                "Lot Number": "L2301",
                "Expiry Date": expiry.isoformat(),
                "Treatment": "A" if index % 2 == 0 else "B",
            },
        )
        for index, number in enumerate(ORAL_KITS)
    ]
    return Table(
        headers=["Kit Number", "Lot Number", "Expiry Date", "Treatment"],
        rows=rows,
        header_line=1,
        source="IWRS kit list (demo)",
    )


def _oral_setup(t: Timeline, demo: Demo) -> None:
    """ABC-123, as in DOMAIN.md: 20 blinded kits of 30 tablets, one kit per 28 days."""
    expiry = t.day(0) + dt.timedelta(days=425)

    @t.on(1)
    def set_up(session: Session) -> None:
        tech, pharm = demo.user("tech"), demo.user("pharm")
        study = create_study(
            session,
            tech,
            protocol_number="ABC-123",
            title="A Phase 3, Randomized, Double-Blind, Placebo-Controlled Study of ABC "
            "in Adults with Chronic Cough",
            sponsor="Acme Pharma",
            principal_investigator="Dr. Priya Natarajan",
            blinding=Blinding.DOUBLE_BLIND,
            ind_number="IND 123456",
        )
        add_arm(session, tech, study, "A", "ABC 10 mg")
        add_arm(session, tech, study, "B", "Placebo")
        add_product(
            session,
            tech,
            study,
            agent_name="ABC",
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
        add_prescriber(session, tech, study, "Dr. Priya Natarajan", "MD")
        add_staff(
            session,
            demo.user("admin"),
            study,
            pharm,
            "Research pharmacist",
            unblinded=True,
            reason="the unblinded pharmacist keeps the kit list and its treatment arms",
        )
        add_staff(session, pharm, study, demo.user("pharm2"), "Research pharmacist")
        add_staff(session, pharm, study, tech, "IDS technician")
        add_staff(session, pharm, study, demo.user("monitor"), "Sponsor monitor (CRA)")

    @t.on(2)
    def kit_list_and_open(session: Session) -> None:
        pharm, study = demo.user("pharm"), _study(session, "ABC-123")
        mapping = KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment")
        import_kit_list(
            session, pharm, study, _product(session, "ABC-123"), _kit_list(expiry), mapping
        )
        change_study_status(session, pharm, study, StudyStatus.OPEN, "site activation visit")

    @t.on(3)
    def receive(session: Session) -> None:
        product = _product(session, "ABC-123")
        receive_shipment(
            session,
            demo.user("tech"),
            _study(session, "ABC-123"),
            ShipmentReceipt(
                shipment_number="ACME-SHP-0001",
                sender="Acme Depot (Memphis)",
                carrier="World Courier",
                tracking_number="WC 7731 0042",
                received_on=t.day(3),
                location_id=_location(session, "IDS Shelf A").id,
                lines=tuple(
                    ReceivedLine(product.id, "L2301", expiry, kit_number=k) for k in ORAL_KITS
                ),
                packing_list=tuple(
                    ExpectedLine(product.id, "L2301", expiry, kit_number=k) for k in ORAL_KITS
                ),
            ),
        )


def _oral_visits(t: Timeline, demo: Demo) -> None:
    """Four subjects get a kit every 28 days and bring the last one back at the next visit."""
    kits = iter(ORAL_KITS)
    for code, initials, first_day in ORAL_SUBJECTS:

        @t.on(first_day, -60)
        def enrol(session: Session, code: str = code, initials: str = initials) -> None:
            add_subject(
                session,
                demo.user("tech"),
                _study(session, "ABC-123"),
                code,
                initials,
                status=SubjectStatus.ENROLLED,
            )

        previous: str | None = None
        for visit in (2, 3, 4):
            day = first_day + 28 * (visit - 2)
            if day > HISTORY_DAYS - 25:
                break
            if previous is not None:
                _oral_return(t, demo, previous, day, tablets_left=1 + (visit + first_day) % 4)
            previous = _dispense(
                t,
                demo,
                day,
                "ABC-123",
                code,
                f"Visit {visit}",
                "IDS Shelf A",
                kit=next(kits),
                downtime=(code, visit) == DOWNTIME_VISIT,
            )


def _oral_return(t: Timeline, demo: Demo, order_key: str, day: int, tablets_left: int) -> None:
    @t.on(day, -30)
    def count_back(session: Session) -> None:
        record_return(
            session,
            demo.user("tech"),
            session.get_one(DispenseOrder, demo.ids[order_key]),
            returned_on=t.day(day),
            quantity=1,
            units_counted=tablets_left,
            condition="bottle opened; tablets counted",
            location=_location(session, "Returns"),
        )


def _monitor_visit(t: Timeline, demo: Demo) -> None:
    """The monitor verifies every return; verified kits are destroyed with a witness."""
    day = HISTORY_DAYS - 14

    @t.on(day)
    def verify_returns(session: Session) -> None:
        waiting = session.scalars(
            select(SubjectReturn).where(SubjectReturn.monitor_verified_at.is_(None))
        ).all()
        for subject_return in waiting:
            verify_return(
                session, demo.user("monitor"), subject_return, password=demo.password("monitor")
            )

    @t.on(day + 2)
    def destroy_returns(session: Session) -> None:
        returns = _location(session, "Returns")
        items = [
            DisposalItem(order.lot_id or 0, order.kit_id, returns.id, StockState.RETURNED, 1)
            for order in session.scalars(
                select(DispenseOrder).join(
                    SubjectReturn, SubjectReturn.dispense_order_id == DispenseOrder.id
                )
            )
        ]
        dispose(
            session,
            demo.user("tech"),
            _study(session, "ABC-123"),
            kind=DisposalKind.DESTROYED_ON_SITE,
            disposal_number="DEST-ABC-0001",
            method="Incineration through the hospital's hazardous waste vendor",
            sponsor_authorization="Acme letter 2026-ABC-17",
            performed_on=t.day(day + 2),
            items=items,
            performer_password=demo.password("tech"),
            witness_username="pharm2",
            witness_password=demo.password("pharm2"),
        )


def _injectable_setup(t: Timeline, demo: Demo) -> None:
    """XYZ-789: open-label vials in the fridge, stocked to an infusion-center satellite."""
    expiry = t.day(0) + dt.timedelta(days=300)

    @t.on(4)
    def set_up(session: Session) -> None:
        tech, pharm = demo.user("tech"), demo.user("pharm")
        study = create_study(
            session,
            tech,
            protocol_number="XYZ-789",
            title="An Open-Label Phase 2 Study of Zelumab in Relapsed Lymphoma",
            sponsor="Zenith Bio",
            principal_investigator="Dr. Marcus Hale",
            blinding=Blinding.OPEN_LABEL,
            ind_number="IND 987654",
        )
        add_product(
            session,
            tech,
            study,
            agent_name="Zelumab",
            strength="100 mg/10 mL",
            dosage_form="vial for infusion",
            unit="vial",
            role=ProductRole.ACTIVE,
            tracking=Tracking.BULK,
            storage_min_c=2,
            storage_max_c=8,
            dispense_quantity=2,
            days_supply=21,
            doses_per_day=2 / 21,
        )
        add_prescriber(session, tech, study, "Dr. Marcus Hale", "MD")
        add_staff(session, pharm, study, pharm, "Research pharmacist")
        add_staff(session, pharm, study, tech, "IDS technician")
        change_study_status(session, pharm, study, StudyStatus.OPEN, "site activated")
        for code, initials in INJECTABLE_SUBJECTS:
            add_subject(session, tech, study, code, initials, status=SubjectStatus.ENROLLED)

    @t.on(6)
    def receive(session: Session) -> None:
        product = _product(session, "XYZ-789")
        receive_shipment(
            session,
            demo.user("tech"),
            _study(session, "XYZ-789"),
            ShipmentReceipt(
                shipment_number="ZB-0001",
                sender="Zenith Bio depot (Leiden)",
                carrier="Marken",
                tracking_number="MKN-55120",
                received_on=t.day(6),
                location_id=_location(session, "IDS Fridge 1").id,
                lines=(ReceivedLine(product.id, "ZB2401", expiry, quantity=30),),
                packing_list=(ExpectedLine(product.id, "ZB2401", expiry, quantity=30),),
            ),
        )

    for restock_day in (7, 50):

        @t.on(restock_day)
        def restock(session: Session) -> None:
            transfer_stock(
                session,
                demo.user("tech"),
                lot=_lot(session, "XYZ-789", "ZB2401"),
                kit=None,
                from_location=_location(session, "IDS Fridge 1"),
                to_location=_location(session, "Infusion Center Satellite"),
                quantity=12,
            )

    for cycle in range(4):
        for offset, (code, _initials) in enumerate(INJECTABLE_SUBJECTS):
            day = 10 + offset + 21 * cycle
            _dispense(
                t,
                demo,
                day,
                "XYZ-789",
                code,
                f"Cycle {cycle + 1} Day 1",
                "Infusion Center Satellite",
                lot="ZB2401",
            )
    _excursions(t, demo, expiry)


def _excursions(t: Timeline, demo: Demo, expiry: dt.date) -> None:
    """A satellite fridge excursion found in its logger file (released by the sponsor),
    and a shipment too warm in transit (condemned and destroyed at a facility)."""

    _fridge_logs(t, demo)

    @t.on(66)
    def warm_shipment(session: Session) -> None:
        product = _product(session, "XYZ-789")
        demo.ids["warm shipment"] = receive_shipment(
            session,
            demo.user("tech"),
            _study(session, "XYZ-789"),
            ShipmentReceipt(
                shipment_number="ZB-0002",
                sender="Zenith Bio depot (Leiden)",
                carrier="Marken",
                tracking_number="MKN-58007",
                received_on=t.day(66),
                location_id=_location(session, "Quarantine").id,
                lines=(ReceivedLine(product.id, "ZB2402", expiry, quantity=10),),
                temperature_monitor=TemperatureMonitor.EXCURSION,
                notes="Logger alarm: 14 °C for 6 h in transit",
            ),
        ).id

    @t.on(70)
    def condemn(session: Session) -> None:
        hold = session.scalars(
            select(QuarantineHold).where(QuarantineHold.shipment_id == demo.ids["warm shipment"])
        ).one()
        decide_hold(
            session,
            demo.user("pharm"),
            hold,
            _lot(session, "XYZ-789", "ZB2402"),
            decision=HoldDecisionKind.CONDEMN,
            sponsor_reference="Zenith TE-2026-044: do not use; destroy",
            password=demo.password("pharm"),
        )

    @t.on(78)
    def destroy(session: Session) -> None:
        dispose(
            session,
            demo.user("tech"),
            _study(session, "XYZ-789"),
            kind=DisposalKind.DESTROYED_AT_FACILITY,
            disposal_number="DEST-XYZ-0001",
            method="Incineration at a licensed facility",
            sponsor_authorization="Zenith TE-2026-044",
            performed_on=t.day(78),
            items=[
                DisposalItem(
                    _lot(session, "XYZ-789", "ZB2402").id,
                    None,
                    _location(session, "Quarantine").id,
                    StockState.CONDEMNED,
                    10,
                )
            ],
            performer_password=demo.password("tech"),
            witness_username="pharm2",
            witness_password=demo.password("pharm2"),
        )


FRIDGES = ("IDS Fridge 1", "Infusion Center Satellite")
# The satellite's power cut: day 56 from 01:10 UTC, above 8 °C for 2 h 30 min.
POWER_CUT_DAY, POWER_CUT_START, POWER_CUT_READINGS = 56, 2 + 1, 6
LOG_MAPPING = LoggerMapping(
    "Time",
    "Temperature",
    unit=TemperatureUnit.CELSIUS,
    time_zone="UTC",
    layout="generic CSV (Time, Temperature)",
)


def _fridge_temperature(location: str, day: int, slot: int) -> float:
    """A fridge's half-hourly reading: about 4.6 °C with a daily swing and door openings."""
    phase = FRIDGES.index(location)  # two fridges, two slightly different days
    value = (
        4.6
        + phase * 0.4
        + 0.5 * math.sin(2 * math.pi * slot / 48 + phase)
        + 0.3 * math.sin(day * 1.7 + slot)
    )
    if slot in (18, 30) and (day + slot) % 3 == 0:  # the door open during rounds
        value += 1.9
    cut = slot - POWER_CUT_START
    if location == FRIDGES[1] and day == POWER_CUT_DAY and 0 <= cut < POWER_CUT_READINGS:
        value = (8.9, 10.2, 11.4, 11.1, 9.8, 8.4)[cut]
    return round(value, 1)


def _log_file(folder: Path, location: str, start: dt.datetime, days: range) -> Path:
    lines = ["Time,Temperature"]
    for day in days:
        for slot in range(48):
            at = start + dt.timedelta(days=day, minutes=30 * slot)
            lines.append(f"{at:%Y-%m-%d %H:%M:%S},{_fridge_temperature(location, day, slot)}")
    path = folder / f"{location.replace(' ', '-')}-days-{days.start}-{days.stop - 1}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _fridge_logs(t: Timeline, demo: Demo) -> None:
    """Each fridge's data logger is read out twice; the satellite's first file holds a power
    cut, which quarantines what was in that fridge until the sponsor rules."""
    start = t.start.replace(hour=0)
    with tempfile.TemporaryDirectory(prefix="ids-demo-logs-") as folder:
        exports = [
            (days, fridge, read_logger_file(_log_file(Path(folder), fridge, start, days)))
            for days in (range(0, POWER_CUT_DAY + 1), range(POWER_CUT_DAY + 1, HISTORY_DAYS - 7))
            for fridge in FRIDGES
        ]
    for days, fridge, export in exports:

        @t.on(days.stop, 9 * 60)
        def read_out(session: Session, export: LoggerExport = export, fridge: str = fridge) -> None:
            import_logger_file(
                session,
                demo.user("tech"),
                export,
                LOG_MAPPING,
                location=_location(session, fridge),
                device_id=f"EL-{fridge[:3].upper()}",
            )

    @t.on(POWER_CUT_DAY + 2)
    def release(session: Session) -> None:
        excursion = session.scalars(select(Excursion).order_by(Excursion.id)).first()
        if excursion is None:
            raise RuntimeError("the satellite's power cut opened no excursion")
        decide_excursion(
            session,
            demo.user("pharm"),
            excursion,
            _lot(session, "XYZ-789", "ZB2401"),
            decision=HoldDecisionKind.RELEASE,
            sponsor_reference="Zenith TE-2026-031: stability data support use",
            password=demo.password("pharm"),
        )


def build_history(db: Database, passwords: dict[str, str]) -> None:
    """Write both demo studies' history into a database that has the demo's people."""
    demo = Demo(passwords)
    with db.read_session() as session:
        demo.users = {name: get_user(session, name) for name in passwords}
    timeline = Timeline()
    _locations(timeline, demo)
    _oral_setup(timeline, demo)
    _oral_visits(timeline, demo)
    _injectable_setup(timeline, demo)
    _monitor_visit(timeline, demo)
    timeline.run(db)
