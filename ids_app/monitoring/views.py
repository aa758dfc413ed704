"""What the screens and reports read of visits and queries: plain rows, no rules."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ids_app.inventory.authorizations import (
    DestructionAuthorization,
    authorization_holds,
    monitor_authorizes,
)
from ids_app.inventory.models import Lot
from ids_app.monitoring.models import (
    MonitoringVisit,
    MonitorQuery,
    QueryMessage,
    QueryState,
    QueryStep,
    RecordKind,
    VisitMode,
    VisitNote,
    VisitState,
)
from ids_app.monitoring.records import describe
from ids_app.studies.models import Study, StudyStaff
from ids_app.users.models import Role, Signature, SignatureMeaning, User
from ids_app.users.permissions import sees_study
from ids_app.users.signatures import manifestation, signature_holds, signatures_of

AWAITS_SITE = "the site's answer"
AWAITS_MONITOR = "the monitor"


@dataclass(frozen=True)
class VisitRow:
    id: int
    study_id: int
    monitor: str
    visit_on: dt.date
    mode: VisitMode
    period_start: dt.date
    period_end: dt.date
    state: VisitState
    signature: str | None

    @property
    def label(self) -> str:
        return (
            f"{self.visit_on:%Y-%m-%d}, {self.mode.value}, {self.monitor} "
            f"(period {self.period_start:%Y-%m-%d} to {self.period_end:%Y-%m-%d}), "
            f"{self.state.value}"
        )


@dataclass(frozen=True)
class MessageRow:
    step: QueryStep
    text: str
    correcting_action: str | None
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class QueryRow:
    id: int
    study_id: int
    protocol_number: str
    kind: RecordKind
    record_id: int
    record: str
    problem: str
    request: str
    state: QueryState
    raised_by: str
    raised_at: dt.datetime
    messages: tuple[MessageRow, ...]

    @property
    def awaits(self) -> str | None:
        if self.state is QueryState.OPEN:
            return AWAITS_SITE
        if self.state is QueryState.ANSWERED:
            return AWAITS_MONITOR
        return None

    @property
    def last_answer(self) -> MessageRow | None:
        answers = [m for m in self.messages if m.step is QueryStep.ANSWERED]
        return answers[-1] if answers else None


@dataclass(frozen=True)
class NoteRow:
    text: str
    by: str
    at: dt.datetime


def visit_signature(session: Session, visit: MonitoringVisit) -> Signature | None:
    """The monitor's "reviewed" signature of a closed visit, while it holds."""
    return next(
        (
            signature
            for signature in signatures_of(session, visit)
            if signature.meaning is SignatureMeaning.REVIEWED
            and signature.user_id == visit.monitor_id
            and signature_holds(signature, visit)
        ),
        None,
    )


def visit_rows(session: Session, user: User, study_id: int) -> list[VisitRow]:
    """The study's visits, newest first (none for a monitor not assigned to it)."""
    study = session.get_one(Study, study_id)
    if not sees_study(session, user, study):
        return []
    found = session.execute(
        select(MonitoringVisit, User.full_name)
        .join(User, User.id == MonitoringVisit.monitor_id)
        .where(MonitoringVisit.study_id == study_id)
        .order_by(MonitoringVisit.visit_on.desc(), MonitoringVisit.id.desc())
    ).all()
    rows = []
    for visit, monitor in found:
        signature = visit_signature(session, visit) if visit.state is VisitState.CLOSED else None
        rows.append(
            VisitRow(
                visit.id,
                visit.study_id,
                monitor,
                visit.visit_on,
                visit.mode,
                visit.period_start,
                visit.period_end,
                visit.state,
                manifestation(signature) if signature is not None else None,
            )
        )
    return rows


def visit_notes(session: Session, visit_id: int) -> list[NoteRow]:
    return [
        NoteRow(text, by, at)
        for text, by, at in session.execute(
            select(VisitNote.text, User.full_name, VisitNote.written_at)
            .join(User, User.id == VisitNote.written_by_id)
            .where(VisitNote.visit_id == visit_id)
            .order_by(VisitNote.written_at, VisitNote.id)
        )
    ]


