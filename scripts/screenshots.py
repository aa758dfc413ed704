"""Render every screen to docs/screenshots/ (offscreen, from a fresh demo database).

Run from the repository root: ``.venv/bin/python scripts/screenshots.py``; with ``bench``,
only Dispensing at 1280x720 (and, under ``QT_SCALE_FACTOR=2``, at 200 %). Each screen is
shown as the person who uses it (technician, pharmacist, monitor), after a few actions
done through the services so the queues and alerts have something in them. The pictures
in the README and docs/user-guide.md then show what the code draws today.

``--fit`` renders My work, Inventory, Receiving and the audit trail at 1280x720 and again
at 200 % scale (``QT_SCALE_FACTOR=2`` on a 1920x1080 screen: a 960x540 window), to check
that nothing is clipped or out of reach on a small or magnified screen (``*-1280x720.png``,
``*-200pct.png``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The window geometry and settings of these windows stay out of the person's own data
# directory.
os.environ["IDS_DATA_DIR"] = os.path.join(
    tempfile.gettempdir(), "ids-accountability-screenshots", "data"
)

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import select

from ids_app.config import sqlite_url
from ids_app.db import Database, today
from ids_app.demo import DEMO_ADMIN, DEMO_USERS, build_demo
from ids_app.inventory.dispensing import Scanned, create_order, prepare_order
from ids_app.inventory.locations import find_location
from ids_app.inventory.models import DispenseOrder, HoldReason, Kit, Lot, Shipment, SubjectReturn
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.returns import record_return, verify_return
from ids_app.migrations.schema import prepare_database
from ids_app.monitoring import services as monitoring
from ids_app.monitoring.models import MonitorQuery, RecordKind, VisitMode
from ids_app.monitoring.records import record_rows
from ids_app.studies.import_presets import PresetMapping, save_import_preset
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import ImportKind, Prescriber, Study, Subject
from ids_app.studies.services import get_study
from ids_app.studies.tables import DateOrder, Table, TableRow
from ids_app.ui.app import APP_TITLE
from ids_app.ui.counts import CountsTab
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.dispensing import DispensingTab, VerifyHereDialog
from ids_app.ui.kit_list_dialog import KitListDialog
from ids_app.ui.main_window import MainWindow
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.reports_tab import ReportsTab
from ids_app.ui.returns import ReturnsTab
from ids_app.ui.settings import AppSettings
from ids_app.ui.settings_dialog import SettingsDialog
from ids_app.ui.setup_tab import SetupTab
from ids_app.ui.sign_in import FirstAdministratorDialog, SignInDialog
from ids_app.ui.signature import WitnessDialog
from ids_app.ui.style import apply_style
from ids_app.ui.temperature_tab import TemperatureTab
from ids_app.ui.transfers import TransfersTab
from ids_app.users import services
from ids_app.users.models import User
from ids_app.users.passwords import set_hashing_cost

OUTPUT = Path(
    os.environ.get("IDS_SCREENSHOTS_OUT")
    or Path(__file__).resolve().parent.parent / "docs" / "screenshots"
)
# A steady folder keeps the paths shown in the dialogs the same on every run.
FOLDER = Path(tempfile.gettempdir()) / "ids-accountability-screenshots"
WINDOW_SIZE = (1280, 800)
PASSWORDS = {person.username: person.password for person in (DEMO_ADMIN, *DEMO_USERS)}
GS = "\x1d"

# The demo database is thrown away afterwards; full-cost argon2 would only make it slower.
set_hashing_cost(time_cost=1, memory_cost_kib=8)


def settle() -> None:
    for _round in range(3):
        QApplication.processEvents()


def settle_until(done: Callable[[], bool], seconds: float = 120) -> None:
    """Let the GUI thread deliver what background jobs say until ``done``."""
    give_up = time.monotonic() + seconds
    while not done():
        if time.monotonic() > give_up:
            raise TimeoutError("a background job did not end in time")
        QApplication.processEvents()
        time.sleep(0.01)
    settle()


def save(widget: QWidget, name: str) -> Path:
    if not widget.isVisible():
        widget.show()
    settle()
    path = OUTPUT / name
    if not widget.grab().save(str(path)):
        raise SystemExit(f"Could not write {path}")
    print(f"wrote {path}")
    return path


def open_database(name: str) -> Database:
    db = Database(sqlite_url(FOLDER / name))
    prepare_database(db)
    return db


def sign_in(db: Database, username: str) -> User:
    with db.unit_of_work() as session:
        return services.sign_in(session, username, PASSWORDS[username])


def window_for(db: Database, username: str) -> MainWindow:
    window = MainWindow(db, sign_in(db, username), settings=AppSettings())
    window.resize(*WINDOW_SIZE)
    window.show()
    settle()
    return window


def type_scan(field: QWidget, text: str) -> None:
    """What a keyboard-wedge scanner types: characters (GS as 0x1D), then Enter."""
    for char in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                field, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char)
            )
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(
            field, QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
        )


def gs1(kit: str, lot: str, expiry: dt.date) -> str:
    return f"]d2010031234567890617{expiry:%y%m%d}10{lot}{GS}21{kit}"


# --- the scene: a few actions through the services ----------------------------------------


def new_order(db: Database, username: str, subject: str, visit: str, kit: str) -> int:
    user = sign_in(db, username)
    with db.unit_of_work() as session:
        study = get_study(session, "ABC-123")
        return create_order(
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
        ).id


def prepare(db: Database, username: str, order_id: int, kit: str) -> None:
    user = sign_in(db, username)
    with db.unit_of_work() as session:
        prepare_order(
            session,
            user,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORDS[username],
            item=Scanned(kit),
            location=find_location(session, "IDS Shelf A"),
        )


def bring_back(db: Database, kit: str, tablets: int, *, verify: bool) -> None:
    with db.read_session() as session:
        order_id = session.scalars(
            select(DispenseOrder.id)
            .join(Kit, Kit.id == DispenseOrder.kit_id)
            .where(Kit.kit_number == kit)
        ).one()
    tech = sign_in(db, "tech")
    with db.unit_of_work() as session:
        back = record_return(
            session,
            tech,
            session.get_one(DispenseOrder, order_id),
            returned_on=today(),
            quantity=1,
            units_counted=tablets,
            condition="bottle opened; tablets counted",
            location=find_location(session, "Returns"),
        )
        return_id = back.id
    if verify:
        monitor = sign_in(db, "monitor")
        with db.unit_of_work() as session:
            verify_return(
                session,
                monitor,
                session.get_one(SubjectReturn, return_id),
                password=PASSWORDS["monitor"],
            )


def hold_fridge(db: Database) -> None:
    tech = sign_in(db, "tech")
    with db.unit_of_work() as session:
        quarantine_stock(
            session,
            tech,
            get_study(session, "XYZ-789"),
            reason=HoldReason.EXCURSION,
            details="IDS Fridge 1 read 9.8 °C for 1 h 10 min (door left ajar)",
            location=find_location(session, "IDS Fridge 1"),
        )


def more_kits(db: Database, kits: list[str]) -> dt.date:
    with db.read_session() as session:
        expiry = session.scalars(select(Lot.expiry).where(Lot.lot_number == "L2301")).one()
    pharm = sign_in(db, "pharm")
    rows = [
        TableRow(
            index + 2,
            {
                "Kit Number": kit,
                "Lot Number": "L2301",
                "Expiry Date": expiry.isoformat(),
                "Treatment": "A" if index % 2 == 0 else "B",
            },
        )
        for index, kit in enumerate(kits)
    ]
    table = Table(["Kit Number", "Lot Number", "Expiry Date", "Treatment"], rows, 1, "kits.csv")
    with db.unit_of_work() as session:
        study = get_study(session, "ABC-123")
        import_kit_list(
            session,
            pharm,
            study,
            study.products[0],
            table,
            KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment"),
        )
    return expiry


# --- the pictures ------------------------------------------------------------------------------


def sample_kit_list(expiry: dt.date) -> Path:
    """A sponsor's kit list with two rows to fix, for the import dialog's picture."""
    path = FOLDER / "ABC-123-kit-list.csv"
    rows = [
        ("2001", "L2301", f"{expiry:%d-%b-%Y}", "A"),
        ("2002", "L2301", f"{expiry:%d-%b-%Y}", "B"),
        ("2003", "L2301", "31/02/2027", "A"),
        ("1012", "L2301", f"{expiry:%d-%b-%Y}", "B"),
        ("2005", "L2302", f"{expiry:%d-%b-%Y}", "A"),
    ]
    lines = ["Kit Number,Lot Number,Expiry Date,Treatment", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sponsor_preset_kit_list(db: Database, expiry: dt.date) -> Path:
    """Acme's depot layout saved as a preset, and its next export (title lines, US dates)
    that the preset maps by itself."""
    user = sign_in(db, "pharm")
    with db.unit_of_work() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == "ABC-123")).one()
        save_import_preset(
            session,
            user,
            study,
            ImportKind.KIT_LIST,
            "Acme depot kit report",
            PresetMapping(
                {"kit_number": "Pack", "lot_number": "Batch", "expiry": "Use by"},
                header_line=3,
                date_order=DateOrder.MONTH_FIRST,
            ),
        )
    path = FOLDER / "Acme depot kit report December.csv"
    rows = [f"{kit},L2301,{expiry:%m/%d/%Y}" for kit in range(2101, 2106)]
    lines = ["Acme depot kit report", "Printed 12/01/2026", "Pack,Batch,Use by", *rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def monitoring_visit(db: Database, study_id: int) -> None:
    """A monitor's open visit: dispenses reviewed, a note, a query the site answered and
    one still waiting for the site."""
    monitor, pharm = sign_in(db, "monitor"), sign_in(db, "pharm")
    with db.unit_of_work() as session:
        study = session.get_one(Study, study_id)
        visit = monitoring.open_visit(
            session,
            monitor,
            study,
            visit_on=today(),
            mode=VisitMode.ON_SITE,
            period_start=today() - dt.timedelta(days=180),
            period_end=today(),
        )
        monitoring.mark_period_reviewed(session, monitor, visit, (RecordKind.DISPENSE,))
        monitoring.add_visit_note(session, monitor, visit, "Returns shelf tidy; logger in place.")
        receipt, *_ = record_rows(session, study_id, (RecordKind.RECEIPT,))
        answered = monitoring.raise_query(
            session,
            monitor,
            study,
            kind=RecordKind.RECEIPT,
            record_id=receipt.record_id,
            problem="The courier's temperature log is not on file.",
            request="File the logger download.",
            visit=visit,
        )
        returned, *_ = record_rows(session, study_id, (RecordKind.RETURN,))
        monitoring.raise_query(
            session,
            monitor,
            study,
            kind=RecordKind.RETURN,
            record_id=returned.record_id,
            problem="The count sheet is not initialled.",
            request="Initial and date the count sheet.",
            visit=visit,
        )
    with db.unit_of_work() as session:
        monitoring.answer_query(
            session,
            pharm,
            session.get_one(MonitorQuery, answered.id),
            answer="Logger download filed.",
            correcting_action="Transit log attached to the receipt",
        )


def shell_screens() -> None:
    empty = open_database("ids.sqlite")
    save(FirstAdministratorDialog(empty), "first-administrator.png")
    empty.dispose()


def workflow_screens(demo: Database) -> None:
    save(SignInDialog(demo, username="pharm"), "sign-in.png")
    study = {"ABC-123": 0, "XYZ-789": 0}
    with demo.read_session() as session:
        for protocol in study:
            study[protocol] = get_study(session, protocol).id
    abc, xyz = study["ABC-123"], study["XYZ-789"]

    # Queues: an order prepared by the technician, one waiting to be prepared, a return
    # waiting for the monitor, a verified return ready to go, and a hold.
    prepared = new_order(demo, "tech", "01-004", "Visit 5", "1013")
    prepare(demo, "tech", prepared, "1013")
    pending = new_order(demo, "tech", "01-003", "Visit 5", "1014")
    bring_back(demo, "1012", 3, verify=False)
    bring_back(demo, "1009", 4, verify=True)
    hold_fridge(demo)
    expiry = more_kits(demo, ["1021", "1022", "1023", "1024"])

    pharm = window_for(demo, "pharm2")
    save(pharm, "my-work-pharmacist.png")
    pharm.open_study(abc, "overview")
    save(pharm, "overview.png")
    pharm.open_study(abc, "inventory")
    save(pharm, "inventory.png")
    pharm.open_study(abc, "study_audit")
    save(pharm, "study-audit-trail.png")
    pharm.open_study(abc, "dispensing", prepared)
    save(pharm, "dispensing-verify.png")
    tab = pharm.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    type_scan(tab.panel.scan.field, "1013")  # the pharmacist scans the kit in hand
    tab.panel.verify_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    dialog.password_field.setText("wrong-password")
    dialog.accept()
    save(dialog, "signature-dialog.png")
    dialog.reject()
    pharm.show_audit()
    save(pharm, "audit-trail.png")
    pharm.close()

    own = window_for(demo, "tech")
    own.open_study(abc, "dispensing", prepared)
    tech_tab = own.workspace.current_tab()
    assert isinstance(tech_tab, DispensingTab)
    save(own, "dispensing-technician.png")
    own.close()

    unblinded = window_for(demo, "pharm")
    second = new_order(demo, "pharm", "01-002", "Visit 5", "1015")
    prepare(demo, "pharm", second, "1015")
    unblinded.open_study(abc, "dispensing", second)
    save(unblinded, "dispensing-own-order.png")
    unblinded.open_study(xyz, "quarantine")
    save(unblinded, "quarantine.png")
    unblinded.open_study(abc, "setup")
    setup = unblinded.workspace.current_tab()
    assert isinstance(setup, SetupTab)
    save(unblinded, "setup.png")
    kit_list = setup.open_kit_list()
    assert isinstance(kit_list, KitListDialog)
    kit_list.load(sample_kit_list(expiry))
    settle_until(lambda: kit_list.job is None and kit_list.preview is not None)
    save(kit_list, "kit-list-import.png")
    kit_list.reject()
    kit_list = setup.open_kit_list()
    assert isinstance(kit_list, KitListDialog)
    kit_list.load(sponsor_preset_kit_list(demo, expiry))
    settle_until(lambda: kit_list.job is None and kit_list.preview is not None)
    save(kit_list, "kit-list-preset.png")
    kit_list.reject()
    setup.products_view.selectRow(0)
    correction = setup.correct_product()
    assert correction is not None
    save(correction, "correct-product.png")
    correction.reject()
    unblinded.close()

    tech = window_for(demo, "tech")
    tech.open_study(abc, "dispensing", pending)
    dispensing = tech.workspace.current_tab()
    assert isinstance(dispensing, DispensingTab)
    type_scan(dispensing.panel.scan.field, gs1("1014", "L2301", expiry))
    save(tech, "dispensing-scan.png")
    type_scan(dispensing.panel.scan.field, "ZB2401")
    save(tech, "dispensing-wrong-scan.png")

    tech.open_study(abc, "receiving")
    receiving = tech.workspace.current_tab()
    assert isinstance(receiving, ReceivingTab)
    packing = FOLDER / "ACME-SHP-0002 packing list.csv"
    packing.write_text(
        "Kit,Lot,Expiry\n" + "".join(f"{kit},L2301,{expiry}\n" for kit in range(1021, 1026)),
        encoding="utf-8",
    )
    packing_dialog = receiving.import_packing_list(packing)
    assert packing_dialog is not None
    save(packing_dialog, "packing-list.png")
    packing_dialog.accept()
    receiving.number.setText("ACME-SHP-0002")
    receiving.sender_field.setText("Acme Depot (Memphis)")
    receiving.carrier.setText("World Courier")
    receiving.tracking.setText("WC 7731 0107")
    receiving.location.setCurrentIndex(
        receiving.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith)
    )
    for kit in ("1021", "1022", "1023", "1024"):
        type_scan(receiving.scan.field, gs1(kit, "L2301", expiry))
    save(tech, "receiving.png")

    tech.open_study(abc, "returns")
    returns = tech.workspace.current_tab()
    assert isinstance(returns, ReturnsTab)
    type_scan(returns.scan.field, "1006")
    returns.units_counted.setValue(2)
    returns.condition.setText("bottle opened; 2 tablets")
    save(tech, "returns.png")

    tech.open_study(abc, "destruction")
    destruction = tech.workspace.current_tab()
    assert isinstance(destruction, DestructionTab)
    destruction.select_all()
    destruction.number.setText("DEST-ABC-0002")
    destruction.method.setText("Incineration (hazardous waste vendor)")
    destruction.authorization.setText("Acme letter 2026-ABC-31")
    save(tech, "destruction.png")
    destruction.dispose_button.click()
    witness = destruction.dialog
    assert isinstance(witness, WitnessDialog)
    witness.username_field.setText("pharm2")
    save(witness, "witness-dialog.png")
    witness.reject()

    tech.open_study(abc, "counts")
    counts = tech.workspace.current_tab()
    assert isinstance(counts, CountsTab)
    counts.location.setCurrentIndex(
        counts.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith)
    )
    counts.start_button.click()
    for line in counts.lines.rows[:-1]:
        type_scan(counts.scan.field, line.kit_number or "")
    save(tech, "counts.png")

    tech.open_study(xyz, "transfers")
    transfers = tech.workspace.current_tab()
    assert isinstance(transfers, TransfersTab)
    type_scan(transfers.scan.field, "ZB2401")
    transfers.quantity.setValue(6)
    save(tech, "transfers.png")

    tech.open_study(abc, "temperature")
    temperature = tech.workspace.current_tab()
    assert isinstance(temperature, TemperatureTab)
    temperature.choose_location("Infusion Center Satellite")
    temperature.period.setCurrentIndex(temperature.period.findData(90))
    if temperature.excursions.rowCount():
        temperature.excursions_view.selectRow(0)
    save(tech, "temperature.png")

    tech.lock("Locked after 10 minutes without use.")
    save(tech, "lock-screen.png")
    tech.lock_screen.password_field.setText(PASSWORDS["tech"])
    tech.lock_screen.unlock()
    tech.close()

    monitor = window_for(demo, "monitor")
    save(monitor, "my-work-monitor.png")
    monitor.open_study(abc, "returns")
    monitor_returns = monitor.workspace.current_tab()
    assert isinstance(monitor_returns, ReturnsTab)
    waiting = next(
        number
        for number, row in enumerate(monitor_returns.returns.rows)
        if row.monitor_verified is None
    )
    monitor_returns.returns_view.selectRow(waiting)
    save(monitor, "returns-monitor.png")
    monitor.open_study(abc, "dispensing", prepared)
    save(monitor, "monitor-dispensing.png")
    monitoring_visit(demo, abc)
    monitor.open_study(abc, "monitoring")
    save(monitor, "monitoring-visit.png")
    settings = SettingsDialog(demo, monitor.settings, parent=monitor)
    save(settings, "settings.png")
    settings.reject()
    monitor.close()

    # The downtime form: a morning's paper log, typed in afterwards as late entries.
    typing = window_for(demo, "tech")
    typing.open_study(abc)
    typing.trigger("work.downtime")
    downtime = typing.downtime_dialog
    downtime.reason.setText("downtime 06:00 to 09:30, from the paper log")
    morning = f"{dt.date.today():%Y-%m-%d}"
    for row, (subject, kit, clock) in enumerate(
        (("01-003", "1019", "07:40"), ("01-004", "1020", "08:05"))
    ):
        for column, text in enumerate(
            (subject, kit, "Visit 5", f"{morning} {clock}", "T. Tech (JT)", "P. Pharm (PP)")
        ):
            downtime.set_cell(row, column, text)
    downtime.rows.resizeColumnsToContents()
    save(downtime, "downtime.png")
    downtime.reject()
    typing.close()

    # A shipment's transit logger, mapped by hand before it is saved as the sponsor's preset.
    shipping = window_for(demo, "tech")
    shipping.open_study(xyz, "receiving")
    receiving = shipping.workspace.current_tab()
    assert isinstance(receiving, ReceivingTab)
    numbers = [row.number for row in receiving.history.rows]
    receiving.history_view.selectRow(numbers.index("ZB-0001"))
    transit = receiving.open_transit_log(shipper_log(demo, "ZB-0001"))
    assert transit is not None
    transit.time_column.setText("Logged at")
    transit.temperature_column.setText("Probe (°C)")
    transit.device.setText("TT-4-00172")
    transit.read()
    save(transit, "transit-log.png")
    transit.reject()
    shipping.close()

    # The README's main window: a pharmacist's My work.
    pharm_again = window_for(demo, "pharm2")
    save(pharm_again, "main-window.png")
    pharm_again.open_study(abc, "reports")
    reports = pharm_again.workspace.current_tab()
    assert isinstance(reports, ReportsTab)
    reports.ask_path = lambda _title, _suggested, _filter: str(FOLDER / "ABC-123-binder.pdf")
    reports.binder_button.click()
    settle_until(lambda: reports.job is None)
    save(pharm_again, "reports.png")
    pharm_again.close()


# The two screens --fit checks: a 1280x720 laptop, and 1920x1080 at 200 % (960x540 in
# the window's own units).
FIT_SIZES = {"1280x720": ((1280, 720), 1), "200pct": ((960, 540), 2)}


def fit_screens(demo: Database, size: tuple[int, int], suffix: str) -> None:
    """My work, Inventory, Receiving (lines scanned) and the audit trail at ``size``."""
    with demo.read_session() as session:
        abc = get_study(session, "ABC-123").id
    expiry = more_kits(demo, ["1021", "1022", "1023", "1024"])
    tech = window_for(demo, "tech")
    tech.resize(*size)
    save(tech, f"my-work-{suffix}.png")
    tech.open_study(abc, "inventory")
    save(tech, f"inventory-{suffix}.png")
    tech.open_study(abc, "receiving")
    receiving = tech.workspace.current_tab()
    assert isinstance(receiving, ReceivingTab)
    receiving.number.setText("ACME-SHP-0002")
    receiving.sender_field.setText("Acme Depot (Memphis)")
    receiving.carrier.setText("World Courier")
    for kit in ("1021", "1022", "1023", "1024"):
        type_scan(receiving.scan.field, gs1(kit, "L2301", expiry))
    save(tech, f"receiving-{suffix}.png")
    tech.open_study(abc, "destruction")
    save(tech, f"destruction-{suffix}.png")
    tech.close()
    pharm = window_for(demo, "pharm")
    pharm.resize(*size)
    pharm.trigger("view.audit")
    assert pharm.audit_page is not None
    pharm.audit_page.view.selectRow(0)
    save(pharm, f"audit-trail-{suffix}.png")
    pharm.close()


def bench_screens(demo: Database) -> None:
    """Dispensing at the bench on a small screen (--fit): 1280x720, or 200 % (where a
    1920x1080 display gives 960x540): a pending order scanned with a wrong kit, then a
    prepared order scanned for verification."""
    with demo.read_session() as session:
        abc = get_study(session, "ABC-123").id
    scale = float(os.environ.get("QT_SCALE_FACTOR", "1") or 1)
    size, name = ((1280, 720), "1280x720") if scale < 2 else ((960, 540), "200pct")
    pending = new_order(demo, "tech", "01-003", "Visit 5", "1014")
    prepared = new_order(demo, "tech", "01-004", "Visit 5", "1013")
    prepare(demo, "tech", prepared, "1013")
    tech = window_for(demo, "tech")
    tech.resize(*size)
    tech.open_study(abc, "dispensing", pending)
    tab = tech.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    type_scan(tab.panel.scan.field, "1015")
    save(tech, f"dispensing-prepare-{name}.png")
    tab.select_record(prepared)
    type_scan(tab.panel.scan.field, "1013")
    save(tech, f"dispensing-verify-{name}.png")
    tab.panel.verify_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    save(dialog, f"verify-here-dialog-{name}.png")
    dialog.username_field.setText("pharm2")
    dialog.password_field.setText("wrong-password")
    dialog.accept()
    save(dialog, f"verify-here-refused-{name}.png")
    dialog.reject()
    tech.close()


def shipper_log(demo: Database, number: str) -> Path:
    """A depot's shipper logger export for ``number``: device lines above its header, a
    reading an hour for the day before the shipment arrived."""
    with demo.read_session() as session:
        arrived = session.scalars(
            select(Shipment.received_on).where(Shipment.shipment_number == number)
        ).one()
    start = dt.datetime.combine(arrived - dt.timedelta(days=1), dt.time(6))
    lines = ["Device: ShipSafe TT-4", "Serial: TT-4-00172", "", "Logged at,Probe (°C)"]
    lines += [
        f"{start + dt.timedelta(hours=n):%Y-%m-%d %H:%M},{4.6 + (n % 5) / 10}" for n in range(12)
    ]
    path = FOLDER / f"{number}-shipper.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> int:
    fit = [name for name in FIT_SIZES if f"--fit={name}" in sys.argv or "--fit" in sys.argv]
    if fit and len(fit) > 1:
        # The scale is fixed when Qt starts: each scale is rendered by its own process.
        for name in fit:
            subprocess.run([sys.executable, __file__, f"--fit={name}"], check=True)
        return 0
    if fit:
        os.environ["QT_SCALE_FACTOR"] = str(FIT_SIZES[fit[0]][1])
    app = QApplication(sys.argv)
    app.setApplicationName(APP_TITLE)
    app.setOrganizationName(APP_TITLE)
    apply_style(app)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir()
    try:
        demo = open_database("demo.sqlite")
        build_demo(demo)
        if fit:
            size, _scale = FIT_SIZES[fit[0]]
            fit_screens(demo, size, fit[0])
            bench_screens(demo)
        else:
            shell_screens()
            workflow_screens(demo)
        demo.dispose()
    finally:
        shutil.rmtree(FOLDER, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
