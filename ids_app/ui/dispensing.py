"""Dispensing: orders entered and prepared (scanned) by a technician, verified and signed by
a pharmacist who did not prepare them (DESIGN.md, workflow 4).

The screen only collects and shows. Whether a person may verify an order is the service's
answer (``dispensing.can_verify``): the Verify button is disabled with that sentence beside
it. Every action is one unit of work; a refusal is shown as the service words it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import Database
from ids_app.inventory import dispensing
from ids_app.inventory.models import (
    DISPENSING_KINDS,
    DispenseOrder,
    Location,
    OrderState,
)
from ids_app.inventory.order_views import OrderRow, order_row, order_signatures, orders_page
from ids_app.inventory.views import ScannedItem, kit_location, location_choices
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
    FormDialog,
    InlineMessage,
    heading_label,
    hint_label,
    open_dialog,
    primary_button,
)
from ids_app.ui.guard import attempt
from ids_app.ui.labels import (
    SavedLabel,
    label_after_verification,
    label_button_text,
    save_label,
)
from ids_app.ui.scan import ScanPanel
from ids_app.ui.signature import ReasonDialog, SignatureDialog
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


class OrderPanel(QWidget):
    """One order: what was ordered against what was prepared, and what can be done next."""

    def __init__(self, tab: DispensingTab) -> None:
        super().__init__()
        self.tab = tab
        self.ws = tab.ws
        self.detail: OrderDetail | None = None

        self.heading = heading_label("Choose an order", scale=1.2)
        self.heading.setObjectName("orderHeading")
        self.state_label = QLabel()
        self.state_label.setObjectName("orderState")
        self.ordered_form = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        for key, title in (
            ("subject", "Subject"),
            ("visit", "Visit"),
            ("prescriber", "Prescriber"),
            ("product", "Product"),
            ("ordered_by", "Ordered by"),
        ):
            label = QLabel()
            label.setObjectName(f"order_{key}")
            label.setWordWrap(True)
            self.fields[key] = label
            self.ordered_form.addRow(title, label)

        self.compare_box = QGroupBox("Ordered and prepared")
        self.compare_box.setObjectName("compareBox")
        compare = QFormLayout(self.compare_box)
        self.compare: dict[str, tuple[QLabel, QLabel]] = {}
        header_ordered = QLabel("<b>Ordered</b>")
        header_prepared = QLabel("<b>Prepared (scanned)</b>")
        heads = QHBoxLayout()
        heads.addWidget(header_ordered, 1)
        heads.addWidget(header_prepared, 1)
        compare.addRow("", heads)
        for key, title in (
            ("product", "Product"),
            ("kit", "Kit"),
            ("lot", "Lot"),
            ("expiry", "Expiry"),
            ("location", "From"),
            ("quantity", "Quantity"),
        ):
            ordered, prepared = QLabel(), QLabel()
            ordered.setObjectName(f"ordered_{key}")
            prepared.setObjectName(f"prepared_{key}")
            ordered.setWordWrap(True)
            prepared.setWordWrap(True)
            row = QHBoxLayout()
            row.addWidget(ordered, 1)
            row.addWidget(prepared, 1)
            compare.addRow(title, row)
            self.compare[key] = (ordered, prepared)
        self.arms_label = QLabel()
        self.arms_label.setObjectName("armsLabel")
        self.arms_label.setWordWrap(True)
        compare.addRow(self.arms_label)

        self.signatures_label = QLabel()
        self.signatures_label.setObjectName("orderSignatures")
        self.signatures_label.setWordWrap(True)
        self.signatures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # preparing --------------------------------------------------------------------------
        self.prepare_box = QGroupBox("Prepare: scan the kit or lot")
        self.prepare_box.setObjectName("prepareBox")
        self.scan = ScanPanel(self.ws.db)
        self.scan.identified.connect(self._scanned)
        self.kit_field = QLineEdit()
        self.kit_field.setObjectName("prepareKit")
        self.lot_field = QLineEdit()
        self.lot_field.setObjectName("prepareLot")
        self.location = QComboBox()
        self.location.setObjectName("prepareLocation")
        self.prepare_button = primary_button("Prepare and sign…", name="prepareButton")
        self.prepare_button.clicked.connect(self.prepare)
        prepare_form = QFormLayout()
        prepare_form.addRow("&Kit number", self.kit_field)
        prepare_form.addRow("&Lot number", self.lot_field)
        prepare_form.addRow("&From", self.location)
        box = QVBoxLayout(self.prepare_box)
        box.addWidget(self.scan)
        box.addLayout(prepare_form)
        box.addWidget(self.prepare_button, 0, Qt.AlignmentFlag.AlignRight)

        # verifying ------------------------------------------------------------------------
        self.verify_box = QGroupBox("Verify")
        self.verify_box.setObjectName("verifyBox")
        self.verify_button = primary_button("Verify and sign…", name="verifyButton")
        self.verify_button.clicked.connect(self.verify)
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setObjectName("rejectButton")
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

        self.cancel_button = QPushButton("Cancel order…")
        self.cancel_button.setObjectName("cancelOrderButton")
        self.cancel_button.clicked.connect(self.cancel)
        self.label_note = QLabel()
        self.label_note.setObjectName("labelNote")
        self.label_note.setWordWrap(True)
        self.label_button = QPushButton(label_button_text(self.ws.settings))
        self.label_button.setObjectName("labelButton")
        self.label_button.clicked.connect(lambda: self.save_label())
        self.last_label: Path | None = None
        self.message = InlineMessage("orderMessage")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.state_label)
        layout.addLayout(head)
        layout.addLayout(self.ordered_form)
        layout.addWidget(self.compare_box)
        layout.addWidget(self.signatures_label)
        layout.addWidget(self.prepare_box)
        layout.addWidget(self.verify_box)
        layout.addWidget(self.label_note)
        layout.addWidget(self.label_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.message)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.setTabOrder(self.scan.field, self.kit_field)
        self.setTabOrder(self.kit_field, self.lot_field)
        self.setTabOrder(self.lot_field, self.location)
        self.setTabOrder(self.location, self.prepare_button)
        self.show_detail(None)

    # showing ----------------------------------------------------------------------------------

    def show_detail(self, detail: OrderDetail | None) -> None:
        self.detail = detail
        self.message.clear_message()
        has = detail is not None
        for widget in (self.compare_box, self.signatures_label, self.cancel_button):
            widget.setVisible(has)
        if detail is None:
            self.heading.setText("Choose an order")
            self.state_label.clear()
            for label in self.fields.values():
                label.clear()
            self.prepare_box.hide()
            self.verify_box.hide()
            self.label_note.hide()
            self.label_button.hide()
            return
        row = detail.row
        self.heading.setText(f"Order {row.id}")
        self.state_label.setText(row.state.value)
        set_status(self.state_label, STATE_COLOURS.get(row.state) or "")
        self.fields["subject"].setText(f"{row.subject_code} ({row.subject_initials})")
        self.fields["visit"].setText(row.visit)
        self.fields["prescriber"].setText(row.prescriber)
        self.fields["product"].setText(row.product)
        self.fields["ordered_by"].setText(f"{row.ordered_by}, {_local(row.ordered_at)}")
        values = {
            "product": (row.product, row.product if row.lot_number else ""),
            "kit": (
                (row.assigned_kit_number or "any kit") if row.product_is_kit else "— (bulk)",
                row.kit_number or "",
            ),
            "lot": ("", row.lot_number or ""),
            "expiry": ("", f"{row.expiry:%Y-%m-%d}" if row.expiry else ""),
            "location": ("", row.location or ""),
            "quantity": (
                quantity_text(row.quantity, row.unit),
                quantity_text(row.quantity, row.unit) if row.lot_number else "",
            ),
        }
        for key, (ordered_text, prepared_text) in values.items():
            self.compare[key][0].setText(ordered_text)
            self.compare[key][1].setText(prepared_text)
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
        pending = row.state is OrderState.PENDING
        prepared = row.state is OrderState.PREPARED
        self.prepare_box.setVisible(pending and self.ws.can("prepare"))
        if pending:
            self.scan.set_study(row.study_id)
            self.kit_field.setText(row.assigned_kit_number or "")
            self.lot_field.clear()
        self.verify_box.setVisible(prepared and self.ws.can("verify_order"))
        self.reject_button.setVisible(self.ws.can("reject_order"))
        why = detail.why_not_verify
        self.verify_button.setEnabled(prepared and why is None)
        self.verify_button.setToolTip(
            why or "Check the order against the prepared stock, then sign."
        )
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

    def set_locations(self, choices: list[Choice]) -> None:
        fill_combo(self.location, choices, keep=self.location.currentData())

    # actions ------------------------------------------------------------------------------------

    def _scanned(self, item: ScannedItem) -> None:
        """Fill the form from the scan; nothing is recorded until the preparer signs."""
        self.kit_field.setText(item.kit_number or "")
        self.lot_field.setText(item.lot_number or "")
        if item.kit_id is not None:
            kit_id = item.kit_id
            where = self.ws.read(self, "finding the kit", lambda s: kit_location(s, kit_id))
            if where is not None:
                index = self.location.findData(where)
                if index >= 0:
                    self.location.setCurrentIndex(index)
        self.prepare_button.setFocus()

    def prepare(self) -> None:
        if self.detail is None:
            return
        row = self.detail.row
        kit = self.kit_field.text()
        lot = self.lot_field.text()
        location_id = self.location.currentData()
        if location_id is None:
            self.message.show_error("Choose where the stock is taken from.")
            return
        user, db = self.ws.user, self.ws.db
        picked = f"kit {kit}" if kit.strip() else f"lot {lot}"
        where = self.location.currentText().split(" (")[0]

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                order = dispensing.prepare_order(
                    session,
                    user,
                    session.get_one(DispenseOrder, row.id),
                    password=password,
                    kit_number=kit or None,
                    lot_number=lot or None,
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
        if self.detail is None:
            return
        row = self.detail.row
        user, db = self.ws.user, self.ws.db

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                order = dispensing.verify_order(
                    session, user, session.get_one(DispenseOrder, row.id), password=password
                )
                return last_manifestation(session, order)

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.VERIFIED,
            what=(
                f"Order {row.id}: {row.picked} from {row.location} for subject "
                f"{row.subject_code}, {row.visit}, prepared by {row.prepared_by}. The stock "
                "leaves the shelf for the subject when you sign."
            ),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(lambda text: self._verified(row.id, text))
        self.tab.dialog = dialog
        open_dialog(dialog)

    def _verified(self, order_id: int, signed: str) -> None:
        """The dispense is on record: its label is made at once (printed, when Settings name
        a printer). A label that cannot be made is said beside the verification, which
        stands; the Label button makes it once the cause is put right."""
        done = f"Order {order_id} dispensed: {signed}."
        self.tab.acted(order_id, done)
        if self.ws.can("print_label"):
            self.save_label(order_id, before=f"{done} ")

    def save_label(self, order_id: int | None = None, *, before: str = "") -> None:
        if order_id is None:
            if self.detail is None:
                return
            order_id = self.detail.row.id
        user, db, settings = self.ws.user, self.ws.db, self.ws.settings

        def make() -> SavedLabel:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                return save_label(db, user, order_id, settings)
            finally:
                QApplication.restoreOverrideCursor()

        def refused(reason: str) -> None:
            self.message.show_error(f"{before}No label yet: {reason}" if before else reason)

        self.message.clear_message()
        saved = attempt(self, db, "making the label", make, show_refusal=refused)
        if saved is None:
            return
        self.last_label = saved.path
        self.message.show_success(f"{before}{saved.message}")

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
                Column("Prepared", lambda r: r.picked),
                Column("Ordered at", lambda r: r.ordered_at),
            ],
            page_size=100,
            status=lambda r: STATE_COLOURS.get(r.state),
            parent=self,
        )
        self.view = table_view(self.model, name="ordersTable")
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
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
            "Enter on an order opens it; Ctrl+N enters a new one, F2 goes to the scan field."
        )
        keys.setVisible(ws.can("order"))
        left_layout.addWidget(keys)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(split)

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
                dispensing.can_verify(session, user, order)
                if row.state is OrderState.PREPARED
                else None
            )
            return OrderDetail(row, order_signatures(session, order_id), why)

        detail = self.ws.read(self, "reading the order", read)
        self.panel.show_detail(detail)

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
        dialog.created.connect(lambda order_id: self.acted(order_id, f"Order {order_id} entered."))
        self.new_order_dialog = dialog
        open_dialog(dialog)

    def focus_scan(self) -> bool:
        if self.panel.prepare_box.isVisible():
            self.panel.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return False
