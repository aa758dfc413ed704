"""States say the truth (issue #14, items 7 and 10): a prepared kit is held for its order,
expired stock never arrives as available and is pulled from Inventory, and the smaller
refusals to guess (no default ruling, no verify with nothing chosen, "3 tablets")."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ids_app.db import Database, today
from ids_app.inventory.late_entries import EventTime
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.locations import find_location
from ids_app.inventory.models import StockState
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.services import get_study
from ids_app.ui.counts import CountsTab
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.inventory import InventoryTab
from ids_app.ui.main_window import MainWindow
from ids_app.ui.quarantine import QuarantineTab
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.returns import ReturnsTab
from tests.ui.conftest import WindowOpener, sign_in
from tests.ui.workflows import prepared_order, returned_kit, scanner_types, study_id

pytestmark = pytest.mark.gui


def open_section(window: MainWindow, protocol: str, key: str) -> object:
    assert window.open_study(study_id(window.db, protocol))
    window.trigger(f"view.{key}")
    return window.workspace.current_tab()


def receive_expired_kit(db: Database, kit: str) -> None:
    """Kit ``kit`` of lot L-OLD, received a month ago and expired yesterday."""
    tech = sign_in(db, "tech")
    with db.unit_of_work() as session:
        study = get_study(session, "ABC-123")
        receipt = ShipmentReceipt(
            "SHP-OLD",
            "Acme Depot",
            "World Courier",
            today() - dt.timedelta(days=30),
            find_location(session, "IDS Shelf A").id,
            (
                ReceivedLine(
                    study.products[0].id, "L-OLD", today() - dt.timedelta(days=1), kit_number=kit
                ),
            ),
            received_at=EventTime(
                dt.datetime.combine(today() - dt.timedelta(days=30), dt.time(10)).astimezone(),
                "received a month ago, entered from the paper receiving log",
            ),
        )
        receive_shipment(session, tech, study, receipt)


def test_a_prepared_kit_reads_held_for_its_order_in_inventory_and_counts(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = open_section(window, "ABC-123", "inventory")
    assert isinstance(tab, InventoryTab)
    qtbot.keyClicks(tab.number_filter, "1013")
    qtbot.keyClick(tab.number_filter, Qt.Key.Key_Return)
    [row] = tab.model.rows
    assert tab.model.column_texts(tab.model.columns.index(_column(tab, "State"))) == [
        f"held for order {order_id}"
    ]
    assert row.state is StockState.AVAILABLE  # still on the shelf, in the ledger's terms

    counts = open_section(window, "ABC-123", "counts")
    assert isinstance(counts, CountsTab)
    counts.location.setCurrentIndex(
        counts.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith)
    )
    counts.start_button.click()
    states = {line.kit_number: line.state_text for line in counts.lines.rows}
    assert states["1013"] == f"held for order {order_id}"
    assert states["1014"] == "available"


def _column(tab: InventoryTab, title: str) -> object:
    return next(column for column in tab.model.columns if column.title == title)


def test_receiving_an_expired_kit_warns_first_and_puts_it_in_quarantine(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = open_section(window, "XYZ-789", "receiving")
    assert isinstance(tab, ReceivingTab)
    yesterday = today() - dt.timedelta(days=1)
    product = tab.product.currentData()
    tab._add(ReceivedLine(product, "L-EXP", yesterday, quantity=10))
    assert tab.expired_warning.error_text == (
        f"Lot L-EXP (expired {yesterday:%Y-%m-%d}) is past its expiry: it will be received "
        "into quarantine under an expiry hold, not as available stock."
    )
    qtbot.keyClicks(tab.number, "SHP-EXP-1")
    qtbot.keyClicks(tab.sender_field, "Acme Depot")
    qtbot.keyClicks(tab.carrier, "World Courier")
    tab.receive_button.click()
    assert tab.message.kind == "success", tab.message.text()
    assert "Expired stock is in quarantine, not dispensable." in tab.message.text()
    with window.db.read_session() as session:
        study = get_study(session, "XYZ-789")
        states = {b.state for b in study_balances(session, study.id) if b.quantity and b.lot_id}
    assert StockState.QUARANTINED in states


def test_an_expired_kit_is_quarantined_then_destroyed_from_inventory(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    receive_expired_kit(window.db, "1090")
    tab = open_section(window, "ABC-123", "inventory")
    assert isinstance(tab, InventoryTab)
    qtbot.keyClicks(tab.number_filter, "1090")
    qtbot.keyClick(tab.number_filter, Qt.Key.Key_Return)
    assert not tab.hold_button.isEnabled()  # nothing chosen yet
    tab.view.selectRow(0)
    assert tab.hold_button.isEnabled()
    tab.hold_button.click()

    hold = window.workspace.current_tab()
    assert isinstance(hold, QuarantineTab)
    assert hold.reason.currentData() == "expiry"
    assert hold.scanned is not None
    assert hold.scanned.kit_number == "1090"
    assert QApplication.focusWidget() is hold.hold_button
    qtbot.keyClick(hold.hold_button, Qt.Key.Key_Space)
    assert hold.hold_message.kind == "success", hold.hold_message.text()

    window.trigger("view.inventory")
    assert window.workspace.current_tab() is tab
    tab.view.selectRow(0)
    assert [row.state for row in tab.model.rows] == [StockState.QUARANTINED]
    assert not tab.hold_button.isEnabled()
    assert tab.destroy_button.isEnabled()
    tab.destroy_button.click()
    destroy = window.workspace.current_tab()
    assert isinstance(destroy, DestructionTab)
    assert [c.row.kit_number for c in destroy.stock.checked_rows()] == ["1090"]


def test_the_quarantine_decision_starts_with_no_ruling_chosen(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_section(window, "ABC-123", "quarantine")
    assert isinstance(tab, QuarantineTab)
    assert tab.decision.currentData() is None
    assert tab.decision.currentText() == "Choose the sponsor's ruling…"


def test_verify_return_waits_for_a_return_awaiting_the_monitor(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("monitor")
    returned_kit(window.db, "1012", verified=False)
    tab = open_section(window, "ABC-123", "returns")
    assert isinstance(tab, ReturnsTab)
    assert not tab.verify_button.isEnabled()
    tab.returns_view.selectRow(0)
    assert tab.verify_button.isEnabled()


def test_the_count_of_a_return_reads_in_the_plural(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = open_section(window, "ABC-123", "returns")
    assert isinstance(tab, ReturnsTab)
    scanner_types(qtbot, tab.scan.field, "1012")
    tab.units_counted.setValue(3)
    assert tab.units_counted.text() == "3 tablets"
    tab.units_counted.setValue(1)
    assert tab.units_counted.text() == "1 tablet"
