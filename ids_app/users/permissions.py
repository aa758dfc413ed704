"""Who may do what (21 CFR 11.10(d), (g)): one table, checked in every service, shown by the UI.

:data:`PERMISSIONS` is the separation of duties in one place: each :class:`Action` names
the roles that may perform it and, where the role alone is not enough, the condition the
service checks as well (unblinded study staff, a pharmacist's signature, someone else).
The README's permission table is rendered from it by :func:`permission_table`.

A refused attempt is itself part of the record: :class:`ActionRefused` is rolled back with
the action it stopped, then kept in the audit trail as a security event (who, what they
tried, on which record, why) in a transaction of its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import REFUSED, Actor, Attributed, record_event
from ids_app.db import Base, table_of
from ids_app.errors import PermissionDenied, RecordedRefusal
from ids_app.studies.models import Study, StudyStaff
from ids_app.users.models import Role, User


class Action(enum.StrEnum):
    """Something a service does for a user; the value completes "Only a … may …"."""

    ADD_USERS = "add users"
    DEACTIVATE_USERS = "deactivate users"
    REACTIVATE_USERS = "reactivate users"
    UNLOCK_ACCOUNTS = "unlock accounts"
    RESET_PASSWORDS = "reset passwords"
    SET_UP_STUDIES = "set up studies"
    CHANGE_STUDY_STATUS = "change a study's status"
    CORRECT_SETUP = "correct or retire a study's setup records"
    ASSIGN_STAFF = "assign study staff"
    GRANT_UNBLINDED = "grant unblinded access"
    AUTHORIZE_PRESCRIBERS = "authorize prescribers"
    WITHDRAW_PRESCRIBERS = "withdraw a prescriber's authorization"
    REGISTER_SUBJECTS = "register subjects"
    CHANGE_SUBJECT_STATUS = "change a subject's status"
    RECORD_SUBJECT_ARM = "record a subject's arm"
    IMPORT_KIT_LISTS = "import kit lists"
    SAVE_IMPORT_PRESETS = "save a sponsor's import mapping as a preset"
    ARCHIVE_IMPORT_PRESETS = "archive an import preset"
    ADD_LOCATIONS = "add storage locations"
    SET_EXCURSION_RULE = "set the excursion rule"
    RECEIVE = "receive shipments"
    ATTACH_TRANSIT_LOG = "attach a shipment's temperature log"
    ENTER_ORDERS = "enter dispense orders"
    PREPARE_DISPENSES = "prepare dispenses"
    CANCEL_ORDERS = "cancel dispense orders"
    VERIFY_DISPENSES = "verify a dispense"
    REJECT_DISPENSES = "reject a prepared dispense"
    RECORD_RETURNS = "record returns"
    VERIFY_RETURNS = "verify returns"
    QUARANTINE = "quarantine stock"
    DECIDE_ON_HELD_STOCK = "record the sponsor's decision on held stock"
    MOVE_STOCK = "move stock between locations"
    TRANSFER_TO_STUDY = "transfer stock to another study"
    RECORD_COUNTS = "record a physical count"
    RESOLVE_DISCREPANCIES = "resolve count discrepancies"
    REVERSE_ENTRIES = "reverse a ledger entry"
    DESTROY = "destroy stock or return it to the sponsor"
    VERIFY_DESTRUCTIONS = "verify destructions"
    RECORD_TEMPERATURES = "record temperatures"
    IMPORT_TEMPERATURE_LOGS = "import temperature logs"
    PRINT_LABELS = "print dispensing labels"
    SEE_KIT_REGISTER = "see the kit register"
    EXPORT_RECORDS = "export study records"
    OPEN_VISITS = "open and close monitoring visits"
    REVIEW_RECORDS = "mark records reviewed"
    RAISE_QUERIES = "raise, close and reopen queries"
    ANSWER_QUERIES = "answer a monitor's query"
    AUTHORIZE_DESTRUCTION = "authorize destruction"
    SET_DESTRUCTION_RULE = "require the monitor's authorization for destruction"


@dataclass(frozen=True)
class Rule:
    """The roles that may perform an action, and what else the service checks."""

    roles: tuple[Role, ...]
    also: str = ""


_TECH = Role.TECHNICIAN
_PHARM = Role.PHARMACIST
_MONITOR = Role.MONITOR
_ADMIN = Role.ADMINISTRATOR
_STAFF_OF_THE_STUDY = "a monitor: only on a study they are assigned to"
_UNBLINDED = "only staff unblinded on the study (on a blinded study)"

# Administrators administer (accounts, setup); they never move stock. Monitors only read
# and verify. Every action not listed for a role is refused to it.
PERMISSIONS: dict[Action, Rule] = {
    Action.ADD_USERS: Rule((_ADMIN,)),
    Action.DEACTIVATE_USERS: Rule((_ADMIN,), "never their own account; with a reason"),
    Action.REACTIVATE_USERS: Rule((_ADMIN,), "with a reason"),
    Action.UNLOCK_ACCOUNTS: Rule((_ADMIN,)),
    Action.RESET_PASSWORDS: Rule((_ADMIN,)),
    Action.SET_UP_STUDIES: Rule((_TECH, _PHARM, _ADMIN)),
    Action.CHANGE_STUDY_STATUS: Rule((_PHARM, _ADMIN), "with a reason"),
    Action.CORRECT_SETUP: Rule(
        (_PHARM, _ADMIN), "with a reason; a product already dispensed: signed by a pharmacist"
    ),
    Action.ASSIGN_STAFF: Rule((_PHARM, _ADMIN), "blinded; unblinded access is granted below"),
    Action.GRANT_UNBLINDED: Rule((_ADMIN,), "to someone else, never themselves; with a reason"),
    Action.AUTHORIZE_PRESCRIBERS: Rule((_TECH, _PHARM, _ADMIN)),
    Action.WITHDRAW_PRESCRIBERS: Rule((_PHARM, _ADMIN), "with a reason"),
    Action.REGISTER_SUBJECTS: Rule((_TECH, _PHARM, _ADMIN), "with an arm: " + _UNBLINDED),
    Action.CHANGE_SUBJECT_STATUS: Rule((_TECH, _PHARM, _ADMIN), "with a reason"),
    Action.RECORD_SUBJECT_ARM: Rule((_TECH, _PHARM, _ADMIN), _UNBLINDED),
    Action.IMPORT_KIT_LISTS: Rule((_TECH, _PHARM, _ADMIN), "with arms: " + _UNBLINDED),
    Action.SAVE_IMPORT_PRESETS: Rule(
        (_TECH, _PHARM, _ADMIN), "never a treatment-to-arm mapping (arms are per study)"
    ),
    Action.ARCHIVE_IMPORT_PRESETS: Rule((_PHARM, _ADMIN), "with a reason; the preset is kept"),
    Action.ADD_LOCATIONS: Rule((_PHARM, _ADMIN)),
    Action.SET_EXCURSION_RULE: Rule((_PHARM, _ADMIN)),
    Action.RECEIVE: Rule((_TECH, _PHARM)),
    Action.ATTACH_TRANSIT_LOG: Rule((_TECH, _PHARM)),
    Action.ENTER_ORDERS: Rule((_TECH, _PHARM)),
    Action.PREPARE_DISPENSES: Rule((_TECH, _PHARM), "signed (prepared)"),
    Action.CANCEL_ORDERS: Rule((_TECH, _PHARM)),
    Action.VERIFY_DISPENSES: Rule((_PHARM,), "signed (verified), not by the preparer"),
    Action.REJECT_DISPENSES: Rule((_PHARM,)),
    Action.RECORD_RETURNS: Rule((_TECH, _PHARM)),
    Action.VERIFY_RETURNS: Rule((_MONITOR,), "signed (verified); " + _STAFF_OF_THE_STUDY),
    Action.QUARANTINE: Rule((_TECH, _PHARM)),
    Action.DECIDE_ON_HELD_STOCK: Rule((_PHARM,), "signed (approved), with the sponsor's reference"),
    Action.MOVE_STOCK: Rule((_TECH, _PHARM)),
    Action.TRANSFER_TO_STUDY: Rule((_PHARM,)),
    Action.RECORD_COUNTS: Rule((_TECH, _PHARM, _MONITOR), _STAFF_OF_THE_STUDY),
    Action.RESOLVE_DISCREPANCIES: Rule(
        (_PHARM,), "an adjustment: signed (approved), with a reason"
    ),
    Action.REVERSE_ENTRIES: Rule((_PHARM,), "signed (approved), with a reason"),
    Action.DESTROY: Rule((_TECH, _PHARM), "witnessed and signed by a second person"),
    Action.VERIFY_DESTRUCTIONS: Rule((_MONITOR,), "signed (verified); " + _STAFF_OF_THE_STUDY),
    Action.RECORD_TEMPERATURES: Rule((_TECH, _PHARM)),
    Action.IMPORT_TEMPERATURE_LOGS: Rule((_TECH, _PHARM)),
    Action.PRINT_LABELS: Rule((_TECH, _PHARM)),
    Action.SEE_KIT_REGISTER: Rule((_TECH, _PHARM, _MONITOR, _ADMIN), _STAFF_OF_THE_STUDY),
    Action.EXPORT_RECORDS: Rule(
        (_TECH, _PHARM, _MONITOR, _ADMIN),
        _STAFF_OF_THE_STUDY + "; the unblinded edition: " + _UNBLINDED,
    ),
    Action.OPEN_VISITS: Rule((_MONITOR,), "closed signed (reviewed); " + _STAFF_OF_THE_STUDY),
    Action.REVIEW_RECORDS: Rule((_MONITOR,), "on their own open visit"),
    Action.RAISE_QUERIES: Rule((_MONITOR,), _STAFF_OF_THE_STUDY),
    Action.ANSWER_QUERIES: Rule((_TECH, _PHARM)),
    Action.AUTHORIZE_DESTRUCTION: Rule((_MONITOR,), "signed (approved); " + _STAFF_OF_THE_STUDY),
    Action.SET_DESTRUCTION_RULE: Rule((_PHARM, _ADMIN), "with a reason"),
}


def may(role: Role, action: Action) -> bool:
    """True when the table lets ``role`` perform ``action`` (the UI hides what it may not)."""
    return role in PERMISSIONS[action].roles


def permission_table() -> str:
    """The permission table as Markdown, for the README: one row per action."""
    roles = list(Role)
    lines = [
        "| Action | " + " | ".join(role.label for role in roles) + " | Also |",
        "|---|" + "---|" * len(roles) + "---|",
    ]
    for action, rule in PERMISSIONS.items():
        marks = " | ".join("✓" if role in rule.roles else "—" for role in roles)
        lines.append(f"| {action.value.capitalize()} | {marks} | {rule.also} |")
    return "\n".join(lines) + "\n"


class ActionRefused(PermissionDenied, RecordedRefusal):
    """A refused attempt, kept in the audit trail as a security event.

    The action it stopped is rolled back; the event (who, what they tried, on which record,
    why) is then committed on its own by the unit of work, so a refusal leaves a trace.
    """

    def __init__(
        self,
        message: str,
        *,
        actor: Attributed,
        attempted: str,
        record: tuple[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.actor = Actor(actor.id, actor.username)
        self.attempted = attempted
        # A refusal that names no record is filed under the account that tried.
        self.record_table, self.record_id = record or (User.__tablename__, actor.id)

    def record(self, session: Session) -> None:
        record_event(
            session,
            self.actor,
            REFUSED,
            table_name=self.record_table,
            record_id=self.record_id,
            detail=f"tried to {self.attempted}",
            reason=str(self),
        )


def record_of(record: Base | None) -> tuple[str, object] | None:
    """How a refusal names the record it was about: its table and key."""
    if record is None:
        return None
    return table_of(record), getattr(record, "id", None)


def refuse(user: Attributed, message: str, *, to: str, record: Base | None = None) -> ActionRefused:
    """A refusal of ``user``'s attempt to do ``to`` (on ``record``), to be raised."""
    return ActionRefused(message, actor=user, attempted=to, record=record_of(record))


