"""What the audit-trail viewer shows: one page of entries at a time, filtered in SQL,
with what would unblind hidden from a user blinded on the entry's study.

Pages are read with keyset paging on the entry id, so the millionth entry costs what the
first does. :class:`BlindingRedactor` hides arm records and ``arm_id`` fields, and masks
what names an arm in the free text people typed (studies.blinding.ArmMask).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import FAILED_SUFFIX, REFUSED, can_belong_to_a_study
from ids_app.db import Base
from ids_app.errors import PermissionDenied
from ids_app.inventory.models import Kit
from ids_app.studies.blinding import ReaderMasks
from ids_app.studies.models import Arm, StudyStaff, Subject
from ids_app.users.models import Role, User

HIDDEN_FOR_BLINDING = "(hidden: blinded)"


@dataclass(frozen=True)
class AuditFilter:
    """What the audit-trail viewer narrows to; every field is applied in SQL.

    ``study_id`` scopes the trail to one study's entries (a study workspace's trail);
    ``security_events`` keeps only refusals and failed sign-ins or signatures.
    """

    username: str | None = None
    table_name: str | None = None
    record_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    study_id: int | None = None
    security_events: bool = False


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    username: str
    action: str
    table_name: str
    record_id: str | None
    study_id: int | None  # the study the record belongs to; None if none, or written before 0006
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    description: str = ""  # the entry as a sentence (audit.wording), filled for the viewer


def _local_midnight_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC)


def audit_page(
    session: Session,
    where: AuditFilter,
    *,
    reader: User,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
    newest_first: bool = True,
) -> list[AuditRow]:
    """One page of the trail, in id order, continuing after the last row shown.

    Keyset paging (``id < before_id`` or ``id > after_id``) reads one page of the primary
    key's index however deep the person has scrolled: O(page), not O(offset). Within a
    study the (study, id), (study, user, id) and (study, table, id) indexes do the same.

    ``reader`` is who looks: a monitor sees only the entries of the studies they are
    assigned to and their own (never another user's sign-ins, nor another sponsor's study).
    """
    e = AuditEntry
    query = select(
        e.id,
        e.at,
        e.username,
        e.action,
        e.table_name,
        e.record_id,
        e.study_id,
        e.field,
        e.old_value,
        e.new_value,
        e.reason,
    )
    if where.study_id is not None:
        query = query.where(*_study_conditions(session, where, where.study_id))
    else:
        query = query.where(*_site_conditions(session, where))
    query = query.where(*_readable(session, reader, where))
    if where.security_events:
        query = query.where(or_(e.action == REFUSED, e.action.endswith(FAILED_SUFFIX)))
    if before_id is not None:
        query = query.where(e.id < before_id)
    if after_id is not None:
        query = query.where(e.id > after_id)
    query = query.order_by(e.id.desc() if newest_first else e.id.asc()).limit(limit)
    return [AuditRow(**dict(row._mapping)) for row in session.execute(query)]


RARE_ENOUGH_TO_SORT = 5_000


def monitored_studies(session: Session, monitor: User) -> list[int]:
    """The studies a monitor is assigned to (active study staff)."""
    return list(
        session.scalars(
            select(StudyStaff.study_id).where(
                StudyStaff.user_id == monitor.id, StudyStaff.active.is_(True)
            )
        )
    )


def _readable(session: Session, reader: User, where: AuditFilter) -> list[Any]:
    if reader.role is not Role.MONITOR:
        return []
    e = AuditEntry
    studies = monitored_studies(session, reader)
    if where.study_id is not None:
        if where.study_id not in studies:
            raise PermissionDenied(
                f"{reader.full_name} is not assigned to this study; a monitor sees only the "
                "trail of the studies they are assigned to."
            )
        return []
    # Their own entries that name no study (their sign-ins, password changes) are theirs.
    own = and_(e.study_id.is_(None), e.user_id == reader.id)
    return [or_(e.study_id.in_(studies) if studies else false(), own)]


# A period with fewer entries than this is read through the time index within a study.
SHORT_PERIOD = 20_000


def _period(where: AuditFilter) -> list[Any]:
    e = AuditEntry
    period = []
    if where.date_from is not None:
        period.append(e.at >= _local_midnight_utc(where.date_from))
    if where.date_to is not None:
        period.append(e.at < _local_midnight_utc(where.date_to + dt.timedelta(days=1)))
    return period


def _site_conditions(session: Session, where: AuditFilter) -> list[Any]:
    e = AuditEntry
    conditions: list[Any] = []
    if where.username:
        # There is no index on the name; the (user id, time) index serves an account with
        # few entries, and names that are no account (failed sign-ins, user id NULL).
        account = session.scalar(select(User.id).where(User.username == where.username))
        by_id = e.user_id == account if account is not None else e.user_id.is_(None)
        if _fewer_than(session, by_id, RARE_ENOUGH_TO_SORT):
            conditions += [by_id, e.username == where.username]
        else:
            conditions.append(e.username == where.username)
    if where.table_name and where.record_id:
        # One record's history: the (table, record) index finds it at once.
        conditions += [e.table_name == where.table_name, e.record_id == where.record_id]
    elif where.table_name:
        # A whole table. Through the (table, record) index the database sorts every entry
        # of the table before the first page, which grows with the trail (~0.1 s for a
        # busy table at 1,000,000 entries); walking the id order stops at a page of
        # matches instead ("|| ''" keeps the planner off the index). A rarely written
        # table is better found through the index, so a bounded count chooses.
        if _fewer_than(session, e.table_name == where.table_name, RARE_ENOUGH_TO_SORT):
            conditions.append(e.table_name == where.table_name)
        else:
            conditions.append((e.table_name + "") == where.table_name)
    elif where.record_id:
        # A record id of any table: through the (table, record) index, one seek per table the
        # trail can name, instead of reading every entry (~0.1 s at 1,000,000). Every entry
        # with a record id names a real table (row changes, sign-ins, exports).
        conditions += [e.table_name.in_(audit_table_names()), e.record_id == where.record_id]
    return conditions + _period(where)


def _study_conditions(session: Session, where: AuditFilter, study_id: int) -> list[Any]:
    """One study's entries, read through the index that reaches a page soonest.

    Each index the planner must not use is hidden from it ("+ 0", "|| ''"): a record's
    history comes from the (table, record) index; a short period from the time index,
    sorted; a user and a table together from whichever has few entries in the study
    (bounded counts in the study's indexes say which). Otherwise the (study, user, id),
    (study, table, id) or (study, id) index walks back from the newest entry.
    """
    e = AuditEntry
    period = _period(where)
    in_study = e.study_id == study_id
    by_user = e.username == where.username
    in_table = (
        e.table_name == where.table_name
        if where.table_name
        # An entry names a study only if its table's records can belong to one: listing
        # those tables lets the (table, record) index find a record id's entries.
        else e.table_name.in_(audit_table_names(in_a_study=True))
    )
    use_study = use_user = use_table = True
    if where.record_id:
        use_study = use_user = False
    elif period and _fewer_than(session, and_(*period), SHORT_PERIOD):
        use_study = use_user = use_table = False
    elif where.username and where.table_name:
        if _fewer_than(session, and_(in_study, by_user), RARE_ENOUGH_TO_SORT):
            use_table = False
        elif _fewer_than(session, and_(in_study, in_table), RARE_ENOUGH_TO_SORT):
            use_user = False
    conditions = [in_study if use_study else (e.study_id + 0) == study_id]
    if where.username:
        conditions.append(by_user if use_user else (e.username + "") == where.username)
    if where.table_name or where.record_id:
        conditions.append(in_table if use_table else (e.table_name + "") == where.table_name)
    if where.record_id:
        conditions.append(e.record_id == where.record_id)
    return conditions + period


def _fewer_than(session: Session, condition: Any, limit: int) -> bool:
    """True when fewer than ``limit`` entries match (reads at most ``limit`` index rows)."""
    found = select(AuditEntry.id).where(condition).limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(found)) or 0) < limit


def audit_usernames(session: Session, reader: User) -> list[str]:
    """Account names for the user filter (failed sign-ins by unknown names are typed).

    A monitor is offered the people of the studies they monitor and themselves, not every
    account of the site: the list of names is itself a record a sponsor has no claim to.
    """
    query = select(User.username).order_by(User.username)
    if reader.role is Role.MONITOR:
        staff = select(StudyStaff.user_id).where(
            StudyStaff.study_id.in_(monitored_studies(session, reader))
        )
        query = query.where(or_(User.id.in_(staff), User.id == reader.id))
    return list(session.scalars(query))


def audit_table_names(*, in_a_study: bool = False) -> list[str]:
    """The tables the trail can name, from the schema (instant, unlike DISTINCT over 1M rows);
    ``in_a_study``: only those whose records can belong to a study."""
    return sorted(
        table.name
        for table in Base.metadata.sorted_tables
        if table.name not in ("audit_entry", "audit_chain_head", "alembic_version")
        and (not in_a_study or can_belong_to_a_study(table))
    )


class BlindingRedactor:
    """Hides arms from the audit trail for a user blinded on a study.

    The trail holds every record's values, so an arm's name (the ``arm`` table) and a
    kit's or subject's ``arm_id`` are shown only to users unblinded for that study. What
    people typed (a reason, a note's or a hold's old and new text) can name an arm too:
    for an entry of a study the user is blinded on, arm names in its reason and values
    are masked (studies.blinding.ArmMask); an entry that names no study is masked with
    the arms of every study the user is blinded on.
    """

    ARM_TABLES = ("arm", "kit", "subject")

    def __init__(self, session: Session, user: User) -> None:
        self._masks = ReaderMasks(session, user)
        self.blinded_studies = set(self._masks.all_studies())

    @property
    def hides_anything(self) -> bool:
        return bool(self.blinded_studies)

    def redact(self, session: Session, rows: list[AuditRow]) -> list[AuditRow]:
        if not self.blinded_studies:
            return rows
        studies_of = self._studies_of(session, rows)
        return [self._mask_text(self._redact_row(row, studies_of)) for row in rows]

    def _studies_of(self, session: Session, rows: list[AuditRow]) -> dict[tuple[str, str], int]:
        wanted: dict[str, set[int]] = {name: set() for name in self.ARM_TABLES}
        for row in rows:
            if row.table_name in wanted and row.record_id and row.record_id.isdigit():
                wanted[row.table_name].add(int(row.record_id))
        found: dict[tuple[str, str], int] = {}
        for name, model in (("arm", Arm), ("kit", Kit), ("subject", Subject)):
            if wanted[name]:
                for record_id, study_id in session.execute(
                    select(model.id, model.study_id).where(model.id.in_(wanted[name]))
                ):
                    found[(name, str(record_id))] = study_id
        return found

    def _redact_row(self, row: AuditRow, studies_of: dict[tuple[str, str], int]) -> AuditRow:
        if row.table_name not in self.ARM_TABLES or row.record_id is None:
            return row
        study_id = studies_of.get((row.table_name, row.record_id))
        # A record not found (yet) is treated as blinded: hiding is the safe side.
        if study_id is not None and study_id not in self.blinded_studies:
            return row
        if row.table_name == "arm":
            hidden_old = HIDDEN_FOR_BLINDING if row.old_value is not None else None
            hidden_new = HIDDEN_FOR_BLINDING if row.new_value is not None else None
            return _replace(row, old_value=hidden_old, new_value=hidden_new)
        if row.field == "arm_id":
            return _replace(
                row,
                old_value=HIDDEN_FOR_BLINDING if row.old_value is not None else None,
                new_value=HIDDEN_FOR_BLINDING if row.new_value is not None else None,
            )
        if row.action == "insert" and row.new_value:
            return _replace(row, new_value=_hide_arm_in_json(row.new_value))
        return row

    def _mask_text(self, row: AuditRow) -> AuditRow:
        mask = self._masks.of(row.study_id)
        if not mask.masks_anything:
            return row  # a study the user may see the arms of, or one with none
        return _replace(
            row,
            old_value=mask.record_value(row.old_value),
            new_value=mask.record_value(row.new_value),
            reason=mask.text(row.reason),
        )


def _replace(row: AuditRow, **changes: str | None) -> AuditRow:
    values = {name: getattr(row, name) for name in AuditRow.__dataclass_fields__}
    values.update(changes)
    return AuditRow(**values)


def _hide_arm_in_json(text: str) -> str:
    try:
        values = json.loads(text)
    except ValueError:
        return HIDDEN_FOR_BLINDING
    if isinstance(values, dict) and values.get("arm_id") is not None:
        values["arm_id"] = HIDDEN_FOR_BLINDING
        return json.dumps(values, ensure_ascii=False, sort_keys=True)
    return text
