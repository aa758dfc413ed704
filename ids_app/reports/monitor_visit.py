"""The monitor-visit report (PDF): what was reviewed, what differed, who signed.

A sponsor's monitor reviews the record read-only at a visit (DESIGN.md, workflow 7). The
report is built from the same :class:`StudyRecord` as the binder, always in the blinded
edition (monitors are normally blinded), plus what is still open at the visit. Built from
a recorded visit (``monitoring``), it also says what the monitor marked reviewed, their
notes, the queries and their answers, the chain anchor and the visit's signature.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.anchors import chain_head
from ids_app.audit.integrity import verify_database
from ids_app.errors import InvalidInput
from ids_app.inventory.counts import open_discrepancies
from ids_app.inventory.dispensing import orders_awaiting_verification
from ids_app.inventory.quarantine import open_holds
from ids_app.inventory.returns import returns_awaiting_monitor
from ids_app.monitoring import records as monitored
from ids_app.monitoring.models import MonitoringVisit, QueryState, RecordKind, VisitReview
from ids_app.monitoring.views import (
    NoteRow,
    QueryRow,
    VisitRow,
    query_rows,
    visit_notes,
    visit_rows,
)
from ids_app.reports.blinding import Blinder
from ids_app.reports.gather import NO_SIGNATURE, gather_study_record
from ids_app.reports.period import Period
from ids_app.reports.progress import Steps
from ids_app.reports.records import Printing, SignatureEntry, StudyRecord
from ids_app.reports.rendering import render_html, write_pdf
from ids_app.studies.services import get_study
from ids_app.users.models import Role, User
from ids_app.wording import quantity_text


@dataclass(frozen=True)
class ReviewItem:
    what: str
    count: int
    finding: str
    attention: bool = False


@dataclass(frozen=True)
class ReviewedKind:
    """One kind of record in a visit: how many the period holds, how many the monitor
    marked reviewed in the visit (and the days they span), and how many changed since."""

    kind: str
    in_period: int
    reviewed: int
    changed: int
    first: dt.date | None
    last: dt.date | None

    @property
    def days(self) -> str:
        if self.first is None or self.last is None:
            return "—"
        if self.first == self.last:
            return f"{self.first:%Y-%m-%d}"
        return f"{self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}"


@dataclass(frozen=True)
class VisitRecord:
    """What a recorded visit adds to the report."""

    facts: VisitRow
    reviewed: tuple[ReviewedKind, ...]
    notes: tuple[NoteRow, ...]
    queries: tuple[QueryRow, ...]
    anchor: str

    def count(self, state: QueryState) -> int:
        return sum(1 for query in self.queries if query.state is state)

    @property
    def query_counts(self) -> str:
        """ "3 raised, 2 answered; 1 open, 1 awaiting the monitor, 1 closed"."""
        return (
            f"{len(self.queries)} raised, {self.answered} answered; "
            f"{self.count(QueryState.OPEN)} open, "
            f"{self.count(QueryState.ANSWERED)} awaiting the monitor, "
            f"{self.count(QueryState.CLOSED)} closed"
        )

    @property
    def answered(self) -> int:
        return sum(1 for query in self.queries if query.last_answer is not None)


@dataclass(frozen=True)
class MonitorVisit:
    record: StudyRecord
    visitor: str
    reviewed: tuple[ReviewItem, ...]
    open_items: tuple[str, ...]
    monitor_signatures: tuple[SignatureEntry, ...]
    chain: str
    chain_intact: bool
    visit: VisitRecord | None = None


def _reviewed(record: StudyRecord, audit_summary: str) -> list[ReviewItem]:
    items = []
    differing = [s for s in record.shipments if s.has_packing_list and not s.matches]
    unlisted = [s for s in record.shipments if not s.has_packing_list]
    matching = len(record.shipments) - len(differing) - len(unlisted)
    findings = [f"{matching} match"] if matching else []
    if differing:
        findings.append(f"{len(differing)} differ from the packing list")
    if unlisted:
        findings.append(f"{len(unlisted)} without a packing list on file")
    items.append(
        ReviewItem(
            "Shipment receipts against packing lists",
            len(record.shipments),
            "; ".join(findings),
            bool(differing or unlisted),
        )
    )
    unsigned = [d for d in record.dispensing if NO_SIGNATURE in (d.prepared, d.verified)]
    items.append(
        ReviewItem(
            "Dispenses (prepared and verified, both signed)",
            len(record.dispensing),
            f"{len(unsigned)} without a valid signature" if unsigned else "All signed twice",
            bool(unsigned),
        )
    )
    awaiting = [r for r in record.returns if r.monitor_verification is None]
    items.append(
        ReviewItem(
            "Subject returns and compliance",
            len(record.returns),
            f"{len(awaiting)} not yet verified by the monitor" if awaiting else "All verified",
            bool(awaiting),
        )
    )
    undecided = [h for h in record.holds if h.still_held]
    items.append(
        ReviewItem(
            "Quarantine and excursion events",
            len(record.holds),
            f"{len(undecided)} awaiting the sponsor's decision" if undecided else "All decided",
            bool(undecided),
        )
    )
    items.append(
        ReviewItem(
            "Destructions and returns to sponsor",
            len(record.disposals),
            f"{sum(d.total for d in record.disposals)} units, all witnessed"
            if all(d.witness != NO_SIGNATURE for d in record.disposals)
            else "A witness signature is missing",
            any(d.witness == NO_SIGNATURE for d in record.disposals),
        )
    )
    found = [d for c in record.counts for d in c.discrepancies]
    still_open = [d for d in found if d.status == "open"]
    items.append(
        ReviewItem(
            "Physical counts",
            len(record.counts),
            f"{len(found)} discrepancies, {len(still_open)} open",
            bool(still_open),
        )
    )
    items.append(
        ReviewItem("Corrections (reversals)", len(record.corrections), "Each names its original")
    )
    for darf in record.accountability:
        items.append(
            ReviewItem(
                f"Accountability record: {darf.title}",
                len(darf.lines),
                f"Balance {quantity_text(darf.closing_balance, darf.product.unit)}, "
                f"ledger {darf.ledger_balance}: "
                + ("reconciles" if darf.reconciles else "DOES NOT RECONCILE"),
                not darf.reconciles,
            )
        )
    items.append(
        ReviewItem("Audit-trail entries about the study", len(record.audit), audit_summary)
    )
    return [
        item if item.count else ReviewItem(item.what, 0, "None in the period") for item in items
    ]


def _open_items(session: Session, record: StudyRecord, study_id: int) -> list[str]:
    items = []
    waiting = returns_awaiting_monitor(session, study_id)
    if waiting:
        items.append(f"{len(waiting)} counted returns await the monitor's verification.")
    holds = open_holds(session, study_id)
    if holds:
        items.append(f"{len(holds)} quarantine holds await the sponsor's decision.")
    discrepancies = open_discrepancies(session, study_id)
    if discrepancies:
        items.append(f"{len(discrepancies)} count discrepancies await a pharmacist's resolution.")
    orders = orders_awaiting_verification(session, study_id)
    if orders:
        items.append(f"{len(orders)} prepared dispenses await a pharmacist's verification.")
    return items


def _masked(blinder: Blinder, query: QueryRow) -> QueryRow:
    """A query as the edition prints it: typed text never names an arm to a blinded reader."""
    text = blinder.required_text
    return replace(
        query,
        record=text(query.record),
        problem=text(query.problem),
        request=text(query.request),
        messages=tuple(
            replace(m, text=text(m.text), correcting_action=blinder.text(m.correcting_action))
            for m in query.messages
        ),
    )


def _visit_record(
    session: Session, actor: User, visit: MonitoringVisit, blinder: Blinder
) -> VisitRecord:
    facts = next(v for v in visit_rows(session, actor, visit.study_id) if v.id == visit.id)
    rows = monitored.record_rows(
        session,
        visit.study_id,
        period=monitored.Period(visit.period_start, visit.period_end),
    )
    in_visit = set(
        session.execute(
            select(VisitReview.kind, VisitReview.record_id).where(VisitReview.visit_id == visit.id)
        ).all()
    )
    reviewed = []
    for kind in RecordKind:
        of_kind = [row for row in rows if row.kind is kind]
        ids = [record for known, record in in_visit if known is kind]
        marked = monitored.record_rows(session, visit.study_id, (kind,), ids=ids) if ids else []
        days = [row.on for row in marked]
        reviewed.append(
            ReviewedKind(
                kind.value.capitalize(),
                len(of_kind),
                len(marked),
                sum(1 for row in [*of_kind, *marked] if row.status == monitored.CHANGED),
                min(days, default=None),
                max(days, default=None),
            )
        )
    head = chain_head(session)
    return VisitRecord(
        facts=facts,
        reviewed=tuple(reviewed),
        notes=tuple(
            replace(note, text=blinder.required_text(note.text))
            for note in visit_notes(session, visit.id)
        ),
        queries=tuple(
            _masked(blinder, query)
            for query in query_rows(session, actor, visit.study_id, visit_id=visit.id)
        ),
        anchor=str(head) if head is not None else "no audit entry yet",
    )


def gather_monitor_visit(
    session: Session,
    actor: User,
    protocol_number: str,
    *,
    period: Period,
    steps: Steps | None = None,
    visit_id: int | None = None,
) -> MonitorVisit:
    """The visit's review of the period, in the blinded edition (open-label for an
    open-label study). Given a recorded visit, the period is the visit's own."""
    study = get_study(session, protocol_number)
    visit = session.get(MonitoringVisit, visit_id) if visit_id is not None else None
    if visit_id is not None and (visit is None or visit.study_id != study.id):
        raise InvalidInput(f"Study {study.protocol_number} has no monitoring visit {visit_id}.")
    if visit is not None:
        period = Period(visit.period_start, visit.period_end)
    record = gather_study_record(session, actor, protocol_number, period=period, steps=steps)
    # "Intact" rests on the whole verification (records, signatures, guards), not the chain
    # alone; the summary names the chain head this report carries as its anchor.
    chain = verify_database(session)
    return MonitorVisit(
        record=record,
        visitor=f"{actor.full_name}, {actor.role.label}",
        reviewed=tuple(_reviewed(record, "Chain intact" if chain.intact else "CHAIN BROKEN")),
        open_items=tuple(_open_items(session, record, study.id)),
        monitor_signatures=tuple(s for s in record.signatures if s.role == Role.MONITOR.label),
        chain=chain.summary(),
        chain_intact=chain.intact,
        visit=_visit_record(session, actor, visit, Blinder(record.edition, study))
        if visit is not None
        else None,
    )


def write_monitor_visit(visit: MonitorVisit, printing: Printing, target: Path) -> int:
    html = render_html("monitor_visit.html", visit=visit, record=visit.record, printing=printing)
    return write_pdf(html, target)
