"""What the study screens show, read from the records: studies, products, subjects,
prescribers, staff and the drop-down choices of them; plain rows, no Qt, no rules.

Each function reads in the session it is given and returns frozen rows the Qt models
wrap, so a table never touches a closed session. Arms are read only when the caller
passes ``show_arms=True`` (decided by ``studies.services.is_unblinded``); a blinded reader
gets no arm name or code at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ids_app.studies.irb import approval_text
from ids_app.studies.models import (
    Arm,
    Blinding,
    Prescriber,
    Product,
    Study,
    StudyStaff,
    StudyStatus,
    Subject,
    SubjectStatus,
)
from ids_app.studies.services import is_unblinded
from ids_app.users.models import Role, User
from ids_app.users.permissions import require_study_access
from ids_app.wording import day_text, quantity_text

# --- studies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyRow:
    id: int
    protocol_number: str
    title: str
    sponsor: str
    principal_investigator: str
    status: StudyStatus
    blinding: Blinding
    ind_number: str | None
    irb_approval: str = "not recorded"  # studies.irb.approval_text

    @property
    def is_blinded(self) -> bool:
        return self.blinding is not Blinding.OPEN_LABEL


def _study_row(study: Study) -> StudyRow:
    return StudyRow(
        study.id,
        study.protocol_number,
        study.title,
        study.sponsor,
        study.principal_investigator,
        study.status,
        study.blinding,
        study.ind_number,
        approval_text(study),
    )


def list_studies(
    session: Session,
    *,
    reader: User,
    status: StudyStatus | None = None,
    sponsor: str | None = None,
    text: str = "",
) -> list[StudyRow]:
    """Studies by protocol number, filtered in SQL; a monitor sees only the studies they
    are assigned to (a sponsor's monitor never learns of another sponsor's study)."""
    query = select(Study).order_by(Study.protocol_number)
    if reader.role is Role.MONITOR:
        query = query.join(StudyStaff, StudyStaff.study_id == Study.id).where(
            StudyStaff.user_id == reader.id, StudyStaff.active.is_(True)
        )
    if status is not None:
        query = query.where(Study.status == status)
    if sponsor:
        query = query.where(Study.sponsor == sponsor)
    words = text.split()
    for word in words:
        pattern = f"%{word}%"
        query = query.where(
            or_(
                Study.protocol_number.ilike(pattern),
                Study.title.ilike(pattern),
                Study.sponsor.ilike(pattern),
                Study.principal_investigator.ilike(pattern),
            )
        )
    return [_study_row(study) for study in session.scalars(query)]


def sponsor_names(session: Session) -> list[str]:
    return list(session.scalars(select(Study.sponsor).distinct().order_by(Study.sponsor)))


def study_row(session: Session, study_id: int, reader: User) -> StudyRow:
    """The study a workspace opens on: every screen of a study starts here, so a monitor
    not assigned to it is refused here."""
    study = session.get_one(Study, study_id)
    require_study_access(session, reader, study, to="open this study")
    return _study_row(study)


def shows_arms(session: Session, user: User, study_id: int) -> bool:
    return is_unblinded(session, user, session.get_one(Study, study_id))


# --- products, subjects, prescribers, staff --------------------------------------------------


@dataclass(frozen=True)
class ProductRow:
    id: int
    description: str
    role: str
    tracking: str
    unit: str
    dose_unit: str
    units_per_kit: int | None
    storage: str
    rule: str
    is_kit_tracked: bool
    retired: str = ""  # "retired 2026-12-04", or "" while in use


def product_rows(session: Session, study_id: int) -> list[ProductRow]:
    rows = []
    for product in session.scalars(
        select(Product).where(Product.study_id == study_id).order_by(Product.id)
    ):
        kit = (
            f" of {quantity_text(product.units_per_kit, product.dose_unit)}"
            if product.units_per_kit
            else ""
        )
        rows.append(
            ProductRow(
                product.id,
                product.description,
                product.role.value,
                product.tracking.value,
                product.unit,
                product.dose_unit,
                product.units_per_kit,
                f"{product.storage_min_c:g} to {product.storage_max_c:g} °C",
                f"{quantity_text(product.dispense_quantity, product.unit)}{kit} per visit, "
                f"{product.days_supply} days' supply",
                product.is_kit_tracked,
                f"retired {day_text(product.retired_on)}" if product.retired_on else "",
            )
        )
    return rows


@dataclass(frozen=True)
class Choice:
    """An item of a drop-down list: the record's id and how it reads."""

    id: int
    text: str


