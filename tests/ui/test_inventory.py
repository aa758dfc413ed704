"""The Inventory screen: the kit register through the real widgets on the demo database."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from ids_app.inventory.kit_register import KitsShown
from ids_app.inventory.models import StockState
from ids_app.ui.inventory import InventoryTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import gs1_kit_scan, scanner_types, study_id

pytestmark = pytest.mark.gui


def open_inventory(open_window: WindowOpener, username: str) -> InventoryTab:
    window = open_window(username)
    assert window.open_study(study_id(window.db, "ABC-123"))
    window.trigger("view.inventory")
    tab = window.workspace.current_tab()
    assert isinstance(tab, InventoryTab)
    return tab


def test_scanning_a_kit_finds_it_wherever_it_stands(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tab = open_inventory(open_window, "tech")
    on_site = tab.model.rows
    assert on_site, "the demo study has kits on the shelf"
    assert all(row.state in (StockState.AVAILABLE, StockState.RETURNED) for row in on_site)
    assert "kit" in tab.count_label.text()

    # A kit given to a subject is off the on-site list; scanning it finds it all the same.
    tab.shown.setCurrentIndex(tab.shown.findData(KitsShown.DISPENSED.value))
    given = tab.model.rows[0]
    tab.shown.setCurrentIndex(tab.shown.findData(KitsShown.ON_SITE.value))
    assert given.kit_number not in {row.kit_number for row in tab.model.rows}
    scan = gs1_kit_scan(given.kit_number, given.lot_number, given.expiry)
    scanner_types(qtbot, tab.scan.field, scan)
    assert [(row.kit_number, row.where, row.state) for row in tab.model.rows] == [
        (given.kit_number, "off site", StockState.DISPENSED)
    ]
    assert tab.shown.currentData() == KitsShown.ALL
    assert tab.view.selectionModel().selectedRows()[0].row() == 0


def test_filters_narrow_the_register_in_the_database(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tab = open_inventory(open_window, "pharm")
    tab.shown.setCurrentIndex(tab.shown.findData(KitsShown.DISPENSED.value))
    dispensed = tab.model.rows
    assert dispensed
    assert {row.state for row in dispensed} == {StockState.DISPENSED}
    assert {row.where for row in dispensed} == {"off site"}
    tab.shown.setCurrentIndex(tab.shown.findData(KitsShown.ON_SITE.value))
    tab.location.setCurrentIndex(tab.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith))
    assert {row.where for row in tab.model.rows} == {"IDS Shelf A"}
    tab.number_filter.setText("no such kit")
    tab.apply_button.click()
    assert tab.model.rows == []
    assert tab.count_label.text() == "0 kits shown."


def test_only_an_unblinded_user_sees_the_arm_column(open_window: WindowOpener) -> None:
    blinded = open_inventory(open_window, "tech")
    assert "Arm" not in [column.title for column in blinded.model.columns]
    blinded.window().close()
    unblinded = open_inventory(open_window, "pharm")
    assert "Arm" in [column.title for column in unblinded.model.columns]
    assert any(row.arm for row in unblinded.model.rows)


def test_clicking_a_column_sorts_the_register_in_the_database(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tab = open_inventory(open_window, "tech")
    tab.shown.setCurrentIndex(tab.shown.findData(KitsShown.ALL.value))
    titles = [column.title for column in tab.model.columns]
    header = tab.view.horizontalHeader()
    kit_numbers = [row.kit_number for row in tab.model.rows]
    assert kit_numbers == sorted(kit_numbers)

    header.sectionClicked.emit(titles.index("Kit"))  # sorted by kit already: the other way
    assert [row.kit_number for row in tab.model.rows] == sorted(kit_numbers, reverse=True)
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    header.sectionClicked.emit(titles.index("Expiry"))
    by_expiry = [(row.expiry, row.kit_number) for row in tab.model.rows]
    assert by_expiry == sorted(by_expiry)
    assert header.sortIndicatorSection() == titles.index("Expiry")
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder

    header.sectionClicked.emit(titles.index("Expiry"))  # again: the other way
    assert [(row.expiry, row.kit_number) for row in tab.model.rows] == sorted(
        by_expiry, reverse=True
    )
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder

    header.sectionClicked.emit(titles.index("Where"))  # not stored: not sortable
    assert tab.count_label.text() == "The register sorts by kit, lot or expiry."
    assert header.sortIndicatorSection() == titles.index("Expiry")
