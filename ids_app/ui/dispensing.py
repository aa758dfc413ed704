"""Dispensing: orders entered and prepared (scanned) by a technician, verified and signed by
a pharmacist who did not prepare them (DESIGN.md, workflow 4).

The screen only collects and shows. Kit and lot come from a scan (or a typed number with
its reason), checked against the order the moment it is scanned by the service's own rules
(``dispensing.check_for_preparing`` / ``check_for_verifying``), so Prepare and Verify are
enabled only for the right item and a refusal never first appears at signing. The
pharmacist verifies at whichever workstation the order is, with their own user name and
password (``dispensing.verify_order_here``). Every action is one unit of work; a refusal is
shown as the service words it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import Database, today
from ids_app.inventory import dispensing
from ids_app.inventory.dispensing import InHand, ItemCheck, Row, Scanned, Typed
from ids_app.inventory.models import (
    DISPENSING_KINDS,
    DispenseOrder,
    Location,
    OrderState,
)
from ids_app.inventory.order_views import OrderRow, order_row, order_signatures, orders_page
from ids_app.inventory.views import location_choices
from ids_app.studies.blinding import ArmMask, arm_mask_of
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.studies.views import (
    Choice,
    ProductRow,
    enrolled_first,
    prescriber_choices,
    product_rows,
    subject_choices,
)
from ids_app.ui.blinding_warning import warn_beside
from ids_app.ui.context import Workspace
from ids_app.ui.forms import (
    ERROR_COLOR,
    SUCCESS_COLOR,
    FormDialog,
    InlineMessage,
    heading_label,
    hint_label,
    open_dialog,
    password_field,
)
from ids_app.ui.guard import attempt
from ids_app.ui.labels import (
    SavedLabel,
    label_after_verification,
    label_button_text,
    save_label,
)
from ids_app.ui.scan import ScanPanel
from ids_app.ui.signature import MEANINGS, ReasonDialog, SignatureDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.style import set_status
from ids_app.ui.table_models import (
    Column,
    PagedRowsModel,
    display,
    fit_columns,
    selected_row,
    table_view,
)
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.signatures import manifestation, signatures_of
from ids_app.wording import quantity_text

ORDER_STATES = (
    ("All orders", None),
    ("Pending (to prepare)", OrderState.PENDING),
    ("Prepared (to verify)", OrderState.PREPARED),
    ("Dispensed", OrderState.DISPENSED),
    ("Rejected", OrderState.REJECTED),
    ("Cancelled", OrderState.CANCELLED),
)

STATE_COLOURS = {
    OrderState.PENDING: None,
    OrderState.PREPARED: "waiting",
    OrderState.DISPENSED: None,
    OrderState.REJECTED: "expired",
    OrderState.CANCELLED: "returned",
}


def fill_combo(combo: QComboBox, choices: list[Choice], keep: int | None = None) -> None:
    combo.blockSignals(True)
    combo.clear()
    for choice in choices:
        combo.addItem(choice.text, choice.id)
    if keep is not None:
        index = combo.findData(keep)
        if index >= 0:
            combo.setCurrentIndex(index)
    combo.blockSignals(False)


def last_manifestation(session: Session, record: DispenseOrder) -> str:
    signatures = signatures_of(session, record)
    return manifestation(signatures[-1]) if signatures else ""


class NewOrderDialog(FormDialog):
    """A prescriber's order for one subject's visit (dispensing.create_order)."""

    created = Signal(int)

    def __init__(
        self, db: Database, user: User, study_id: int, protocol: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            db,
            title=f"New dispense order — {protocol}",
            heading=f"New dispense order for {protocol}",
            intro="As written by the prescriber (and, for kits, as assigned by the IWRS).",
            accept_text="Enter order",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("newOrderDialog")
        self.user = user
        self.study_id = study_id
        self.order_id: int | None = None
        self.subject = QComboBox()
        self.subject.setObjectName("orderSubject")
        self.prescriber = QComboBox()
        self.prescriber.setObjectName("orderPrescriber")
        self.product = QComboBox()
        self.product.setObjectName("orderProduct")
        self.visit = QLineEdit()
        self.visit.setObjectName("orderVisit")
        self.visit.setPlaceholderText("e.g. Visit 3, Cycle 2 Day 1")
        self.quantity = QSpinBox()
        self.quantity.setObjectName("orderQuantity")
        self.quantity.setRange(0, 100_000)
        self.quantity.setSpecialValueText("as the dispensing rule says")
        self.kit = QLineEdit()
        self.kit.setObjectName("orderKit")
        self.kit.setPlaceholderText("kit number the IWRS assigned, if any")
        self.form.addRow("&Subject", self.subject)
        self.form.addRow("&Prescriber", self.prescriber)
        self.form.addRow("P&roduct", self.product)
        self.form.addRow("&Visit", self.visit)
        self.form.addRow("&Quantity", self.quantity)
        self.form.addRow("Assigned &kit", self.kit)
        self.products: list[ProductRow] = []

        def read(
            session: Session,
        ) -> tuple[list[Choice], list[Choice], list[ProductRow], ArmMask]:
            return (
                enrolled_first(subject_choices(session, study_id)),
                prescriber_choices(session, study_id),
                product_rows(session, study_id),
                arm_mask_of(session, study_id),
            )

        with db.read_session() as session:
            subjects, prescribers, self.products, mask = read(session)
        warn_beside(self.form, self.visit, mask)
        fill_combo(self.subject, subjects)
        # No subject is chosen for the technician: a wrong default is an easy wrong dispense.
        self.subject.setCurrentIndex(-1)
        self.subject.setPlaceholderText("choose the subject (type the first digits)")
        fill_combo(self.prescriber, prescribers)
        fill_combo(self.product, [Choice(p.id, p.description) for p in self.products])
        self.product.currentIndexChanged.connect(self._product_changed)
        self._product_changed()
        self.subject.setFocus()

    def _product_changed(self) -> None:
        product = next((p for p in self.products if p.id == self.product.currentData()), None)
        kit_tracked = product is not None and product.is_kit_tracked
        self.kit.setEnabled(kit_tracked)
        self.quantity.setEnabled(not kit_tracked)
        if kit_tracked:
            self.quantity.setValue(0)

    def accept(self) -> None:
        self.clear_error()
        subject_id = self.subject.currentData()
        prescriber_id = self.prescriber.currentData()
        product_id = self.product.currentData()
        visit = self.visit.text()
        quantity = self.quantity.value() or None
        kit = self.kit.text() if self.kit.isEnabled() else None
        user, study_id = self.user, self.study_id

        def create() -> int:
            with self.db.unit_of_work() as session:
                order = dispensing.create_order(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    subject=session.get_one(Subject, subject_id),
                    prescriber=session.get_one(Prescriber, prescriber_id),
                    product=session.get_one(Product, product_id),
                    visit=visit,
                    quantity=quantity,
                    assigned_kit_number=kit,
                )
                return order.id

        if self.subject.count() and subject_id is None:
            self.show_error("Choose the subject the order is for.")
            self.subject.setFocus()
            return
        if subject_id is None or prescriber_id is None or product_id is None:
            self.show_error("The study needs a subject, a prescriber and a product first.")
            return
        order_id = attempt(
            self, self.db, "entering the order", create, show_refusal=self.show_error
        )
        if order_id is None:
            return
        self.order_id = order_id
        self.created.emit(order_id)
        super().accept()


@dataclass(frozen=True)
class OrderDetail:
    row: OrderRow
    signatures: list[str]
    why_not_verify: str | None


# The rows of the comparison, with what each row is called.
COMPARED = (
    (Row.PRODUCT, "Product"),
    (Row.KIT, "Kit"),
    (Row.LOT, "Lot"),
    (Row.EXPIRY, "Expiry"),
    (Row.LOCATION, "From"),
    (Row.QUANTITY, "Quantity"),
)
MATCH, MISMATCH = "✓", "✗"
# Below this width the order panel goes under the orders list instead of beside it.
NARROW_WIDTH = 900


class EnterButton(QPushButton):
    """A button Enter presses as Space does, when it has the keyboard (outside dialogs Qt
    presses buttons only with Space)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.isEnabled():
            event.accept()
            self.click()
            return
        super().keyPressEvent(event)


