"""Saving a kit list or packing list mapping as the sponsor's preset, and the sponsor's next
file mapped by it, through the real dialogs with real CSV and xlsx files."""

from __future__ import annotations

from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from PySide6.QtWidgets import QComboBox, QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.db import Database
from ids_app.studies.import_presets import PresetMapping, save_import_preset
from ids_app.studies.models import ImportKind, ImportPreset, Study
from ids_app.ui.kit_list_dialog import KitListDialog
from ids_app.ui.main_window import MainWindow
from ids_app.ui.preset_dialog import ArchivePresetDialog, SavePresetDialog
from ids_app.ui.receiving import PackingListDialog
from tests.ui.conftest import WindowOpener, sign_in
from tests.ui.test_kit_list_import import WAIT, open_kit_list
from tests.ui.test_receiving import receiving_tab
from tests.ui.test_setup import open_setup
from tests.ui.workflows import import_kits, lot_expiry

pytestmark = pytest.mark.gui

DEPOT = PresetMapping(
    {"kit_number": "Pack", "lot_number": "Batch", "expiry": "Use by", "arm": "Randomised To"},
    header_line=2,
)


def _save_preset(db: Database, username: str, protocol: str, name: str) -> None:
    user = sign_in(db, username)
    with db.unit_of_work() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == protocol)).one()
        save_import_preset(session, user, study, ImportKind.KIT_LIST, name, DEPOT)


def _shown_texts(dialog: KitListDialog) -> str:
    """Every word the dialog shows: its labels and every choice of its lists."""
    labels = [label.text() for label in dialog.findChildren(QLabel) if label.isVisibleTo(dialog)]
    choices = [
        combo.itemText(index)
        for combo in dialog.findChildren(QComboBox)
        for index in range(combo.count())
    ]
    return "\n".join(labels + choices)


