"""Study setup: protocol, status lifecycle, arms, products, staff, prescribers, subjects.

IDS technicians set studies up; pharmacists and administrators too. Monitors only read.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today
from ids_app.errors import InvalidInput, NotFound
from ids_app.studies.identifiers import identifier
from ids_app.studies.models import (
    Arm,
    Blinding,
    Prescriber,
    Product,
    ProductRole,
    Study,
    StudyStaff,
    StudyStatus,
    Subject,
    SubjectStatus,
    Tracking,
)
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, refuse, require

SETUP_ROLES = PERMISSIONS[Action.SET_UP_STUDIES].roles
OVERSIGHT_ROLES = PERMISSIONS[Action.CHANGE_STUDY_STATUS].roles

# pending → open ⇄ on hold → closed to accrual → closed (a study that never opened may close).
STATUS_CHANGES: dict[StudyStatus, frozenset[StudyStatus]] = {
    StudyStatus.PENDING: frozenset({StudyStatus.OPEN, StudyStatus.CLOSED}),
    StudyStatus.OPEN: frozenset({StudyStatus.ON_HOLD, StudyStatus.CLOSED_TO_ACCRUAL}),
    StudyStatus.ON_HOLD: frozenset({StudyStatus.OPEN, StudyStatus.CLOSED_TO_ACCRUAL}),
    StudyStatus.CLOSED_TO_ACCRUAL: frozenset({StudyStatus.CLOSED}),
    StudyStatus.CLOSED: frozenset(),
}


def _required(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"The {what} is empty; type the {what}.")
    return cleaned


def _optional(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def get_study(session: Session, protocol_number: str) -> Study:
    study = session.scalar(select(Study).where(Study.protocol_number == protocol_number.strip()))
    if study is None:
        raise NotFound(f"There is no study with protocol number '{protocol_number.strip()}'.")
    return study


def create_study(
    session: Session,
    actor: User,
    *,
    protocol_number: str,
    title: str,
    sponsor: str,
    principal_investigator: str,
    blinding: Blinding,
    ind_number: str | None = None,
) -> Study:
    require(session, actor, Action.SET_UP_STUDIES)
    protocol = identifier(protocol_number, "protocol number")
    if session.scalar(select(Study.id).where(Study.protocol_number == protocol)):
        raise InvalidInput(f"A study with protocol number {protocol} already exists.")
    attribute_changes(session, actor, reason="study set up")
    study = Study(
        protocol_number=protocol,
        title=_required(title, "study title"),
        sponsor=_required(sponsor, "sponsor"),
        principal_investigator=_required(principal_investigator, "principal investigator"),
        ind_number=_optional(ind_number),
        blinding=blinding,
        status=StudyStatus.PENDING,
    )
    session.add(study)
    session.flush()  # the caller adds arms and products to it
    return study


def change_study_status(
    session: Session, actor: User, study: Study, new_status: StudyStatus, reason: str
) -> Study:
    """Move a study along its lifecycle; every change is audited with its reason."""
    require(session, actor, Action.CHANGE_STUDY_STATUS)
    if new_status not in STATUS_CHANGES[study.status]:
        allowed = ", ".join(sorted(s.value for s in STATUS_CHANGES[study.status])) or "none"
        raise InvalidInput(
            f"Study {study.protocol_number} is {study.status.value}; it cannot become "
            f"{new_status.value} (allowed next: {allowed})."
        )
    attribute_changes(session, actor, reason=_required(reason, "reason for the status change"))
    study.status = new_status
    session.flush()  # the audit entry carries the reason given now
    return study


def add_arm(session: Session, actor: User, study: Study, code: str, name: str) -> Arm:
    require(session, actor, Action.SET_UP_STUDIES)
    code = _required(code, "arm code")
    if any(arm.code == code for arm in study.arms):
        raise InvalidInput(f"Study {study.protocol_number} already has an arm {code}.")
    attribute_changes(session, actor, reason="arm added")
    arm = Arm(study=study, code=code, name=_required(name, "arm name"))
    session.add(arm)
    session.flush()  # kits and subjects refer to it
    return arm


def add_product(
    session: Session,
    actor: User,
    study: Study,
    *,
    agent_name: str,
    strength: str,
    dosage_form: str,
    unit: str,
    role: ProductRole,
    tracking: Tracking,
    storage_min_c: float,
    storage_max_c: float,
    dispense_quantity: int,
    days_supply: int,
    doses_per_day: float,
    dose_unit: str | None = None,
    units_per_kit: int | None = None,
    gtin: str | None = None,
) -> Product:
    """A product with its storage range and dispensing rule."""
    require(session, actor, Action.SET_UP_STUDIES)
    if storage_min_c >= storage_max_c:
        raise InvalidInput("The lowest storage temperature must be below the highest.")
    if dispense_quantity <= 0 or days_supply <= 0 or doses_per_day <= 0:
        raise InvalidInput(
            "The dispensing rule needs a quantity per visit, days' supply and doses per day "
            "greater than zero."
        )
    if tracking is Tracking.KIT and (units_per_kit is None or units_per_kit <= 0):
        raise InvalidInput("A kit-tracked product needs the number of units in each kit.")
    if role is ProductRole.BLINDED and not study.is_blinded:
        raise InvalidInput("Only a blinded study has blinded products.")
    attribute_changes(session, actor, reason="product added")
    product = Product(
        study=study,
        agent_name=_required(agent_name, "agent name"),
        strength=_required(strength, "strength"),
        dosage_form=_required(dosage_form, "dosage form"),
        unit=_required(unit, "unit of count"),
        role=role,
        tracking=tracking,
        storage_min_c=storage_min_c,
        storage_max_c=storage_max_c,
        dose_unit=_optional(dose_unit) or unit.strip(),
        units_per_kit=units_per_kit if tracking is Tracking.KIT else None,
        dispense_quantity=dispense_quantity,
        days_supply=days_supply,
        doses_per_day=doses_per_day,
        gtin=_optional(gtin),
    )
    session.add(product)
    session.flush()  # lots and kits refer to it
    return product


def add_staff(
    session: Session,
    actor: User,
    study: Study,
    member: User,
    study_role: str,
    *,
    unblinded: bool = False,
    reason: str = "",
) -> StudyStaff:
    """Put a user on a study's staff; unblinded access is granted per study.

    Unblinded access is granted by an administrator to someone else, never to themselves,
    and with a reason kept in the audit trail (separation of duties).
    """
    require(session, actor, Action.ASSIGN_STAFF, study)
    why = "study staff assigned"
    if unblinded and study.is_blinded:
        require(session, actor, Action.GRANT_UNBLINDED, study)
        if member.id == actor.id:
            raise refuse(
                actor,
                "Nobody grants themselves unblinded access; ask another administrator.",
                to=Action.GRANT_UNBLINDED.value,
                record=study,
            )
        why = f"unblinded access granted: {_required(reason, 'reason for unblinded access')}"
    existing = session.scalar(
        select(StudyStaff).where(StudyStaff.study_id == study.id, StudyStaff.user_id == member.id)
    )
    if existing is not None:
        raise InvalidInput(
            f"{member.full_name} is already on the staff of {study.protocol_number}."
        )
    attribute_changes(session, actor, reason=why)
    staff = StudyStaff(
        study_id=study.id,
        user_id=member.id,
        study_role=_required(study_role, "study role"),
        unblinded=unblinded,
    )
    session.add(staff)
    session.flush()  # shown in the staff list at once
    return staff


def is_unblinded(session: Session, user: User, study: Study) -> bool:
    """True when ``user`` may see arms in ``study``: open-label, or granted per study."""
    if not study.is_blinded:
        return True
    return bool(
        session.scalar(
            select(StudyStaff.unblinded).where(
                StudyStaff.study_id == study.id,
                StudyStaff.user_id == user.id,
                StudyStaff.active.is_(True),
            )
        )
    )


def require_unblinded(session: Session, user: User, study: Study, action: Action) -> None:
    """Refuse ``action`` on a blinded study unless ``user`` is unblinded staff of it."""
    if not is_unblinded(session, user, study):
        raise refuse(
            user,
            f"{user.full_name} is blinded on {study.protocol_number}; only staff with "
            f"unblinded access to the study may {action.value}.",
            to=action.value,
            record=study,
        )


def add_prescriber(
    session: Session, actor: User, study: Study, name: str, credentials: str | None = None
) -> Prescriber:
    require(session, actor, Action.AUTHORIZE_PRESCRIBERS)
    name = _required(name, "prescriber's name")
    if session.scalar(
        select(Prescriber.id).where(Prescriber.study_id == study.id, Prescriber.name == name)
    ):
        raise InvalidInput(f"{name} is already a prescriber for {study.protocol_number}.")
    attribute_changes(session, actor, reason="prescriber authorized")
    prescriber = Prescriber(study_id=study.id, name=name, credentials=_optional(credentials))
    session.add(prescriber)
    session.flush()  # orders refer to it
    return prescriber


def withdraw_prescriber(
    session: Session, actor: User, prescriber: Prescriber, reason: str
) -> Prescriber:
    require(session, actor, Action.WITHDRAW_PRESCRIBERS)
    attribute_changes(session, actor, reason=_required(reason, "reason"))
    prescriber.authorized = False
    return prescriber


def add_subject(
    session: Session,
    actor: User,
    study: Study,
    subject_code: str,
    initials: str,
    *,
    status: SubjectStatus = SubjectStatus.SCREENING,
    arm: Arm | None = None,
) -> Subject:
    require(session, actor, Action.REGISTER_SUBJECTS)
    code = identifier(subject_code, "subject ID")
    if session.scalar(
        select(Subject.id).where(Subject.study_id == study.id, Subject.subject_code == code)
    ):
        raise InvalidInput(f"Subject {code} is already registered in {study.protocol_number}.")
    if arm is not None and arm.study_id != study.id:
        raise InvalidInput("That arm belongs to another study.")
    if arm is not None:
        require_unblinded(session, actor, study, Action.RECORD_SUBJECT_ARM)
    attribute_changes(session, actor, reason="subject registered")
    subject = Subject(
        study_id=study.id,
        subject_code=code,
        initials=_required(initials, "subject's initials").upper(),
        status=status,
        arm_id=arm.id if arm else None,
    )
    session.add(subject)
    session.flush()  # orders refer to it
    return subject


def set_subject_status(
    session: Session,
    actor: User,
    subject: Subject,
    status: SubjectStatus,
    reason: str,
    on: dt.date | None = None,
) -> Subject:
    """A subject enrolled, discontinued or completed, on the day it took effect (today
    unless given): the binder's subject list says since when."""
    require(session, actor, Action.CHANGE_SUBJECT_STATUS)
    day = on or today()
    if day > today():
        raise InvalidInput("The status date is in the future; give the day it took effect.")
    if status is subject.status:
        raise InvalidInput(f"Subject {subject.subject_code} is already {status.value}.")
    if subject.status_on is not None and day < subject.status_on:
        # The trail reads a subject's statuses back in order (studies.subject_history).
        raise InvalidInput(
            f"Subject {subject.subject_code} has been {subject.status.value} since "
            f"{subject.status_on:%Y-%m-%d}; a change cannot take effect before that."
        )
    attribute_changes(session, actor, reason=_required(reason, "reason"))
    subject.status = status
    subject.status_on = day
    return subject


def set_subject_arm(session: Session, actor: User, subject: Subject, arm: Arm) -> Subject:
    """Record the arm (from the IWRS) where the site is told it; only unblinded staff do."""
    require(session, actor, Action.RECORD_SUBJECT_ARM, subject)
    if arm.study_id != subject.study_id:
        raise InvalidInput("That arm belongs to another study.")
    require_unblinded(
        session, actor, session.get_one(Study, subject.study_id), Action.RECORD_SUBJECT_ARM
    )
    attribute_changes(session, actor, reason="arm recorded")
    subject.arm_id = arm.id
    return subject
