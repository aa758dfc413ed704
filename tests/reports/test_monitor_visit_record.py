"""The monitor-visit report of a recorded visit, read back from the PDF: what was reviewed,
the notes, the queries with their answers, the chain anchor and the visit's signature."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ids_app.audit.anchors import chain_head
from ids_app.db import today
from ids_app.monitoring.models import MonitoringVisit, MonitorQuery, RecordKind, VisitMode
from ids_app.monitoring.records import record_rows
from ids_app.monitoring.services import (
    add_visit_note,
    answer_query,
    close_visit,
    mark_period_reviewed,
    open_visit,
    raise_query,
)
from ids_app.reports.exports import export_audit_binder, export_monitor_visit_report
from ids_app.studies.models import Study
from tests.reports.conftest import ORAL, PASSWORDS, Demo, arm_names, pdf_pages

# A monitor types an arm's name into a query: blinded readers never see it printed.
ARM = "Placebo"


def _query(demo: Demo, visit: MonitoringVisit, kind: RecordKind, problem: str) -> int:
    monitor = demo.user("monitor")
    with demo.db.unit_of_work() as session:
        study = session.get_one(Study, visit.study_id)
        (first, *_rest) = record_rows(session, study.id, (kind,))
        return raise_query(
            session,
            monitor,
            study,
            kind=kind,
            record_id=first.record_id,
            problem=problem,
            request="Please explain and file the correction.",
            visit=session.get_one(MonitoringVisit, visit.id),
        ).id


@pytest.fixture(scope="module")
def visit_report(demo: Demo) -> tuple[Path, str]:
    monitor = demo.user("monitor")
    with demo.db.unit_of_work() as session:
        visit = open_visit(
            session,
            monitor,
            session.get_one(Study, demo.study(ORAL).id),
            visit_on=today(),
            mode=VisitMode.ON_SITE,
            period_start=today() - dt.timedelta(days=365),
            period_end=today(),
        )
        mark_period_reviewed(session, monitor, visit, (RecordKind.DISPENSE, RecordKind.RECEIPT))
        add_visit_note(session, monitor, visit, "Temperature logs complete for the period.")
    answered = _query(demo, visit, RecordKind.RECEIPT, "The packing list is unsigned.")
    _query(demo, visit, RecordKind.DISPENSE, f"The label copy is missing; {ARM} kit?")
    with demo.db.unit_of_work() as session:
        answer_query(
            session,
            demo.user("pharm"),
            session.get_one(MonitorQuery, answered),
            answer="Signed copy filed.",
            correcting_action="Packing list re-signed by the receiver",
        )
    with demo.db.unit_of_work() as session:
        close_visit(
            session,
            monitor,
            session.get_one(MonitoringVisit, visit.id),
            password=PASSWORDS["monitor"],
        )
    with demo.db.read_session() as session:
        head = chain_head(session)
    path = export_monitor_visit_report(
        demo.db, monitor, ORAL, demo.folder / "recorded-visit.pdf", visit_id=visit.id
    )
    return path, str(head)


def test_the_visit_report_says_what_was_reviewed_noted_asked_and_signed(
    visit_report: tuple[Path, str],
) -> None:
    path, anchor = visit_report
    text = " ".join(pdf_pages(path))
    for fact in (
        "Records reviewed in the visit",
        "Dispense 12 12",
        "Receipt 2 2",
        "Temperature logs complete for the period.",
        "2 raised, 1 answered; 1 open, 1 awaiting the monitor, 0 closed",
        "The packing list is unsigned.",
        "Signed copy filed. — correcting action: Packing list re-signed by the receiver",
        "The label copy is missing;",
        "Visit closed and signed: Morgan Monitor, Monitor — Reviewed —",
        "Record intact",
    ):
        assert fact in text, fact
    # The anchor printed is the chain's head before the export's own entry.
    assert anchor.split(":")[0] in text


def test_a_query_naming_an_arm_is_printed_masked_in_the_blinded_report(
    demo: Demo, visit_report: tuple[Path, str]
) -> None:
    path, _anchor = visit_report
    text = " ".join(pdf_pages(path))
    assert ARM in arm_names(demo, ORAL)
    assert f"missing; {ARM} kit?" not in text


def test_the_binder_lists_the_monitors_queries_with_their_answers(
    demo: Demo, visit_report: tuple[Path, str]
) -> None:
    result = export_audit_binder(demo.db, demo.user("tech"), ORAL, demo.folder / "binder.pdf")
    text = " ".join(pdf_pages(result.path))
    start = text.index("Monitor's queries")
    queries = text[start:]
    for fact in (
        "Query 1 answered Receipt of",
        "Wrong The packing list is unsigned.",
        "Answered Signed copy filed. — correcting action: Packing list re-signed by the receiver",
        "Query 2 open Dispense of",
    ):
        assert fact in queries, fact
    assert f"{ARM} kit?" not in queries
