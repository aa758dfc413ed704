"""What a monitor does in a visit, and how the site answers: every action a service.

Monitors act only on the studies they are assigned to (DESIGN.md: separation of duties);
the site's technicians and pharmacists answer queries. Each function checks the acting
user, validates the input and writes the records; the audit trail records every change
(21 CFR 11.10(e)) and the caller's unit of work commits them together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today, utc_now
from ids_app.errors import IdsError, InvalidInput, NotFound
from ids_app.inventory.authorizations import DestructionAuthorization, DestructionRule
from ids_app.inventory.models import Kit, Lot
from ids_app.monitoring.models import (
    MonitoringVisit,
    MonitorQuery,
    QueryMessage,
    QueryState,
    QueryStep,
    RecordKind,
    VisitMode,
    VisitNote,
    VisitReview,
    VisitState,
)
from ids_app.monitoring.records import Period, record_row, record_rows
from ids_app.studies.models import Product, Study
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, refuse, require
from ids_app.users.signatures import sign_record

# Who sees which buttons on the Monitoring screen: the permission table's roles.
MONITOR_ROLES = PERMISSIONS[Action.OPEN_VISITS].roles
SITE_ROLES = PERMISSIONS[Action.ANSWER_QUERIES].roles
# The sponsor's rule is part of the study's setup; a pharmacist or an administrator sets it.
RULE_ROLES = PERMISSIONS[Action.SET_DESTRUCTION_RULE].roles


class VisitClosed(IdsError):
    """A closed visit is signed; nothing more is added to it."""


def _monitor_of(session: Session, monitor: User, study: Study, action: Action) -> None:
    require(session, monitor, action, study=study)


def _text(value: str | None, what: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(f"The {what} is empty; type the {what}.")
    return cleaned


def _own_open_visit(
    session: Session, monitor: User, visit: MonitoringVisit, action: Action
) -> Study:
    study = session.get_one(Study, visit.study_id)
    _monitor_of(session, monitor, study, action)
    if visit.monitor_id != monitor.id:
        raise refuse(
            monitor,
            "This visit is another monitor's; open a visit of your own.",
            to=action.value,
            record=visit,
        )
    if visit.state is VisitState.CLOSED:
        raise VisitClosed(
            f"The visit of {visit.visit_on:%Y-%m-%d} is closed and signed; open a new visit."
        )
    return study


def open_visit(
    session: Session,
    monitor: User,
    study: Study,
    *,
    visit_on: dt.date,
    mode: VisitMode,
    period_start: dt.date,
    period_end: dt.date,
) -> MonitoringVisit:
    """Open a visit on ``study``: its day, on-site or remote, and the period under review."""
    _monitor_of(session, monitor, study, Action.OPEN_VISITS)
    if visit_on > today():
        raise InvalidInput(f"The visit date {visit_on:%Y-%m-%d} is in the future.")
    if period_start > period_end:
        raise InvalidInput("The period under review ends before it starts; check the dates.")
    already = session.scalar(
        select(MonitoringVisit).where(
            MonitoringVisit.study_id == study.id,
            MonitoringVisit.monitor_id == monitor.id,
            MonitoringVisit.state == VisitState.OPEN,
        )
    )
    if already is not None:
        raise InvalidInput(
            f"Your visit of {already.visit_on:%Y-%m-%d} on {study.protocol_number} is still "
            "open; close it before opening another."
        )
    attribute_changes(session, monitor, reason="monitoring visit opened")
    visit = MonitoringVisit(
        study_id=study.id,
        monitor_id=monitor.id,
        visit_on=visit_on,
        mode=mode,
        period_start=period_start,
        period_end=period_end,
    )
    session.add(visit)
    session.flush()  # the visit's id names it in the screen's reply
    return visit


def visit_period(visit: MonitoringVisit) -> Period:
    return Period(visit.period_start, visit.period_end)


def mark_reviewed(
    session: Session,
    monitor: User,
    visit: MonitoringVisit,
    kind: RecordKind,
    record_ids: Sequence[int],
) -> list[VisitReview]:
    """Mark records of the study reviewed in this visit, as they read now."""
    study = _own_open_visit(session, monitor, visit, Action.REVIEW_RECORDS)
    if not record_ids:
        raise InvalidInput("Choose the records you reviewed.")
    found = {row.record_id for row in record_rows(session, study.id, (kind,), ids=record_ids)}
    missing = [record for record in record_ids if record not in found]
    if missing:
        raise NotFound(f"Study {study.protocol_number} has no {kind.value} {missing[0]}.")
    return _reviews(session, monitor, visit, [(kind, record) for record in record_ids])


def mark_period_reviewed(
    session: Session,
    monitor: User,
    visit: MonitoringVisit,
    kinds: Iterable[RecordKind] = tuple(RecordKind),
) -> list[VisitReview]:
    """Mark every record of the visit's period that is not reviewed, or changed since its
    review, reviewed at once (a whole period reviewed on a visit)."""
    study = _own_open_visit(session, monitor, visit, Action.REVIEW_RECORDS)
    rows = record_rows(session, study.id, tuple(kinds), period=visit_period(visit))
    due = [(row.kind, row.record_id) for row in rows if row.needs_review]
    if not due:
        raise InvalidInput("Every record of the period is already reviewed.")
    return _reviews(session, monitor, visit, due)


def _reviews(
    session: Session, monitor: User, visit: MonitoringVisit, records: list[tuple[RecordKind, int]]
) -> list[VisitReview]:
    attribute_changes(session, monitor, reason=f"reviewed in the visit of {visit.visit_on}")
    now = utc_now()
    reviews = [
        VisitReview(
            study_id=visit.study_id,
            visit_id=visit.id,
            kind=kind,
            record_id=record,
            reviewed_by_id=monitor.id,
            reviewed_at=now,
        )
        for kind, record in records
    ]
    session.add_all(reviews)
    session.flush()
    return reviews


def add_visit_note(session: Session, monitor: User, visit: MonitoringVisit, text: str) -> VisitNote:
    _own_open_visit(session, monitor, visit, Action.REVIEW_RECORDS)
    attribute_changes(session, monitor, reason="visit note")
    note = VisitNote(
        study_id=visit.study_id,
        visit_id=visit.id,
        text=_text(text, "note"),
        written_by_id=monitor.id,
    )
    session.add(note)
    session.flush()
    return note


def close_visit(
    session: Session, monitor: User, visit: MonitoringVisit, *, password: str
) -> Signature:
    """Close the visit and sign it as reviewed (21 CFR 11.50, 11.200: the password again)."""
    _own_open_visit(session, monitor, visit, Action.OPEN_VISITS)
    attribute_changes(session, monitor, reason="monitoring visit closed")
    visit.state = VisitState.CLOSED
    visit.closed_at = utc_now()
    return sign_record(session, monitor.username, password, SignatureMeaning.REVIEWED, visit)


def raise_query(
    session: Session,
    monitor: User,
    study: Study,
    *,
    kind: RecordKind,
    record_id: int,
    problem: str,
    request: str,
    visit: MonitoringVisit | None = None,
) -> MonitorQuery:
    """A query on one record of the study: what is wrong, and what the site is asked to do."""
    _monitor_of(session, monitor, study, Action.RAISE_QUERIES)
    if visit is not None and visit.study_id != study.id:
        raise InvalidInput("The visit is of another study.")
    if visit is not None and visit.state is VisitState.CLOSED:
        raise VisitClosed(
            f"The visit of {visit.visit_on:%Y-%m-%d} is closed and signed; raise the query "
            "outside a visit, or in a new one."
        )
    try:
        record_row(session, study.id, kind, record_id)
    except LookupError:
        raise NotFound(f"Study {study.protocol_number} has no {kind.value} {record_id}.") from None
    wrong, asked = _text(problem, "problem"), _text(request, "request")
    attribute_changes(session, monitor, reason="query raised")
    query = MonitorQuery(
        study_id=study.id,
        visit_id=visit.id if visit is not None else None,
        kind=kind,
        record_id=record_id,
        problem=wrong,
        request=asked,
        raised_by_id=monitor.id,
    )
    session.add(query)
    session.flush()  # the message names the query
    _message(session, monitor, query, QueryStep.RAISED, f"{wrong}\n{asked}")
    return query


def _message(
    session: Session,
    user: User,
    query: MonitorQuery,
    step: QueryStep,
    text: str,
    correcting_action: str | None = None,
) -> QueryMessage:
    message = QueryMessage(
        study_id=query.study_id,
        query_id=query.id,
        step=step,
        text=text,
        correcting_action=correcting_action,
        written_by_id=user.id,
    )
    session.add(message)
    session.flush()
    return message


def answer_query(
    session: Session,
    user: User,
    query: MonitorQuery,
    *,
    answer: str,
    correcting_action: str | None = None,
) -> QueryMessage:
    """The site's answer to an open query, naming any correcting action taken."""
    study = session.get_one(Study, query.study_id)
    require(session, user, Action.ANSWER_QUERIES, query)
    if query.state is not QueryState.OPEN:
        raise InvalidInput(f"Query {query.id} is {query.state.value}; it awaits no answer.")
    text = _text(answer, "answer")
    attribute_changes(session, user, reason=f"query answered ({study.protocol_number})")
    query.state = QueryState.ANSWERED
    action = (correcting_action or "").strip() or None
    return _message(session, user, query, QueryStep.ANSWERED, text, action)