def _with_article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _role_list(roles: tuple[Role, ...]) -> str:
    names = [role.value for role in roles]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return _with_article(listed)


def require_role(
    session: Session, user: User, *roles: Role, to: str, record: Base | None = None
) -> None:
    """Refuse unless ``user`` is active, unlocked and holds one of ``roles`` right now.

    The account is read again from the database: a user deactivated, locked or given
    another role while signed in at a workstation loses that authority at once
    (21 CFR 11.10(d), (g)). ``to`` completes the sentence "Only a … may …".
    """
    current = session.get(User, user.id, populate_existing=True)
    if current is None:
        raise PermissionDenied("That account does not exist in this database.")
    user = current
    if not user.active:
        message = f"{user.full_name}'s account is deactivated; it may not {to}."
        raise refuse(user, message, to=to, record=record)
    if user.locked:
        raise refuse(
            user, f"{user.full_name}'s account is locked; it may not {to}.", to=to, record=record
        )
    if user.role not in roles:
        raise refuse(
            user,
            f"Only {_role_list(roles)} may {to}; "
            f"you are signed in as {_with_article(user.role.value)}.",
            to=to,
            record=record,
        )


def require(
    session: Session,
    user: User,
    action: Action,
    record: Base | None = None,
    *,
    study: Study | None = None,
) -> None:
    """Refuse ``action`` unless the permission table gives it to ``user``'s role, and, when
    the action is on ``study``, unless a monitor is assigned to that study."""
    require_role(session, user, *PERMISSIONS[action].roles, to=action.value, record=record or study)
    if study is not None:
        require_study_access(session, user, study, to=action.value)


def is_assigned(session: Session, user: User, study: Study) -> bool:
    """True when ``user`` is on the study's active staff."""
    return (
        session.scalar(
            select(StudyStaff.id).where(
                StudyStaff.study_id == study.id,
                StudyStaff.user_id == user.id,
                StudyStaff.active.is_(True),
            )
        )
        is not None
    )


def sees_study(session: Session, user: User, study: Study) -> bool:
    """A monitor sees only the studies they are assigned to; IDS staff see every study."""
    return user.role is not Role.MONITOR or is_assigned(session, user, study)


def require_study_access(session: Session, user: User, study: Study, *, to: str) -> None:
    """Refuse a monitor who is not assigned to ``study`` (a sponsor's monitor sees only
    their sponsor's studies)."""
    if not sees_study(session, user, study):
        raise refuse(
            user,
            f"{user.full_name} is not assigned to study {study.protocol_number}; a monitor "
            "sees only the studies they are assigned to.",
            to=to,
            record=study,
        )
