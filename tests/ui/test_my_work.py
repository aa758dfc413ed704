"""My work as the day's list, and the main window driven from the keyboard (issue #14,
items 5 and 6): each item opens its place with Enter, each section takes the cursor."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from ids_app.ui.inventory import InventoryTab
from ids_app.ui.main_window import MainWindow
from ids_app.ui.quarantine import QuarantineTab
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.returns import ReturnsTab
from ids_app.ui.temperature_tab import TemperatureTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import prepared_order, returned_kit, study_id

pytestmark = pytest.mark.gui


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key, modifiers: object = None) -> None:
    """A key as a person presses it: to whatever has the focus in the window."""
    target = QApplication.focusWidget() or window
    if modifiers is None:
        qtbot.keyClick(target, key)
    else:
        qtbot.keyClick(target, key, modifiers)  # type: ignore[arg-type]


def shortcut(qtbot: QtBot, window: MainWindow, sequence: str) -> None:
    """A menu shortcut pressed from the keyboard."""
    from PySide6.QtGui import QKeySequence

    combination = QKeySequence(sequence)[0]
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, combination.key(), combination.keyboardModifiers())


def test_the_technicians_day_lists_fridges_to_read_and_returns_due(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    kinds = [queue.kind.title for queue in window.my_work.queues]
    assert kinds == [
        "Orders to prepare",
        "Temperature checks due today",
        "Expired or expiring stock to pull",
        "Returns to count",
        "Shipments expected",
        "Monitor's queries",
    ]
    reads = [item.what for item in window.my_work.items("temperature")]
    assert "Read IDS Fridge 1 (2 to 8 °C)" in reads
    [due] = window.my_work.items("to_count")
    assert due.what.startswith("01-004: order ")
    assert window.my_work.summary_label.text().startswith(
        f"{window.my_work.model.rowCount()} items wait for you: Temperature checks due today ("
    )
    assert "No order waits to be prepared." in window.my_work.empty_label.text()


def test_ctrl_1_then_enter_opens_the_first_item_and_arrows_choose_another(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "XYZ-789"))
    shortcut(qtbot, window, "Ctrl+1")
    assert QApplication.focusWidget() is window.my_work.view
    first = window.my_work.model.rows[0]
    assert first.kind == "temperature"
    press(qtbot, window, Qt.Key.Key_Return)
    tab = window.workspace.current_tab()
    assert isinstance(tab, TemperatureTab)
    assert tab.location.currentData() == first.record_id
    # A fridge belongs to no study: the one open stays open.
    assert window.workspace.study is not None
    assert window.workspace.study.protocol_number == "XYZ-789"

    shortcut(qtbot, window, "Ctrl+1")
    rows = window.my_work.model.rows
    due_row = next(n for n, item in enumerate(rows) if item.kind == "to_count")
    for _ in range(due_row):
        press(qtbot, window, Qt.Key.Key_Down)
    press(qtbot, window, Qt.Key.Key_Return)
    returns = window.workspace.current_tab()
    assert isinstance(returns, ReturnsTab)
    assert window.workspace.study.protocol_number == "ABC-123"
    chosen = returns.dispensed_view.selectionModel().selectedRows()
    assert [returns.dispensed.rows[i.row()].order.id for i in chosen] == [rows[due_row].record_id]
    assert QApplication.focusWidget() is returns.units_counted  # ready to type the count


def test_the_pharmacist_verifies_from_the_list_in_one_key(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm2")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    shortcut(qtbot, window, "F5")
    shortcut(qtbot, window, "Ctrl+1")
    [item] = window.my_work.items("to_verify")
    assert item.ready
    assert item.what.startswith(f"Order {order_id}: 01-004 ")
    assert window.my_work.model.rows[0] is item  # orders to verify come first
    press(qtbot, window, Qt.Key.Key_Return)
    tab = window.workspace.current_tab()
    assert tab is not None
    assert tab.key == "dispensing"


def test_the_pharmacist_who_prepared_sees_why_they_may_not_verify(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    prepared_order(window.db, "pharm", "ABC-123", "01-004", "Visit 5", kit="1013")
    window.trigger("view.refresh")
    [item] = window.my_work.items("to_verify")
    assert not item.ready
    assert "prepared" in item.note


def test_the_monitor_opens_a_return_to_verify_from_the_list(
    qtbot: QtBot, open_window: WindowOpener, demo_db: object
) -> None:
    window = open_window("monitor")
    return_id = returned_kit(window.db, "1012", verified=False)
    shortcut(qtbot, window, "F5")
    [item] = window.my_work.items("returns_to_verify")
    assert item.record_id == return_id
    shortcut(qtbot, window, "Ctrl+1")
    press(qtbot, window, Qt.Key.Key_Return)
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReturnsTab)
    assert tab.verify_button.isEnabled()


def test_a_section_opened_by_its_shortcut_takes_the_cursor_from_the_study_list(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    view = window.study_list.view
    view.setFocus()
    view.selectRow(0)
    press(qtbot, window, Qt.Key.Key_Return)  # open the study from the list
    assert window.workspace.study is not None
    for sequence, key in (
        ("Ctrl+3", "dispensing"),
        ("Ctrl+Shift+I", "inventory"),
        ("Ctrl+4", "receiving"),
        ("Ctrl+6", "quarantine"),
    ):
        view.setFocus()
        shortcut(qtbot, window, sequence)
        tab = window.workspace.current_tab()
        assert tab is not None
        assert tab.key == key
        focused = QApplication.focusWidget()
        assert focused is not None
        assert tab.isAncestorOf(focused), f"{sequence}: focus is on {focused.objectName()}"
    tab = window.workspace.current_tab()
    assert isinstance(tab, QuarantineTab)


def test_the_study_list_folds_away_once_a_study_is_open(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    assert window.splitter.sizes()[0] > 0
    window.open_study(study_id(window.db, "ABC-123"))
    assert window.splitter.sizes()[0] == 0
    shortcut(qtbot, window, "Ctrl+F")
    assert window.splitter.sizes()[0] > 0
    assert QApplication.focusWidget() is window.study_list.text_filter


def test_every_menu_item_has_its_own_alt_key_and_sign_out_a_shortcut(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert isinstance(menu, QMenu)
        keys = []
        for action in menu.actions():
            if action.isSeparator():
                continue
            text = action.text()
            assert "&" in text, text
            keys.append(text[text.index("&") + 1].lower())
        assert len(keys) == len(set(keys)), keys
    assert window.sign_out_action.shortcut().toString() == "Ctrl+Shift+O"
    with qtbot.waitSignal(window.signed_out):
        shortcut(qtbot, window, "Ctrl+Shift+O")


def test_an_inventory_lot_to_pull_opens_filtered_to_that_lot(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "ABC-123"))
    tab = window.show_tab("inventory")
    assert isinstance(tab, InventoryTab)
    lot_number = tab.model.rows[0].lot_number
    from sqlalchemy import select

    from ids_app.inventory.models import Lot

    with window.db.read_session() as session:
        lot_id = session.scalars(select(Lot.id).where(Lot.lot_number == lot_number)).first()
    assert lot_id is not None
    tab.select_work("lot", lot_id)
    assert tab.number_filter.text() == lot_number
    assert {row.lot_number for row in tab.model.rows} == {lot_number}


def test_a_shipment_notice_waits_on_my_work_and_enter_fills_the_receipt(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "ABC-123"))
    tab = window.show_tab("receiving")
    assert isinstance(tab, ReceivingTab)
    dialog = tab.record_notice()
    assert dialog is not None
    qtbot.keyClicks(dialog.number, "ACME-SHP-0042")
    qtbot.keyClicks(dialog.sender_field, "Acme Depot (Memphis)")
    qtbot.keyClicks(dialog.tracking, "1Z42")
    with qtbot.waitSignal(dialog.recorded):
        qtbot.keyClick(dialog.tracking, Qt.Key.Key_Return)
    assert tab.message.text().startswith("Shipment ACME-SHP-0042 from Acme Depot (Memphis)")

    shortcut(qtbot, window, "Ctrl+1")
    [item] = window.my_work.items("shipments")
    assert item.what == "Shipment ACME-SHP-0042 from Acme Depot (Memphis)"
    row = next(n for n, r in enumerate(window.my_work.model.rows) if r.kind == "shipments")
    window.my_work.view.selectRow(row)
    press(qtbot, window, Qt.Key.Key_Return)
    receiving = window.workspace.current_tab()
    assert isinstance(receiving, ReceivingTab)
    assert (receiving.number.text(), receiving.tracking.text()) == ("ACME-SHP-0042", "1Z42")
    assert QApplication.focusWidget() is receiving.scan.field
