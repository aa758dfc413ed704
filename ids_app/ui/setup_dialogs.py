"""The Setup tab's dialogs: each runs one service in one unit of work and reports its sentence.

The services decide (studies.services); a dialog only collects what was typed, shows the
refusal beside it and keeps the form. Enter presses the dialog's main button, Escape
cancels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QListWidget,
    QSpinBox,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory.late_entries import late_after, set_late_entry_delay
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import LocationKind
from ids_app.inventory.views import location_choices
from ids_app.studies.irb import approval_text, record_irb_approval
from ids_app.studies.models import (
    Arm,
    Blinding,
    Prescriber,
    ProductRole,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
    Tracking,
)
from ids_app.studies.services import (
    STATUS_CHANGES,
    add_arm,
    add_prescriber,
    add_product,
    add_staff,
    add_subject,
    change_study_status,
    create_study,
    set_subject_arm,
    set_subject_status,
    withdraw_prescriber,
)
from ids_app.studies.views import (
    ArmRow,
    Choice,
    PrescriberRow,
    StudyRow,
    SubjectRow,
    staff_candidates,
)
from ids_app.ui.context import Workspace
from ids_app.ui.forms import FormDialog, open_dialog
from ids_app.ui.guard import attempt
from ids_app.ui.receiving import date_field, pydate
from ids_app.users.models import User
from ids_app.users.permissions import Action, may


def line_field(name: str, placeholder: str = "") -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    if placeholder:
        field.setPlaceholderText(placeholder)
    return field


def enum_combo(name: str, values: list[str]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for value in values:
        combo.addItem(value, value)
    return combo


def temperature_spin(name: str, value: float) -> QDoubleSpinBox:
    """A storage limit in °C, to one decimal, as thermometers show it."""
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setRange(-200.0, 100.0)
    spin.setDecimals(1)
    spin.setSuffix(" °C")
    spin.setValue(value)
    return spin


def choice_combo(name: str, choices: list[Choice]) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for choice in choices:
        combo.addItem(choice.text, choice.id)
    return combo


class SetupDialog(FormDialog):
    """A form whose main button runs :meth:`act` (one unit of work) and reports its sentence."""

    succeeded = Signal(str)

    def __init__(
        self,
        ws: Workspace,
        *,
        title: str,
        intro: str,
        accept_text: str,
        doing: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ws.db,
            title=title,
            heading=title,
            intro=intro,
            accept_text=accept_text,
            reject_text="Cancel",
            parent=parent,
        )
        self.ws = ws
        self.doing = doing
        self.result_message = ""

    def act(self) -> str:
        raise NotImplementedError

    def in_unit_of_work(self, work: Callable[[Session, User], str]) -> str:
        with self.ws.db.unit_of_work() as session:
            return work(session, self.ws.user)

    def accept(self) -> None:
        self.clear_error()
        message = attempt(self, self.db, self.doing, self.act, show_refusal=self.show_error)
        if message is None:
            return
        self.result_message = message
        self.succeeded.emit(message)
        super().accept()


class ChangeStatusDialog(SetupDialog):
    def __init__(self, ws: Workspace, study: StudyRow, parent: QWidget | None = None) -> None:
        following = sorted(STATUS_CHANGES[study.status], key=list(StudyStatus).index)
        super().__init__(
            ws,
            title="Change the study's status",
            intro=(
                f"{study.protocol_number} is {study.status.value}. "
                + (
                    "Choose what it becomes and say why; the reason is kept in the audit trail."
                    if following
                    else "A closed study keeps its status."
                )
            ),
            accept_text="Change status",
            doing="changing the study's status",
            parent=parent,
        )
        self.setObjectName("changeStatusDialog")
        self.study_id = study.id
        self.status = enum_combo("newStatus", [s.value for s in following])
        self.reason = line_field("statusReason", "e.g. site activation visit on 2 March")
        self.form.addRow("New &status", self.status)
        self.form.addRow("&Reason", self.reason)
        self.accept_button.setEnabled(bool(following))
        self.status.setFocus()

    def act(self) -> str:
        new_status = StudyStatus(self.status.currentData())
        reason = self.reason.text()

        def work(session: Session, user: User) -> str:
            study = change_study_status(
                session, user, session.get_one(Study, self.study_id), new_status, reason
            )
            return f"Study {study.protocol_number} is now {study.status.value}."

        return self.in_unit_of_work(work)


class IrbApprovalDialog(SetupDialog):
    """The IRB's approval letter, typed in: a renewal, or the right values of one recorded
    wrongly (studies.irb.record_irb_approval)."""

    def __init__(self, ws: Workspace, study: StudyRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Record the IRB approval",
            intro=(
                f"{study.protocol_number}'s IRB approval: {study.irb_approval}. Type the dates "
                "and protocol version on the IRB's letter, and say why (a renewal, or what "
                "was wrong); the reason is kept in the audit trail. No study drug is "
                "dispensed after the approval expires."
            ),
            accept_text="Record approval",
            doing="recording the IRB approval",
            parent=parent,
        )
        self.setObjectName("irbApprovalDialog")
        self.study_id = study.id
        self.approved_on = date_field("irbApprovedOn", today())
        self.expires_on = date_field("irbExpiresOn", today() + dt.timedelta(days=364))
        self.protocol_version = line_field("protocolVersion", "e.g. Amendment 3, 2026-01-15")
        self.reason = line_field("irbReason", "e.g. annual continuing review approved")
        self.form.addRow("&Approved on", self.approved_on)
        self.form.addRow("&Expires on", self.expires_on)
        self.form.addRow("&Protocol version", self.protocol_version)
        self.form.addRow("&Reason", self.reason)
        self.protocol_version.setFocus()

    def act(self) -> str:
        approved_on, expires_on = pydate(self.approved_on.date()), pydate(self.expires_on.date())
        version, reason = self.protocol_version.text(), self.reason.text()

        def work(session: Session, user: User) -> str:
            study = record_irb_approval(
                session,
                user,
                session.get_one(Study, self.study_id),
                approved_on=approved_on,
                expires_on=expires_on,
                protocol_version=version,
                reason=reason,
            )
            return f"IRB approval of {study.protocol_number} recorded: {approval_text(study)}."

        return self.in_unit_of_work(work)


class LateEntryDelayDialog(SetupDialog):
    """How long after an event its entry counts as late and needs a reason
    (inventory.late_entries.set_late_entry_delay)."""

    def __init__(self, ws: Workspace, study: StudyRow, parent: QWidget | None = None) -> None:
        with ws.db.read_session() as session:
            current = late_after(session.get_one(Study, study.id))
        minutes = int(current.total_seconds() // 60)
        super().__init__(
            ws,
            title="Late-entry delay",
            intro=(
                f"An entry of {study.protocol_number} made more than {minutes} minutes after "
                "what it records is a late entry: it needs a reason (a downtime, the paper "
                "log) and is marked in the binder. Say why the delay changes; the reason is "
                "kept in the audit trail."
            ),
            accept_text="Set delay",
            doing="setting the late-entry delay",
            parent=parent,
        )
        self.setObjectName("lateEntryDelayDialog")
        self.study_id = study.id
        self.minutes = QSpinBox()
        self.minutes.setObjectName("lateEntryMinutes")
        self.minutes.setRange(1, 7 * 24 * 60)
        self.minutes.setSuffix(" minutes")
        self.minutes.setValue(minutes)
        self.reason = line_field("lateEntryReason", "e.g. SOP IDS-12 version 3")
        self.form.addRow("&Delay", self.minutes)
        self.form.addRow("&Reason", self.reason)
        self.minutes.setFocus()

    def act(self) -> str:
        minutes, reason = self.minutes.value(), self.reason.text()

        def work(session: Session, user: User) -> str:
            study = set_late_entry_delay(
                session, user, session.get_one(Study, self.study_id), minutes, reason
            )
            return (
                f"An entry of {study.protocol_number} is now late {minutes} minutes after "
                "its event."
            )

        return self.in_unit_of_work(work)


class AddArmDialog(SetupDialog):
    def __init__(self, ws: Workspace, study_id: int, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Add a treatment arm",
            intro="The arm's code and name as the protocol and the IWRS write them.",
            accept_text="Add arm",
            doing="adding the arm",
            parent=parent,
        )
        self.setObjectName("addArmDialog")
        self.study_id = study_id
        self.code = line_field("armCode", "e.g. A")
        self.name = line_field("armName", "e.g. ABC 10 mg")
        self.form.addRow("&Code", self.code)
        self.form.addRow("&Name", self.name)
        self.code.setFocus()

    def act(self) -> str:
        code, name = self.code.text(), self.name.text()

        def work(session: Session, user: User) -> str:
            arm = add_arm(session, user, session.get_one(Study, self.study_id), code, name)
            return f"Arm {arm.code} added."

        return self.in_unit_of_work(work)


class AddProductDialog(SetupDialog):
    def __init__(self, ws: Workspace, study_id: int, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Add a product",
            intro="The product as the pharmacy manual describes it, its storage range and "
            "its dispensing rule.",
            accept_text="Add product",
            doing="adding the product",
            parent=parent,
        )
        self.setObjectName("addProductDialog")
        self.study_id = study_id
        self.agent = line_field("agentName", "e.g. ABC")
        self.strength = line_field("strength", "e.g. 10 mg")
        self.dosage_form = line_field("dosageForm", "e.g. tablet")
        self.unit = line_field("unit", "what is counted: kit, vial, bottle…")
        self.role = enum_combo("productRole", [r.value for r in ProductRole])
        self.tracking = enum_combo("tracking", [t.value for t in Tracking])
        self.storage_min = temperature_spin("storageMin", 2.0)
        self.storage_max = temperature_spin("storageMax", 8.0)
        self.dose_unit = line_field("doseUnit", "what a dose is counted in: tablet, mL… (optional)")
        self.units_per_kit = QSpinBox()
        self.units_per_kit.setObjectName("unitsPerKit")
        self.units_per_kit.setRange(0, 100_000)
        self.units_per_kit.setSpecialValueText("(not a kit)")
        self.dispense_quantity = QSpinBox()
        self.dispense_quantity.setObjectName("dispenseQuantity")
        self.dispense_quantity.setRange(0, 100_000)
        self.dispense_quantity.setValue(1)
        self.days_supply = QSpinBox()
        self.days_supply.setObjectName("daysSupply")
        self.days_supply.setRange(0, 3650)
        self.days_supply.setValue(28)
        self.doses_per_day = QDoubleSpinBox()
        self.doses_per_day.setObjectName("dosesPerDay")
        self.doses_per_day.setRange(0.0, 100.0)
        self.doses_per_day.setDecimals(3)
        self.doses_per_day.setValue(1.0)
        self.gtin = line_field("gtin", "from the GS1 barcode (optional)")
        rows: tuple[tuple[str, QWidget], ...] = (
            ("&Agent name", self.agent),
            ("S&trength", self.strength),
            ("Dosage &form", self.dosage_form),
            ("&Unit of count", self.unit),
            ("&Role", self.role),
            ("Trac&king", self.tracking),
            ("Store from", self.storage_min),
            ("Store up to", self.storage_max),
            ("&Dose unit", self.dose_unit),
            ("Units per &kit", self.units_per_kit),
            ("&Quantity per visit", self.dispense_quantity),
            ("Days' su&pply", self.days_supply),
            ("Doses per da&y", self.doses_per_day),
            ("&GTIN", self.gtin),
        )
        for title, field in rows:
            self.form.addRow(title, field)
        self.agent.setFocus()

    def act(self) -> str:
        units = self.units_per_kit.value()
        agent, strength, form = self.agent.text(), self.strength.text(), self.dosage_form.text()
        unit, dose_unit, gtin = self.unit.text(), self.dose_unit.text(), self.gtin.text()
        role = ProductRole(self.role.currentData())
        tracking = Tracking(self.tracking.currentData())
        low, high = self.storage_min.value(), self.storage_max.value()
        quantity, days, doses = (
            self.dispense_quantity.value(),
            self.days_supply.value(),
            self.doses_per_day.value(),
        )

        def work(session: Session, user: User) -> str:
            product = add_product(
                session,
                user,
                session.get_one(Study, self.study_id),
                role=role,
                tracking=tracking,
                storage_min_c=low,
                storage_max_c=high,
                dispense_quantity=quantity,
                days_supply=days,
                doses_per_day=doses,
                units_per_kit=units or None,
                agent_name=agent,
                strength=strength,
                dosage_form=form,
                unit=unit,
                dose_unit=dose_unit or None,
                gtin=gtin or None,
            )
            return f"{product.description} added."

        return self.in_unit_of_work(work)


class AddStaffDialog(SetupDialog):
    def __init__(self, ws: Workspace, study_id: int, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Add study staff",
            intro="Unblinded access is granted for this study only; a blinded member never "
            "sees an arm.",
            accept_text="Add to staff",
            doing="adding study staff",
            parent=parent,
        )
        self.setObjectName("addStaffDialog")
        self.study_id = study_id
        found = ws.read(self, "reading the users", lambda s: staff_candidates(s, study_id))
        self.member = choice_combo("staffMember", found or [])
        self.study_role = line_field("studyRole", "e.g. Research pharmacist")
        self.unblinded = QCheckBox("&Unblinded for this study")
        self.unblinded.setObjectName("staffUnblinded")
        self.reason = line_field("unblindedReason", "why this person needs to see the arms")
        self.form.addRow("&Person", self.member)
        self.form.addRow("&Study role", self.study_role)
        self.form.addRow("", self.unblinded)
        self.form.addRow("&Reason (unblinded only)", self.reason)
        # Only an administrator grants unblinded access (users.permissions); the service
        # refuses anyone else, so the choice is not offered to them.
        grants = may(ws.user.role, Action.GRANT_UNBLINDED)
        for field in (self.unblinded, self.reason):
            self.form.setRowVisible(field, grants)
        self.member.setFocus()

    def act(self) -> str:
        member_id = self.member.currentData()
        study_role, unblinded = self.study_role.text(), self.unblinded.isChecked()
        reason = self.reason.text()

        def work(session: Session, user: User) -> str:
            study = session.get_one(Study, self.study_id)
            member = session.get_one(User, member_id or 0)
            add_staff(session, user, study, member, study_role, unblinded=unblinded, reason=reason)
            blinding = "unblinded" if unblinded else "blinded"
            return f"{member.full_name} is on the staff of {study.protocol_number} ({blinding})."

        return self.in_unit_of_work(work)


class AddPrescriberDialog(SetupDialog):
    def __init__(self, ws: Workspace, study_id: int, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Authorize a prescriber",
            intro="An investigator listed on the FDA 1572 or the delegation log.",
            accept_text="Authorize",
            doing="authorizing the prescriber",
            parent=parent,
        )
        self.setObjectName("addPrescriberDialog")
        self.study_id = study_id
        self.name = line_field("prescriberName", "e.g. Dr. Priya Natarajan")
        self.credentials = line_field("prescriberCredentials", "e.g. MD (optional)")
        self.form.addRow("&Name", self.name)
        self.form.addRow("&Credentials", self.credentials)
        self.name.setFocus()

    def act(self) -> str:
        name, credentials = self.name.text(), self.credentials.text() or None

        def work(session: Session, user: User) -> str:
            study = session.get_one(Study, self.study_id)
            prescriber = add_prescriber(session, user, study, name, credentials)
            return f"{prescriber.name} may prescribe for {study.protocol_number}."

        return self.in_unit_of_work(work)


class WithdrawPrescriberDialog(SetupDialog):
    def __init__(
        self, ws: Workspace, prescriber: PrescriberRow, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            ws,
            title="Withdraw a prescriber",
            intro=f"{prescriber.name} will no longer be able to prescribe for this study.",
            accept_text="Withdraw",
            doing="withdrawing the prescriber",
            parent=parent,
        )
        self.setObjectName("withdrawPrescriberDialog")
        self.prescriber_id = prescriber.id
        self.reason = line_field("withdrawReason", "e.g. left the site")
        self.form.addRow("&Reason", self.reason)
        self.reason.setFocus()

    def act(self) -> str:
        reason = self.reason.text()

        def work(session: Session, user: User) -> str:
            prescriber = session.get_one(Prescriber, self.prescriber_id)
            withdraw_prescriber(session, user, prescriber, reason)
            return f"{prescriber.name} is no longer authorized to prescribe."

        return self.in_unit_of_work(work)


class AddSubjectDialog(SetupDialog):
    def __init__(self, ws: Workspace, study_id: int, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Register a subject",
            intro="The subject's study ID and initials as on the enrolment log.",
            accept_text="Register",
            doing="registering the subject",
            parent=parent,
        )
        self.setObjectName("addSubjectDialog")
        self.study_id = study_id
        self.code = line_field("subjectCode", "e.g. 01-005")
        self.initials = line_field("subjectInitials", "e.g. JQP")
        self.status = enum_combo("subjectStatus", [s.value for s in SubjectStatus])
        self.form.addRow("Subject &ID", self.code)
        self.form.addRow("&Initials", self.initials)
        self.form.addRow("&Status", self.status)
        self.code.setFocus()

    def act(self) -> str:
        code, initials = self.code.text(), self.initials.text()
        status = SubjectStatus(self.status.currentData())

        def work(session: Session, user: User) -> str:
            study = session.get_one(Study, self.study_id)
            subject = add_subject(session, user, study, code, initials, status=status)
            return f"Subject {subject.subject_code} registered ({subject.status.value})."

        return self.in_unit_of_work(work)


class SubjectStatusDialog(SetupDialog):
    def __init__(self, ws: Workspace, subject: SubjectRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Change a subject's status",
            intro=f"Subject {subject.code} is {subject.status}. The reason is kept in the "
            "audit trail.",
            accept_text="Change status",
            doing="changing the subject's status",
            parent=parent,
        )
        self.setObjectName("subjectStatusDialog")
        self.subject_id = subject.id
        self.status = enum_combo("newSubjectStatus", [s.value for s in SubjectStatus])
        self.status.setCurrentIndex(max(self.status.findData(subject.status), 0))
        self.reason = line_field("subjectReason", "e.g. randomized on 3 March")
        self.since = date_field("subjectStatusOn", today())
        self.form.addRow("New &status", self.status)
        self.form.addRow("Since &date", self.since)
        self.form.addRow("&Reason", self.reason)
        self.status.setFocus()

    def act(self) -> str:
        status, reason = SubjectStatus(self.status.currentData()), self.reason.text()
        since = pydate(self.since.date())

        def work(session: Session, user: User) -> str:
            subject = session.get_one(Subject, self.subject_id)
            set_subject_status(session, user, subject, status, reason, on=since)
            return f"Subject {subject.subject_code} is now {status.value} (since {since})."

        return self.in_unit_of_work(work)


class RecordArmDialog(SetupDialog):
    """Only offered to users unblinded for the study (the tab decides from is_unblinded)."""

    def __init__(
        self,
        ws: Workspace,
        subject: SubjectRow,
        arms: list[ArmRow],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ws,
            title="Record the subject's arm",
            intro=f"The arm the IWRS gave subject {subject.code}.",
            accept_text="Record arm",
            doing="recording the arm",
            parent=parent,
        )
        self.setObjectName("recordArmDialog")
        self.subject_id = subject.id
        self.arm = choice_combo(
            "subjectArm", [Choice(arm.id, f"{arm.code} — {arm.name}") for arm in arms]
        )
        self.form.addRow("&Arm", self.arm)
        self.arm.setFocus()

    def act(self) -> str:
        arm_id = self.arm.currentData()

        def work(session: Session, user: User) -> str:
            subject = session.get_one(Subject, self.subject_id)
            arm = session.get_one(Arm, arm_id or 0)
            set_subject_arm(session, user, subject, arm)
            return f"Arm {arm.code} recorded for subject {subject.subject_code}."

        return self.in_unit_of_work(work)


class NewStudyDialog(SetupDialog):
    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="New study",
            intro="The protocol as the sponsor names it. The study starts pending; its "
            "products, staff and kit list are added on its Setup tab.",
            accept_text="Create study",
            doing="creating the study",
            parent=parent,
        )
        self.setObjectName("newStudyDialog")
        self.study_id = 0
        self.protocol = line_field("protocolNumber", "e.g. ABC-123")
        self.study_title = line_field("studyTitle")
        self.sponsor = line_field("sponsor")
        self.investigator = line_field("principalInvestigator")
        self.blinding = enum_combo("blinding", [b.value for b in Blinding])
        self.ind = line_field("indNumber", "optional")
        rows: tuple[tuple[str, QWidget], ...] = (
            ("&Protocol number", self.protocol),
            ("&Title", self.study_title),
            ("&Sponsor", self.sponsor),
            ("Principal &investigator", self.investigator),
            ("&Blinding", self.blinding),
            ("I&ND number", self.ind),
        )
        for title, field in rows:
            self.form.addRow(title, field)
        self.setMinimumWidth(560)
        self.protocol.setFocus()

    def act(self) -> str:
        protocol, title = self.protocol.text(), self.study_title.text()
        sponsor, investigator = self.sponsor.text(), self.investigator.text()
        ind = self.ind.text() or None
        blinding = Blinding(self.blinding.currentData())

        def work(session: Session, user: User) -> str:
            study = create_study(
                session,
                user,
                protocol_number=protocol,
                title=title,
                sponsor=sponsor,
                principal_investigator=investigator,
                blinding=blinding,
                ind_number=ind,
            )
            self.study_id = study.id
            return f"Study {study.protocol_number} created ({study.status.value})."

        return self.in_unit_of_work(work)


class AddLocationDialog(SetupDialog):
    """A storage location of the site (shared by every study); the list shows those in use."""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(
            ws,
            title="Add a storage location",
            intro="A shelf, fridge, freezer or other place where study drug is kept, with "
            "the range its temperature must stay in. Locations are shared by every study.",
            accept_text="Add location",
            doing="adding the storage location",
            parent=parent,
        )
        self.setObjectName("addLocationDialog")
        found = ws.read(self, "reading the locations", location_choices)
        self.existing = QListWidget()
        self.existing.setObjectName("existingLocations")
        self.existing.addItems([choice.text for choice in found or []])
        self.existing.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.existing.setMaximumHeight(120)
        self.name = line_field("locationName", "e.g. IDS Fridge 2")
        self.kind = enum_combo("locationKind", [k.value for k in LocationKind])
        self.low = temperature_spin("locationMin", 15.0)
        self.high = temperature_spin("locationMax", 25.0)
        self.form.addRow("In use", self.existing)
        self.form.addRow("&Name", self.name)
        self.form.addRow("&Kind", self.kind)
        self.form.addRow("From", self.low)
        self.form.addRow("Up to", self.high)
        self.name.setFocus()

    def act(self) -> str:
        name, kind = self.name.text(), LocationKind(self.kind.currentData())
        low, high = self.low.value(), self.high.value()

        def work(session: Session, user: User) -> str:
            location = add_location(session, user, name, kind, low, high)
            return f"Location {location.name} added ({location.range_text})."

        return self.in_unit_of_work(work)


class StudyOpener(Protocol):
    """What a new study needs from the window: the study list re-read, the study opened."""

    def refresh(self) -> None: ...

    def open_study(self, study_id: int, tab: str = "", record_id: int = 0) -> bool: ...


def open_new_study(ws: Workspace, window: StudyOpener) -> NewStudyDialog:
    """The "New study…" action: create it, then open it on its Setup tab."""
    parent = window if isinstance(window, QWidget) else None
    dialog = NewStudyDialog(ws, parent=parent)

    def created(message: str) -> None:
        window.refresh()
        window.open_study(dialog.study_id, "setup")
        ws.message.emit(message)

    dialog.succeeded.connect(created)
    dialog.finished.connect(dialog.deleteLater)
    open_dialog(dialog)
    return dialog