def test_a_saved_preset_maps_the_next_file_from_that_sponsor(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    expiry = lot_expiry(window.db, "L2301")
    first = tmp_path / "depot-november.csv"
    first.write_text(
        f"Acme depot kit report\nPack,Batch,Use by,Randomised To\n40021,L2301,{expiry:%m/%d/%Y},A\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.load(first)
    assert not dialog.save_preset_button.isEnabled()  # no mapping chosen yet
    with qtbot.waitSignal(dialog.checked, timeout=WAIT, check_params_cb=bool):
        dialog.header_row.setValue(2)
        for key, column in DEPOT.columns.items():
            dialog.columns[key].setCurrentIndex(dialog.columns[key].findData(column))
        dialog.date_order.setCurrentIndex(dialog.date_order.findText("Month first: 05/31/2027"))
    assert dialog.summary.text() == "Header found on row 2. 1 kit will be created."

    dialog.save_preset_button.click()
    saving = dialog.save_dialog
    assert isinstance(saving, SavePresetDialog)
    saving.name.setText("Acme depot kit report")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        saving.accept_button.click()
    assert dialog.preset.currentText() == (
        "Acme depot kit report (saved for Acme Pharma by Jane Roe)"
    )
    assert dialog.summary.text() == (
        "Mapped by Acme Pharma's preset 'Acme depot kit report'. "
        "Header found on row 2. 1 kit will be created."
    )
    dialog.reject()

    # December's export has two title lines and comes as a workbook: the preset maps it.
    second = tmp_path / "depot-december.xlsx"
    workbook = openpyxl.Workbook()
    for row in (
        ["Acme depot kit report"],
        ["Printed 01-Dec-2026"],
        ["Pack", "Batch", "Use by", "Randomised To"],
        [40022, "L2301", f"{expiry:%m/%d/%Y}", "B"],
        [40023, "L2301", f"{expiry:%m/%d/%Y}", "A"],
    ):
        workbook.active.append(row)
    workbook.save(second)
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(second)
    assert checked.args == [True], dialog.error_text
    assert dialog.summary.text() == (
        "Mapped by Acme Pharma's preset 'Acme depot kit report'. "
        "Header found on row 3. 2 kits will be created."
    )
    assert dialog.columns["arm"].currentData() == "Randomised To"
    with qtbot.waitSignal(dialog.imported, timeout=WAIT):
        dialog.accept_button.click()


def test_a_blinded_technician_never_sees_a_presets_treatment_values(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    _save_preset(window.db, "pharm", "ABC-123", "Acme depot kit report")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = tmp_path / "depot.csv"
    path.write_text(
        f"Acme depot kit report\nPack,Batch,Use by,Randomised To\n"
        f"40031,L2301,{expiry},Arm A - Active 10 mg\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(path)
    assert checked.args == [True], dialog.error_text
    assert dialog.summary.text() == (
        "Mapped by Acme Pharma's preset 'Acme depot kit report'. "
        "Header found on row 2. 1 kit will be created."
    )
    assert dialog.treatment_combos == {}
    assert not dialog.treatments.isVisibleTo(dialog)
    assert dialog.columns["arm"].currentData() is None
    shown = _shown_texts(dialog)
    assert "Active 10 mg" not in shown
    assert "Arm A" not in shown

    # Saving it again from the blinded side keeps no treatment column either.
    dialog.save_preset_button.click()
    saving = dialog.save_dialog
    assert isinstance(saving, SavePresetDialog)
    assert saving.name.text() == "Acme depot kit report"
    saving.name.setText("Acme depot, blinded")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        saving.accept_button.click()
    with window.db.read_session() as session:
        stored = session.scalars(
            select(ImportPreset.columns).where(ImportPreset.name == "Acme depot, blinded")
        ).one()
    assert "Randomised To" not in stored


def test_a_preset_from_another_sponsor_is_not_offered(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    _save_preset(window.db, "pharm", "XYZ-789", "Zenith depot kit report")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = tmp_path / "depot.csv"
    path.write_text(f"Pack,Batch,Use by,Randomised To\n40041,L2301,{expiry},A\n")
    dialog = open_kit_list(window)  # ABC-123, Acme Pharma's
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(path)
    assert checked.args == [False]  # nothing maps Zenith's layout for Acme's study
    offered = [dialog.preset.itemText(index) for index in range(dialog.preset.count())]
    assert not any("Zenith" in text for text in offered)
    dialog.reject()

    tab = open_setup(window, "XYZ-789")
    tab.kit_list_button.click()
    zenith = tab.dialog
    assert isinstance(zenith, KitListDialog)
    assert zenith.preset.itemText(1) == (
        "Zenith depot kit report (saved for Zenith Bio by Jane Roe)"
    )


def _packing_dialog(window: MainWindow, path: Path) -> PackingListDialog:
    dialog = receiving_tab(window, "ABC-123").import_packing_list(path)
    assert isinstance(dialog, PackingListDialog)
    return dialog


def _choose(dialog: PackingListDialog, columns: dict[str, str]) -> None:
    for key, column in columns.items():
        dialog.columns[key].setCurrentIndex(dialog.columns[key].findData(column))


def test_a_packing_list_whose_header_is_not_recognised_is_read_from_the_row_chosen(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    import_kits(window.db, "ABC-123", ["1041", "1042"], "L2301")
    expiry = lot_expiry(window.db, "L2301")
    path = tmp_path / "zb-packing.csv"
    path.write_text(
        "Acme Depot - Shipment ACME-SHP-0043\n"
        "\n"
        "Pack,Charge,Best before\n"
        f"1041,L2301,{expiry:%d-%b-%Y}\n"
        f"1042,L2301,{expiry:%m/%d/%Y}\n"
    )
    dialog = _packing_dialog(window, path)
    assert dialog.header_row.value() == 1  # no row names a lot and an expiry column
    dialog.header_row.setValue(3)
    _choose(dialog, {"kit_number": "Pack", "lot_number": "Charge", "expiry": "Best before"})
    dialog.date_order.setCurrentIndex(dialog.date_order.findText("Month first: 05/31/2027"))
    problems = [dialog.errors.item(n).text() for n in range(dialog.errors.count())]
    assert dialog.result_label.text() == "Header found on row 3. 2 lines read.", problems


def test_a_saved_packing_list_preset_maps_the_sponsors_next_packing_list(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    import_kits(window.db, "ABC-123", ["1051", "1052", "1053"], "L2301")
    expiry = lot_expiry(window.db, "L2301")
    first = tmp_path / "packing-0044.csv"
    first.write_text(f"Shipment 0044\nPack,Charge,Best before\n1051,L2301,{expiry:%m/%d/%Y}\n")
    dialog = _packing_dialog(window, first)
    dialog.header_row.setValue(2)
    _choose(dialog, {"kit_number": "Pack", "lot_number": "Charge", "expiry": "Best before"})
    dialog.date_order.setCurrentIndex(dialog.date_order.findText("Month first: 05/31/2027"))
    assert dialog.result_label.text() == "Header found on row 2. 1 lines read."
    saving = dialog.save_preset()
    assert isinstance(saving, SavePresetDialog)
    saving.name.setText("Acme depot packing list")
    saving.accept_button.click()
    assert dialog.result_label.text() == (
        "Mapped by Acme Pharma's preset 'Acme depot packing list'. "
        "Header found on row 2. 1 lines read."
    )
    dialog.reject()

    second = tmp_path / "packing-0045.xlsx"
    workbook = openpyxl.Workbook()
    for row in (
        ["Acme Depot"],
        ["Shipment 0045"],
        ["Pack", "Charge", "Best before"],
        [1052, "L2301", f"{expiry:%m/%d/%Y}"],
        [1053, "L2301", f"{expiry:%m/%d/%Y}"],
    ):
        workbook.active.append(row)
    workbook.save(second)
    tab = receiving_tab(window, "ABC-123")
    dialog = tab.import_packing_list(second)
    assert isinstance(dialog, PackingListDialog)
    assert dialog.result_label.text() == (
        "Mapped by Acme Pharma's preset 'Acme depot packing list'. "
        "Header found on row 3. 2 lines read."
    )
    dialog.accept_button.click()
    assert [line.kit_number for line in tab.expected] == ["1052", "1053"]


def test_a_pharmacist_archives_a_preset_and_the_next_file_is_no_longer_mapped_by_it(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    _save_preset(window.db, "pharm", "ABC-123", "Acme depot kit report")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = tmp_path / "depot.csv"
    path.write_text(
        f"Acme depot kit report\nPack,Batch,Use by,Randomised To\n40061,L2301,{expiry},A\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.load(path)
    assert dialog.archive_preset_button.isEnabled()
    archiving = dialog.archive_preset()
    assert isinstance(archiving, ArchivePresetDialog)
    archiving.accept_button.click()
    assert archiving.error_text == "Say why the preset is archived."
    archiving.reason.setText("Acme changed its depot")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        archiving.accept_button.click()
    offered = [dialog.preset.itemText(index) for index in range(dialog.preset.count())]
    assert not any("Acme depot kit report" in text for text in offered)
    assert not dialog.archive_preset_button.isEnabled()
    with window.db.read_session() as session:
        kept = session.scalars(select(ImportPreset)).one()
    assert kept.archived_at is not None


def test_a_technician_is_not_offered_to_archive_a_preset(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    dialog = open_kit_list(open_window("tech"))
    assert not dialog.archive_preset_button.isVisibleTo(dialog)
    assert dialog.save_preset_button.isVisibleTo(dialog)


def test_a_pharmacist_archives_a_packing_list_preset_from_the_packing_list(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    user = sign_in(window.db, "pharm")
    with window.db.unit_of_work() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == "ABC-123")).one()
        save_import_preset(
            session,
            user,
            study,
            ImportKind.PACKING_LIST,
            "Acme depot packing list",
            PresetMapping({"kit_number": "Pack", "lot_number": "Charge", "expiry": "Best before"}),
        )
    import_kits(window.db, "ABC-123", ["1071"], "L2301")
    path = tmp_path / "packing.csv"
    path.write_text(f"Pack,Charge,Best before\n1071,L2301,{lot_expiry(window.db, 'L2301')}\n")
    dialog = _packing_dialog(window, path)
    assert dialog.result_label.text().startswith("Mapped by Acme Pharma's preset")
    archiving = dialog.archive_preset()
    assert isinstance(archiving, ArchivePresetDialog)
    archiving.reason.setText("the depot changed its export")
    archiving.accept_button.click()
    assert dialog.preset.count() == 1
    assert dialog.result_label.text().startswith("Header found on row 1.")
    assert not dialog.archive_preset_button.isEnabled()