def _query_rows(session: Session, queries: list[MonitorQuery]) -> list[QueryRow]:
    if not queries:
        return []
    messages: defaultdict[int, list[MessageRow]] = defaultdict(list)
    for message, by in session.execute(
        select(QueryMessage, User.full_name)
        .join(User, User.id == QueryMessage.written_by_id)
        .where(QueryMessage.query_id.in_([query.id for query in queries]))
        .order_by(QueryMessage.written_at, QueryMessage.id)
    ):
        messages[message.query_id].append(
            MessageRow(
                message.step, message.text, message.correcting_action, by, message.written_at
            )
        )
    studies = {
        study.id: study
        for study in session.scalars(
            select(Study).where(Study.id.in_({query.study_id for query in queries}))
        )
    }
    described: dict[tuple[RecordKind, int], str] = {}
    for study_id in studies:
        described |= describe(
            session,
            study_id,
            [(q.kind, q.record_id) for q in queries if q.study_id == study_id],
        )
    names = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.full_name).where(
                User.id.in_({query.raised_by_id for query in queries})
            )
        )
    }
    return [
        QueryRow(
            query.id,
            query.study_id,
            studies[query.study_id].protocol_number,
            query.kind,
            query.record_id,
            described.get(
                (query.kind, query.record_id), f"{query.kind.value.capitalize()} {query.record_id}"
            ),
            query.problem,
            query.request,
            query.state,
            names[query.raised_by_id],
            query.raised_at,
            tuple(messages[query.id]),
        )
        for query in queries
    ]


def query_rows(
    session: Session, user: User, study_id: int, *, visit_id: int | None = None
) -> list[QueryRow]:
    """The study's queries (or one visit's), open ones first, then newest first."""
    study = session.get_one(Study, study_id)
    if not sees_study(session, user, study):
        return []
    query = select(MonitorQuery).where(MonitorQuery.study_id == study_id)
    if visit_id is not None:
        query = query.where(MonitorQuery.visit_id == visit_id)
    found = list(session.scalars(query.order_by(MonitorQuery.raised_at.desc(), MonitorQuery.id)))
    order = {QueryState.OPEN: 0, QueryState.ANSWERED: 1, QueryState.CLOSED: 2}
    found.sort(key=lambda q: order[q.state])
    return _query_rows(session, found)


def open_queries_for(session: Session, user: User) -> list[QueryRow]:
    """The queries that wait for ``user``: for technicians and pharmacists, those awaiting
    the site's answer; for a monitor, answered ones awaiting them on their own studies."""
    if user.role in (Role.TECHNICIAN, Role.PHARMACIST):
        waiting = select(MonitorQuery).where(MonitorQuery.state == QueryState.OPEN)
    elif user.role is Role.MONITOR:
        staff = aliased(StudyStaff)
        waiting = (
            select(MonitorQuery)
            .join(staff, staff.study_id == MonitorQuery.study_id)
            .where(
                MonitorQuery.state == QueryState.ANSWERED,
                staff.user_id == user.id,
                staff.active.is_(True),
            )
        )
    else:
        return []
    found = list(session.scalars(waiting.order_by(MonitorQuery.raised_at, MonitorQuery.id)))
    return _query_rows(session, found)


def open_query_count(session: Session, study_id: int) -> tuple[int, int]:
    """How many of the study's queries await the site, and how many await the monitor."""
    states = list(
        session.scalars(
            select(MonitorQuery.state).where(
                MonitorQuery.study_id == study_id, MonitorQuery.state != QueryState.CLOSED
            )
        )
    )
    return states.count(QueryState.OPEN), states.count(QueryState.ANSWERED)


@dataclass(frozen=True)
class AuthorizationRow:
    reference: str
    covers: str
    signature: str | None


def destruction_authorizations(
    session: Session, study_id: int
) -> tuple[bool, list[AuthorizationRow]]:
    """Whether the study requires the monitor's authorization, and those on record."""
    rows = []
    for authorization in session.scalars(
        select(DestructionAuthorization)
        .where(DestructionAuthorization.study_id == study_id)
        .order_by(DestructionAuthorization.authorized_at)
    ):
        covers = []
        if authorization.lot_id is not None:
            covers.append(f"lot {session.get_one(Lot, authorization.lot_id).lot_number}")
        if authorization.kits:
            covers.append("kits " + ", ".join(sorted(authorization.kits)))
        if authorization.quantity is not None:
            covers.append(f"up to {authorization.quantity} units")
        signed = [
            s
            for s in signatures_of(session, authorization)
            if s.meaning is SignatureMeaning.APPROVED
        ]
        holds = authorization_holds(session, authorization)
        rows.append(
            AuthorizationRow(
                authorization.reference,
                "; ".join(covers),
                manifestation(signed[0]) if signed and holds else None,
            )
        )
    return monitor_authorizes(session, study_id), rows
