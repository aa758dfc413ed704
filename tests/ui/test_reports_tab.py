"""The Reports tab: exports run off the GUI thread, land on disk with their audit entries,
and a cancellation leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.reports.exports import EXPORT_ACTION
from ids_app.ui.main_window import MainWindow
from ids_app.ui.reports_tab import BLINDED_REASON, ReportsTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import study_id

pytestmark = pytest.mark.gui

PROTOCOL = "ABC-123"
# A ceiling for a hung export, not a speed test: a whole binder laid out beside CPU
# burners (scripts/stress-ui) or the PostgreSQL pass takes far longer than alone.
TIMEOUT = 300_000


def reports_tab(window: MainWindow) -> ReportsTab:
    assert window.open_study(study_id(window.db, PROTOCOL))
    window.trigger("view.reports")
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReportsTab)
    return tab


def answer_with(tab: ReportsTab, *paths: Path) -> None:
    answers = [str(path) for path in paths]
    tab.ask_path = lambda _title, _suggested, _filter: answers.pop(0)


def export_details(db: Database) -> list[str]:
    with db.read_session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == EXPORT_ACTION))
        return [
            " ".join(str(value) for value in (e.new_value, e.reason, e.field) if value)
            for e in entries
        ]


def test_blinded_binder_and_workbook_are_written_and_recorded(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    tab = reports_tab(window)
    binder = tmp_path / "binder.pdf"
    answer_with(tab, binder)
    with qtbot.waitSignal(tab.export_ended, timeout=TIMEOUT):
        tab.binder_button.click()
        assert tab.job is not None
    assert tab.job is None
    assert binder.is_file(), tab.message.text()
    assert str(binder) in tab.message.text()
    assert tab.message.kind == "success"

    workbook, da = tmp_path / "workbook.xlsx", tmp_path / "da.csv"
    tab.with_cdisc.setChecked(True)
    answer_with(tab, workbook, da)
    with qtbot.waitSignal(tab.export_ended, timeout=TIMEOUT):
        tab.workbook_button.click()
        assert tab.job is not None
    assert tab.job is None
    assert workbook.is_file(), tab.message.text()
    assert da.is_file(), tab.message.text()

    details = " | ".join(export_details(window.db))
    assert "audit binder, blinded edition" in details
    assert "sponsor workbook, blinded edition" in details
    assert "CDISC DA file" in details


def test_an_open_label_study_offers_one_edition_and_names_its_binder_so(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("pharm")
    assert window.open_study(study_id(window.db, "XYZ-789"))
    window.trigger("view.reports")
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReportsTab)
    assert not tab.binder_unblinded_button.isVisible()
    assert not tab.workbook_unblinded.isVisible()
    assert tab.monitor_hint.text() == "Open-label edition, for the sponsor's monitor."
    suggested: list[str] = []
    binder = tmp_path / "binder.pdf"

    def ask(_title: str, name: str, _filter: str) -> str:
        suggested.append(name)
        return str(binder)

    tab.ask_path = ask
    with qtbot.waitSignal(tab.export_ended, timeout=TIMEOUT):
        tab.binder_button.click()
    assert binder.is_file(), tab.message.text()
    assert "-binder-open-label-" in suggested[0]
    assert "audit binder, open-label edition" in " | ".join(export_details(window.db))


def test_cancel_leaves_no_file(qtbot: QtBot, open_window: WindowOpener, tmp_path: Path) -> None:
    window = open_window("pharm")
    tab = reports_tab(window)
    binder = tmp_path / "cancelled.pdf"
    answer_with(tab, binder)
    with qtbot.waitSignal(tab.export_ended, timeout=TIMEOUT):
        tab.binder_button.click()
        assert tab.job is not None
        assert tab.cancel_button.isEnabled()
        tab.cancel_button.click()
    assert tab.job is None
    assert not binder.exists()
    assert list(tmp_path.glob("cancelled*")) == []
    assert "cancelled" in tab.message.error_text
    assert not any("cancelled" in detail for detail in export_details(window.db))


def test_blinded_user_cannot_export_the_unblinded_edition(open_window: WindowOpener) -> None:
    tab = reports_tab(open_window("tech"))
    assert tab.binder_button.isEnabled()
    assert not tab.binder_unblinded_button.isEnabled()
    assert tab.binder_unblinded_button.toolTip() == BLINDED_REASON
    assert not tab.workbook_unblinded.isEnabled()

    unblinded = reports_tab(open_window("pharm"))
    assert unblinded.binder_unblinded_button.isEnabled()


def test_a_refusal_is_shown_in_its_own_words(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    tab = reports_tab(open_window("pharm"))
    answer_with(tab, tmp_path / "no such folder" / "binder.pdf")
    with qtbot.waitSignal(tab.export_ended, timeout=TIMEOUT):
        tab.monitor_button.click()
        assert tab.job is not None
    assert tab.job is None
    assert "does not exist" in tab.message.error_text
    assert tab.binder_button.isEnabled()
