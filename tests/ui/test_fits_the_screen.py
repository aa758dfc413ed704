"""Fits the screen (issue #14, item 8): every workflow but Dispensing is usable in a 960x540
window (1920x1080 at 200 %) and at 1280x720; what does not fit scrolls, nothing clips."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ids_app.ui.actions import STUDY_TABS
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.receiving import ReceivingTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import study_id

pytestmark = pytest.mark.gui

SMALL = (960, 540)  # 1920x1080 at 200 %


@pytest.mark.parametrize("username", ["tech", "pharm"])
def test_every_workflow_lets_the_window_shrink_to_960_by_540(
    qtbot: QtBot, open_window: WindowOpener, username: str
) -> None:
    window = open_window(username)
    assert window.open_study(study_id(window.db, "ABC-123"))
    for key, _title in STUDY_TABS:
        if key == "dispensing":
            continue  # its own layout is the scan bench's
        window.show_tab(key)
        hint = window.minimumSizeHint()
        assert hint.width() <= SMALL[0], f"{key}: {hint.width()} wide at least"
        assert hint.height() <= SMALL[1], f"{key}: {hint.height()} high at least"
    window.trigger("view.audit")
    window.resize(*SMALL)
    QApplication.processEvents()
    assert window.size().toTuple() == SMALL


def test_the_shipment_fields_reflow_rather_than_clip(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "ABC-123"))
    tab = window.show_tab("receiving")
    assert isinstance(tab, ReceivingTab)
    window.resize(1280, 720)
    QApplication.processEvents()
    assert tab.header_fields.columns == 3
    window.resize(*SMALL)
    QApplication.processEvents()
    assert tab.header_fields.columns < 3
    sender = tab.sender_field
    assert sender.width() >= sender.fontMetrics().horizontalAdvance("Acme Depot (Memphis)")


def test_the_destruction_method_reads_whole(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    assert window.open_study(study_id(window.db, "ABC-123"))
    window.resize(*SMALL)
    tab = window.show_tab("destruction")
    assert isinstance(tab, DestructionTab)
    QApplication.processEvents()
    method = tab.method
    typed = "Incineration through the hazardous waste vendor"
    assert method.width() >= method.fontMetrics().horizontalAdvance(typed[:30])
