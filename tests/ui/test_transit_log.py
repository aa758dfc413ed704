"""A shipment's transit logger attached from the receiving screen: the file's header found
below its device lines, the columns chosen, saved as the sponsor's preset, and the
sponsor's next logger file mapped by it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.inventory.models import Shipment
from ids_app.storage.models import Excursion, TemperatureLogFile
from ids_app.studies.import_presets import PresetMapping, save_import_preset
from ids_app.studies.models import ImportKind, Study
from ids_app.ui.preset_dialog import SavePresetDialog
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.transit_log import TransitLogDialog
from tests.ui.conftest import WindowOpener
from tests.ui.test_receiving import receiving_tab

pytestmark = pytest.mark.gui


def _received_on(tab: ReceivingTab, number: str) -> dt.date:
    with tab.ws.db.read_session() as session:
        shipment = session.scalars(select(Shipment).where(Shipment.shipment_number == number)).one()
        return shipment.received_on


def _shipper_log(path: Path, arrived: dt.date, celsius: list[float]) -> Path:
    """The depot's shipper logger export: two device lines and a blank line above the
    header, one reading an hour up to the evening before the shipment arrived."""
    start = dt.datetime.combine(arrived - dt.timedelta(days=1), dt.time(18)) - dt.timedelta(
        hours=len(celsius)
    )
    lines = ["Device: ShipSafe TT-4", "Serial: TT-4-00172", "", "Logged at,Probe (°C)"]
    lines += [
        f"{start + dt.timedelta(hours=n):%Y-%m-%d %H:%M},{value}" for n, value in enumerate(celsius)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _select_shipment(tab: ReceivingTab, number: str) -> None:
    for row in range(tab.history.rowCount()):
        if tab.history.rows[row].number == number:
            tab.history_view.selectRow(row)
            return
    raise AssertionError(f"shipment {number} is not listed")


def _open(tab: ReceivingTab, number: str, path: Path) -> TransitLogDialog:
    _select_shipment(tab, number)
    assert tab.transit_button.isEnabled()
    dialog = tab.open_transit_log(path)
    assert isinstance(dialog, TransitLogDialog)
    return dialog


def test_a_shipper_logger_is_mapped_saved_as_a_preset_and_the_next_one_maps_itself(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    tab = receiving_tab(window, "XYZ-789")
    assert not tab.transit_button.isEnabled()  # no shipment chosen yet
    first = _shipper_log(
        tmp_path / "ZB-0001-shipper.csv", _received_on(tab, "ZB-0001"), [4.5, 5.0, 5.5, 5.0]
    )
    dialog = _open(tab, "ZB-0001", first)
    # No built-in layout names these columns: nothing can be attached until they are chosen.
    assert not dialog.accept_button.isEnabled()
    assert "A column of the mapping is not chosen" in dialog.result_label.text()
    dialog.time_column.setText("Logged at")
    dialog.temperature_column.setText("Probe (°C)")
    dialog.device.setText("TT-4-00172")
    dialog.read()
    assert dialog.result_label.text().startswith("Header found on row 4. 4 readings from ")
    assert dialog.accept_button.isEnabled()
    saving = dialog.save_preset()
    assert isinstance(saving, SavePresetDialog)
    saving.name.setText("ShipSafe shipper logger")
    saving.accept_button.click()
    assert dialog.preset.currentText() == (
        "ShipSafe shipper logger (saved for Zenith Bio by Terry Tech)"
    )
    dialog.accept_button.click()
    assert tab.transit_message.text() == (
        "Attached 4 transit readings from ZB-0001-shipper.csv. No excursion in transit."
    )

    second = _shipper_log(
        tmp_path / "ZB-0002-shipper.csv",
        _received_on(tab, "ZB-0002"),
        [5.0, 13.5, 14.0, 14.0, 13.0, 12.5, 14.0, 6.0],
    )
    dialog = _open(tab, "ZB-0002", second)
    assert dialog.time_column.text() == "Logged at"
    assert dialog.result_label.text().startswith(
        "Mapped by Zenith Bio's preset 'ShipSafe shipper logger'. Header found on row 4."
    )
    dialog.device.setText("TT-4-00173")
    dialog.read()
    dialog.accept_button.click()
    assert "1 excursion found" in tab.transit_message.text()
    with window.db.read_session() as session:
        attached = session.scalars(
            select(TemperatureLogFile.file_name).where(TemperatureLogFile.shipment_id.is_not(None))
        ).all()
        excursion = session.scalars(
            select(Excursion).where(Excursion.max_c == 14.0, Excursion.shipment_id.is_not(None))
        ).one()
    assert sorted(attached) == ["ZB-0001-shipper.csv", "ZB-0002-shipper.csv"]
    assert excursion.range_text == "2 to 8 °C"
    shown = [tab.history.rows[row] for row in range(tab.history.rowCount())]
    assert {tab.transit_files.get(row.shipment_id) for row in shown} >= {
        "ZB-0002-shipper.csv (8 readings)"
    }


def test_a_monitor_is_not_offered_to_attach_a_logger_file(open_window: WindowOpener) -> None:
    tab = receiving_tab(open_window("monitor"), "ABC-123")
    assert not tab.transit_button.isVisibleTo(tab)


def test_attaching_waits_for_a_preview_of_the_mapping_as_it_now_stands(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    tab = receiving_tab(window, "XYZ-789")
    path = _shipper_log(tmp_path / "shipper.csv", _received_on(tab, "ZB-0001"), [4.5, 5.0])
    dialog = _open(tab, "ZB-0001", path)
    dialog.time_column.setText("Logged at")
    dialog.temperature_column.setText("Probe (°C)")
    dialog.device.setText("TT-4-00172")
    dialog.read()
    assert dialog.accept_button.isEnabled()
    qtbot.keyClicks(dialog.time_zone, "x")  # typed after the preview: not what was checked
    assert not dialog.accept_button.isEnabled()
    dialog.accept()
    assert dialog.error_label.text() == "Preview the file as it is mapped now before attaching it."
    with window.db.read_session() as session:
        assert (
            session.scalars(
                select(TemperatureLogFile).where(TemperatureLogFile.shipment_id.is_not(None))
            ).all()
            == []
        )


def test_a_preset_maps_a_file_that_spells_its_columns_in_capitals(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    with window.db.unit_of_work() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == "XYZ-789")).one()
        save_import_preset(
            session,
            window.ws.user,
            study,
            ImportKind.LOGGER_FILE,
            "ShipSafe shipper logger",
            PresetMapping({"time": "Logged at", "temperature": "Probe (°C)"}),
        )
    tab = receiving_tab(window, "XYZ-789")
    path = _shipper_log(tmp_path / "SHOUTY.csv", _received_on(tab, "ZB-0001"), [4.5, 5.0])
    path.write_text(
        path.read_text(encoding="utf-8").replace("Logged at,Probe (°C)", "LOGGED AT,PROBE (°C)"),
        encoding="utf-8",
    )
    dialog = _open(tab, "ZB-0001", path)
    dialog.device.setText("TT-4-00172")
    dialog.read()
    assert dialog.time_column.text() == "LOGGED AT"
    assert dialog.result_label.text().startswith(
        "Mapped by Zenith Bio's preset 'ShipSafe shipper logger'. Header found on row 4."
    )
    assert dialog.accept_button.isEnabled()