def close_query(
    session: Session, monitor: User, query: MonitorQuery, *, note: str = ""
) -> QueryMessage:
    """The monitor accepts the site's answer."""
    study = session.get_one(Study, query.study_id)
    _monitor_of(session, monitor, study, Action.RAISE_QUERIES)
    if query.state is not QueryState.ANSWERED:
        raise InvalidInput(
            f"Query {query.id} is {query.state.value}; a query is closed once the site answers."
        )
    attribute_changes(session, monitor, reason="query closed")
    query.state = QueryState.CLOSED
    return _message(session, monitor, query, QueryStep.CLOSED, note.strip() or "Answer accepted.")


def reopen_query(
    session: Session, monitor: User, query: MonitorQuery, *, reason: str
) -> QueryMessage:
    """The monitor sends an answered or closed query back to the site, saying why."""
    study = session.get_one(Study, query.study_id)
    _monitor_of(session, monitor, study, Action.RAISE_QUERIES)
    if query.state is QueryState.OPEN:
        raise InvalidInput(f"Query {query.id} is already open.")
    why = _text(reason, "reason")
    attribute_changes(session, monitor, reason="query reopened")
    query.state = QueryState.OPEN
    return _message(session, monitor, query, QueryStep.REOPENED, why)


def require_monitor_authorization(
    session: Session, user: User, study: Study, *, required: bool, reason: str
) -> DestructionRule:
    """Set whether the sponsor requires the monitor's authorization before destruction."""
    require(session, user, Action.SET_DESTRUCTION_RULE, study)
    why = _text(reason, "reason")
    attribute_changes(session, user, reason=why)
    rule = session.scalar(select(DestructionRule).where(DestructionRule.study_id == study.id))
    if rule is None:
        rule = DestructionRule(
            study_id=study.id, monitor_authorizes=required, reason=why, set_by_id=user.id
        )
        session.add(rule)
    else:
        rule.monitor_authorizes = required
        rule.reason = why
        rule.set_by_id = user.id
        rule.set_at = utc_now()
    session.flush()
    return rule


