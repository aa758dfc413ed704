"""The warning beside a free-text field, through the real widgets: a technician typing a
hold's details on the blinded study is told, as they type, that the words naming an arm
will be masked for blinded readers; ordinary words, and an open-label study, bring none."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from ids_app.ui.blinding_warning import WARNING_TEXT
from ids_app.ui.quarantine import QuarantineTab
from tests.ui.conftest import WindowOpener
from tests.ui.test_stock_workflows import open_tab

pytestmark = pytest.mark.gui


def _warning(tab: QuarantineTab) -> QLabel:
    warning = tab.findChild(QLabel, "holdDetailsBlindingWarning")
    assert isinstance(warning, QLabel)
    return warning


def test_a_technician_typing_an_arm_into_a_holds_details_is_warned_as_they_type(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "ABC-123", "quarantine")
    assert isinstance(tab, QuarantineTab)
    warning = _warning(tab)

    qtbot.keyClicks(tab.details, "Cap cracked; the IWRS says kit is ")
    assert not warning.isVisible()
    qtbot.keyClicks(tab.details, "arm B")
    assert warning.isVisible()
    assert warning.text() == WARNING_TEXT
    assert "treatment arm" in warning.text()

    tab.details.clear()
    qtbot.keyClicks(tab.details, "Bottle A-side intact; a box of ABC 10 mg or placebo")
    assert not warning.isVisible()
    qtbot.keyClicks(tab.details, ", ABC10MG look-alike")
    assert warning.isVisible()


def test_an_open_label_study_brings_no_warning(qtbot: QtBot, open_window: WindowOpener) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "XYZ-789", "quarantine")
    assert isinstance(tab, QuarantineTab)
    qtbot.keyClicks(tab.details, "kit is arm B")
    assert not _warning(tab).isVisible()
