"""Destruction and return to the sponsor: what may go (disposal.disposable_stock), how, on
whose authority, and a witness who signs at the same workstation (21 CFR 312.59, 11.50).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory.disposal import DisposalItem, dispose, verify_disposal
from ids_app.inventory.models import Disposal, DisposalKind
from ids_app.inventory.views import DisposableRow, DisposalRow, disposable_rows, disposal_rows
from ids_app.studies.models import Study
from ids_app.ui.context import Workspace
from ids_app.ui.forms import (
    InlineMessage,
    fit_characters,
    hint_label,
    open_dialog,
    primary_button,
)
from ids_app.ui.late_entry_fields import LateEntryFields
from ids_app.ui.receiving import date_field, pydate, qdate
from ids_app.ui.signature import SignatureDialog, WitnessDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.users.models import SignatureMeaning
from ids_app.users.signatures import manifestation, signatures_of


@dataclass(frozen=True)
class Choosing:
    """A disposable balance and how much of it the person chose to send."""

    row: DisposableRow
    quantity: int


def _quantity_edit(choosing: Choosing, value: Any) -> Choosing | None:
    try:
        quantity = int(str(value).strip())
    except ValueError:
        return None
    return replace(choosing, quantity=quantity)


def _state(choosing: Choosing) -> str:
    return choosing.row.item.state.value


class DestructionTab(StudyTab):
    key = "destruction"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.dialog: QWidget | None = None
        self.can_dispose = ws.can("dispose")
        self.can_verify = ws.can("verify_disposal")

        self.stock: RowsModel[Choosing] = RowsModel(
            [
                Column("Send", lambda c: c.row.kit_number or c.row.lot_number),
                Column("Lot", lambda c: c.row.lot_number),
                Column("At", lambda c: c.row.location),
                Column("State", _state),
                Column("May go", lambda c: c.row.item.quantity, numeric=True),
                Column(
                    "Quantity",
                    lambda c: c.quantity,
                    numeric=True,
                    edit=_quantity_edit if self.can_dispose else None,
                ),
                Column("Unit", lambda c: c.row.unit),
                Column("Expiry", lambda c: c.row.expiry),
                Column("Product", lambda c: c.row.product),
            ],
            status=lambda c: {"returned": "returned", "condemned": "condemned"}.get(
                _state(c), "expired"
            ),
            checkable=self.can_dispose,
            parent=self,
        )
        self.stock_view = table_view(self.stock, name="disposableTable")

        self.kind = QComboBox()
        self.kind.setObjectName("disposalKind")
        for kind in DisposalKind:
            self.kind.addItem(kind.value, kind.value)
        self.number = QLineEdit()
        self.number.setObjectName("disposalNumber")
        self.method = QLineEdit()
        self.method.setObjectName("disposalMethod")
        self.method.setPlaceholderText("e.g. incineration by the hazardous waste vendor")

        self.authorization = QLineEdit()
        self.authorization.setObjectName("sponsorAuthorization")
        self.performed_on = date_field("performedOn", today())
        self.late = LateEntryFields("performed")
        self.performed_on.dateChanged.connect(lambda day: self.late.set_day(pydate(day)))
        self.courier = QLineEdit()
        self.courier.setObjectName("disposalCourier")
        self.tracking = QLineEdit()
        self.tracking.setObjectName("disposalTracking")
        # Wide enough to read what is typed whole; the page scrolls before a field clips.
        for field in (self.method, self.authorization, self.number, self.courier, self.tracking):
            fit_characters(field, 30)
        self.select_all_button = QPushButton("Select all")
        self.select_all_button.setObjectName("selectAllDisposable")
        self.select_all_button.clicked.connect(self.select_all)
        self.dispose_button = primary_button(
            "Destroy or return with a witness…", name="disposeButton"
        )
        self.dispose_button.clicked.connect(self.dispose)
        self.message = InlineMessage("disposalMessage")

        form_box = QGroupBox("Destroy or return to the sponsor")
        form_box.setObjectName("disposalBox")
        form = QFormLayout(form_box)
        form.addRow("&Kind", self.kind)
        form.addRow("Disposal &number", self.number)
        form.addRow("&Method", self.method)
        form.addRow("Sponsor's &authorization", self.authorization)
        form.addRow("&Performed on", self.performed_on)
        form.addRow("T&ime performed", self.late.time)
        form.addRow("Late-entry reason", self.late.reason)
        form.addRow("&Courier", self.courier)
        form.addRow("&Tracking no.", self.tracking)
        self.warn_as_typed(form, self.method, self.authorization)
        form.addRow(self.message)
        form.addRow(self.dispose_button)

        stock_box = QGroupBox("What may go")
        stock_box.setObjectName("disposableBox")
        stock_layout = QVBoxLayout(stock_box)
        stock_layout.addWidget(
            hint_label("Returns the monitor has verified, condemned stock and expired stock.")
        )
        stock_layout.addWidget(self.stock_view)
        row = QHBoxLayout()
        row.addWidget(self.select_all_button)
        self.tick_hint = hint_label("Tick what goes; type a smaller quantity to send part of it.")
        row.addWidget(self.tick_hint, 1)
        stock_layout.addLayout(row)
        self.select_all_button.setVisible(self.can_dispose)
        self.tick_hint.setVisible(self.can_dispose)

        self.history: RowsModel[DisposalRow] = RowsModel(
            [
                Column("Disposal", lambda r: r.number),
                Column("Kind", lambda r: r.kind),
                Column("On", lambda r: r.performed_on),
                Column("Method", lambda r: r.method),
                Column("Authorization", lambda r: r.authorization),
                Column("Quantity", lambda r: r.quantity),
                Column("By", lambda r: r.performed_by),
                Column("Witness", lambda r: r.witness, tooltip=lambda r: r.witness),
                Column(
                    "Monitor",
                    lambda r: r.monitor or "awaiting the monitor",
                    tooltip=lambda r: r.monitor,
                ),
            ],
            parent=self,
        )
        self.history_view = table_view(self.history, name="disposalsTable")
        history_box = QGroupBox("Destructions and returns recorded")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.history_view)
        self.verify_button = primary_button(
            "Verify as monitor and sign…", name="verifyDisposalButton"
        )
        self.verify_button.clicked.connect(self.verify)
        self.verify_message = InlineMessage("verifyDisposalMessage")
        verify_row = QHBoxLayout()
        verify_row.addWidget(self.verify_message, 1)
        verify_row.addWidget(self.verify_button)
        history_layout.addLayout(verify_row)
        self.verify_button.setVisible(self.can_verify)
        self.verify_message.setVisible(self.can_verify)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(stock_box)
        top.addWidget(form_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        form_box.setVisible(self.can_dispose)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(history_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        if not self.can_dispose:
            layout.addWidget(
                hint_label(
                    "Technicians and pharmacists destroy or return stock, with a second person "
                    "witnessing; the sponsor's monitor verifies each one and signs."
                )
            )
        layout.addWidget(split)

    def study_changed(self) -> None:
        self.message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(session: Session) -> tuple[list[DisposableRow], list[DisposalRow]]:
            return (
                disposable_rows(session, study_id, today()),
                disposal_rows(session, study_id, user),
            )

        found = self.ws.read(self, "reading what may be destroyed", read)
        if found is None:
            return
        stock, history = found
        self.stock.set_rows([Choosing(row, row.item.quantity) for row in stock])
        fit_columns(self.stock_view)
        self.history.set_rows(history)
        fit_columns(self.history_view)

    def choose_kit(self, kit_number: str) -> bool:
        """Tick a kit chosen elsewhere (an expired kit in Inventory) and put the cursor in
        the form; False when the kit may not go (not expired, or not on site)."""
        for number, choosing in enumerate(self.stock.rows):
            if choosing.row.kit_number == kit_number:
                self.stock.set_checked(number, True)
                self.stock_view.selectRow(number)
                self.number.setFocus()
                return True
        return False

    def select_all(self) -> None:
        for number in range(self.stock.rowCount()):
            self.stock.set_checked(number, True)

    def items(self) -> list[DisposalItem]:
        return [
            replace(choosing.row.item, quantity=choosing.quantity)
            for choosing in self.stock.checked_rows()
        ]

    def dispose(self) -> None:
        if self.study is None:
            return
        items = self.items()
        kind = DisposalKind(self.kind.currentData())
        number, method = self.number.text(), self.method.text()
        authorization = self.authorization.text()
        performed_on = pydate(self.performed_on.date())
        when = self.late.event_time(performed_on)
        courier, tracking = self.courier.text(), self.tracking.text()
        user, db, study_id = self.ws.user, self.ws.db, self.study.id

        def sign(own_password: str, witness: str, password: str) -> str:
            with db.unit_of_work() as session:
                disposal = dispose(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    kind=kind,
                    disposal_number=number,
                    method=method,
                    sponsor_authorization=authorization,
                    performed_on=performed_on,
                    items=items,
                    performer_password=own_password,
                    witness_username=witness,
                    witness_password=password,
                    courier=courier or None,
                    tracking_number=tracking or None,
                    when=when,
                )
                return _witness_line(session, disposal)

        lines = len(items)
        dialog = WitnessDialog(
            db,
            what=(
                f"{kind.value.capitalize()}: disposal {number.strip() or '(no number yet)'}, "
                f"{lines} line{'' if lines == 1 else 's'} performed by {user.full_name} on "
                f"{performed_on:%Y-%m-%d}. {user.full_name} signs with their password; the "
                "witness, another person, signs here with their own user name and password."
            ),
            performer=user.full_name,
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(self._disposed)
        self.dialog = dialog
        open_dialog(dialog)

    def _disposed(self, text: str) -> None:
        message = f"Disposal recorded. Witness: {text}"
        for field in (self.number, self.method, self.authorization, self.courier, self.tracking):
            field.clear()
        self.performed_on.setDate(qdate(today()))
        self.late.clear()
        self.ws.changed(message)
        if not self.isVisible():
            self.refresh()
        self.message.show_success(message)

    def verify(self) -> None:
        row = selected_row(self.history_view)
        if not isinstance(row, DisposalRow):
            self.verify_message.show_error("Choose the destruction or return to verify.")
            return
        user, db = self.ws.user, self.ws.db

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                signature = verify_disposal(
                    session, user, session.get_one(Disposal, row.id), password=password
                )
                return manifestation(signature)

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.VERIFIED,
            what=_verify_text(row),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(self._verified)
        self.dialog = dialog
        open_dialog(dialog)

    def _verified(self, text: str) -> None:
        message = f"Verified: {text}"
        self.ws.changed(message)
        if not self.isVisible():
            self.refresh()
        self.verify_message.show_success(message)


def _verify_text(row: DisposalRow) -> str:
    return (
        f"{row.kind.capitalize()} {row.number} on {row.performed_on:%Y-%m-%d}: {row.quantity}, "
        f"{row.method}, authorized by {row.authorization}; witnessed by {row.witness}. Sign "
        "when you have checked the record against the certificate and the stock."
    )


def _witness_line(session: Session, disposal: Disposal) -> str:
    signatures = signatures_of(session, disposal)
    return manifestation(signatures[-1]) if signatures else ""
