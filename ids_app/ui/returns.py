"""Returns: what a subject brings back, counted, with compliance; the monitor verifies each
return with a signature (DOMAIN.md: returns, compliance; 21 CFR 11.50).

Returned units go to a Returns location and never back to dispensable stock; the service
(``inventory.returns``) decides what may come back and computes compliance.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.errors import IdsError
from ids_app.inventory import returns as service
from ids_app.inventory.models import DispenseOrder, Location, LocationKind, SubjectReturn
from ids_app.inventory.order_views import DispensedRow, ReturnRow, dispensed_rows, return_rows
from ids_app.inventory.views import ScannedItem, location_choices, signed_by
from ids_app.studies.views import Choice
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import InlineMessage, hint_label, open_dialog, primary_button
from ids_app.ui.guard import attempt
from ids_app.ui.receiving import date_field, pydate, qdate
from ids_app.ui.scan import ScanPanel
from ids_app.ui.signature import SignatureDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import (
    Column,
    PagedRowsModel,
    RowsModel,
    fit_columns,
    selected_row,
    table_view,
)
from ids_app.users.models import SignatureMeaning
from ids_app.wording import number_text, percent_text, quantity_text, unit_text

# Returns read per page as the list scrolls: a long study has thousands.
RETURNS_PAGE = 100
# The latest dispenses are listed to choose from; a scan finds an older one.
DISPENSES_SHOWN = 200


class ReturnsTab(StudyTab):
    key = "returns"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.dialog: QWidget | None = None
        self.can_record = ws.can("record_return")
        self.can_verify = ws.can("verify_return")

        # counting a return ------------------------------------------------------------------
        self.dispensed: RowsModel[DispensedRow] = RowsModel(
            [
                Column("Subject", lambda r: r.order.subject_code),
                Column("Visit", lambda r: r.order.visit),
                Column("Dispensed", lambda r: r.order.picked),
                Column("On", lambda r: r.dispensed_on),
                Column("Quantity", lambda r: quantity_text(r.order.quantity, r.order.unit)),
                Column("Back so far", lambda r: r.returned, numeric=True),
            ],
            status=lambda r: "returned" if r.outstanding == 0 else None,
            parent=self,
        )
        self.dispensed_view = table_view(self.dispensed, name="dispensedTable")
        self.dispensed_view.selectionModel().selectionChanged.connect(self._order_chosen)
        self.scan = ScanPanel(ws.db, "Scan the returned kit")
        self.scan.identified.connect(self._scanned)
        self.returned_on = date_field("returnedOn", today())
        self.quantity = QSpinBox()
        self.quantity.setObjectName("returnQuantity")
        self.quantity.setRange(1, 100_000)
        self.units_counted = QSpinBox()
        self.units_counted.setObjectName("unitsCounted")
        self.units_counted.setRange(0, 1_000_000)
        self.condition = QLineEdit()
        self.condition.setObjectName("returnCondition")
        self.condition.setPlaceholderText("sealed, opened, damaged…")
        self.location = QComboBox()
        self.location.setObjectName("returnLocation")
        self.compliance_label = QLabel()
        self.compliance_label.setObjectName("compliancePreview")
        self.record_button = primary_button("Record return", name="recordReturnButton")
        self.record_button.clicked.connect(self.record)
        self.record_message = InlineMessage("returnMessage")
        self._dose_unit = ""
        self.units_counted.valueChanged.connect(lambda _v: self._count_suffix())
        for field in (self.units_counted, self.quantity):
            field.valueChanged.connect(lambda _v: self._preview())
        self.returned_on.dateChanged.connect(lambda _d: self._preview())

        form = QFormLayout()
        form.addRow("Returned &on", self.returned_on)
        form.addRow("&Quantity back", self.quantity)
        form.addRow("&Units counted", self.units_counted)
        form.addRow("&Condition", self.condition)
        self.warn_as_typed(form, self.condition)
        form.addRow("&Kept in", self.location)
        form.addRow("Compliance", self.compliance_label)
        count_box = QGroupBox("Count a return: choose the dispense it comes from")
        count_box.setObjectName("countReturnBox")
        count_layout = QHBoxLayout(count_box)
        left = QVBoxLayout()
        left.addWidget(self.scan)
        left.addWidget(self.dispensed_view)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.record_message)
        right.addWidget(self.record_button, 0, Qt.AlignmentFlag.AlignRight)
        right.addStretch(1)
        count_layout.addLayout(left, 3)
        count_layout.addLayout(right, 2)

        # the returns and the monitor's verification --------------------------------------
        self.returns: PagedRowsModel[ReturnRow] = PagedRowsModel(
            [
                Column("Subject", lambda r: r.subject_code),
                Column("Visit", lambda r: r.visit),
                Column("What", lambda r: r.picked),
                Column("Returned", lambda r: r.returned_on),
                Column("Back", lambda r: quantity_text(r.quantity, r.unit)),
                Column("Counted", lambda r: quantity_text(r.units_counted, r.dose_unit)),
                Column("Compliance", lambda r: r.compliance),
                Column("Counted by", lambda r: r.counted_by),
                Column(
                    "Monitor",
                    lambda r: r.monitor_verified or "awaiting the monitor",
                    tooltip=lambda r: r.monitor_verified,
                ),
            ],
            page_size=RETURNS_PAGE,
            status=lambda r: r.status,
            parent=self,
        )
        self.returns_view = table_view(self.returns, name="returnsTable")
        self.verify_button = primary_button("Verify return and sign…", name="verifyReturnButton")
        self.verify_button.clicked.connect(self.verify)
        self.verify_message = InlineMessage("verifyReturnMessage")
        returns_box = QGroupBox("Returns")
        returns_box.setObjectName("returnsBox")
        returns_layout = QVBoxLayout(returns_box)
        returns_layout.addWidget(self.returns_view)
        row = QHBoxLayout()
        row.addWidget(self.verify_message, 1)
        row.addWidget(self.verify_button, 0, Qt.AlignmentFlag.AlignRight)
        returns_layout.addLayout(row)
        self.verify_button.setVisible(self.can_verify)
        self.verify_button.setEnabled(False)
        self.returns_view.selectionModel().selectionChanged.connect(
            lambda _selected, _deselected: self._return_chosen()
        )

        split = QSplitter(Qt.Orientation.Vertical)
        # Kept in the layout (owned by the tab) but absent from view for other roles.
        split.addWidget(count_box)
        count_box.setVisible(self.can_record)
        split.addWidget(returns_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        if not self.can_record:
            layout.addWidget(
                hint_label(
                    "Returns are counted by technicians and pharmacists; the monitor verifies "
                    "each one with a signature."
                )
            )
        layout.addWidget(split)

    def study_changed(self) -> None:
        self.record_message.clear_message()
        self.verify_message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(session: Session) -> tuple[list[DispensedRow], list[Choice]]:
            return (
                dispensed_rows(session, study_id, user, limit=DISPENSES_SHOWN)
                if self.can_record
                else [],
                location_choices(session, [LocationKind.RETURNS]),
            )

        found = self.ws.read(self, "reading the returns", read)
        if found is None:
            return
        dispensed, locations = found
        keep = selected_row(self.dispensed_view)
        self.dispensed.set_rows(dispensed)
        fit_columns(self.dispensed_view)
        if isinstance(keep, DispensedRow):
            self.select_order(keep.order.id)
        self.returns.reset(partial(self._returns_page, study_id))
        fit_columns(self.returns_view)
        self._return_chosen()
        fill_combo(self.location, locations, keep=self.location.currentData())
        self.scan.set_study(study_id)
        self._preview()

    def _returns_page(self, study_id: int, last: ReturnRow | None, limit: int) -> list[ReturnRow]:
        def read(session: Session) -> list[ReturnRow]:
            return return_rows(session, self.ws.user, study_id=study_id, after=last, limit=limit)

        return self.ws.read(self, "reading the returns", read) or []

    def select_order(self, order_id: int) -> bool:
        for number, row in enumerate(self.dispensed.rows):
            if row.order.id == order_id:
                self.dispensed_view.selectRow(number)
                return True
        return False

    def select_work(self, record: str, record_id: int) -> None:
        """A return due back (an order) is chosen for counting; a return, for verifying."""
        if record == "order":
            if self.select_order(record_id):
                self.units_counted.setFocus()
                self.units_counted.selectAll()
        else:
            self.select_record(record_id)

    def select_record(self, record_id: int) -> None:
        """Select a return (from My work), reading further pages until it is found."""
        while True:
            for number, row in enumerate(self.returns.rows):
                if row.id == record_id:
                    self.returns_view.selectRow(number)
                    self.returns_view.setFocus()
                    return
            if self.returns.exhausted:
                return
            self.returns.fetchMore(QModelIndex())

    def _scanned(self, item: ScannedItem) -> None:
        if item.kit_id is not None and self._select_kit(item.kit_id, item.kit_number):
            self.units_counted.setFocus()
            self.units_counted.selectAll()
            return
        self.scan.refuse(
            f"No dispense of {item.summary.split(' — ')[0].lower()} is on record here."
        )

    def _select_kit(self, kit_id: int, kit_number: str | None) -> bool:
        """Select the kit's latest dispense; one older than the list shown is read and added."""
        for number, row in enumerate(self.dispensed.rows):
            if row.order.kit_number == kit_number:
                self.dispensed_view.selectRow(number)
                return True
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user
        older = self.ws.read(
            self,
            "reading the kit's dispense",
            lambda session: dispensed_rows(session, study_id, user, limit=1, kit_id=kit_id),
        )
        if not older:
            return False
        self.dispensed.set_rows([*self.dispensed.rows, *older])
        self.dispensed_view.selectRow(self.dispensed.rowCount() - 1)
        return True

    def _order_chosen(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = selected_row(self.dispensed_view)
        if isinstance(row, DispensedRow):
            self.quantity.setValue(max(row.outstanding, 1))
            self._dose_unit = row.dose_unit
        self._count_suffix()
        self._preview()

    def _count_suffix(self) -> None:
        """ "1 tablet", "3 tablets": the count's unit follows the number typed."""
        unit = unit_text(self.units_counted.value(), self._dose_unit)
        self.units_counted.setSuffix(f" {unit}" if unit else "")

    def _preview(self) -> None:
        """Compliance as the service computes it, if the return were recorded as typed."""
        row = selected_row(self.dispensed_view)
        if not isinstance(row, DispensedRow):
            self.compliance_label.setText("Choose a dispense.")
            return
        try:
            rate = service.compliance_between(
                dispensed_on=row.dispensed_on,
                returned_on=pydate(self.returned_on.date()),
                units_dispensed=row.units_dispensed,
                units_returned=row.counted_before + self.units_counted.value(),
                doses_per_day=row.doses_per_day,
            )
        except IdsError as error:
            self.compliance_label.setText(str(error))
            return
        if rate.percent is None:
            self.compliance_label.setText("— (returned the day it was dispensed)")
        else:
            concern = f" — {rate.concern}" if rate.concern is not None else ""
            self.compliance_label.setText(
                f"{percent_text(rate.percent)} ({quantity_text(rate.units_taken, row.dose_unit)} "
                "taken of "
                f"{number_text(rate.units_expected)} expected over {rate.days} days){concern}"
            )

    def record(self) -> None:
        row = selected_row(self.dispensed_view)
        if not isinstance(row, DispensedRow):
            self.record_message.show_error("Choose the dispense the return comes from.")
            return
        location_id = self.location.currentData()
        if location_id is None:
            self.record_message.show_error("There is no Returns location; ask a pharmacist.")
            return
        user = self.ws.user
        returned_on = pydate(self.returned_on.date())
        quantity, counted = self.quantity.value(), self.units_counted.value()
        condition = self.condition.text()

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                recorded = service.record_return(
                    session,
                    user,
                    session.get_one(DispenseOrder, row.order.id),
                    returned_on=returned_on,
                    quantity=quantity,
                    units_counted=counted,
                    condition=condition,
                    location=session.get_one(Location, location_id),
                )
                rate = service.compliance(session, recorded)
            return (
                f"Return of {row.order.picked} from subject {row.order.subject_code} recorded; "
                f"compliance {percent_text(rate.percent)}. It waits for the monitor's "
                "verification."
            )

        self.record_message.clear_message()
        text = attempt(
            self,
            self.ws.db,
            "recording the return",
            act,
            show_refusal=self.record_message.show_error,
        )
        if text is None:
            return
        self.condition.clear()
        self.units_counted.setValue(0)
        self.returned_on.setDate(qdate(today()))
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.record_message.show_success(text)

    def _return_chosen(self) -> None:
        """Verify is offered only for a chosen return the monitor has not verified yet."""
        row = selected_row(self.returns_view)
        waiting = isinstance(row, ReturnRow) and row.monitor_verified is None
        self.verify_button.setEnabled(waiting)
        self.verify_button.setToolTip(
            "" if waiting else "Choose a return awaiting the monitor to verify it."
        )

    def verify(self) -> None:
        row = selected_row(self.returns_view)
        if not isinstance(row, ReturnRow):
            self.verify_message.show_error("Choose the return to verify.")
            return
        user, db = self.ws.user, self.ws.db

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                verified = service.verify_return(
                    session, user, session.get_one(SubjectReturn, row.id), password=password
                )
                return signed_by(session, verified)

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.VERIFIED,
            what=(
                f"Return of {row.picked} by subject {row.subject_code} ({row.visit}) on "
                f"{row.returned_on:%Y-%m-%d}: {quantity_text(row.quantity, row.unit)} back, "
                f"{quantity_text(row.units_counted, row.dose_unit)} counted by "
                f"{row.counted_by}. Sign when you have checked the count yourself."
            ),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(lambda text: self._verified(f"Return verified: {text}"))
        self.dialog = dialog
        open_dialog(dialog)

    def _verified(self, text: str) -> None:
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.verify_message.show_success(text)

    def focus_scan(self) -> bool:
        if not self.can_record:
            return False
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
