"""Records made through the services, to set a scene the screens then show."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.db import Database, today
from ids_app.inventory.dispensing import create_order, prepare_order
from ids_app.inventory.locations import find_location
from ids_app.inventory.models import DispenseOrder, Kit, Lot, SubjectReturn
from ids_app.inventory.returns import record_return, verify_return
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import Prescriber, Subject
from ids_app.studies.services import get_study
from ids_app.studies.tables import Table, TableRow
from tests.factories import scan_of
from tests.ui.conftest import PASSWORDS, sign_in

GS = "\x1d"


def study_id(db: Database, protocol: str) -> int:
    with db.read_session() as session:
        return get_study(session, protocol).id


def new_order(
    db: Database, username: str, protocol: str, subject: str, visit: str, kit: str | None = None
) -> int:
    user = sign_in(db, username)
    with db.unit_of_work() as session:
        study = get_study(session, protocol)
        order = create_order(
            session,
            user,
            study,
            subject=session.scalars(
                select(Subject).where(Subject.study_id == study.id, Subject.subject_code == subject)
            ).one(),
            prescriber=session.scalars(
                select(Prescriber).where(Prescriber.study_id == study.id)
            ).one(),
            product=study.products[0],
            visit=visit,
            assigned_kit_number=kit,
        )
        return order.id


def prepared_order(
    db: Database,
    username: str,
    protocol: str,
    subject: str,
    visit: str,
    *,
    kit: str | None = None,
    lot: str | None = None,
    location: str = "IDS Shelf A",
) -> int:
    """An order entered and prepared (signed) by ``username``."""
    order_id = new_order(db, username, protocol, subject, visit, kit)
    user = sign_in(db, username)
    with db.unit_of_work() as session:
        prepare_order(
            session,
            user,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORDS[username],
            item=scan_of(kit, lot),
            location=find_location(session, location),
        )
    return order_id


def order_state(db: Database, order_id: int) -> str:
    with db.read_session() as session:
        return session.get_one(DispenseOrder, order_id).state.value


def lot_expiry(db: Database, lot_number: str) -> dt.date:
    with db.read_session() as session:
        return session.scalars(select(Lot.expiry).where(Lot.lot_number == lot_number)).one()


def gtin14(body13: str) -> str:
    """A GTIN-14 with its GS1 check digit."""
    total = sum(
        int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body13))
    )
    return body13 + str((10 - total % 10) % 10)


def gs1_kit_scan(kit: str, lot: str, expiry: dt.date) -> str:
    """What a scanner types for a GS1 DataMatrix of a kit: ]d2, GTIN, expiry, lot, GS, serial."""
    return f"]d201{gtin14('0031234567890')}17{expiry:%y%m%d}10{lot}\x1d21{kit}"


def scanner_types(qtbot: QtBot, field: QWidget, text: str) -> None:
    """Type ``text`` the way a keyboard-wedge scanner does: fast key presses, GS as the
    control character 0x1D (Qt's test keyboard cannot type it), then Enter."""
    for part_number, part in enumerate(text.split(GS)):
        if part_number:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                event = QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, GS)
                QApplication.sendEvent(field, event)
        if part:
            qtbot.keyClicks(field, part)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def import_kits(db: Database, protocol: str, kits: list[str], lot: str) -> None:
    """The sponsor's kit list for more kits of ``lot`` (imported by the unblinded pharmacist)."""
    expiry = lot_expiry(db, lot)
    user = sign_in(db, "pharm")
    rows = [
        TableRow(
            line=index + 2,
            values={
                "Kit Number": number,
                "Lot Number": lot,
                "Expiry Date": expiry.isoformat(),
                "Treatment": "A" if index % 2 == 0 else "B",
            },
        )
        for index, number in enumerate(kits)
    ]
    table = Table(["Kit Number", "Lot Number", "Expiry Date", "Treatment"], rows, 1, "kits.csv")
    with db.unit_of_work() as session:
        study = get_study(session, protocol)
        import_kit_list(
            session,
            user,
            study,
            study.products[0],
            table,
            KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment"),
        )


def order_with_kit(db: Database, kit: str) -> int:
    with db.read_session() as session:
        return session.scalars(
            select(DispenseOrder.id)
            .join(Kit, Kit.id == DispenseOrder.kit_id)
            .where(Kit.kit_number == kit)
        ).one()


def returned_kit(db: Database, kit: str, *, verified: bool) -> int:
    """Kit ``kit`` brought back by its subject (counted by the technician), and verified by
    the monitor when ``verified``; the return's id."""
    order_id = order_with_kit(db, kit)
    tech = sign_in(db, "tech")
    with db.unit_of_work() as session:
        back = record_return(
            session,
            tech,
            session.get_one(DispenseOrder, order_id),
            returned_on=today(),
            quantity=1,
            units_counted=4,
            condition="bottle opened",
            location=find_location(session, "Returns"),
        )
        return_id = back.id
    if verified:
        monitor = sign_in(db, "monitor")
        with db.unit_of_work() as session:
            verify_return(
                session,
                monitor,
                session.get_one(SubjectReturn, return_id),
                password=PASSWORDS["monitor"],
            )
    return return_id
