"""What the Setup tab shows, read from the records: plain rows, no Qt, no rules.

Arms are read only when the caller passes ``show_arms=True`` (decided by
``studies.services.is_unblinded``); a blinded reader gets no arm name or code at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.studies.models import Arm, Prescriber, StudyStaff, Subject
from ids_app.ui.queries import Choice, ProductRow, product_rows
from ids_app.users.models import User


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
        StaffRow(s.id, u.full_name, u.role.label, s.study_role, s.unblinded, s.active)
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
