"""Dispensing through the real widgets: order, scan, prepare, verify, reject."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.inventory.models import DispenseOrder, OrderState
from ids_app.ui.dispensing import DispensingTab, NewOrderDialog
from ids_app.ui.main_window import MainWindow
from ids_app.ui.signature import ReasonDialog, SignatureDialog
from ids_app.users.models import Signature, SignatureMeaning
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import (
    gs1_kit_scan,
    lot_expiry,
    new_order,
    order_state,
    prepared_order,
    scanner_types,
    study_id,
)

pytestmark = pytest.mark.gui


def dispensing_tab(window: MainWindow, protocol: str = "ABC-123") -> DispensingTab:
    assert window.open_study(study_id(window.db, protocol))
    window.trigger("view.dispensing")
    tab = window.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    return tab


def audit_count(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def sign(qtbot: QtBot, dialog: object, password: str) -> None:
    assert isinstance(dialog, SignatureDialog)
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.password_field, password)
    qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)


def test_technician_scans_kit_and_prepares_order(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = dispensing_tab(window)
    window.trigger("work.new_order")
    dialog = tab.new_order_dialog
    assert isinstance(dialog, NewOrderDialog)
    dialog.subject.setCurrentIndex(dialog.subject.findText("01-004", Qt.MatchFlag.MatchStartsWith))
    qtbot.keyClicks(dialog.visit, "Visit 5")
    qtbot.keyClicks(dialog.kit, "1013")
    with qtbot.waitSignal(dialog.created) as created:
        dialog.accept_button.click()
    order_id = created.args[0]
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.id == order_id
    assert tab.panel.prepare_box.isVisible()

    # The scanner types the GS1 DataMatrix of kit 1013, GS separator included, then Enter.
    window.trigger("work.scan")
    scan = tab.panel.scan.field
    assert window.focusWidget() is scan
    scanner_types(qtbot, scan, gs1_kit_scan("1013", "L2301", lot_expiry(window.db, "L2301")))
    assert tab.panel.scan.refusal_text == ""
    assert scan.property("scan") == "good"
    assert tab.panel.kit_field.text() == "1013"
    assert tab.panel.lot_field.text() == "L2301"
    assert tab.panel.location.currentText().startswith("IDS Shelf A")
    assert "Kit 1013" in tab.panel.scan.result_label.text()

    tab.panel.prepare_button.click()
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    assert "Terry Tech, Technician — Prepared —" in signing.manifestation_label.text()
    with qtbot.waitSignal(signing.signed):
        sign(qtbot, signing, "demo-tech")
    assert order_state(window.db, order_id) == "prepared"
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.state is OrderState.PREPARED
    assert tab.panel.compare["kit"][1].text() == "1013"
    assert "Terry Tech, Technician — Prepared" in tab.panel.signatures_label.text()
    # A technician never sees a verify control.
    assert not tab.panel.verify_box.isVisible()


def test_wrong_scan_changes_nothing(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = dispensing_tab(window)
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-003", "Visit 5", kit="1014")
    pending_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1015")
    tab.select_record(pending_id)
    panel = tab.panel
    assert panel.prepare_box.isVisible()
    panel.lot_field.setText("L2301")
    before = audit_count(window.db)

    qtbot.keyClicks(panel.scan.field, "9999")
    qtbot.keyClick(panel.scan.field, Qt.Key.Key_Return)
    assert panel.scan.refusal_text == "Code 9999 is not a kit or lot of study ABC-123."
    assert panel.scan.result_label.isVisible()
    assert panel.scan.field.property("scan") == "bad"
    assert panel.kit_field.text() == "1015"  # the assigned kit, as it was
    assert panel.lot_field.text() == "L2301"

    # A GS1 code whose expiry disagrees with the record is refused with the reason too.
    wrong_expiry = lot_expiry(window.db, "L2301") + dt.timedelta(days=1)
    scanner_types(qtbot, panel.scan.field, gs1_kit_scan("1015", "L2301", wrong_expiry))
    assert "but the lot is on record as expiring" in panel.scan.refusal_text
    assert panel.kit_field.text() == "1015"
    assert audit_count(window.db) == before
    assert order_state(window.db, pending_id) == "pending"
    assert order_state(window.db, order_id) == "prepared"


def test_preparer_sees_why_verify_is_disabled(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("pharm")
    order_id = prepared_order(window.db, "pharm", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    panel = tab.panel
    assert panel.verify_box.isVisible()
    assert not panel.verify_button.isEnabled()
    why = "You prepared this order; another pharmacist must verify it."
    assert panel.why_not_label.text() == why
    assert panel.why_not_label.isVisible()
    assert panel.verify_button.toolTip() == why


def test_second_pharmacist_verifies_from_my_work_and_a_wrong_password_is_refused(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm2")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    window.trigger("view.refresh")
    queue = window.my_work.items("to_verify")
    assert [item.record_id for item in queue] == [order_id]
    assert queue[0].ready
    window.trigger("view.my_work")
    qtbot.keyClick(window.my_work.view, Qt.Key.Key_Return)

    tab = window.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    panel = tab.panel
    assert panel.detail is not None
    assert panel.detail.row.id == order_id
    assert panel.compare["kit"][0].text() == "1013"
    assert panel.compare["kit"][1].text() == "1013"
    assert panel.verify_button.isEnabled()
    panel.verify_button.click()
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    assert "Sam Lee, Pharmacist — Verified —" in signing.manifestation_label.text()

    sign(qtbot, signing, "not-my-password")
    assert signing.isVisible()
    assert signing.error_text == "The password is wrong (4 attempts left before the account locks)."
    assert order_state(window.db, order_id) == "prepared"

    with qtbot.waitSignal(signing.signed):
        sign(qtbot, signing, "demo-pharm2")
    assert order_state(window.db, order_id) == "dispensed"
    assert panel.label_note.isVisible()
    # The label is made on verification; without the pharmacy's name and phone it cannot
    # be, and the screen says so beside the verification, which stands.
    assert panel.message.error_text.startswith(f"Order {order_id} dispensed: Sam Lee")
    assert "No label yet: The label prints the pharmacy's name and phone" in (
        panel.message.error_text
    )
    assert panel.last_label is None
    window.settings.site_name = "University Hospital IDS"
    window.settings.pharmacy_phone = "555-0100"
    panel.label_button.click()
    assert panel.last_label is not None
    assert panel.last_label.stat().st_size > 0
    assert panel.message.text() == f"Label saved as PDF: {panel.last_label}"
    with window.db.read_session() as session:
        meanings = [
            s.meaning
            for s in session.scalars(
                select(Signature).where(
                    Signature.record_table == "dispense_order", Signature.record_id == str(order_id)
                )
            )
        ]
    assert meanings == [SignatureMeaning.PREPARED, SignatureMeaning.VERIFIED]


def test_pharmacist_rejects_with_a_reason(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("pharm2")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    tab.panel.reject_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, ReasonDialog)
    dialog.accept_button.click()
    assert dialog.isVisible()
    assert (
        dialog.error_text == "Give a reason for rejecting the order; it is kept in the audit trail."
    )
    qtbot.keyClicks(dialog.reason_field, "Wrong visit on the label")
    dialog.accept_button.click()
    assert not dialog.isVisible()
    with window.db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        assert order.state is OrderState.REJECTED
        assert order.closed_reason == "Wrong visit on the label"


def test_the_label_is_made_when_the_pharmacist_verifies(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm2")
    window.settings.site_name = "University Hospital IDS"
    window.settings.pharmacy_phone = "555-0100"
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    panel = tab.panel
    panel.verify_button.click()
    with qtbot.waitSignal(tab.dialog.signed):
        sign(qtbot, tab.dialog, "demo-pharm2")
    assert order_state(window.db, order_id) == "dispensed"
    assert panel.last_label is not None
    assert panel.last_label.name == f"label-order-{order_id}.pdf"
    assert panel.last_label.stat().st_size > 0
    assert panel.message.kind == "success"
    assert panel.message.text().startswith(f"Order {order_id} dispensed: Sam Lee")
    assert panel.message.text().endswith(f"Label saved as PDF: {panel.last_label}")
    assert panel.label_button.text() == "Save &label (PDF)"  # a reprint, when one is needed
