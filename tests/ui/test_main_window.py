"""The main window: study list, overview, My work, monitor mode, blinding, idle lock,
settings, geometry, keyboard-only work and unexpected errors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from ids_app.db import today
from ids_app.studies.irb import record_irb_approval
from ids_app.studies.models import StudyStatus
from ids_app.studies.services import get_study
from ids_app.ui.actions import ACTIONS, STUDY_TABS
from ids_app.ui.dispensing import DispensingTab, NewOrderDialog
from ids_app.ui.guard import UNEXPECTED_TITLE, log_path
from ids_app.ui.main_window import MainWindow
from ids_app.ui.overview import OverviewTab
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.settings import AppSettings
from ids_app.ui.settings_dialog import SettingsDialog
from ids_app.ui.signature import SignatureDialog
from tests.ui.conftest import WindowOpener, sign_in, visible_texts
from tests.ui.workflows import prepared_order, returned_kit, study_id

pytestmark = pytest.mark.gui

# The arms of ABC-123 are "A — ABC 10 mg" and "B — Placebo". The product is "ABC 10 mg or
# placebo tablet" and the title says "Placebo-Controlled", so the arms' names are looked
# for where they are not the product's or the title's words.
ARM_TEXT = re.compile(r"Placebo(?!-Controlled)|ABC 10 mg(?! or placebo)|\bArm\b|arm: [AB]\b")


def walk_study(window: MainWindow, protocol: str) -> list[str]:
    """Every text of every tab of a study, with each tab's first record opened."""
    assert window.open_study(study_id(window.db, protocol))
    texts: list[str] = []
    for key, _title in STUDY_TABS:
        window.trigger(f"view.{key}")
        tab = window.workspace.current_tab()
        assert tab is not None
        if isinstance(tab, DispensingTab) and tab.model.rowCount():
            tab.view.selectRow(0)
        texts.extend(visible_texts(window))
    return texts


