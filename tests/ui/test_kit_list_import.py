"""The kit-list import through the real dialog: read, checked and imported off the GUI
thread, with a progress bar and a Cancel that leaves the database as it was."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.inventory.models import Kit
from ids_app.studies.kit_import import IMPORT_CANCELLED, PREVIEW_CANCELLED
from ids_app.studies.models import Arm
from ids_app.ui import kit_list_dialog
from ids_app.ui.kit_list_dialog import KitListDialog
from ids_app.ui.main_window import MainWindow
from tests.ui.conftest import WindowOpener
from tests.ui.test_setup import open_setup, write_kit_list
from tests.ui.workflows import lot_expiry

pytestmark = pytest.mark.gui

ROWS = 3000
WAIT = 30_000  # ms; two cores are shared with other test runs


def counts(db: Database) -> tuple[int, int]:
    """Kits and audit entries on record."""
    with db.read_session() as session:
        kits = session.scalar(select(func.count(Kit.id))) or 0
        entries = session.scalar(select(func.count(AuditEntry.id))) or 0
    return kits, entries


def long_list(window: MainWindow, tmp_path: Path) -> Path:
    expiry = lot_expiry(window.db, "L2301").isoformat()
    rows = [f"{30001 + n},L2301,{expiry},{'AB'[n % 2]}" for n in range(ROWS)]
    return write_kit_list(tmp_path / "kits.csv", rows)


def open_kit_list(window: MainWindow) -> KitListDialog:
    tab = open_setup(window, "ABC-123")
    tab.kit_list_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, KitListDialog)
    return dialog


def inputs_enabled(dialog: KitListDialog) -> list[bool]:
    widgets = [dialog.file_button, dialog.product, dialog.preset, dialog.date_format]
    return [widget.isEnabled() for widget in [*widgets, *dialog.columns.values()]]


def record_progress(dialog: KitListDialog) -> list[tuple[int, int]]:
    """Every (value, maximum) the progress bar shows once it counts (not while busy)."""
    shown: list[tuple[int, int]] = []

    def changed(value: int) -> None:
        if dialog.progress.maximum() > 0 and value >= 0:
            shown.append((value, dialog.progress.maximum()))

    dialog.progress.valueChanged.connect(changed)
    return shown


def test_kit_list_is_checked_and_imported_off_the_gui_thread_with_progress(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    path = long_list(window, tmp_path)
    dialog = open_kit_list(window)
    shown = record_progress(dialog)
    kits, _entries = counts(window.db)
    assert not dialog.progress.isVisible()

    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(path)
        # Running: the inputs that would change the check are off, Cancel is on.
        assert dialog.progress.isVisible()
        assert dialog.cancel_button.isEnabled()
        assert not any(inputs_enabled(dialog))
        assert not dialog.accept_button.isEnabled()
    assert checked.args == [True]
    assert shown[-1] == (ROWS, ROWS)  # "3000 of 3000 rows checked"
    # How many figures arrive depends on the threads' pace (only the latest is shown), so
    # only their order and the last one are certain.
    assert [value for value, _max in shown] == sorted({value for value, _max in shown})
    assert not dialog.progress.isVisible()
    assert all(inputs_enabled(dialog))
    assert dialog.accept_button.isEnabled()
    assert dialog.accept_button.text() == f"Import {ROWS} kits"

    shown.clear()
    with qtbot.waitSignal(dialog.imported, timeout=WAIT):
        dialog.accept_button.click()
        assert dialog.progress.isVisible()
        assert not any(inputs_enabled(dialog))
        assert not dialog.accept_button.isEnabled()
    values = [value for value, _max in shown]
    assert values == sorted(set(values))  # the bar only moves forward
    assert shown[-1] == (2 * ROWS, 2 * ROWS)  # every row checked, then every kit created
    assert not dialog.isVisible()
    assert dialog.result_message == f"{ROWS} kits of ABC-123 imported from kits.csv."
    assert counts(window.db)[0] == kits + ROWS


def test_cancel_during_the_import_leaves_kits_and_audit_trail_as_they_were(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window("pharm")
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.load(long_list(window, tmp_path))
    before = counts(window.db)

    # Hold the import once it has written some kits, until the person's Cancel arrives, so
    # Cancel lands mid-import however fast or slow the machine is.
    real_import = kit_list_dialog.import_kit_list
    held = threading.Event()

    def import_held_midway(*args: Any, **kwargs: Any) -> Any:
        progress, cancelled = kwargs["progress"], kwargs["cancelled"]

        def progress_then_hold(done: int, total: int) -> None:
            progress(done, total)
            if done > total // 2 and not held.is_set():
                held.set()
                give_up = time.monotonic() + WAIT / 1000
                while not cancelled() and time.monotonic() < give_up:
                    time.sleep(0.01)

        kwargs["progress"] = progress_then_hold
        return real_import(*args, **kwargs)

    monkeypatch.setattr(kit_list_dialog, "import_kit_list", import_held_midway)
    with qtbot.waitSignal(dialog.import_finished, timeout=WAIT) as finished:
        dialog.accept_button.click()
        qtbot.waitUntil(held.is_set, timeout=WAIT)
        qtbot.waitUntil(lambda: dialog.progress.value() > ROWS, timeout=WAIT)
        dialog.cancel_button.click()
        assert dialog.status.text() == "Cancelling…"
        assert not dialog.cancel_button.isEnabled()
    assert finished.args == [False]
    assert dialog.error_text == IMPORT_CANCELLED
    assert dialog.isVisible()
    assert not dialog.progress.isVisible()
    assert dialog.accept_button.isEnabled()  # the checked list may still be imported
    assert counts(window.db) == before


def test_escape_while_the_list_is_read_cancels_and_keeps_the_dialog_open(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(long_list(window, tmp_path))
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert checked.args == [False]
    assert dialog.isVisible()
    assert dialog.error_text == PREVIEW_CANCELLED
    assert not dialog.accept_button.isEnabled()
    assert all(inputs_enabled(dialog))
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # with nothing running, Esc closes
    assert not dialog.isVisible()


def test_an_iwrs_export_with_title_rows_and_spelled_out_arms_is_mapped_and_imported(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    expiry = lot_expiry(window.db, "L2301")
    path = tmp_path / "iwrs.csv"
    path.write_text(
        "Kit Inventory Report\n"
        "Protocol ABC-123 - Site 101\n"
        "Printed 30-Nov-2026\n"
        "Kit Number,Lot Number,Expiry Date,Treatment\n"
        f"40001,L2301,{expiry:%d/%m/%Y},Arm A - ABC 10 mg\n"
        f"40002,L2301,{expiry:%d/%m/%Y},Arm B - Placebo\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.load(path)
    assert dialog.file_label.text() == ("iwrs.csv: 2 rows under the header. Header found on row 4.")
    assert dialog.columns["kit_number"].currentData() == "Kit Number"
    assert list(dialog.treatment_combos) == ["Arm A - ABC 10 mg", "Arm B - Placebo"]
    assert dialog.treatments.isVisibleTo(dialog)
    assert not dialog.accept_button.isEnabled()  # dates ambiguous, treatments unmapped
    assert dialog.summary.text().startswith("Header found on row 4. 2 rows to fix")

    drug, placebo = dialog.treatment_combos.values()
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.date_order.setCurrentIndex(dialog.date_order.findText("Day first: 31/05/2027"))
        drug.setCurrentIndex(drug.findData("A"))
        placebo.setCurrentIndex(placebo.findData("B"))
    assert checked.args == [True], dialog.error_text
    assert dialog.preview is not None
    assert dialog.preview.errors == []
    assert dialog.summary.text() == "Header found on row 4. 2 kits will be created."

    with qtbot.waitSignal(dialog.imported, timeout=WAIT):
        dialog.accept_button.click()
    with window.db.read_session() as session:
        arms = dict(
            session.execute(
                select(Kit.kit_number, Arm.code)
                .join(Arm, Arm.id == Kit.arm_id)
                .where(Kit.kit_number.in_(["40001", "40002"]))
            ).all()
        )
    assert arms == {"40001": "A", "40002": "B"}


def test_a_blinded_technician_is_offered_no_treatment_mapping(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = tmp_path / "iwrs.csv"
    path.write_text(
        "Kit Inventory Report\n\nKit Number,Lot Number,Expiry Date,Treatment\n"
        f"40001,L2301,{expiry},Arm A - ABC 10 mg\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(path)
    assert checked.args == [True], dialog.error_text
    assert dialog.treatment_combos == {}
    assert not dialog.treatments.isVisibleTo(dialog)
    assert dialog.summary.text() == "Header found on row 3. 1 kit will be created."


def test_the_header_row_can_be_chosen_when_no_preset_names_the_columns(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    expiry = lot_expiry(window.db, "L2301").isoformat()
    path = tmp_path / "depot.csv"
    path.write_text(
        f"Site 101 kit register\nPack,Batch,Use by\n40011,L2301,{expiry}\n40012,L2301,{expiry}\n"
    )
    dialog = open_kit_list(window)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.load(path)
    assert checked.args == [False]  # no preset's columns: nothing guessed
    assert dialog.file_label.text() == "depot.csv: 3 rows under the header. Header found on row 1."

    # Each choice checks again; the last one, with every column chosen, shows the kits.
    with qtbot.waitSignal(dialog.checked, timeout=WAIT, check_params_cb=bool) as checked:
        dialog.header_row.setValue(2)
        assert dialog.file_label.text() == (
            "depot.csv: 2 rows under the header. Header found on row 2."
        )
        for key, column in (("kit_number", "Pack"), ("lot_number", "Batch"), ("expiry", "Use by")):
            combo = dialog.columns[key]
            combo.setCurrentIndex(combo.findData(column))
    assert checked.args == [True], dialog.error_text
    assert dialog.summary.text() == "Header found on row 2. 2 kits will be created."
