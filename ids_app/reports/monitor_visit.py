"""The monitor-visit report (PDF): what was reviewed, what differed, who signed.

A sponsor's monitor reviews the record read-only at a visit (DESIGN.md, workflow 7). The
report is built from the same :class:`StudyRecord` as the binder, always in the blinded
edition (monitors are normally blinded), plus what is still open at the visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ids_app.audit.integrity import verify_database
from ids_app.inventory.counts import open_discrepancies
from ids_app.inventory.dispensing import orders_awaiting_verification
from ids_app.inventory.quarantine import open_holds
from ids_app.inventory.returns import returns_awaiting_monitor
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
class MonitorVisit:
    record: StudyRecord
    visitor: str
    reviewed: tuple[ReviewItem, ...]
    open_items: tuple[str, ...]
    monitor_signatures: tuple[SignatureEntry, ...]
    chain: str
    chain_intact: bool


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
                f"Accountability record: {darf.product.description}",
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


def gather_monitor_visit(
    session: Session,
    actor: User,
    protocol_number: str,
    *,
    period: Period,
    steps: Steps | None = None,
) -> MonitorVisit:
    """The visit's review of the period, in the blinded edition (open-label for an
    open-label study)."""
    record = gather_study_record(session, actor, protocol_number, period=period, steps=steps)
    study = get_study(session, protocol_number)
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
    )


def write_monitor_visit(visit: MonitorVisit, printing: Printing, target: Path) -> int:
    html = render_html("monitor_visit.html", visit=visit, record=visit.record, printing=printing)
    return write_pdf(html, target)