def subject_choices(session: Session, study_id: int) -> list[Choice]:
    return [
        Choice(subject.id, f"{subject.subject_code} ({subject.initials}) — {subject.status.value}")
        for subject in session.scalars(
            select(Subject).where(Subject.study_id == study_id).order_by(Subject.subject_code)
        )
    ]


def enrolled_first(choices: list[Choice]) -> list[Choice]:
    enrolled = SubjectStatus.ENROLLED.value
    return sorted(choices, key=lambda c: (not c.text.endswith(enrolled), c.text))


def prescriber_choices(session: Session, study_id: int) -> list[Choice]:
    choices = []
    for p in session.scalars(
        select(Prescriber).where(Prescriber.study_id == study_id).order_by(Prescriber.name)
    ):
        credentials = f", {p.credentials}" if p.credentials else ""
        withdrawn = "" if p.authorized else " (no longer authorized)"
        choices.append(Choice(p.id, f"{p.name}{credentials}{withdrawn}"))
    return choices


def user_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(User.id, User.full_name)).all())


def other_study_choices(session: Session, study_id: int) -> list[Choice]:
    return [
        Choice(study.id, f"{study.protocol_number} — {study.sponsor}")
        for study in session.scalars(
            select(Study).where(Study.id != study_id).order_by(Study.protocol_number)
        )
    ]


def product_choices(session: Session, study_id: int) -> list[Choice]:
    return [Choice(row.id, row.description) for row in product_rows(session, study_id)]


# --- setup -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmRow:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class StaffRow:
    id: int
    name: str
    system_role: str
    study_role: str
    unblinded: bool
    active: bool
    ended: str = ""  # "ended 2026-12-04" once the role has ended


@dataclass(frozen=True)
class PrescriberRow:
    id: int
    name: str
    credentials: str
    authorized: bool


@dataclass(frozen=True)
class SubjectRow:
    id: int
    code: str
    initials: str
    status: str
    arm: str  # "" when not shown or not recorded
    status_on: str = ""  # the day the status took effect, when recorded

    @property
    def status_text(self) -> str:
        return f"{self.status} since {self.status_on}" if self.status_on else self.status


@dataclass(frozen=True)
class SetupData:
    arms: list[ArmRow]
    products: list[ProductRow]
    staff: list[StaffRow]
    prescribers: list[PrescriberRow]
    subjects: list[SubjectRow]


def arm_rows(session: Session, study_id: int) -> list[ArmRow]:
    query = select(Arm).where(Arm.study_id == study_id).order_by(Arm.code)
    return [ArmRow(arm.id, arm.code, arm.name) for arm in session.scalars(query)]


def read_setup(session: Session, study_id: int, *, show_arms: bool) -> SetupData:
    arms = arm_rows(session, study_id) if show_arms else []
    arm_text = {arm.id: f"{arm.code} — {arm.name}" for arm in arms}
    staff = [
        StaffRow(
            s.id,
            u.full_name,
            u.role.label,
            s.study_role,
            s.unblinded,
            s.active,
            f"ended {day_text(s.ended_on)}" if s.ended_on else "",
        )
        for s, u in session.execute(
            select(StudyStaff, User)
            .join(User, User.id == StudyStaff.user_id)
            .where(StudyStaff.study_id == study_id)
            .order_by(User.full_name)
        )
    ]
    prescribers = [
        PrescriberRow(p.id, p.name, p.credentials or "", p.authorized)
        for p in session.scalars(
            select(Prescriber).where(Prescriber.study_id == study_id).order_by(Prescriber.name)
        )
    ]
    subjects = [
        SubjectRow(
            s.id,
            s.subject_code,
            s.initials,
            s.status.value,
            arm_text.get(s.arm_id, "") if show_arms and s.arm_id is not None else "",
            day_text(s.status_on),
        )
        for s in session.scalars(
            select(Subject).where(Subject.study_id == study_id).order_by(Subject.subject_code)
        )
    ]
    return SetupData(arms, product_rows(session, study_id), staff, prescribers, subjects)


def staff_candidates(session: Session, study_id: int) -> list[Choice]:
    """Active users not yet on the study's staff."""
    on_staff = select(StudyStaff.user_id).where(StudyStaff.study_id == study_id)
    query = (
        select(User).where(User.active.is_(True), User.id.not_in(on_staff)).order_by(User.full_name)
    )
    return [Choice(u.id, f"{u.full_name} ({u.role.label})") for u in session.scalars(query)]
