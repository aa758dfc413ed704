"""The Temperature tab on the demo database: the satellite fridge's chart and excursion,
the daily check, a logger file refused by line, and the monitor's read-only view."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.storage.models import TemperatureReading
from ids_app.ui.main_window import MainWindow
from ids_app.ui.reading_correction import CorrectReadingDialog
from ids_app.ui.temperature_tab import TemperatureTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import study_id

pytestmark = pytest.mark.gui

SATELLITE = "Infusion Center Satellite"


def temperature_tab(window: MainWindow) -> TemperatureTab:
    assert window.open_study(study_id(window.db, "ABC-123"))
    window.trigger("view.temperature")
    tab = window.workspace.current_tab()
    assert isinstance(tab, TemperatureTab)
    tab.choose_location(SATELLITE)
    assert tab.location.currentText().startswith(SATELLITE)
    return tab


def reading_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(TemperatureReading)) or 0


def test_the_satellite_chart_shows_its_excursion(open_window: WindowOpener) -> None:
    tab = temperature_tab(open_window("pharm"))
    tab.period.setCurrentIndex(tab.period.findData(90))
    assert tab.view is not None
    assert "<svg" in tab.view.svg
    assert tab.chart.renderer().isValid()
    assert "Mean kinetic temperature" in tab.summary.text()
    assert tab.excursions.rowCount() >= 1
    tab.excursions_view.selectRow(0)
    assert tab.chosen_excursion() is not None


def test_daily_reading_is_recorded(open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = temperature_tab(window)
    before = reading_count(window.db)
    tab.current.setText("5.0")
    tab.minimum.setText("3.5")
    tab.maximum.setText("6.5")
    tab.record_button.click()
    assert tab.reading_message.kind == "success", tab.reading_message.text()
    assert reading_count(window.db) > before
    assert tab.current.text() == ""


def test_technician_corrects_a_mistyped_daily_reading_by_keyboard(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = temperature_tab(window)
    tab.current.setText("5.0")
    tab.minimum.setText("3.5")
    tab.maximum.setText("65")
    tab.record_button.click()
    assert "out of range" in tab.reading_message.text()
    dialog = tab.correct_reading()
    assert isinstance(dialog, CorrectReadingDialog)
    # The newest daily check is chosen and its values are filled in, to change only the typo.
    assert dialog.maximum.text() == "65"
    dialog.maximum.setText("6.5")
    qtbot.keyClick(dialog.maximum, Qt.Key.Key_Return)
    assert "Say why" in dialog.error_text
    qtbot.keyClicks(dialog.reason, "typed 65 for 6.5")
    with qtbot.waitSignal(dialog.corrected):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert tab.reading_message.text() == "Reading corrected."
    with window.db.read_session() as session:
        latest = session.scalars(
            select(TemperatureReading).order_by(TemperatureReading.id.desc())
        ).first()
        assert latest is not None
        assert latest.corrects_id is not None
        assert latest.max_c == 6.5
        assert latest.note is not None
        assert "max 65 °C" in latest.note


def test_logger_preview_lists_the_bad_line_and_imports_nothing(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    tab = temperature_tab(window)
    before = reading_count(window.db)
    start = dt.datetime.now().replace(microsecond=0, second=0) - dt.timedelta(days=1)
    lines = ["Time,Temperature"]
    for hour in range(4):
        lines.append(f"{(start + dt.timedelta(hours=hour)).isoformat()},{5 + hour / 10}")
    lines.insert(3, "yesterday at noon,5.0")  # line 4 of the file
    path = tmp_path / "fridge.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tab.ask_file = lambda: str(path)
    tab.choose_button.click()
    assert tab.time_zone.text()  # pre-filled with the workstation's zone
    tab.file_unit.setCurrentIndex(tab.file_unit.findData("C"))
    tab.device.setText("TEST-LOGGER-1")
    tab.preview_button.click()
    assert tab.preview is not None
    assert "Line 4" in tab.preview_text.toPlainText()
    assert not tab.import_button.isEnabled()
    with qtbot.waitSignal(tab.import_finished, timeout=30_000) as finished:
        tab.import_file()  # the service re-checks even if called
    assert finished.args == [False]
    assert tab.import_message.kind == "error"
    assert reading_count(window.db) == before


def test_monitor_sees_read_only(open_window: WindowOpener) -> None:
    tab = temperature_tab(open_window("monitor"))
    assert tab.view is not None
    assert not tab.current.isVisible()
    assert not tab.choose_button.isVisible()
    assert not tab.decide_button.isVisible()


def test_overview_names_locations_missing_todays_reading(open_window: WindowOpener) -> None:
    from ids_app.ui.overview import OverviewTab

    window = open_window("pharm")
    assert window.open_study(study_id(window.db, "ABC-123"))
    window.trigger("view.overview")
    overview = window.workspace.current_tab()
    assert isinstance(overview, OverviewTab)
    assert "no temperature reading yet today" in overview.storage_alert.text()
    assert overview.storage_alert.isVisible()


def test_a_good_logger_file_is_previewed_then_imported(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    tab = temperature_tab(window)
    before = reading_count(window.db)
    start = dt.datetime.now().replace(microsecond=0, second=0) - dt.timedelta(days=1)
    rows = [f"{(start + dt.timedelta(hours=h)).isoformat()},{5 + h / 10}" for h in range(4)]
    path = tmp_path / "fridge-good.csv"
    path.write_text("Time,Temperature\n" + "\n".join(rows) + "\n", encoding="utf-8")
    tab.ask_file = lambda: str(path)
    tab.choose_button.click()
    tab.file_unit.setCurrentIndex(tab.file_unit.findData("C"))
    tab.device.setText("TEST-LOGGER-2")
    tab.preview_button.click()
    assert tab.import_button.isEnabled(), tab.preview_text.toPlainText()
    assert "4 readings" in tab.preview_text.toPlainText()
    with qtbot.waitSignal(tab.import_finished, timeout=30_000) as finished:
        tab.import_button.click()
    assert finished.args == [True]
    assert tab.import_message.kind == "success", tab.import_message.text()
    assert reading_count(window.db) == before + 4


def test_a_logger_export_with_device_lines_above_its_header_is_imported(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    tab = temperature_tab(window)
    before = reading_count(window.db)
    start = dt.datetime.now().replace(microsecond=0, second=0) - dt.timedelta(days=1)
    rows = [f"{(start + dt.timedelta(hours=h)).isoformat()},{5 + h / 10}" for h in range(3)]
    path = tmp_path / "fridge-export.csv"
    path.write_text(
        "Device,TempLog-T1\nSerial,TEST-LOGGER-3\n\nTime,Temperature\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    tab.ask_file = lambda: str(path)
    tab.choose_button.click()
    assert tab.file_label.text() == "fridge-export.csv (3 lines). Header found on row 4."
    assert tab.time_column.text() == "Time"
    tab.file_unit.setCurrentIndex(tab.file_unit.findData("C"))
    tab.device.setText("TEST-LOGGER-3")
    tab.preview_button.click()
    assert tab.import_button.isEnabled(), tab.preview_text.toPlainText()
    assert tab.preview_text.toPlainText().startswith("Header found on row 4.\n3 readings")
    with qtbot.waitSignal(tab.import_finished, timeout=30_000) as finished:
        tab.import_button.click()
    assert finished.args == [True]
    assert reading_count(window.db) == before + 3


def test_pharmacist_signs_the_sponsor_decision_on_a_held_lot(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    from sqlalchemy import select as sa_select

    from ids_app.inventory.models import HoldDecision
    from ids_app.ui.signature import SignatureDialog
    from tests.ui.conftest import PASSWORDS

    window = open_window("pharm")
    tab = temperature_tab(window)
    tab.choose_location("IDS Shelf A")
    # The thermometer's memory says 35 °C since the last check; ABC-123's kits allow
    # 15-30 °C, so they are held at once.
    tab.current.setText("22")
    tab.minimum.setText("21")
    tab.maximum.setText("35")
    tab.record_button.click()
    assert "out of range" in tab.reading_message.text()
    tab.period.setCurrentIndex(tab.period.findData(7))
    held = [n for n, row in enumerate(tab.excursions.rows) if row.held]
    assert held, [row.status for row in tab.excursions.rows]
    tab.excursions_view.selectRow(held[0])
    assert tab.decide_button.isEnabled()
    tab.decision.setCurrentIndex(tab.decision.findData("release"))
    tab.sponsor_reference.setText("Acme TE-2026-07")
    tab.decide_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, SignatureDialog)
    qtbot.keyClicks(dialog.password_field, PASSWORDS["pharm"])
    qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: tab.decision_message.kind == "success", timeout=30_000)
    with window.db.read_session() as session:
        assert session.scalars(sa_select(HoldDecision)).first() is not None