def test_study_list_filters_by_status_sponsor_and_text(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    panel = window.study_list
    assert [row.protocol_number for row in panel.model.rows] == ["ABC-123", "XYZ-789"]
    window.trigger("view.find_study")
    assert window.focusWidget() is panel.text_filter
    qtbot.keyClicks(panel.text_filter, "lymphoma")
    qtbot.waitUntil(lambda: len(panel.model.rows) == 1, timeout=30_000)
    assert panel.model.rows[0].protocol_number == "XYZ-789"
    qtbot.keyClick(panel.text_filter, Qt.Key.Key_Return)  # opens the one found
    assert window.workspace.study is not None
    assert window.workspace.study.protocol_number == "XYZ-789"
    panel.text_filter.clear()
    qtbot.waitUntil(lambda: len(panel.model.rows) == 2, timeout=30_000)
    panel.sponsor_filter.setCurrentIndex(panel.sponsor_filter.findText("Acme Pharma"))
    assert [row.protocol_number for row in panel.model.rows] == ["ABC-123"]
    panel.status_filter.setCurrentIndex(panel.status_filter.findData(StudyStatus.CLOSED.value))
    assert panel.model.rows == []
    assert panel.count_label.text() == "0 studies"


def test_overview_warns_a_month_before_the_irb_approval_expires(open_window: WindowOpener) -> None:
    window = open_window("pharm")
    expires = today() + dt.timedelta(days=12)
    with window.db.unit_of_work() as session:
        record_irb_approval(
            session,
            sign_in(window.db, "pharm"),
            get_study(session, "ABC-123"),
            approved_on=expires - dt.timedelta(days=364),
            expires_on=expires,
            protocol_version="Amendment 2",
            reason="annual continuing review",
        )
    assert window.open_study(study_id(window.db, "ABC-123"), "overview")
    tab = window.workspace.current_tab()
    assert isinstance(tab, OverviewTab)
    assert tab.irb_label.text() == (
        f"approved {expires - dt.timedelta(days=364):%Y-%m-%d}, expires {expires:%Y-%m-%d}, "
        "protocol version Amendment 2"
    )
    assert tab.irb_alert.isVisible()
    assert tab.irb_alert.text().startswith("The IRB approval of study ABC-123")
    assert f"expires on {expires:%Y-%m-%d}, in 12 days" in tab.irb_alert.text()
    assert tab.irb_alert.property("status") == "expiring"


def test_overview_without_an_irb_approval_recorded_says_so_and_warns_of_nothing(
    open_window: WindowOpener,
) -> None:
    window = open_window("pharm")
    assert window.open_study(study_id(window.db, "ABC-123"), "overview")
    tab = window.workspace.current_tab()
    assert isinstance(tab, OverviewTab)
    assert tab.irb_label.text() == "not recorded"
    assert not tab.irb_alert.isVisible()


def test_overview_shows_stock_and_the_alerts(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("pharm")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    returned_kit(window.db, "1012", verified=False)
    assert window.open_study(study_id(window.db, "ABC-123"), "overview")
    tab = window.workspace.current_tab()
    assert isinstance(tab, OverviewTab)
    assert tab.title_label.text().startswith("ABC-123 — A Phase 3")
    assert tab.status_label.text() == "Open"
    assert [(r.lot_number, r.location, r.state.value, r.quantity) for r in tab.stock.rows] == [
        ("L2301", "IDS Shelf A", "available", 8),
        ("L2301", "Returns", "returned", 1),
    ]
    assert [row.id for row in tab.verifications.rows] == [order_id]
    assert tab.verify_box.title() == "Orders awaiting verification (1)"
    assert [row.picked for row in tab.monitor_returns.rows] == ["kit 1012"]
    assert tab.holds.rows == []
    assert tab.holds_box.none_label.isVisible()
    tab.verify_box.view.selectRow(0)
    tab.verify_box.view.activated.emit(tab.verifications.index(0, 0))
    dispensing = window.workspace.current_tab()
    assert isinstance(dispensing, DispensingTab)
    assert dispensing.panel.detail is not None
    assert dispensing.panel.detail.row.id == order_id


def test_monitor_sees_no_dispense_controls(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("monitor")
    returned_kit(window.db, "1012", verified=False)
    assert "work.new_order" not in window.actions_by_id
    texts = walk_study(window, "ABC-123")
    dispensing = window.workspace.tab("dispensing")
    assert isinstance(dispensing, DispensingTab)
    assert not dispensing.new_button.isVisible()
    dispensing.view.selectRow(0)
    panel = dispensing.panel
    for control in (panel.prepare_box, panel.verify_box, panel.cancel_button, panel.label_button):
        assert not control.isVisible()
    receiving = window.workspace.tab("receiving")
    assert isinstance(receiving, ReceivingTab)
    window.trigger("view.receiving")
    assert not receiving.receive_button.isVisible()
    assert not receiving.scan.isVisible()
    # Every action button the monitor can see verifies a return or a destruction.
    window.trigger("view.returns")
    returns = window.workspace.current_tab()
    assert returns is not None
    expected = {"destruction": ["verifyDisposalButton"]}
    for key in ("counts", "destruction", "transfers", "quarantine"):
        window.trigger(f"view.{key}")
        tab = window.workspace.current_tab()
        assert tab is not None
        buttons = [
            b.objectName()
            for b in tab.findChildren(QWidget)
            if b.isVisible() and b.objectName().endswith("Button")
        ]
        assert buttons == expected.get(key, []), (key, buttons)
    window.trigger("view.returns")
    assert returns.findChild(QWidget, "verifyReturnButton").isVisible()
    assert "Verify return and sign…" in texts


def test_blinded_user_never_sees_arm(qtbot: QtBot, open_window: WindowOpener) -> None:
    # Control: the unblinded pharmacist does see the arms, so the search below can fail.
    unblinded = open_window("pharm")
    assert any(ARM_TEXT.search(text) for text in walk_study(unblinded, "ABC-123"))
    unblinded.close()

    for name in ("pharm2", "tech", "monitor"):
        window = open_window(name)
        texts = walk_study(window, "ABC-123")
        window.trigger("view.audit")
        page = window.audit_page
        assert page is not None
        for table in ("arm", "kit", "subject"):
            page.table_filter.setCurrentIndex(page.table_filter.findData(table))
            page.view.selectRow(0)
            texts.extend(visible_texts(window))
        found = sorted({match.group(0) for text in texts for match in ARM_TEXT.finditer(text)})
        assert found == [], f"{name} saw {found}"
        window.close()


def test_idle_lock_keeps_the_form(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    assert window.idle.interval_ms == 10 * 60_000  # the default: 10 minutes
    assert window.open_study(study_id(window.db, "ABC-123"), "receiving")
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReceivingTab)
    qtbot.keyClicks(tab.number, "ACME-SHP-0009")
    window.trigger("view.dispensing")
    window.trigger("work.new_order")
    dispensing = window.workspace.current_tab()
    assert isinstance(dispensing, DispensingTab)
    dialog = dispensing.new_order_dialog
    assert isinstance(dialog, NewOrderDialog)
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.visit, "Visit 9")

    with qtbot.waitSignal(window.locked, timeout=30_000):
        window.idle.set_interval(50)
    assert window.central_stack.currentWidget() is window.lock_screen
    assert not tab.isVisible()
    assert not dialog.isVisible()
    assert not window.actions_by_id["view.dispensing"].isEnabled()
    texts = visible_texts(window)
    assert "ACME-SHP-0009" not in texts
    assert "Visit 9" not in texts

    screen = window.lock_screen
    qtbot.keyClicks(screen.password_field, "wrong-password")
    qtbot.keyClick(screen.password_field, Qt.Key.Key_Return)
    assert (
        screen.message.error_text
        == "The password is wrong (4 attempts left before the account locks)."
    )
    assert window.is_locked
    with qtbot.waitSignal(window.unlocked, timeout=30_000):
        qtbot.keyClicks(screen.password_field, "demo-tech")
        qtbot.keyClick(screen.password_field, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert dialog.visit.text() == "Visit 9"
    assert tab.number.text() == "ACME-SHP-0009"
    assert window.actions_by_id["view.dispensing"].isEnabled()


def test_settings_are_saved_and_applied(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("pharm")
    window.trigger("file.settings")
    dialog = window.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    dialog.idle_field.setValue(3)
    qtbot.keyClicks(dialog.site_field, "University Hospital IDS")
    qtbot.keyClicks(dialog.phone_field, "555-0100")
    dialog.label_size.setCurrentIndex(dialog.label_size.findData("2x1"))
    qtbot.keyClicks(dialog.database_field, "nosuch://x")
    dialog.accept_button.click()
    assert dialog.isVisible()
    assert (
        "is not a database address" in dialog.error_text or "Unknown database" in dialog.error_text
    )
    dialog.database_field.setText("sqlite:////tmp/elsewhere.sqlite")
    dialog.accept_button.click()
    assert not dialog.isVisible()
    assert window.idle.interval_ms == 3 * 60_000
    assert "University Hospital IDS" in window.windowTitle()
    saved = AppSettings()
    assert (saved.idle_minutes, saved.site_name, saved.pharmacy_phone, saved.label_size) == (
        3,
        "University Hospital IDS",
        "555-0100",
        "2x1",
    )
    assert saved.database_url == "sqlite:////tmp/elsewhere.sqlite"


def test_window_geometry_is_remembered(qtbot: QtBot, open_window: WindowOpener) -> None:
    first = open_window("tech")
    first.splitter.setSizes([300, 980])
    first.close()
    saved = AppSettings()
    geometry, splitter = saved.geometry("geometry"), saved.geometry("splitter")
    assert geometry is not None
    assert not geometry.isEmpty()
    assert splitter is not None
    # A new window restores both (before it is shown: once shown on the small offscreen
    # screen, the window and its panes are fitted to that screen).
    second = MainWindow(first.db, first.user, settings=AppSettings())
    qtbot.addWidget(second)
    assert second.splitter.saveState() == splitter


def test_technician_works_from_the_keyboard_alone(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")

    def focused() -> QWidget:
        # Keys go where the focus is; a window closing hands the focus back asynchronously.
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=30_000)
        widget = QApplication.focusWidget()
        assert widget is not None
        return widget

    def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        qtbot.keyClick(focused(), key, modifier)

    def type_text(text: str) -> None:
        qtbot.keyClicks(focused(), text)

    press(Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    type_text("ABC-123")
    qtbot.waitUntil(lambda: len(window.study_list.model.rows) == 1, timeout=30_000)
    press(Qt.Key.Key_Return)
    press(Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    press(Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    tab = window.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    dialog = tab.new_order_dialog
    assert isinstance(dialog, NewOrderDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.subject, timeout=30_000)
    type_text("01-004")  # a combo box selects as you type
    assert dialog.subject.currentText().startswith("01-004")
    for field, text in ((dialog.visit, "Visit 5"), (dialog.kit, "1013")):
        while QApplication.focusWidget() is not field:
            press(Qt.Key.Key_Tab)
        type_text(text)
    with qtbot.waitSignal(dialog.created):
        press(Qt.Key.Key_Return)
    press(Qt.Key.Key_F2)
    assert QApplication.focusWidget() is tab.panel.scan.field
    type_text("1013")
    press(Qt.Key.Key_Return)
    assert QApplication.focusWidget() is tab.panel.scan.field  # checked, ready for Enter
    press(Qt.Key.Key_Return)
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is signing.password_field, timeout=30_000)
    with qtbot.waitSignal(signing.signed):
        type_text("demo-tech")
        press(Qt.Key.Key_Return)
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.state.value == "prepared"


def test_an_unexpected_error_is_logged_shown_and_the_form_kept(
    qtbot: QtBot, open_window: WindowOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "ABC-123"), "receiving")
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReceivingTab)
    qtbot.keyClicks(tab.number, "ACME-SHP-0010")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr("ids_app.ui.receiving.receive_shipment", broken)
    tab.lot.setText("L2301")
    tab.add_button.click()
    tab.receive_button.click()
    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert [box.windowTitle() for box in boxes] == [UNEXPECTED_TITLE]
    assert "the disk went away" in boxes[0].text()
    assert str(log_path()) in boxes[0].text()
    assert "RuntimeError: the disk went away" in log_path().read_text(encoding="utf-8")
    assert tab.number.text() == "ACME-SHP-0010"
    assert len(tab.lines.rows) == 1


def test_every_action_has_a_unique_id_and_shortcut() -> None:
    ids = [spec.id for spec in ACTIONS]
    shortcuts = [spec.shortcut for spec in ACTIONS if spec.shortcut]
    assert len(ids) == len(set(ids))
    assert len(shortcuts) == len(set(shortcuts))


def test_every_workflow_is_listed_with_its_icon_and_shortcut(open_window: WindowOpener) -> None:
    window = open_window("pharm")
    sections = window.workspace.sections
    assert window.workspace.section_titles() == [title for _key, title in STUDY_TABS]
    for row in range(sections.count()):
        item = sections.item(row)
        assert not item.icon().isNull(), item.text()
        assert "Ctrl+" in item.toolTip(), item.text()
