"""A study's setup: its protocol and status, arms, products, staff, prescribers, subjects and
the sponsor's kit list.

Every change goes through ``studies.services`` (or ``studies.kit_import``) in one unit of
work; the tab shows the service's sentence, or its refusal, and re-checks no rule. Who
sees a button follows the services' role lists (the UI only hides). Arms are shown only
to users unblinded for the study (``is_unblinded``): a blinded user sees no arm box, no
arm column and no arm button.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.studies.services import OVERSIGHT_ROLES, SETUP_ROLES
from ids_app.studies.views import (
    ArmRow,
    PrescriberRow,
    ProductRow,
    SetupData,
    StaffRow,
    StudyRow,
    SubjectRow,
    read_setup,
    study_row,
)
from ids_app.ui.blinding_warning import warn_beside
from ids_app.ui.context import Workspace
from ids_app.ui.forms import InlineMessage, heading_label, hint_label, open_dialog
from ids_app.ui.kit_list_dialog import KitListDialog
from ids_app.ui.setup_corrections import (
    CorrectProductDialog,
    EndStaffRoleDialog,
    RetireLocationDialog,
    RetireProductDialog,
)
from ids_app.ui.setup_dialogs import (
    AddArmDialog,
    AddLocationDialog,
    AddPrescriberDialog,
    AddProductDialog,
    AddStaffDialog,
    AddSubjectDialog,
    ChangeStatusDialog,
    IrbApprovalDialog,
    LateEntryDelayDialog,
    RecordArmDialog,
    SetupDialog,
    SubjectStatusDialog,
    WithdrawPrescriberDialog,
)
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view

BUTTON_MIN_ROWS = 4


def action_button(text: str, name: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    return button


def button_rows(buttons: list[QPushButton]) -> QGridLayout:
    """Buttons two to a row: three in one row made each half of the screen wider than the
    space the workflow list leaves it, and the page scrolled sideways."""
    grid = QGridLayout()
    for number, button in enumerate(buttons):
        grid.addWidget(button, number // 2, number % 2)
    grid.setColumnStretch(2, 1)
    return grid


def section(title: str, name: str, view: QTableView, buttons: list[QPushButton]) -> QGroupBox:
    box = QGroupBox(title)
    box.setObjectName(name)
    layout = QVBoxLayout(box)
    layout.addWidget(view)
    layout.addLayout(button_rows(buttons))
    return box


class SetupTab(StudyTab):
    key = "setup"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        role = ws.user.role
        self.can_set_up = role in SETUP_ROLES
        self.can_oversee = role in OVERSIGHT_ROLES
        self.data: SetupData | None = None
        self.dialog: SetupDialog | KitListDialog | None = None

        # the study ----------------------------------------------------------------------
        self.title_label = heading_label("")
        self.title_label.setObjectName("setupTitle")
        self.title_label.setWordWrap(True)
        self.fields: dict[str, QLabel] = {}
        details = QFormLayout()
        details.setHorizontalSpacing(14)
        for key, title in (
            ("sponsor", "Sponsor"),
            ("investigator", "Principal investigator"),
            ("ind", "IND number"),
            ("blinding", "Blinding"),
            ("status", "Status"),
            ("irb", "IRB approval"),
        ):
            label = QLabel()
            label.setObjectName(f"setup_{key}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[key] = label
            details.addRow(title, label)
        self.status_button = action_button("Change &status…", "changeStatusButton")
        self.status_button.clicked.connect(self.change_status)
        self.status_button.setVisible(self.can_oversee)
        # studies.irb.record_irb_approval: the roles of a status change.
        self.irb_button = action_button("&IRB approval…", "irbApprovalButton")
        self.irb_button.clicked.connect(self.record_irb_approval)
        self.irb_button.setVisible(self.can_oversee)
        # inventory.late_entries.set_late_entry_delay: the roles of a status change too.
        self.late_delay_button = action_button("Late-entry dela&y…", "lateEntryDelayButton")
        self.late_delay_button.clicked.connect(self.set_late_entry_delay)
        self.late_delay_button.setVisible(self.can_oversee)
        self.kit_list_button = action_button("Import &kit list…", "importKitListButton")
        self.kit_list_button.clicked.connect(lambda: self.open_kit_list())
        self.kit_list_button.setVisible(self.can_set_up)
        # locations.add_location: pharmacists and administrators, as OVERSIGHT_ROLES.
        self.location_button = action_button("Storage &locations…", "addLocationButton")
        self.location_button.clicked.connect(self.add_location)
        self.location_button.setVisible(self.can_oversee)
        self.retire_location_button = action_button("Retire a locatio&n…", "retireLocationButton")
        self.retire_location_button.clicked.connect(self.retire_location)
        study_box = QGroupBox("Study")
        study_box.setObjectName("studyBox")
        study_layout = QVBoxLayout(study_box)
        study_layout.addWidget(self.title_label)
        study_layout.addLayout(details)
        study_layout.addLayout(
            button_rows(
                [
                    self.status_button,
                    self.irb_button,
                    self.late_delay_button,
                    self.kit_list_button,
                    self.location_button,
                    self.retire_location_button,
                ]
            )
        )

        # arms (unblinded users only) ----------------------------------------------------
        self.arms: RowsModel[ArmRow] = RowsModel(
            [Column("Code", lambda r: r.code), Column("Name", lambda r: r.name)], parent=self
        )
        self.arms_view = table_view(self.arms, name="armsTable")
        self.add_arm_button = action_button("Add a&rm…", "addArmButton")
        self.add_arm_button.clicked.connect(self.add_arm)
        self.arms_box = section("Arms", "armsBox", self.arms_view, [self.add_arm_button])

        # products -------------------------------------------------------------------------
        self.products: RowsModel[ProductRow] = RowsModel(
            [
                Column("Product", lambda r: r.description),
                Column("Role", lambda r: r.role),
                Column("Tracking", lambda r: r.tracking),
                Column("Storage", lambda r: r.storage),
                Column("Dispensing rule", lambda r: r.rule),
                Column("In use", lambda r: r.retired or "yes"),
            ],
            status=lambda r: "returned" if r.retired else None,
            parent=self,
        )
        self.products_view = table_view(self.products, name="productsTable")
        self.add_product_button = action_button("Add &product…", "addProductButton")
        self.add_product_button.clicked.connect(self.add_product)
        self.correct_product_button = action_button("&Correct product…", "correctProductButton")
        self.correct_product_button.clicked.connect(self.correct_product)
        self.retire_product_button = action_button("Retire pr&oduct…", "retireProductButton")
        self.retire_product_button.clicked.connect(self.retire_product)
        products_box = section(
            "Products",
            "productsBox",
            self.products_view,
            [self.add_product_button, self.correct_product_button, self.retire_product_button],
        )

        # staff ------------------------------------------------------------------------------
        self.staff: RowsModel[StaffRow] = RowsModel(
            [
                Column("Name", lambda r: r.name),
                Column("User role", lambda r: r.system_role),
                Column("Study role", lambda r: r.study_role),
                Column("Unblinded", lambda r: r.unblinded),
                Column("Active", lambda r: r.ended or r.active),
            ],
            status=lambda r: None if r.active else "returned",
            parent=self,
        )
        self.staff_view = table_view(self.staff, name="staffTable")
        self.add_staff_button = action_button("Add s&taff…", "addStaffButton")
        self.add_staff_button.clicked.connect(self.add_staff)
        self.end_role_button = action_button("End sta&ff role…", "endStaffRoleButton")
        self.end_role_button.clicked.connect(self.end_staff_role)
        staff_box = section(
            "Staff", "staffBox", self.staff_view, [self.add_staff_button, self.end_role_button]
        )

        # prescribers ------------------------------------------------------------------------
        self.prescribers: RowsModel[PrescriberRow] = RowsModel(
            [
                Column("Prescriber", lambda r: r.name),
                Column("Credentials", lambda r: r.credentials),
                Column("Authorized", lambda r: r.authorized),
            ],
            status=lambda r: None if r.authorized else "returned",
            parent=self,
        )
        self.prescribers_view = table_view(self.prescribers, name="prescribersTable")
        self.add_prescriber_button = action_button("Add pr&escriber…", "addPrescriberButton")
        self.add_prescriber_button.clicked.connect(self.add_prescriber)
        self.withdraw_button = action_button("With&draw…", "withdrawPrescriberButton")
        self.withdraw_button.clicked.connect(self.withdraw_prescriber)
        prescribers_box = section(
            "Prescribers",
            "prescribersBox",
            self.prescribers_view,
            [self.add_prescriber_button, self.withdraw_button],
        )

        # subjects -----------------------------------------------------------------------------
        self.subjects: RowsModel[SubjectRow] = RowsModel(self._subject_columns(), parent=self)
        self.subjects_view = table_view(self.subjects, name="subjectsTable")
        self.add_subject_button = action_button("Add s&ubject…", "addSubjectButton")
        self.add_subject_button.clicked.connect(self.add_subject)
        self.subject_status_button = action_button("Subject st&atus…", "subjectStatusButton")
        self.subject_status_button.clicked.connect(self.change_subject_status)
        self.record_arm_button = action_button("Record ar&m…", "recordArmButton")
        self.record_arm_button.clicked.connect(self.record_arm)
        subjects_box = section(
            "Subjects",
            "subjectsBox",
            self.subjects_view,
            [self.add_subject_button, self.subject_status_button, self.record_arm_button],
        )

        for button in (
            self.add_product_button,
            self.add_prescriber_button,
            self.add_subject_button,
            self.subject_status_button,
        ):
            button.setVisible(self.can_set_up)
        # studies.corrections: correcting and retiring, as OVERSIGHT_ROLES.
        for button in (
            self.add_staff_button,
            self.end_role_button,
            self.withdraw_button,
            self.correct_product_button,
            self.retire_product_button,
            self.retire_location_button,
        ):
            button.setVisible(self.can_oversee)

        self.message = InlineMessage("setupMessage")
        grid = QGridLayout()
        grid.setSpacing(10)
        grid.addWidget(study_box, 0, 0)
        grid.addWidget(products_box, 1, 0)
        grid.addWidget(self.arms_box, 2, 0)
        grid.addWidget(staff_box, 0, 1)
        grid.addWidget(prescribers_box, 1, 1)
        grid.addWidget(subjects_box, 2, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(2, 1)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(12, 12, 12, 12)
        if not (self.can_set_up or self.can_oversee):
            column.addWidget(hint_label("Study setup is read-only for monitors."))
        column.addWidget(self.message)
        column.addLayout(grid, 1)
        scroll = QScrollArea()
        scroll.setObjectName("setupScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        for view in (
            self.arms_view,
            self.products_view,
            self.staff_view,
            self.prescribers_view,
            self.subjects_view,
        ):
            view.setMinimumHeight(view.verticalHeader().defaultSectionSize() * BUTTON_MIN_ROWS)
        self._apply_blinding()

    def _subject_columns(self) -> list[Column[SubjectRow]]:
        columns: list[Column[SubjectRow]] = [
            Column("Subject", lambda r: r.code),
            Column("Initials", lambda r: r.initials),
            Column("Status", lambda r: r.status_text),
        ]
        if self.show_arms:
            columns.append(Column("Arm", lambda r: r.arm))
        return columns

    def _apply_blinding(self) -> None:
        """Arms are on screen only for a user unblinded for this study."""
        self.arms_box.setVisible(self.show_arms)
        self.add_arm_button.setVisible(self.show_arms and self.can_set_up)
        self.record_arm_button.setVisible(self.show_arms and self.can_set_up)
        self.subjects.beginResetModel()
        self.subjects.columns = self._subject_columns()
        self.subjects.endResetModel()
        if not self.show_arms:
            self.arms.set_rows([])

    # reading ----------------------------------------------------------------------------------

    def study_changed(self) -> None:
        self.message.clear_message()
        self._apply_blinding()

    def reload(self) -> None:
        assert self.study is not None
        study_id, show_arms, user = self.study.id, self.show_arms, self.ws.user

        def read(session: Session) -> tuple[StudyRow, SetupData]:
            setup = read_setup(session, study_id, show_arms=show_arms)
            return study_row(session, study_id, user), setup

        found = self.ws.read(self, "reading the study's setup", read)
        if found is None:
            return
        self.study, self.data = found
        study = self.study
        self.title_label.setText(f"{study.protocol_number} — {study.title}")
        self.fields["sponsor"].setText(study.sponsor)
        self.fields["investigator"].setText(study.principal_investigator)
        self.fields["ind"].setText(study.ind_number or "—")
        self.fields["blinding"].setText(study.blinding.value)
        self.fields["status"].setText(study.status.value.capitalize())
        self.fields["irb"].setText(study.irb_approval)
        self.arms.set_rows(self.data.arms if show_arms else [])
        self.products.set_rows(self.data.products)
        self.staff.set_rows(self.data.staff)
        self.prescribers.set_rows(self.data.prescribers)
        self.subjects.set_rows(self.data.subjects)
        for view in (
            self.arms_view,
            self.products_view,
            self.staff_view,
            self.prescribers_view,
            self.subjects_view,
        ):
            fit_columns(view)

    # actions ----------------------------------------------------------------------------------

    def _open(self, dialog: SetupDialog) -> SetupDialog:
        dialog.succeeded.connect(self._done)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        open_dialog(dialog)
        return dialog

    def _done(self, message: str) -> None:
        self.message.show_success(message)
        self.ws.changed(message)

    def _need(self, row: object, what: str) -> bool:
        if row is None:
            self.message.show_error(f"Choose the {what} first.")
            return False
        return True

    def change_status(self) -> SetupDialog | None:
        if self.study is None:
            return None
        dialog = ChangeStatusDialog(self.ws, self.study, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def record_irb_approval(self) -> SetupDialog | None:
        if self.study is None:
            return None
        dialog = IrbApprovalDialog(self.ws, self.study, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def set_late_entry_delay(self) -> SetupDialog | None:
        if self.study is None:
            return None
        return self._open(LateEntryDelayDialog(self.ws, self.study, parent=self))

    def add_arm(self) -> SetupDialog | None:
        if self.study is None or not self.show_arms:
            return None
        return self._open(AddArmDialog(self.ws, self.study.id, parent=self))

    def add_product(self) -> SetupDialog | None:
        if self.study is None:
            return None
        return self._open(AddProductDialog(self.ws, self.study.id, parent=self))

    def correct_product(self) -> SetupDialog | None:
        row = selected_row(self.products_view)
        if not self._need(row, "product to correct"):
            return None
        dialog = CorrectProductDialog(self.ws, row, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def retire_product(self) -> SetupDialog | None:
        row = selected_row(self.products_view)
        if not self._need(row, "product to retire"):
            return None
        dialog = RetireProductDialog(self.ws, row, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def end_staff_role(self) -> SetupDialog | None:
        row = selected_row(self.staff_view)
        if not self._need(row, "staff member"):
            return None
        dialog = EndStaffRoleDialog(self.ws, row, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def retire_location(self) -> SetupDialog:
        dialog = RetireLocationDialog(self.ws, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def add_staff(self) -> SetupDialog | None:
        if self.study is None:
            return None
        return self._open(AddStaffDialog(self.ws, self.study.id, parent=self))

    def add_prescriber(self) -> SetupDialog | None:
        if self.study is None:
            return None
        return self._open(AddPrescriberDialog(self.ws, self.study.id, parent=self))

    def withdraw_prescriber(self) -> SetupDialog | None:
        row = selected_row(self.prescribers_view)
        if not self._need(row, "prescriber to withdraw"):
            return None
        dialog = WithdrawPrescriberDialog(self.ws, row, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def add_subject(self) -> SetupDialog | None:
        if self.study is None:
            return None
        return self._open(AddSubjectDialog(self.ws, self.study.id, parent=self))

    def change_subject_status(self) -> SetupDialog | None:
        row = selected_row(self.subjects_view)
        if not self._need(row, "subject"):
            return None
        dialog = SubjectStatusDialog(self.ws, row, parent=self)
        warn_beside(dialog.form, dialog.reason, self.arm_mask)
        return self._open(dialog)

    def record_arm(self) -> SetupDialog | None:
        row = selected_row(self.subjects_view)
        if not self.show_arms or self.data is None or not self._need(row, "subject"):
            return None
        return self._open(RecordArmDialog(self.ws, row, self.data.arms, parent=self))

    def add_location(self) -> SetupDialog:
        return self._open(AddLocationDialog(self.ws, parent=self))

    def open_kit_list(self) -> KitListDialog | None:
        if self.study is None or self.data is None:
            return None
        dialog = KitListDialog(
            self.ws, self.study, self.data.products, show_arms=self.show_arms, parent=self
        )
        dialog.imported.connect(self._done)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        open_dialog(dialog)
        return dialog