def enter_button(text: str, *, name: str, primary: bool = False) -> EnterButton:
    button = EnterButton(text)
    button.setObjectName(name)
    if primary:
        button.setProperty("primary", True)
        button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return button


class TypeInsteadDialog(FormDialog):
    """The override of a scan: the kit or lot number typed from the label, and why it could
    not be scanned; the reason is kept on the order and shown to the verifier."""

    typed = Signal(object)

    def __init__(self, db: Database, mask: ArmMask, parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="Type the number instead of scanning",
            heading="Type the kit or lot number",
            intro=(
                "Only when the label cannot be scanned. The reason is kept on the order and "
                "the verifier sees that it was typed, not scanned."
            ),
            accept_text="Check this number",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("typeInsteadDialog")
        self.code = QLineEdit()
        self.code.setObjectName("typedCode")
        self.reason = QLineEdit()
        self.reason.setObjectName("typedReason")
        self.reason.setPlaceholderText("e.g. label torn, barcode smudged")
        self.form.addRow("&Kit or lot number", self.code)
        self.form.addRow("&Why not scanned", self.reason)
        warn_beside(self.form, self.reason, mask)
        self.code.setFocus()

    def accept(self) -> None:
        code, reason = self.code.text().strip(), self.reason.text().strip()
        if not code:
            self.show_error("Type the kit or lot number from the label.")
            return
        if not reason:
            self.show_error("Say why the label cannot be scanned; the verifier is shown it.")
            return
        self.typed.emit(Typed(code, reason))
        super().accept()


class VerifyHereDialog(FormDialog):
    """A pharmacist verifies at this workstation with their own user name and password,
    whoever is signed in: nobody signs out (dispensing.verify_order_here)."""

    signed = Signal(object)

    def __init__(
        self,
        db: Database,
        *,
        what: str,
        username: str,
        sign: Callable[[str, str], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title=f"Sign — {SignatureMeaning.VERIFIED.value}",
            heading="Verify and sign",
            intro=f"{what} Sign with your own user name and password; nobody signs out.",
            accept_text="Sign as verified",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("verifyHereDialog")
        self._sign = sign
        self.result_value: str | None = None
        self.username_field = QLineEdit(username)
        self.username_field.setObjectName("verifierUsername")
        self.password_field = password_field()
        self.password_field.setObjectName("verifierPassword")
        meaning = QLabel(
            f"{SignatureMeaning.VERIFIED.value.capitalize()}: {MEANINGS[SignatureMeaning.VERIFIED]}"
        )
        meaning.setWordWrap(True)
        self.form.addRow("Meaning", meaning)
        self.form.addRow("Pharmacist's &user name", self.username_field)
        self.form.addRow("&Password", self.password_field)
        self.manifestation_label = hint_label(
            "The signature will read: <your printed name>, Pharmacist — Verified — <date and time>."
        )
        self.form.addRow("", self.manifestation_label)
        (self.password_field if username else self.username_field).setFocus()

    def accept(self) -> None:
        self.clear_error()
        username, password = self.username_field.text(), self.password_field.text()
        result = attempt(
            self,
            self.db,
            "signing as verified",
            lambda: self._sign(username, password),
            show_refusal=self._refused,
        )
        if result is None:
            return
        self.result_value = result
        self.password_field.clear()
        self.signed.emit(result)
        super().accept()

    def _refused(self, message: str) -> None:
        self.password_field.clear()
        self.show_error(message)
        self.password_field.setFocus()


class OrderPanel(QWidget):
    """One order: what was ordered against what is in hand, marked ✓/✗ row by row, and
    what can be done next. Kit and lot come only from a scan (or a typed number with a
    reason); the scan is checked against the order by the service at once."""

    def __init__(self, tab: DispensingTab) -> None:
        super().__init__()
        self.tab = tab
        self.ws = tab.ws
        self.detail: OrderDetail | None = None
        self.check: ItemCheck | None = None
        self.in_hand: InHand | None = None

        self.heading = heading_label("Choose an order", scale=1.2)
        self.heading.setObjectName("orderHeading")
        self.state_label = QLabel()
        self.state_label.setObjectName("orderState")
        self.ordered_form = QFormLayout()
        self.ordered_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fields: dict[str, QLabel] = {}
        for key, title in (
            ("subject", "Subject"),
            ("visit", "Visit"),
            ("prescriber", "Prescriber"),
            ("ordered_by", "Ordered by"),
        ):
            label = QLabel()
            label.setObjectName(f"order_{key}")
            label.setWordWrap(True)
            self.fields[key] = label
            self.ordered_form.addRow(title, label)

        self.compare_box = QGroupBox("Ordered and in hand")
        self.compare_box.setObjectName("compareBox")
        grid = QGridLayout(self.compare_box)
        grid.setHorizontalSpacing(10)
        self.compare_grid = grid
        self.column_heads = [QLabel("<b>Ordered</b>"), QLabel(), QLabel()]
        for column, head in enumerate(self.column_heads, start=1):
            head.setWordWrap(True)
            grid.addWidget(head, 0, column)
        self.column_heads[1].setObjectName("preparedHead")
        self.column_heads[2].setObjectName("scannedHead")
        self.compare: dict[str, tuple[QLabel, QLabel]] = {}
        self.scanned_cells: dict[str, QLabel] = {}
        self.marks: dict[str, QLabel] = {}
        for number, (row, title) in enumerate(COMPARED, start=1):
            key = row.value
            cells = []
            for column, prefix in enumerate(("ordered", "prepared", "scanned"), start=1):
                cell = QLabel()
                cell.setObjectName(f"{prefix}_{key}")
                cell.setWordWrap(True)
                grid.addWidget(cell, number, column)
                cells.append(cell)
            mark = QLabel()
            mark.setObjectName(f"mark_{key}")
            grid.addWidget(QLabel(title), number, 0)
            grid.addWidget(mark, number, 4)
            self.compare[key] = (cells[0], cells[1])
            self.scanned_cells[key] = cells[2]
            self.marks[key] = mark
        for column in (1, 2, 3):
            grid.setColumnStretch(column, 1)
        self.arms_label = QLabel()
        self.arms_label.setObjectName("armsLabel")
        self.arms_label.setWordWrap(True)
        grid.addWidget(self.arms_label, len(COMPARED) + 1, 0, 1, 5)

        self.signatures_label = QLabel()
        self.signatures_label.setObjectName("orderSignatures")
        self.signatures_label.setWordWrap(True)
        self.signatures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # scanning (for preparing and for verifying) -------------------------------------------
        self.scan_box = QGroupBox("Scan the kit or lot in hand")
        self.scan_box.setObjectName("scanBox")
        self.scan = ScanPanel(self.ws.db, check=lambda text: self.check_item(Scanned(text)))
        self.scan.field.confirmed.connect(self.default_action)
        self.type_button = enter_button("&Type the number instead…", name="typeInsteadButton")
        self.type_button.clicked.connect(self.type_instead)
        scan_layout = QVBoxLayout(self.scan_box)
        scan_layout.addWidget(self.scan)
        scan_layout.addWidget(self.type_button, 0, Qt.AlignmentFlag.AlignLeft)

        # preparing --------------------------------------------------------------------------
        self.prepare_box = QGroupBox("Prepare")
        self.prepare_box.setObjectName("prepareBox")
        self.location = QComboBox()
        self.location.setObjectName("prepareLocation")
        self.location.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.location.setMinimumContentsLength(12)
        self.location.activated.connect(lambda _i: self._recheck())
        self.prepare_button = enter_button("&Prepare and sign…", name="prepareButton", primary=True)
        self.prepare_button.setToolTip("Ctrl+P")
        self.prepare_button.clicked.connect(self.prepare)
        prepare_row = QHBoxLayout()
        caption = QLabel("&From")
        caption.setBuddy(self.location)
        prepare_row.addWidget(caption)
        prepare_row.addWidget(self.location, 1)
        prepare_layout = QVBoxLayout(self.prepare_box)
        prepare_layout.addLayout(prepare_row)
        prepare_layout.addWidget(self.prepare_button, 0, Qt.AlignmentFlag.AlignRight)

        # verifying ------------------------------------------------------------------------
        self.verify_box = QGroupBox("Verify")
        self.verify_box.setObjectName("verifyBox")
        self.verify_button = enter_button("&Verify and sign…", name="verifyButton", primary=True)
        self.verify_button.clicked.connect(self.verify)
        self.reject_button = enter_button("Reject…", name="rejectButton")
        self.reject_button.clicked.connect(self.reject)
        self.why_not_label = QLabel()
        self.why_not_label.setObjectName("whyNotVerify")
        self.why_not_label.setWordWrap(True)
        self.why_not_label.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: 600;")
        verify_row = QHBoxLayout()
        verify_row.addWidget(self.reject_button)
        verify_row.addStretch(1)
        verify_row.addWidget(self.verify_button)
        vbox = QVBoxLayout(self.verify_box)
        vbox.addWidget(self.why_not_label)
        vbox.addLayout(verify_row)

        self.cancel_button = enter_button("Cancel order…", name="cancelOrderButton")
        self.cancel_button.clicked.connect(self.cancel)
        self.label_note = QLabel()
        self.label_note.setObjectName("labelNote")
        self.label_note.setWordWrap(True)
        self.label_button = enter_button(label_button_text(self.ws.settings), name="labelButton")
        self.label_button.clicked.connect(lambda: self.save_label())
        self.last_label: Path | None = None
        self.message = InlineMessage("orderMessage")
        self.label_message = InlineMessage("labelMessage")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.state_label)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.label_message)
        layout.addWidget(self.scan_box)
        layout.addWidget(self.prepare_box)
        layout.addWidget(self.verify_box)
        layout.addWidget(self.compare_box)
        layout.addLayout(self.ordered_form)
        layout.addWidget(self.signatures_label)
        layout.addWidget(self.label_note)
        layout.addWidget(self.label_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.setTabOrder(self.scan.field, self.type_button)
        self.setTabOrder(self.type_button, self.location)
        self.setTabOrder(self.location, self.prepare_button)
        self.show_detail(None)

    # showing ----------------------------------------------------------------------------------

    def show_detail(self, detail: OrderDetail | None) -> None:
        self.detail = detail
        self.check = None
        self.in_hand = None
        self.message.clear_message()
        self.label_message.clear_message()
        has = detail is not None
        for widget in (self.compare_box, self.signatures_label, self.cancel_button):
            widget.setVisible(has)
        if detail is None:
            self.heading.setText("Choose an order")
            self.state_label.clear()
            for label in self.fields.values():
                label.clear()
            for box in (self.scan_box, self.prepare_box, self.verify_box):
                box.hide()
            self.label_note.hide()
            self.label_button.hide()
            return
        row = detail.row
        self.heading.setText(f"Order {row.id}: {row.subject_code}, {row.product}")
        self.heading.setWordWrap(True)
        self.state_label.setText(row.state.value)
        set_status(self.state_label, STATE_COLOURS.get(row.state) or "")
        self.fields["subject"].setText(f"{row.subject_code} ({row.subject_initials})")
        self.fields["visit"].setText(row.visit)
        self.fields["prescriber"].setText(row.prescriber)
        self.fields["ordered_by"].setText(f"{row.ordered_by}, {_local(row.ordered_at)}")
        pending = row.state is OrderState.PENDING
        prepared = row.state is OrderState.PREPARED
        self.column_heads[1].setText(
            "" if pending else f"<b>Prepared</b> ({row.prepared_how or 'scanned'})"
        )
        ordered = _ordered_values(row)
        for key, (ordered_cell, prepared_cell) in self.compare.items():
            ordered_cell.setText(ordered[key])
            prepared_cell.setText("" if pending else _prepared_values(row)[key])
            prepared_cell.setVisible(not pending)
        self.column_heads[1].setVisible(not pending)
        self.compare_grid.setColumnStretch(2, 0 if pending else 1)
        # Arms only for a user unblinded on this study (studies.services.is_unblinded).
        if self.tab.show_arms and (row.kit_arm or row.subject_arm):
            self.arms_label.setText(
                f"Kit's arm: {row.kit_arm or 'not on the kit list'}; subject's arm: "
                f"{row.subject_arm or 'not recorded'}"
            )
            self.arms_label.show()
        else:
            self.arms_label.clear()
            self.arms_label.hide()
        self.signatures_label.setText(
            "Signatures: " + ("; ".join(detail.signatures) if detail.signatures else "none yet")
        )
        may_prepare = pending and self.ws.can("prepare")
        # Anyone at the bench may call a pharmacist to verify here with their own name.
        may_verify = prepared
        self.prepare_box.setVisible(may_prepare)
        self.verify_box.setVisible(may_verify)
        self.scan_box.setVisible(may_prepare or may_verify)
        self.scan_box.setTitle(
            "Scan the kit or lot to prepare" if pending else "Scan the prepared item to verify"
        )
        self.scan.set_study(row.study_id)
        self.reject_button.setVisible(self.ws.can("reject_order"))
        why = detail.why_not_verify
        self.why_not_label.setText(why or "")
        self.why_not_label.setVisible(why is not None)
        self.cancel_button.setVisible(
            row.state in (OrderState.PENDING, OrderState.PREPARED) and self.ws.can("cancel_order")
        )
        dispensed = row.state is OrderState.DISPENSED
        self.label_note.setVisible(dispensed)
        self.label_note.setText(label_after_verification(self.ws.settings))
        self.label_button.setVisible(dispensed and self.ws.can("print_label"))
        self.label_button.setText(label_button_text(self.ws.settings))
        self._show_check()

    def _show_check(self) -> None:
        """The scanned column and its ✓/✗ marks; Prepare and Verify wait for a good scan."""
        check = self.check
        for key, cell in self.scanned_cells.items():
            cell.setVisible(check is not None)
            mark = self.marks[key]
            mark.setVisible(check is not None)
            if check is None:
                cell.clear()
                mark.clear()
                continue
            good = check.matches(Row(key))
            mark.setText(MATCH if good else MISMATCH)
            mark.setStyleSheet(
                f"color: {SUCCESS_COLOR if good else ERROR_COLOR}; font-weight: 700;"
            )
            mark.setToolTip("matches" if good else "does not match")
        self.column_heads[2].setVisible(check is not None)
        if check is not None and self.detail is not None:
            how = f"typed, not scanned: {check.typed_reason}" if check.typed_reason else "scanned"
            self.column_heads[2].setText(f"<b>In hand</b> ({how})")
            values = _in_hand_values(self.detail.row, check, self.location.currentText())
            for key, cell in self.scanned_cells.items():
                cell.setText(values[key])
        good = check is not None and not check.problems
        pending = self.detail is not None and self.detail.row.state is OrderState.PENDING
        self.prepare_button.setEnabled(good and pending)
        why = self.detail.why_not_verify if self.detail is not None else None
        self.verify_button.setEnabled(good and not pending and why is None)
        if pending:
            tip = "Ctrl+P" if good else "Scan the kit or lot first; it is checked at once."
            self.prepare_button.setToolTip(tip)
        self.verify_button.setToolTip(
            why or ("Ctrl+Shift+V" if good else "Scan the prepared item first.")
        )

    def set_locations(self, choices: list[Choice]) -> None:
        fill_combo(self.location, choices, keep=self.location.currentData())

    # scanning -----------------------------------------------------------------------------------

    def check_item(self, item: InHand) -> None:
        """Check the item in hand against the order at once, with the service's own rules:
        a refusal turns the field red, says why and beeps; the scan field keeps the keyboard
        so the next Enter prepares (or verifies) once the scan is good."""
        if self.detail is None:
            return
        row, user = self.detail.row, self.ws.user
        # A kit is checked where it stands; bulk stock where the technician takes it from.
        location_id = None if row.product_is_kit else self.location.currentData()

        def read(session: Session) -> ItemCheck:
            order = session.get_one(DispenseOrder, row.id)
            if row.state is OrderState.PENDING:
                return dispensing.check_for_preparing(session, user, order, item, location_id)
            return dispensing.check_for_verifying(session, order, item)

        check = self.ws.read(self, "checking the scan", read)
        if check is None:
            return
        self.in_hand, self.check = item, check
        if check.location_id is not None and row.state is OrderState.PENDING:
            index = self.location.findData(check.location_id)
            if index >= 0:
                self.location.setCurrentIndex(index)
        if check.refusal is not None:
            self.scan.refuse(check.refusal)
        else:
            self.scan.accept_scan(_check_summary(check))
        self._show_check()
        self.scan.field.setFocus(Qt.FocusReason.OtherFocusReason)

    def _recheck(self) -> None:
        """Another location was chosen: the same item is checked there."""
        if self.in_hand is None or self.detail is None:
            return
        row, user, item = self.detail.row, self.ws.user, self.in_hand
        location_id = self.location.currentData()

        def read(session: Session) -> ItemCheck:
            order = session.get_one(DispenseOrder, row.id)
            return dispensing.check_for_preparing(session, user, order, item, location_id)

        check = self.ws.read(self, "checking the scan", read)
        if check is None:
            return
        self.check = check
        if check.refusal is not None:
            self.scan.refuse(check.refusal)
        else:
            self.scan.accept_scan(_check_summary(check))
        self._show_check()

    def type_instead(self) -> None:
        dialog = TypeInsteadDialog(self.ws.db, self.tab.arm_mask, parent=self)
        dialog.typed.connect(self.check_item)
        self.tab.dialog = dialog
        open_dialog(dialog)

    def default_action(self) -> None:
        """Enter in the empty scan field after a good scan: prepare, or verify."""
        if self.prepare_box.isVisible() and self.prepare_button.isEnabled():
            self.prepare()
        elif self.verify_box.isVisible() and self.verify_button.isEnabled():
            self.verify()

    # actions ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        if self.detail is None or self.in_hand is None or not self.prepare_button.isEnabled():
            return
        row, item = self.detail.row, self.in_hand
        location_id = self.location.currentData()
        if location_id is None:
            self.message.show_error("Choose where the stock is taken from.")
            return
        user, db = self.ws.user, self.ws.db
        check = self.check
        picked = f"kit {check.kit_number}" if check and check.kit_number else f"lot {item.code}"
        where = self.location.currentText().split(" (")[0]

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                order = dispensing.prepare_order(
                    session,
                    user,
                    session.get_one(DispenseOrder, row.id),
                    password=password,
                    item=item,
                    location=session.get_one(Location, location_id),
                )
                return last_manifestation(session, order)

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.PREPARED,
            what=(
                f"Order {row.id}: {picked} from {where} for subject {row.subject_code}, "
                f"{row.visit} ({row.product}, {quantity_text(row.quantity, row.unit)})."
            ),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(
            lambda text: self.tab.acted(row.id, f"Order {row.id} prepared: {text}")
        )
        self.tab.dialog = dialog
        open_dialog(dialog)

    def verify(self) -> None:
        if self.detail is None or self.in_hand is None or not self.verify_button.isEnabled():
            return
        row, item = self.detail.row, self.in_hand
        db = self.ws.db
        signed_in = self.ws.user
        # The signed-in pharmacist is offered; a technician's workstation asks for the name.
        username = (
            signed_in.username
            if self.ws.can("verify_order") and signed_in.id != row.prepared_by_id
            else ""
        )

        def sign(name: str, password: str) -> str:
            with db.unit_of_work() as session:
                order = dispensing.verify_order_here(
                    session,
                    session.get_one(DispenseOrder, row.id),
                    username=name,
                    password=password,
                    item=item,
                )
                return last_manifestation(session, order)

        dialog = VerifyHereDialog(
            db,
            what=(
                f"Order {row.id}: {row.picked} from {row.location} for subject "
                f"{row.subject_code}, {row.visit}, prepared by {row.prepared_by} "
                f"({row.prepared_how or 'scanned'}). The stock leaves the shelf for the "
                "subject when you sign."
            ),
            username=username,
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(lambda text: self._verified(row.id, text))
        self.tab.dialog = dialog
        open_dialog(dialog)

    def _verified(self, order_id: int, signed: str) -> None:
        """The dispense is on record: its label is made at once (printed, when Settings name
        a printer), and the next order in the queue opens. A label that cannot be made is
        said on its own line beside the verification, which stands; the Label button makes it
        once the cause is put right."""
        done = f"Order {order_id} dispensed: {signed}."
        self.tab.verified(order_id, done)
        if self.ws.can("print_label"):
            self.save_label(order_id, after_verify=True)

    def save_label(self, order_id: int | None = None, *, after_verify: bool = False) -> None:
        if order_id is None:
            if self.detail is None:
                return
            order_id = self.detail.row.id
        user, db, settings = self.ws.user, self.ws.db, self.ws.settings
        label_for = order_id

        def make() -> SavedLabel:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                return save_label(db, user, label_for, settings)
            finally:
                QApplication.restoreOverrideCursor()

        def refused(reason: str) -> None:
            text = f"No label yet for order {label_for}: {reason}" if after_verify else reason
            self.label_message.show_error(text)

        self.label_message.clear_message()
        saved = attempt(self, db, "making the label", make, show_refusal=refused)
        if saved is None:
            return
        self.last_label = saved.path
        self.label_message.show_success(saved.message)

    def reject(self) -> None:
        self._close_with_reason("reject")

    def cancel(self) -> None:
        self._close_with_reason("cancel")

    def _close_with_reason(self, how: str) -> None:
        if self.detail is None:
            return
        row = self.detail.row
        user, db = self.ws.user, self.ws.db

        def act(reason: str) -> int:
            with db.unit_of_work() as session:
                order = session.get_one(DispenseOrder, row.id)
                if how == "reject":
                    dispensing.reject_order(session, user, order, reason)
                else:
                    dispensing.cancel_order(session, user, order, reason)
            return row.id

        verb = "Reject" if how == "reject" else "Cancel"
        dialog = ReasonDialog(
            db,
            title=f"{verb} order {row.id}",
            intro=(
                "Say why; the reason is kept in the audit trail. No stock has moved, so none "
                "moves now."
            ),
            accept_text=f"{verb} the order",
            act=act,
            mask=self.tab.arm_mask,
            parent=self,
        )
        done = "rejected" if how == "reject" else "cancelled"
        dialog.completed.connect(lambda _r: self.tab.acted(row.id, f"Order {row.id} {done}."))
        self.tab.dialog = dialog
        open_dialog(dialog)


def _covers(expiry: dt.date | None, days_supply: int) -> str:
    """Whether an expiry covers the days' supply from today, said beside the date."""
    if expiry is None:
        return ""
    last_day = today() + dt.timedelta(days=days_supply)
    if expiry < today():
        return f"{expiry:%Y-%m-%d} (expired)"
    if expiry < last_day:
        return f"{expiry:%Y-%m-%d} (does not cover the {days_supply} days' supply)"
    return f"{expiry:%Y-%m-%d} (covers the {days_supply} days' supply)"


def _ordered_values(row: OrderRow) -> dict[str, str]:
    kit = (row.assigned_kit_number or "any kit") if row.product_is_kit else "— (bulk)"
    return {
        "product": row.product,
        "kit": kit,
        "lot": row.assigned_lot_number or "",
        "expiry": _covers(row.assigned_expiry, row.days_supply),
        "location": "",
        "quantity": quantity_text(row.quantity, row.unit),
    }


def _prepared_values(row: OrderRow) -> dict[str, str]:
    return {
        "product": row.product if row.lot_number else "",
        "kit": row.kit_number or "",
        "lot": row.lot_number or "",
        "expiry": _covers(row.expiry, row.days_supply),
        "location": row.location or "",
        "quantity": quantity_text(row.quantity, row.unit) if row.lot_number else "",
    }


def _in_hand_values(row: OrderRow, check: ItemCheck, location: str) -> dict[str, str]:
    named = check.lot_number is not None
    return {
        "product": row.product if named and check.matches(Row.PRODUCT) else "",
        "kit": check.kit_number or "",
        "lot": check.lot_number or "",
        "expiry": _covers(check.expiry, row.days_supply),
        "location": location.split(" (")[0] if named else "",
        "quantity": quantity_text(row.quantity, row.unit) if named else "",
    }


def _check_summary(check: ItemCheck) -> str:
    named = f"Kit {check.kit_number}" if check.kit_number else f"Lot {check.lot_number}"
    return f"{named} matches the order ✓ — press Enter to sign."


def _local(value: object) -> str:
    return display(value)


class DispensingTab(StudyTab):
    key = "dispensing"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.dialog: QWidget | None = None
        self.new_order_dialog: NewOrderDialog | None = None
        self._want_order: int | None = None

        self.state_filter = QComboBox()
        self.state_filter.setObjectName("orderStateFilter")
        for text, state in ORDER_STATES:
            self.state_filter.addItem(text, state)
        self.state_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.new_button = QPushButton("New order…")
        self.new_button.setObjectName("newOrderButton")
        self.new_button.setToolTip("Ctrl+N")
        self.new_button.clicked.connect(self.new_order)
        self.new_button.setVisible(ws.can("order"))

        self.model: PagedRowsModel[OrderRow] = PagedRowsModel(
            [
                Column("Order", lambda r: r.id, numeric=True),
                Column("Subject", lambda r: r.subject_code),
                Column("Visit", lambda r: r.visit),
                Column("Ordered", lambda r: r.ordered),
                Column("State", lambda r: r.state),
            ],
            page_size=100,
            status=lambda r: STATE_COLOURS.get(r.state),
            parent=self,
        )
        self.view = table_view(self.model, name="ordersTable")
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        # Enter on an order opens it for its scan.
        self.view.activated.connect(lambda _index: self.focus_scan())
        self.panel = OrderPanel(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)

        top = QHBoxLayout()
        caption = QLabel("&Show")
        caption.setBuddy(self.state_filter)
        top.addWidget(caption)
        top.addWidget(self.state_filter)
        top.addStretch(1)
        top.addWidget(self.new_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(top)
        left_layout.addWidget(self.view, 1)
        keys = hint_label(
            "Enter on an order opens it; Ctrl+N enters a new one, F2 goes to the scan field; "
            "Ctrl+P prepares, Ctrl+Shift+V verifies."
        )
        keys.setVisible(ws.can("order"))
        left_layout.addWidget(keys)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(scroll)
        self.split = split
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(split)
        for sequence, act in (
            ("Ctrl+P", self.panel.prepare),
            ("Ctrl+Shift+V", self.panel.verify),
        ):
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(act)

    def study_changed(self) -> None:
        self.panel.show_detail(None)
        self._want_order = None

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user
        chosen = self.state_filter.currentData()
        state = OrderState(chosen) if chosen else None
        keep = self._want_order or self._current_id()

        def fetch(last: OrderRow | None, limit: int) -> list[OrderRow]:
            with self.ws.db.read_session() as session:
                return orders_page(
                    session,
                    study_id,
                    state=state,
                    limit=limit,
                    reader=user,
                    before_id=last.id if last else None,
                )

        def safe_fetch(last: OrderRow | None, limit: int) -> list[OrderRow]:
            return attempt(self, self.ws.db, "reading the orders", lambda: fetch(last, limit)) or []

        self.model.reset(safe_fetch)
        fit_columns(self.view)
        locations = self.ws.read(
            self, "reading the locations", lambda s: location_choices(s, DISPENSING_KINDS)
        )
        self.panel.set_locations(locations or [])
        if keep is not None:
            self.select_record(keep)
        else:
            self.panel.show_detail(None)

    def _current_id(self) -> int | None:
        row = selected_row(self.view)
        return row.id if isinstance(row, OrderRow) else None

    def select_record(self, record_id: int) -> None:
        """Select the order in the list (reading more pages if needed) and show it."""
        self._want_order = None
        for _attempt in range(50):
            for number, row in enumerate(self.model.rows):
                if row.id == record_id:
                    self.view.selectRow(number)
                    self.view.scrollTo(self.model.index(number, 0))
                    self._show(record_id)
                    return
            if not self.model.canFetchMore(self.model.index(-1, -1)):
                break
            self.model.fetchMore(self.model.index(-1, -1))
        # Not in this filter's list (another state): show it anyway.
        self.view.clearSelection()
        self._show(record_id)

    def _selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        order_id = self._current_id()
        if order_id is not None:
            self._show(order_id)

    def _show(self, order_id: int) -> None:
        user = self.ws.user
        show_arms = self.show_arms

        def read(session: Session) -> OrderDetail:
            row = order_row(session, order_id, user, show_arms=show_arms)
            order = session.get_one(DispenseOrder, order_id)
            why = (
                dispensing.why_not_verifiable(session, order)
                if row.state is OrderState.PREPARED
                else None
            )
            return OrderDetail(row, order_signatures(session, order_id), why)

        detail = self.ws.read(self, "reading the order", read)
        self.panel.show_detail(detail)

    def verified(self, order_id: int, message: str) -> None:
        """A dispense is verified: the next order in the queue opens, ready for its scan."""
        assert self.study is not None
        study_id = self.study.id
        following = self.ws.read(
            self,
            "finding the next order",
            lambda s: dispensing.next_in_queue(s, study_id, verifying=True),
        )
        if following is None:
            self.acted(order_id, message)
            return
        self.acted(following, f"{message} Next: order {following}.")
        self.focus_scan()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """On a narrow window (1280 px beside the study list, or 200 % scale) the order sits
        under the list rather than beside it, so neither needs a horizontal scroll."""
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_WIDTH
        wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if self.split.orientation() is not wanted:
            self.split.setOrientation(wanted)
            total = self.split.height() if narrow else self.split.width()
            self.split.setSizes([total * 2 // 5, total * 3 // 5] if narrow else [440, 500])

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        """Opening Dispensing opens the head of the queue and puts the keyboard in the scan
        field (or in the orders list, when nothing waits)."""
        super().showEvent(event)
        if self.study is not None and self.panel.detail is None:
            study_id, verifying = self.study.id, self.ws.can("verify_order")
            head = self.ws.read(
                self,
                "finding the next order",
                lambda s: dispensing.next_in_queue(s, study_id, verifying=verifying),
            )
            if head is not None:
                self.select_record(head)
        if not self.focus_scan():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def acted(self, order_id: int, message: str) -> None:
        """An action on an order succeeded: re-read everything and keep the order shown."""
        self._want_order = order_id
        self.ws.changed(message)
        if not self.isVisible():
            self.refresh()
        self.panel.message.show_success(message)

    def new_order(self) -> None:
        if self.study is None or not self.ws.can("order"):
            return
        dialog = NewOrderDialog(
            self.ws.db, self.ws.user, self.study.id, self.study.protocol_number, parent=self
        )
        dialog.created.connect(self._entered)
        self.new_order_dialog = dialog
        open_dialog(dialog)

    def _entered(self, order_id: int) -> None:
        """A new order is shown with the keyboard in its scan field: the kit is scanned next."""
        self.acted(order_id, f"Order {order_id} entered.")
        self.focus_scan()

    def focus_scan(self) -> bool:
        if not self.panel.scan_box.isHidden():
            self.panel.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return False
