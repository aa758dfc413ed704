"""The downtime form: a morning's dispenses from the paper log, entered afterwards.

One downtime reason for the batch; one row per dispense as the paper has it (subject,
kit, the time, who prepared and who verified it); the technician entering signs the
preparations and a pharmacist verifies with their own user name at this workstation.
The batch goes through the same services as at the bench (inventory.downtime), all or
nothing: a refused row is named with why, and nothing of the batch is written.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from sqlalchemy import select

from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.inventory.downtime import (
    PaperDispense,
    enter_downtime_dispenses,
    source_location_choices,
)
from ids_app.studies.models import Prescriber, Product, Study
from ids_app.ui.forms import FormDialog, password_field
from ids_app.ui.guard import attempt
from ids_app.users.models import User

COLUMNS = (
    "Subject",
    "Kit or lot",
    "Visit",
    "Dispensed (YYYY-MM-DD HH:MM)",
    "Prepared by",
    "Verified by",
)


def typed_moment(text: str, row: int) -> dt.datetime:
    """The paper's local time as typed; refused with the row named when it cannot be read."""
    try:
        moment = dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidInput(
            f"Row {row}: type the time dispensed as on the paper log, like 2026-03-02 08:30."
        ) from None
    return moment.astimezone()


class DowntimeDialog(FormDialog):
    """Type the paper log's dispenses of a downtime; they are entered as late entries."""

    def __init__(
        self, db: Database, user: User, study_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            db,
            title="Enter a downtime's paper log",
            heading="Enter a downtime's paper log",
            intro="Each row is a dispense as the paper log has it, with its time. You sign "
            "the preparations; a pharmacist verifies with their own user name. The binder "
            "marks them as late entries, with both times and the downtime below.",
            accept_text="Enter the batch",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("downtimeDialog")
        self.user = user
        self.study_id = study_id
        self.entered = 0
        self.reason = QLineEdit()
        self.reason.setObjectName("downtimeReason")
        self.reason.setPlaceholderText(
            "e.g. downtime 2026-03-02 06:00 to 09:30, from the paper log"
        )
        self.product = QComboBox()
        self.product.setObjectName("downtimeProduct")
        self.prescriber = QComboBox()
        self.prescriber.setObjectName("downtimePrescriber")
        self.location = QComboBox()
        self.location.setObjectName("downtimeLocation")
        with db.read_session() as session:
            for product in session.scalars(select(Product).where(Product.study_id == study_id)):
                self.product.addItem(product.description, product.id)
            for prescriber in session.scalars(
                select(Prescriber).where(
                    Prescriber.study_id == study_id, Prescriber.authorized.is_(True)
                )
            ):
                self.prescriber.addItem(prescriber.name, prescriber.id)
        self._offer_locations()
        self.product.currentIndexChanged.connect(self._offer_locations)
        self.rows = QTableWidget(3, len(COLUMNS))
        self.rows.setObjectName("downtimeRows")
        self.rows.setHorizontalHeaderLabels(COLUMNS)
        self.rows.setMinimumHeight(150)
        self.add_row = QPushButton("Add a &row")
        self.add_row.setObjectName("downtimeAddRow")
        self.add_row.clicked.connect(lambda: self.rows.insertRow(self.rows.rowCount()))
        self.password = password_field()
        self.password.setObjectName("downtimePassword")
        self.pharmacist = QLineEdit()
        self.pharmacist.setObjectName("downtimePharmacist")
        self.pharmacist_password = password_field()
        self.pharmacist_password.setObjectName("downtimePharmacistPassword")
        self.form.addRow("&Downtime", self.reason)
        self.form.addRow("Pro&duct", self.product)
        self.form.addRow("Pres&criber", self.prescriber)
        self.form.addRow("&From", self.location)
        self.form.addRow("&Paper log", self.rows)
        self.form.addRow("", self.add_row)
        self.form.addRow("&Your password", self.password)
        self.form.addRow("Verifying p&harmacist", self.pharmacist)
        self.form.addRow("Pharmacist's pass&word", self.pharmacist_password)
        self.setMinimumWidth(900)
        self.reason.setFocus()

    def _offer_locations(self) -> None:
        """Where the chosen product's stock is, first: the likely place it came from."""
        self.location.clear()
        if self.product.currentData() is None:
            return
        with self.db.read_session() as session:
            choices = source_location_choices(
                session, self.study_id, int(self.product.currentData())
            )
        for choice in choices:
            self.location.addItem(choice.text, choice.id)

    def _cell(self, row: int, column: int) -> str:
        item = self.rows.item(row, column)
        return item.text().strip() if item is not None else ""

    def set_cell(self, row: int, column: int, text: str) -> None:
        """Type into one cell, as a person does (the tests drive the table through it)."""
        self.rows.setItem(row, column, QTableWidgetItem(text))

    def paper_rows(self) -> list[PaperDispense]:
        """The rows typed; an empty row is skipped, a half-typed one refused."""
        rows = []
        for index in range(self.rows.rowCount()):
            cells = [self._cell(index, column) for column in range(len(COLUMNS))]
            if not any(cells):
                continue
            subject, item, visit, moment, prepared, verified = cells
            if not subject or not item or not visit:
                raise InvalidInput(
                    f"Row {index + 1}: type the subject, the kit (or lot) and the visit."
                )
            rows.append(
                PaperDispense(
                    subject_code=subject,
                    item_code=item,
                    visit=visit,
                    product_id=int(self.product.currentData()),
                    prescriber_id=int(self.prescriber.currentData()),
                    location_id=int(self.location.currentData()),
                    dispensed_at=typed_moment(moment, index + 1),
                    prepared_by=prepared,
                    verified_by=verified,
                )
            )
        return rows

    def accept(self) -> None:
        self.clear_error()

        def enter() -> int:
            rows = self.paper_rows()
            with self.db.unit_of_work() as session:
                orders = enter_downtime_dispenses(
                    session,
                    self.user,
                    session.get_one(Study, self.study_id),
                    downtime_reason=self.reason.text(),
                    rows=rows,
                    password=self.password.text(),
                    pharmacist_username=self.pharmacist.text(),
                    pharmacist_password=self.pharmacist_password.text(),
                )
                return len(orders)

        entered = attempt(
            self, self.db, "entering the paper log", enter, show_refusal=self.show_error
        )
        if entered is not None:
            self.entered = entered
            super().accept()
