"""The Setup tab's correcting dialogs: a product's details, retiring a product or a location,
ending a staff member's role.

Each runs one service of ``studies.corrections`` (or ``inventory.locations``) and shows its
refusal beside the form; none deletes anything. A dispensed product's correction asks for
the pharmacist's password because the service signs it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QLineEdit, QSpinBox, QWidget
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.errors import InvalidInput
from ids_app.inventory.locations import retire_location
from ids_app.inventory.models import Location
from ids_app.inventory.views import location_choices
from ids_app.studies.corrections import (
    Approval,
    ProductDetails,
    correct_product,
    end_staff_role,
    retire_product,
    was_dispensed,
)
from ids_app.studies.models import Product, StudyStaff
from ids_app.studies.views import ProductRow, StaffRow
from ids_app.ui.context import Workspace
from ids_app.ui.receiving import date_field, pydate
from ids_app.ui.setup_dialogs import SetupDialog, choice_combo, line_field, temperature_spin
from ids_app.users.models import User


def count_spin(name: str, value: int, top: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(0, top)
    spin.setValue(value)
    return spin


class CorrectProductDialog(SetupDialog):
    """The product's details as recorded, to be corrected; how it is counted stays."""

    def __init__(self, ws: Workspace, product: ProductRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Correct a product",
            intro="Change what was recorded wrongly. The old and new values and your reason "
            "are kept in the audit trail. How the product is counted (kit or bulk, units "
            "per kit) cannot change: add a new product instead.",
            accept_text="Save correction",
            doing="correcting the product",
            parent=parent,
        )
        self.setObjectName("correctProductDialog")
        self.product_id = product.id

        def current(session: Session) -> tuple[ProductDetails, bool]:
            found = session.get_one(Product, product.id)
            return ProductDetails.of(found), was_dispensed(session, found)

        read = ws.read(self, "reading the product", current)
        details, self.dispensed = read if read is not None else (None, False)
        self.agent = line_field("correctAgentName")
        self.strength = line_field("correctStrength")
        self.dosage_form = line_field("correctDosageForm")
        self.unit = line_field("correctUnit")
        self.dose_unit = line_field("correctDoseUnit")
        self.storage_min = temperature_spin("correctStorageMin", 2.0)
        self.storage_max = temperature_spin("correctStorageMax", 8.0)
        self.dispense_quantity = count_spin("correctDispenseQuantity", 1, 100_000)
        self.days_supply = count_spin("correctDaysSupply", 28, 3650)
        self.doses_per_day = QDoubleSpinBox()
        self.doses_per_day.setObjectName("correctDosesPerDay")
        self.doses_per_day.setRange(0.0, 100.0)
        self.doses_per_day.setDecimals(3)
        self.gtin = line_field("correctGtin")
        self.reason = line_field("correctReason", "e.g. strength mistyped at setup")
        self.password = QLineEdit()
        self.password.setObjectName("correctPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        if details is not None:
            self._fill(details)
        rows: tuple[tuple[str, QWidget], ...] = (
            ("&Agent name", self.agent),
            ("S&trength", self.strength),
            ("Dosage &form", self.dosage_form),
            ("&Unit of count", self.unit),
            ("&Dose unit", self.dose_unit),
            ("Store from", self.storage_min),
            ("Store up to", self.storage_max),
            ("&Quantity per visit", self.dispense_quantity),
            ("Days' su&pply", self.days_supply),
            ("Doses per da&y", self.doses_per_day),
            ("&GTIN", self.gtin),
            ("&Reason", self.reason),
            ("Your pass&word", self.password),
        )
        for title, field in rows:
            self.form.addRow(title, field)
        # The service asks for a signature only once the product has been dispensed.
        self.form.setRowVisible(self.password, self.dispensed)
        self.agent.setFocus()

    def _fill(self, details: ProductDetails) -> None:
        self.agent.setText(details.agent_name)
        self.strength.setText(details.strength)
        self.dosage_form.setText(details.dosage_form)
        self.unit.setText(details.unit)
        self.dose_unit.setText(details.dose_unit)
        self.storage_min.setValue(details.storage_min_c)
        self.storage_max.setValue(details.storage_max_c)
        self.dispense_quantity.setValue(details.dispense_quantity)
        self.days_supply.setValue(details.days_supply)
        self.doses_per_day.setValue(details.doses_per_day)
        self.gtin.setText(details.gtin or "")

    def act(self) -> str:
        details = ProductDetails(
            agent_name=self.agent.text(),
            strength=self.strength.text(),
            dosage_form=self.dosage_form.text(),
            unit=self.unit.text(),
            dose_unit=self.dose_unit.text(),
            storage_min_c=self.storage_min.value(),
            storage_max_c=self.storage_max.value(),
            dispense_quantity=self.dispense_quantity.value(),
            days_supply=self.days_supply.value(),
            doses_per_day=self.doses_per_day.value(),
            gtin=self.gtin.text() or None,
        )
        reason, password = self.reason.text(), self.password.text()

        def work(session: Session, user: User) -> str:
            product = session.get_one(Product, self.product_id)
            approval = Approval(user.username, password) if self.dispensed else None
            correction = correct_product(session, user, product, details, reason, approval)
            signed = " and signed" if approval is not None else ""
            return f"{product.description} corrected{signed}: {correction.changes}."

        return self.in_unit_of_work(work)


class RetireProductDialog(SetupDialog):
    def __init__(self, ws: Workspace, product: ProductRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Retire a product",
            intro=f"{product.description} will receive no new stock. Its orders, ledger and "
            "binders keep it. A product with stock on hand cannot be retired.",
            accept_text="Retire product",
            doing="retiring the product",
            parent=parent,
        )
        self.setObjectName("retireProductDialog")
        self.product_id = product.id
        self.on = date_field("retireProductOn", today())
        self.reason = line_field("retireProductReason", "e.g. sponsor withdrew this formulation")
        self.form.addRow("Retired &on", self.on)
        self.form.addRow("&Reason", self.reason)
        self.reason.setFocus()

    def act(self) -> str:
        reason, on = self.reason.text(), pydate(self.on.date())

        def work(session: Session, user: User) -> str:
            product = retire_product(
                session, user, session.get_one(Product, self.product_id), reason, on
            )
            return f"{product.description} retired on {product.retired_on}."

        return self.in_unit_of_work(work)


class EndStaffRoleDialog(SetupDialog):
    def __init__(self, ws: Workspace, staff: StaffRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="End a study role",
            intro=f"{staff.name} ({staff.study_role}) leaves this study: their access to it "
            "ends; what they recorded stays theirs.",
            accept_text="End role",
            doing="ending the study role",
            parent=parent,
        )
        self.setObjectName("endStaffRoleDialog")
        self.staff_id = staff.id
        self.on = date_field("endRoleOn", today())
        self.reason = line_field("endRoleReason", "e.g. left the institution")
        self.form.addRow("Ended &on", self.on)
        self.form.addRow("&Reason", self.reason)
        self.reason.setFocus()

    def act(self) -> str:
        reason, on = self.reason.text(), pydate(self.on.date())

        def work(session: Session, user: User) -> str:
            staff = end_staff_role(
                session, user, session.get_one(StudyStaff, self.staff_id), reason, on
            )
            member = session.get_one(User, staff.user_id)
            return f"{member.full_name}'s role on the study ended on {staff.ended_on}."

        return self.in_unit_of_work(work)


class RetireLocationDialog(SetupDialog):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Retire a storage location",
            intro="A location taken out of use (a fridge replaced) keeps its history; "
            "it must be empty first.",
            accept_text="Retire location",
            doing="retiring the storage location",
            parent=parent,
        )
        self.setObjectName("retireLocationDialog")
        found = ws.read(self, "reading the locations", location_choices)
        self.location = choice_combo("retireLocation", found or [])
        self.reason = line_field("retireLocationReason", "e.g. replaced by IDS Fridge 3")
        self.form.addRow("&Location", self.location)
        self.form.addRow("&Reason", self.reason)
        self.location.setFocus()

    def act(self) -> str:
        location_id, reason = self.location.currentData(), self.reason.text()

        def work(session: Session, user: User) -> str:
            if location_id is None:
                raise InvalidInput("Choose the location to retire.")
            location = session.get_one(Location, location_id)
            retire_location(session, user, location, reason)
            return f"{location.name} is no longer in use."

        return self.in_unit_of_work(work)
