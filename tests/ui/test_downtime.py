"""The downtime form, driven offscreen: a paper log's morning typed in and entered late."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.db import Database, simulated_clock
from ids_app.inventory.models import DispenseOrder, LedgerEntry
from ids_app.studies.models import Study
from ids_app.ui.downtime import DowntimeDialog
from ids_app.ui.setup_dialogs import LateEntryDelayDialog
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.inventory.test_late_entries import DOWNTIME, EXPIRES, at
from tests.ui.conftest import WindowOpener
from tests.ui.test_setup import open_setup


@pytest.fixture
def example(db: Database) -> Example:
    example = make_example(db)
    receive_kits(db, example, expiry=EXPIRES)
    return example


def type_morning(dialog: DowntimeDialog, qtbot: QtBot, second_kit: str) -> None:
    qtbot.keyClicks(dialog.reason, DOWNTIME)
    dialog.location.setCurrentIndex(dialog.location.findText("IDS Shelf A"))
    for row, (kit, moment) in enumerate((("1007", at(10, 7, 40)), (second_kit, at(10, 8, 5)))):
        for column, text in enumerate(
            ("01-004", kit, "Visit 2", f"{moment:%Y-%m-%d %H:%M}", "J. Tech", "P. Pharm")
        ):
            dialog.set_cell(row, column, text)
    qtbot.keyClicks(dialog.password, PASSWORD)


def test_a_downtime_morning_is_typed_in_from_the_paper_log(
    qtbot: QtBot, db: Database, example: Example
) -> None:
    dialog = DowntimeDialog(db, example.people.tech, example.study.id)
    qtbot.addWidget(dialog)
    type_morning(dialog, qtbot, "1008")
    qtbot.keyClicks(dialog.pharmacist, example.people.pharm.username)
    qtbot.keyClicks(dialog.pharmacist_password, PASSWORD)
    with simulated_clock(at(10, 11)):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == ""
    assert dialog.entered == 2
    with db.read_session() as session:
        reasons = session.scalars(
            select(LedgerEntry.late_reason).where(LedgerEntry.dispense_order_id.is_not(None))
        ).all()
    assert len(reasons) == 2
    assert all(reason and reason.startswith(DOWNTIME) for reason in reasons)


def test_a_refused_row_is_named_and_nothing_is_entered(
    qtbot: QtBot, db: Database, example: Example
) -> None:
    dialog = DowntimeDialog(db, example.people.tech, example.study.id)
    qtbot.addWidget(dialog)
    type_morning(dialog, qtbot, "1007")
    qtbot.keyClicks(dialog.pharmacist, example.people.pharm.username)
    qtbot.keyClicks(dialog.pharmacist_password, PASSWORD)
    with simulated_clock(at(10, 11)):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text().startswith("Row 2 (01-004, 1007)")
    assert "Nothing of the batch was entered" in dialog.error_label.text()
    with db.read_session() as session:
        assert session.scalar(select(DispenseOrder.id)) is None


def test_the_work_menu_opens_the_downtime_form_for_the_open_study(
    open_window: WindowOpener,
) -> None:
    window = open_window("tech")
    with window.db.read_session() as session:
        abc = session.scalars(select(Study.id).where(Study.protocol_number == "ABC-123")).one()
    assert window.open_study(abc)
    window.trigger("work.downtime")
    dialog = window.downtime_dialog
    assert dialog.isVisible()
    assert dialog.study_id == abc
    assert dialog.product.count() >= 1
    dialog.reject()


def test_a_pharmacist_sets_the_studys_late_entry_delay_in_setup(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    tab.late_delay_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, LateEntryDelayDialog)
    assert dialog.minutes.value() == 60
    dialog.minutes.setValue(30)
    qtbot.keyClicks(dialog.reason, "SOP IDS-12 version 3")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    with window.db.read_session() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == "ABC-123")).one()
        assert study.late_entry_minutes == 30


def test_the_form_offers_first_the_location_where_the_products_stock_is(
    qtbot: QtBot, db: Database, example: Example
) -> None:
    dialog = DowntimeDialog(db, example.people.tech, example.study.id)
    qtbot.addWidget(dialog)
    offered = [dialog.location.itemText(i) for i in range(dialog.location.count())]
    # IDS Fridge 1 comes first by name, but the kits are on IDS Shelf A.
    assert offered[0] == "IDS Shelf A"
    assert "IDS Fridge 1" in offered
    assert dialog.location.currentText() == "IDS Shelf A"
