"""The audit trail in words (issue #14, item 9): each entry told as a sentence, the stored
row on demand, times with their zone, and still no arm for a blinded reader."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ids_app.ui.audit_viewer import RAW_COLUMNS, AuditTrailPage
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import prepared_order

pytestmark = pytest.mark.gui

ZONED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z+\-0-9]+$")


def trail(window: object) -> AuditTrailPage:
    from ids_app.ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    window.trigger("view.audit")
    page = window.audit_page
    assert page is not None
    return page


def sentences(page: AuditTrailPage) -> list[str]:
    while page.model.canFetchMore(page.model.index(-1, -1)):
        page.model.fetchMore(page.model.index(-1, -1))
    return [row.description for row in page.model.rows]


def test_the_trail_tells_a_dispense_and_a_sign_in_in_words(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    page = trail(window)
    told = sentences(page)
    assert "Jane Roe signed in" in told
    assert f"Order {order_id} prepared" in told
    assert any(text.startswith(f"Order {order_id} entered for 01-004") for text in told)
    assert f"Terry Tech signed order {order_id} (prepared)" in told
    assert any(re.fullmatch(r"Kit 10\d\d dispensed to 01-0\d\d \(order \d+\)", t) for t in told)
    assert not any("ledger_entry" in text or "_id" in text for text in told)


def test_times_carry_their_zone_and_the_stored_row_is_shown_on_demand(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    page = trail(window)
    when = page.model.column_texts(1)
    assert when
    assert all(ZONED.match(text) for text in when), when[:3]
    assert all(page.view.isColumnHidden(section) for section in RAW_COLUMNS)
    page.raw_columns.click()
    assert not any(page.view.isColumnHidden(section) for section in RAW_COLUMNS)
    page.view.setFocus()
    page.view.selectRow(0)
    detail = page.detail.toPlainText().splitlines()
    assert detail[0] == page.model.rows[0].description
    assert detail[2].startswith("Stored as: ")
    assert QApplication.focusWidget() is page.view


def test_a_blinded_reader_sees_no_arm_in_the_sentences(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    page = trail(open_window("tech"))
    assert "Arms are hidden" in page.status_label.text()
    blinded = sentences(page)
    assert "Study arm 1 added" in blinded  # that an arm was added; never its name
    assert not [text for text in blinded if "Placebo" in text or "ABC 10 mg —" in text]
