"""Study setup through the real widgets: status, subjects, the kit-list import, blinding,
monitor mode and a new study."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.db import today
from ids_app.inventory.dispensing import DispenseRefused
from ids_app.inventory.models import Kit
from ids_app.studies.models import Study, StudyStatus, Subject
from ids_app.ui.kit_list_dialog import KitListDialog
from ids_app.ui.main_window import MainWindow
from ids_app.ui.receiving import qdate
from ids_app.ui.setup_dialogs import (
    AddLocationDialog,
    AddProductDialog,
    AddStaffDialog,
    AddSubjectDialog,
    ChangeStatusDialog,
    IrbApprovalDialog,
    NewStudyDialog,
    RecordArmDialog,
    WithdrawPrescriberDialog,
)
from ids_app.ui.setup_tab import SetupTab
from ids_app.users.models import Role
from ids_app.users.services import add_user, get_user
from tests.ui.conftest import WindowOpener, visible_texts
from tests.ui.workflows import lot_expiry, new_order, study_id

pytestmark = pytest.mark.gui

# ABC-123's arms are "A — ABC 10 mg" and "B — Placebo" (see test_main_window.ARM_TEXT).
ARM_TEXT = re.compile(r"Placebo(?!-Controlled)|ABC 10 mg(?! or placebo)|\bArm\b|arm: [AB]\b")


def open_setup(window: MainWindow, protocol: str) -> SetupTab:
    assert window.open_study(study_id(window.db, protocol))
    window.trigger("view.setup")
    tab = window.workspace.current_tab()
    assert isinstance(tab, SetupTab)
    return tab


def kit_count(window: MainWindow) -> int:
    with window.db.read_session() as session:
        return session.scalar(select(func.count(Kit.id))) or 0


def write_kit_list(path: Path, rows: list[str]) -> Path:
    path.write_text("Kit Number,Lot Number,Expiry Date,Treatment\n" + "\n".join(rows) + "\n")
    return path


def load_kit_list(qtbot: QtBot, dialog: KitListDialog, path: Path) -> None:
    """Choose the file and wait for the worker to read and check it."""
    with qtbot.waitSignal(dialog.checked, timeout=30_000) as checked:
        dialog.load(path)
    assert checked.args == [True], dialog.error_text


def test_pharmacist_changes_study_status_with_reason(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    assert tab.fields["status"].text() == "Open"
    tab.status_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, ChangeStatusDialog)
    # Only the statuses an open study may take next are offered.
    assert [dialog.status.itemText(i) for i in range(dialog.status.count())] == [
        "on hold",
        "closed to accrual",
    ]
    # No reason: the service refuses and the dialog stays open with its words.
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert "reason for the status change is empty" in dialog.error_text
    qtbot.keyClicks(dialog.reason, "sponsor paused enrolment")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert tab.message.text() == "Study ABC-123 is now on hold."
    assert tab.fields["status"].text() == "On hold"
    with window.db.read_session() as session:
        assert session.scalars(
            select(Study.status).where(Study.protocol_number == "ABC-123")
        ).one() is (StudyStatus.ON_HOLD)


def test_pharmacist_records_the_irb_approval_and_a_lapsed_one_stops_dispensing(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    assert tab.fields["irb"].text() == "not recorded"
    tab.irb_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, IrbApprovalDialog)
    approved = today() - dt.timedelta(days=365)
    dialog.approved_on.setDate(qdate(approved))
    dialog.expires_on.setDate(qdate(today() - dt.timedelta(days=1)))
    qtbot.keyClicks(dialog.protocol_version, "Amendment 2")
    # No reason: the service refuses and the dialog stays open with its words.
    qtbot.keyClick(dialog.protocol_version, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert "The reason is empty" in dialog.error_text
    qtbot.keyClicks(dialog.reason, "letter of 2025 approval, entered late")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    stated = (
        f"approved {approved:%Y-%m-%d}, expires "
        f"{today() - dt.timedelta(days=1):%Y-%m-%d}, protocol version Amendment 2"
    )
    assert tab.message.text() == f"IRB approval of ABC-123 recorded: {stated}."
    assert tab.fields["irb"].text() == stated
    with pytest.raises(DispenseRefused, match="IRB approval of study ABC-123 expired"):
        new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5")


def test_a_technician_is_not_offered_to_record_the_irb_approval(
    open_window: WindowOpener,
) -> None:
    tab = open_setup(open_window("tech"), "ABC-123")
    assert not tab.irb_button.isVisible()


def test_technician_adds_subject(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = open_setup(window, "XYZ-789")
    assert not tab.status_button.isVisible()  # pharmacists and administrators change status
    before = len(tab.subjects.rows)
    tab.add_subject_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, AddSubjectDialog)
    assert dialog.focusWidget() is dialog.code
    qtbot.keyClicks(dialog.code, "02-099")
    qtbot.keyClick(dialog.code, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.initials
    qtbot.keyClicks(dialog.initials, "jqp")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.initials, Qt.Key.Key_Return)
    assert tab.message.text() == "Subject 02-099 registered (screening)."
    assert len(tab.subjects.rows) == before + 1
    added = next(row for row in tab.subjects.rows if row.code == "02-099")
    assert (added.initials, added.status) == ("JQP", "screening")

    # The same ID again: the service's refusal, in the dialog, with what was typed kept.
    tab.add_subject_button.click()
    again = tab.dialog
    assert isinstance(again, AddSubjectDialog)
    qtbot.keyClicks(again.code, "02-099")
    qtbot.keyClicks(again.initials, "XX")
    again.accept_button.click()
    assert again.error_text == "Subject 02-099 is already registered in XYZ-789."
    assert again.code.text() == "02-099"
    qtbot.keyClick(again, Qt.Key.Key_Escape)
    assert not again.isVisible()
    with window.db.read_session() as session:
        assert (
            session.scalar(select(func.count(Subject.id)).where(Subject.subject_code == "02-099"))
            == 1
        )


def test_kit_list_preview_shows_row_errors_and_imports_nothing_until_fixed(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    tab = open_setup(window, "ABC-123")
    before = kit_count(window)
    path = write_kit_list(
        tmp_path / "kits.csv",
        [
            f"2001,L2301,{expiry},A",
            "2002,L2301,not a date,B",
            f"1012,L2301,{expiry},A",  # already on record
            f"2003,L2301,{expiry},C",  # no such arm
        ],
    )
    tab.kit_list_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, KitListDialog)
    load_kit_list(qtbot, dialog, path)
    # The mapping is guessed from the header and shown for checking.
    assert [dialog.columns[k].currentText() for k in dialog.columns] == [
        "Kit Number",
        "Lot Number",
        "Expiry Date",
        "Treatment",
    ]
    assert [draft.kit_number for draft in dialog.kits.rows] == ["2001"]
    errors = [dialog.errors.item(i).text() for i in range(dialog.errors.count())]
    assert [error.split(":")[0] for error in errors] == ["Line 3", "Line 4", "Line 5"]
    assert "Kit 1012 is already on record in ABC-123." in errors[1]
    assert dialog.errors.isVisible()
    assert not dialog.accept_button.isEnabled()
    assert "3 rows to fix" in dialog.summary.text()
    with qtbot.waitSignal(dialog.import_finished) as finished:
        dialog.accept()  # even pressed anyway, the service refuses the whole list
    assert finished.args == [False]
    assert "no kit was imported" in dialog.error_text
    assert dialog.isVisible()
    assert kit_count(window) == before

    write_kit_list(
        path,
        [
            f"2001,L2301,{expiry},A",
            f"2002,L2301,{expiry},B",
            f"2003,L2301,{expiry},B",
        ],
    )
    load_kit_list(qtbot, dialog, path)
    assert dialog.errors.count() == 0
    assert not dialog.errors.isVisible()
    assert dialog.accept_button.isEnabled()
    assert dialog.accept_button.text() == "Import 3 kits"
    with qtbot.waitSignal(dialog.imported):
        dialog.accept_button.click()
    assert tab.message.text() == "3 kits of ABC-123 imported from kits.csv."
    assert kit_count(window) == before + 3


def test_blinded_user_sees_no_arm_in_setup(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    # Control: the unblinded pharmacist sees the arms, so the search below can fail.
    unblinded = open_window("pharm")
    ptab = open_setup(unblinded, "ABC-123")
    assert ptab.arms_box.isVisible()
    assert ptab.record_arm_button.isVisible()
    assert any(ARM_TEXT.search(text) for text in visible_texts(unblinded))
    unblinded.close()

    window = open_window("tech")  # on ABC-123's staff, blinded
    tab = open_setup(window, "ABC-123")
    assert not tab.arms_box.isVisible()
    assert not tab.add_arm_button.isVisible()
    assert not tab.record_arm_button.isVisible()
    assert "Arm" not in [column.title for column in tab.subjects.columns]
    texts = visible_texts(window)

    # The kit list: no treatment column offered, none read, none named in an error.
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = write_kit_list(
        tmp_path / "kits.csv", [f"2101,L2301,{expiry},Placebo", f"2102,L2301,{expiry},Z"]
    )
    tab.kit_list_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, KitListDialog)
    load_kit_list(qtbot, dialog, path)
    assert not dialog.columns["arm"].isVisible()
    mapping = dialog.mapping()
    assert mapping is not None
    assert mapping.arm is None
    assert [c.title for c in dialog.kits.columns] == ["Line", "Kit", "Lot", "Expiry"]
    texts.extend(visible_texts(dialog))
    found = sorted({match.group(0) for text in texts for match in ARM_TEXT.finditer(text)})
    assert found == []
    assert all("arm" not in text.casefold().split() for text in texts)


def test_monitor_sees_setup_read_only(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("monitor")
    assert "study.new" not in window.actions_by_id
    tab = open_setup(window, "ABC-123")
    assert tab.fields["sponsor"].text() == "Acme Pharma"
    assert [row.name for row in tab.staff.rows]  # the records are shown
    buttons = [
        b.objectName() for b in tab.findChildren(QPushButton) if b.isVisible() and b.isEnabled()
    ]
    assert buttons == []
    assert "Study setup is read-only for monitors." in visible_texts(tab)


def test_new_study_opens_in_workspace(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    window.trigger("study.new")
    dialog = window.findChild(NewStudyDialog)
    assert isinstance(dialog, NewStudyDialog)
    assert dialog.isVisible()
    assert dialog.focusWidget() is dialog.protocol
    for field, text in (
        (dialog.protocol, "NEW-001"),
        (dialog.study_title, "A First-in-Human Study of NEWMAB"),
        (dialog.sponsor, "Nova Therapeutics"),
        (dialog.investigator, "Dr. Ana Ruiz"),
    ):
        qtbot.keyClicks(field, text)
        qtbot.keyClick(field, Qt.Key.Key_Tab)
    dialog.blinding.setCurrentIndex(dialog.blinding.findText("open-label"))
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.ind, Qt.Key.Key_Return)
    study = window.workspace.study
    assert study is not None
    assert study.protocol_number == "NEW-001"
    assert study.status is StudyStatus.PENDING
    tab = window.workspace.current_tab()
    assert isinstance(tab, SetupTab)
    assert window.pages.currentWidget() is window.workspace
    assert tab.title_label.text() == "NEW-001 — A First-in-Human Study of NEWMAB"
    assert "NEW-001" in [row.protocol_number for row in window.study_list.model.rows]


def test_pharmacist_adds_storage_location(qtbot: QtBot, open_window: WindowOpener) -> None:
    tech = open_window("tech")
    assert not open_setup(tech, "XYZ-789").location_button.isVisible()
    tech.close()

    window = open_window("pharm")
    tab = open_setup(window, "XYZ-789")
    tab.location_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, AddLocationDialog)
    shown = [dialog.existing.item(i).text() for i in range(dialog.existing.count())]
    assert any(text.startswith("IDS Fridge 1") for text in shown)
    qtbot.keyClicks(dialog.name, "IDS Fridge 1")  # taken: the service says so
    dialog.kind.setCurrentIndex(dialog.kind.findText("fridge"))
    dialog.low.setValue(2)
    dialog.high.setValue(8)
    qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    assert dialog.error_text == "A location named IDS Fridge 1 already exists."
    dialog.name.setText("IDS Fridge 2")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.name, Qt.Key.Key_Return)
    assert tab.message.text().startswith("Location IDS Fridge 2 added")


def test_unblinded_pharmacist_records_arm_adds_product_and_withdraws_prescriber(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    assert [(row.code, row.name) for row in tab.arms.rows] == [("A", "ABC 10 mg"), ("B", "Placebo")]

    tab.subjects_view.selectRow(0)
    tab.record_arm_button.click()
    arm_dialog = tab.dialog
    assert isinstance(arm_dialog, RecordArmDialog)
    arm_dialog.arm.setCurrentIndex(arm_dialog.arm.findText("B — Placebo"))
    with qtbot.waitSignal(arm_dialog.succeeded):
        qtbot.keyClick(arm_dialog.arm, Qt.Key.Key_Return)
    assert tab.subjects.rows[0].arm == "B — Placebo"

    tab.add_product_button.click()
    product = tab.dialog
    assert isinstance(product, AddProductDialog)
    for field, text in (
        (product.agent, "Rescue"),
        (product.strength, "5 mg"),
        (product.dosage_form, "capsule"),
        (product.unit, "bottle"),
    ):
        qtbot.keyClicks(field, text)
    product.tracking.setCurrentIndex(product.tracking.findText("bulk"))
    product.role.setCurrentIndex(product.role.findText("comparator"))
    product.storage_min.setValue(30)
    product.storage_max.setValue(15)
    product.accept_button.click()
    assert product.error_text == "The lowest storage temperature must be below the highest."
    product.storage_min.setValue(15)
    product.storage_max.setValue(25)
    with qtbot.waitSignal(product.succeeded):
        product.accept_button.click()
    assert [row.description for row in tab.products.rows][-1] == "Rescue 5 mg capsule"
    assert tab.products.rows[-1].storage == "15 to 25 °C"

    tab.prescribers_view.selectRow(0)
    tab.withdraw_button.click()
    withdraw = tab.dialog
    assert isinstance(withdraw, WithdrawPrescriberDialog)
    qtbot.keyClicks(withdraw.reason, "left the site")
    with qtbot.waitSignal(withdraw.succeeded):
        qtbot.keyClick(withdraw.reason, Qt.Key.Key_Return)
    assert tab.prescribers.rows[0].authorized is False


def test_only_an_administrator_is_offered_to_grant_unblinded_access(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    pharm = open_window("pharm")
    tab = open_setup(pharm, "ABC-123")
    tab.add_staff_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, AddStaffDialog)
    assert not dialog.form.isRowVisible(dialog.unblinded)
    dialog.reject()
    pharm.close()

    admin = open_window("admin")
    with admin.db.unit_of_work() as session:
        add_user(
            session, get_user(session, "admin"), "ivy", "Ivy Reyes", Role.PHARMACIST, "temporary-1"
        )
    tab = open_setup(admin, "ABC-123")
    tab.add_staff_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, AddStaffDialog)
    assert dialog.form.isRowVisible(dialog.unblinded)
    dialog.member.setCurrentIndex(dialog.member.findText("Ivy Reyes (Pharmacist)"))
    qtbot.keyClicks(dialog.study_role, "Unblinded pharmacist")
    dialog.unblinded.setChecked(True)
    dialog.accept_button.click()
    assert "reason for unblinded access" in dialog.error_text
    qtbot.keyClicks(dialog.reason, "covers the IWRS while Jane Roe is away")
    with qtbot.waitSignal(dialog.succeeded):
        dialog.accept_button.click()
    assert tab.message.text() == "Ivy Reyes is on the staff of ABC-123 (unblinded)."