def authorize_destruction(
    session: Session,
    monitor: User,
    study: Study,
    *,
    reference: str,
    password: str,
    lot_number: str | None = None,
    kit_numbers: Iterable[str] = (),
    quantity: int | None = None,
) -> DestructionAuthorization:
    """The monitor's signed authorization to destroy: a reference and what it covers (a lot,
    some kits, at most a quantity). Signed as approved with the password (21 CFR 11.50)."""
    _monitor_of(session, monitor, study, Action.AUTHORIZE_DESTRUCTION)
    number = _text(reference, "authorization reference")
    kits = sorted({kit.strip() for kit in kit_numbers if kit.strip()})
    lot = None
    if (lot_number or "").strip():
        lot = session.scalar(
            select(Lot)
            .join(Product, Product.id == Lot.product_id)
            .where(Product.study_id == study.id, Lot.lot_number == (lot_number or "").strip())
        )
        if lot is None:
            raise NotFound(f"Study {study.protocol_number} has no lot {lot_number}.")
    for kit in kits:
        known = session.scalar(
            select(Kit.id).where(Kit.study_id == study.id, Kit.kit_number == kit)
        )
        if known is None:
            raise NotFound(f"Study {study.protocol_number} has no kit {kit}.")
    if quantity is not None and (isinstance(quantity, bool) or quantity <= 0):
        raise InvalidInput("The quantity authorized is a whole number greater than zero.")
    if lot is None and not kits and quantity is None:
        raise InvalidInput("Say what the authorization covers: a lot, kit numbers or a quantity.")
    if session.scalar(
        select(DestructionAuthorization.id).where(
            DestructionAuthorization.study_id == study.id,
            DestructionAuthorization.reference == number,
        )
    ):
        raise InvalidInput(f"Authorization {number} is already on record.")
    attribute_changes(session, monitor, reason="destruction authorized")
    authorization = DestructionAuthorization(
        study_id=study.id,
        reference=number,
        lot_id=lot.id if lot is not None else None,
        kit_numbers=",".join(kits) or None,
        quantity=quantity,
        authorized_by_id=monitor.id,
    )
    session.add(authorization)
    sign_record(session, monitor.username, password, SignatureMeaning.APPROVED, authorization)
    return authorization
