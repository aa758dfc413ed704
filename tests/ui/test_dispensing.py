"""Dispensing through the real widgets: order, scan, prepare, verify, reject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.inventory.dispensing import DispenseRefused
from ids_app.inventory.models import DispenseOrder, Identification, OrderState
from ids_app.ui.dispensing import (
    DispensingTab,
    NewOrderDialog,
    TypeInsteadDialog,
    VerifyHereDialog,
)
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
NO_MODIFIER = Qt.KeyboardModifier.NoModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


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


def scan(qtbot: QtBot, tab: DispensingTab, code: str) -> None:
    """A keyboard-wedge scanner types the code into the focused scan field, then Enter."""
    scanner_types(qtbot, tab.panel.scan.field, code)


def verify_here(qtbot: QtBot, dialog: object, username: str, password: str) -> None:
    """The pharmacist types their own user name (when not offered) and password, Enter."""
    assert isinstance(dialog, VerifyHereDialog)
    assert dialog.isVisible()
    if not dialog.username_field.text():
        qtbot.keyClicks(dialog.username_field, username)
        qtbot.keyClick(dialog.username_field, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password_field, password)
    qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)


def marks(tab: DispensingTab) -> dict[str, str]:
    return {key: label.text() for key, label in tab.panel.marks.items()}


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
    # Nothing is filled before a scan, and Prepare waits for one.
    assert not tab.panel.prepare_button.isEnabled()
    assert tab.panel.scanned_cells["kit"].isHidden()

    # The scanner types the GS1 DataMatrix of kit 1013, GS separator included, then Enter.
    window.trigger("work.scan")
    field = tab.panel.scan.field
    assert window.focusWidget() is field
    scan(qtbot, tab, gs1_kit_scan("1013", "L2301", lot_expiry(window.db, "L2301")))
    assert tab.panel.scan.refusal_text == ""
    assert field.property("scan") == "good"
    assert tab.panel.scanned_cells["kit"].text() == "1013"
    assert tab.panel.scanned_cells["lot"].text() == "L2301"
    assert set(marks(tab).values()) == {"✓"}
    assert tab.panel.location.currentText().startswith("IDS Shelf A")
    assert "Kit 1013" in tab.panel.scan.result_label.text()
    assert tab.panel.prepare_button.isEnabled()
    assert window.focusWidget() is field  # the next Enter prepares

    qtbot.keyClick(field, Qt.Key.Key_Return)
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    assert "Terry Tech, Technician — Prepared —" in signing.manifestation_label.text()
    with qtbot.waitSignal(signing.signed):
        sign(qtbot, signing, "demo-tech")
    assert order_state(window.db, order_id) == "prepared"
    with window.db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        assert order.prepared_identified is Identification.SCANNED
        assert order.prepared_typed_reason is None


def test_a_typed_kit_needs_a_reason_and_the_verifier_is_shown_it(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = dispensing_tab(window)
    order_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab.select_record(order_id)
    panel = tab.panel
    qtbot.keyClick(panel.type_button, Qt.Key.Key_Return)
    typing = tab.dialog
    assert isinstance(typing, TypeInsteadDialog)
    qtbot.keyClicks(typing.code, "1013")
    qtbot.keyClick(typing.code, Qt.Key.Key_Return)
    assert typing.isVisible()
    assert typing.error_text == "Say why the label cannot be scanned; the verifier is shown it."
    qtbot.keyClicks(typing.reason, "label torn")
    qtbot.keyClick(typing.reason, Qt.Key.Key_Return)
    assert not typing.isVisible()
    assert panel.column_heads[2].text() == "<b>In hand</b> (typed, not scanned: label torn)"
    assert panel.prepare_button.isEnabled()
    qtbot.keyClick(panel.prepare_button, Qt.Key.Key_Return)  # Enter presses a focused button
    with qtbot.waitSignal(tab.dialog.signed):
        sign(qtbot, tab.dialog, "demo-tech")
    assert order_state(window.db, order_id) == "prepared"

    pharmacist = open_window("pharm2")
    their_tab = dispensing_tab(pharmacist)
    their_tab.select_record(order_id)
    assert their_tab.panel.column_heads[1].text() == (
        "<b>Prepared</b> (typed, not scanned: label torn)"
    )


def test_a_wrong_kit_is_refused_at_the_scan_not_at_signing(
    qtbot: QtBot, open_window: WindowOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    beeps: list[None] = []
    monkeypatch.setattr(QApplication, "beep", lambda: beeps.append(None))
    window = open_window("tech")
    tab = dispensing_tab(window)
    prepared_order(window.db, "tech", "ABC-123", "01-003", "Visit 5", kit="1014")
    pending_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1015")
    tab.select_record(pending_id)
    panel = tab.panel
    before = audit_count(window.db)

    scan(qtbot, tab, "9999")
    assert panel.scan.refusal_text == "Code 9999 is not a kit or lot of study ABC-123."
    assert panel.scan.field.property("scan") == "bad"
    assert not panel.prepare_button.isEnabled()
    assert len(beeps) == 1

    scan(qtbot, tab, "1016")  # not the kit the IWRS assigned
    assert panel.scan.refusal_text == (
        "The IWRS assigned kit 1015 to this order; kit 1016 was scanned."
    )
    assert marks(tab)["kit"] == "✗"
    assert marks(tab)["product"] == "✓"
    assert not panel.prepare_button.isEnabled()
    assert len(beeps) == 2
    # Ctrl+P and Enter do nothing while the scan is wrong: no signature dialog opens.
    qtbot.keyClick(panel.scan.field, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.scan.field, Qt.Key.Key_Return)
    assert tab.dialog is None

    # A GS1 code whose expiry disagrees with the record is refused with the reason too.
    wrong_expiry = lot_expiry(window.db, "L2301") + dt.timedelta(days=1)
    scan(qtbot, tab, gs1_kit_scan("1015", "L2301", wrong_expiry))
    assert "but the lot is on record as expiring" in panel.scan.refusal_text
    assert audit_count(window.db) == before
    assert order_state(window.db, pending_id) == "pending"


def test_pharmacist_verifies_at_the_technicians_workstation_by_scanning(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    first = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    second = prepared_order(window.db, "tech", "ABC-123", "01-003", "Visit 5", kit="1014")
    tab = dispensing_tab(window)
    tab.select_record(first)
    panel = tab.panel
    # Ordered shows the assigned kit's lot and expiry, and whether it covers the supply.
    assert panel.compare["kit"][0].text() == "1013"
    assert panel.compare["lot"][0].text() == "L2301"
    assert panel.compare["expiry"][0].text().endswith("(covers the 28 days' supply)")
    assert panel.column_heads[1].text() == "<b>Prepared</b> (scanned)"
    assert panel.verify_box.isVisible()  # at a technician's workstation too
    assert not panel.verify_button.isEnabled()  # until the item in hand is scanned

    tab.focus_scan()
    scan(qtbot, tab, "1014")  # the other order's kit
    assert marks(tab)["kit"] == "✗"
    assert panel.scan.refusal_text == (
        "Kit 1013 was prepared; kit 1014 was scanned. Check the item in hand."
    )
    assert not panel.verify_button.isEnabled()
    scan(qtbot, tab, "1013")
    assert set(marks(tab).values()) == {"✓"}
    assert panel.verify_button.isEnabled()

    qtbot.keyClick(panel.scan.field, Qt.Key.Key_V, CTRL_SHIFT)
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    assert dialog.username_field.text() == ""  # a technician is signed in
    verify_here(qtbot, dialog, "pharm2", "not-my-password")
    assert dialog.isVisible()
    assert dialog.error_text.startswith("The password is wrong")
    assert order_state(window.db, first) == "prepared"
    with qtbot.waitSignal(dialog.signed):
        qtbot.keyClicks(dialog.password_field, "demo-pharm2")
        qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)

    assert order_state(window.db, first) == "dispensed"
    assert window.ws.user.username == "tech"  # nobody signed out
    with window.db.read_session() as session:
        signers = [
            (s.printed_name, s.meaning)
            for s in session.scalars(
                select(Signature).where(
                    Signature.record_table == "dispense_order", Signature.record_id == str(first)
                )
            )
        ]
        order = session.get_one(DispenseOrder, first)
        assert order.verified_identified is Identification.SCANNED
    assert signers == [
        ("Terry Tech", SignatureMeaning.PREPARED),
        ("Sam Lee", SignatureMeaning.VERIFIED),
    ]
    # The next order in the queue opens, ready for its scan.
    assert panel.detail is not None
    assert panel.detail.row.id == second
    assert panel.message.text().startswith(f"Order {first} dispensed: Sam Lee")
    assert window.focusWidget() is panel.scan.field


def test_a_technician_cannot_sign_as_the_verifier(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("pharm")
    order_id = prepared_order(window.db, "pharm", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    scan(qtbot, tab, "1013")
    qtbot.keyClick(tab.panel.verify_button, Qt.Key.Key_Return)
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    # The preparer is not offered as the verifier.
    assert dialog.username_field.text() == ""
    verify_here(qtbot, dialog, "pharm", "demo-pharm")
    assert dialog.error_text == "Jane Roe prepared this order; another pharmacist must verify it."
    dialog.username_field.clear()
    verify_here(qtbot, dialog, "tech", "demo-tech")
    assert dialog.error_text.startswith("Terry Tech is a technician; only a pharmacist verifies")
    assert order_state(window.db, order_id) == "prepared"


def test_opening_dispensing_puts_the_keyboard_in_the_scan_field(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    assert window.open_study(study_id(window.db, "ABC-123"))
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    tab = window.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.state is OrderState.PENDING
    qtbot.waitUntil(lambda: window.focusWidget() is tab.panel.scan.field)
    del order_id


def test_new_order_dialog_chooses_no_subject(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = dispensing_tab(window)
    window.trigger("work.new_order")
    dialog = tab.new_order_dialog
    assert isinstance(dialog, NewOrderDialog)
    assert dialog.subject.currentIndex() == -1
    qtbot.keyClicks(dialog.visit, "Visit 5")
    dialog.accept_button.click()
    assert dialog.error_text == "Choose the subject the order is for."


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


def test_a_label_that_cannot_be_made_leaves_the_verification_green(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm2")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    panel = tab.panel
    scan(qtbot, tab, "1013")
    qtbot.keyClick(panel.scan.field, Qt.Key.Key_Return)
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    assert dialog.username_field.text() == "pharm2"  # the signed-in pharmacist is offered
    with qtbot.waitSignal(dialog.signed):
        verify_here(qtbot, dialog, "pharm2", "demo-pharm2")
    assert order_state(window.db, order_id) == "dispensed"
    assert panel.message.kind == "success"
    assert panel.message.text().startswith(f"Order {order_id} dispensed: Sam Lee")
    assert panel.label_message.error_text.startswith(f"No label yet for order {order_id}: ")


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
    scan(qtbot, tab, "1013")
    panel.verify_button.click()
    with qtbot.waitSignal(tab.dialog.signed):
        verify_here(qtbot, tab.dialog, "pharm2", "demo-pharm2")
    assert order_state(window.db, order_id) == "dispensed"
    assert panel.last_label is not None
    assert panel.last_label.name == f"label-order-{order_id}.pdf"
    assert panel.last_label.stat().st_size > 0
    assert panel.message.kind == "success"
    assert panel.message.text().startswith(f"Order {order_id} dispensed: Sam Lee")
    assert panel.label_message.text() == f"Label saved as PDF: {panel.last_label}"


def test_a_refusal_in_the_signature_dialog_does_not_overlap_the_form(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    """Stock changed between the scan and the signature (another workstation quarantined
    the kit): the long refusal grows the dialog instead of being drawn over its form."""
    window = open_window("tech")
    refusal = (
        "Kit 1013 (lot L2301) is quarantined at IDS Shelf A; only available stock is "
        "dispensed. Another workstation quarantined it after it was scanned here; scan "
        "another kit and tell the pharmacist."
    )

    def stock_changed(_password: str) -> str:
        raise DispenseRefused(refusal)

    signing = SignatureDialog(
        window.db,
        window.ws.user,
        meaning=SignatureMeaning.PREPARED,
        what="Order 1: kit 1013 from IDS Shelf A for subject 01-004, Visit 5.",
        sign=stock_changed,
        parent=window,
    )
    qtbot.addWidget(signing)
    signing.show()
    qtbot.waitExposed(signing)
    sign(qtbot, signing, "demo-tech")
    assert signing.error_text == refusal
    error = signing.error_label.geometry()
    assert error.top() >= signing.manifestation_label.geometry().bottom()
    assert error.bottom() <= signing.accept_button.mapTo(signing, QPoint(0, 0)).y()


def test_keystrokes_from_new_order_to_dispensed(
    qtbot: QtBot, open_window: WindowOpener, record_property: Callable[[str, object], None]
) -> None:
    """The bench measured: a technician enters and prepares an order, a pharmacist verifies
    it at the same workstation; every key a person (or the scanner) presses is counted."""
    window = open_window("tech")
    tab = dispensing_tab(window)
    counted = {"person": 0, "scanner": 0, "password": 0}

    def focused() -> QWidget:
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=30_000)
        widget = QApplication.focusWidget()
        assert widget is not None
        return widget

    def press(key: Qt.Key, modifier: Qt.KeyboardModifier = NO_MODIFIER, by: str = "person") -> None:
        qtbot.keyClick(focused(), key, modifier)
        counted[by] += 1

    def type_text(text: str, by: str = "person") -> None:
        for character in text:
            qtbot.keyClicks(focused(), character)
            counted[by] += 1

    def tab_to(field: QWidget) -> None:
        while QApplication.focusWidget() is not field:
            press(Qt.Key.Key_Tab)

    press(Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = tab.new_order_dialog
    assert isinstance(dialog, NewOrderDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.subject, timeout=30_000)
    type_text("01-004")  # a combo box selects as you type
    for field, text in ((dialog.visit, "V5"), (dialog.kit, "1013")):
        tab_to(field)
        type_text(text)
    with qtbot.waitSignal(dialog.created):
        press(Qt.Key.Key_Return)
    panel = tab.panel
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.scan.field, timeout=30_000)

    type_text("1013", by="scanner")
    press(Qt.Key.Key_Return, by="scanner")
    press(Qt.Key.Key_Return)  # the scan was good: Enter prepares
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is signing.password_field, timeout=30_000)
    with qtbot.waitSignal(signing.signed):
        type_text("demo-tech", by="password")
        press(Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.scan.field, timeout=30_000)
    type_text("1013", by="scanner")  # the pharmacist scans the kit in hand
    press(Qt.Key.Key_Return, by="scanner")
    press(Qt.Key.Key_Return)  # it matches: Enter verifies
    verifying = tab.dialog
    assert isinstance(verifying, VerifyHereDialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is verifying.username_field, timeout=30_000)
    type_text("pharm2")
    press(Qt.Key.Key_Tab)
    with qtbot.waitSignal(verifying.signed):
        type_text("demo-pharm2", by="password")
        press(Qt.Key.Key_Return)

    assert window.ws.user.username == "tech"  # nobody signed out
    with window.db.read_session() as session:
        dispensed = session.scalars(
            select(DispenseOrder).where(DispenseOrder.state == OrderState.DISPENSED)
        ).all()
    assert any(order.visit == "V5" for order in dispensed)
    keys = counted["person"] + counted["scanner"]
    record_property("keystrokes", counted)
    print(
        f"\nNew order to dispensed: {keys} keystrokes ({counted['person']} by people, "
        f"{counted['scanner']} by the scanner) plus the two passwords "
        f"({counted['password']} characters)"
    )
    assert keys <= 40


def test_at_1280_by_720_the_orders_and_prepare_fit_without_a_sideways_scroll(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    window.resize(1280, 720)
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    scan(qtbot, tab, "1013")
    button = tab.panel.prepare_button

    def fits() -> bool:
        # Side by side once the study list has folded away, or the order under the list
        # when the page is narrower: either way nothing scrolls sideways or is cut off.
        whole = button.visibleRegion().boundingRect().size() == button.size()
        return whole and not tab.view.horizontalScrollBar().isVisible()

    qtbot.waitUntil(fits)
    assert button.isVisible()
    corner = button.mapTo(window, QPoint(button.width(), button.height()))
    assert window.rect().contains(corner)


def test_enter_on_an_order_goes_to_its_scan_and_ctrl_p_prepares(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = new_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.view.setFocus()
    row = next(n for n, r in enumerate(tab.model.rows) if r.id == order_id)
    tab.view.selectRow(row)
    qtbot.keyClick(tab.view, Qt.Key.Key_Return)
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.id == order_id
    qtbot.waitUntil(lambda: QApplication.focusWidget() is tab.panel.scan.field)
    scan(qtbot, tab, "1013")
    qtbot.keyClick(tab.panel.scan.field, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    signing = tab.dialog
    assert isinstance(signing, SignatureDialog)
    with qtbot.waitSignal(signing.signed):
        sign(qtbot, signing, "demo-tech")
    assert order_state(window.db, order_id) == "prepared"


def test_the_verify_dialog_shows_every_line_without_overlap(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    scan(qtbot, tab, "1013")
    qtbot.keyClick(tab.panel.scan.field, Qt.Key.Key_Return)
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    qtbot.waitExposed(dialog)
    hint = dialog.manifestation_label
    assert hint.geometry().top() >= dialog.password_field.geometry().bottom()
    assert hint.height() >= hint.heightForWidth(hint.width())
    assert hint.geometry().bottom() <= dialog.accept_button.mapTo(dialog, QPoint(0, 0)).y()


def test_a_refusal_in_the_verify_dialog_grows_it_rather_than_squeezing_the_form(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm2")
    order_id = prepared_order(window.db, "tech", "ABC-123", "01-004", "Visit 5", kit="1013")
    tab = dispensing_tab(window)
    tab.select_record(order_id)
    scan(qtbot, tab, "1013")
    qtbot.keyClick(tab.panel.scan.field, Qt.Key.Key_Return)
    dialog = tab.dialog
    assert isinstance(dialog, VerifyHereDialog)
    qtbot.waitExposed(dialog)
    verify_here(qtbot, dialog, "pharm2", "wrong-password")
    assert dialog.error_text.startswith("The password is wrong")
    qtbot.wait(0)  # let the layout settle as a person would see it
    hint = dialog.manifestation_label
    assert hint.height() >= hint.heightForWidth(hint.width())
    assert hint.geometry().bottom() <= dialog.error_label.geometry().top()
    meaning = dialog.form.itemAt(0, dialog.form.ItemRole.FieldRole).widget()
    assert meaning.height() >= meaning.heightForWidth(meaning.width())
