"""A monitoring visit at the workstation: records reviewed, a query answered by the site and
closed or reopened by the monitor, the visit closed with a signature; a reversal made after
the review shows the receipt "changed since review"."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.db import Database, today
from ids_app.inventory.ledger import reverse_entry
from ids_app.inventory.models import DispenseOrder, EntryKind, LedgerEntry
from ids_app.monitoring.models import QueryState, RecordKind
from ids_app.monitoring.records import CHANGED, REVIEWED
from ids_app.monitoring.services import raise_query
from ids_app.studies.models import Study
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.monitoring import MonitoringTab
from ids_app.ui.monitoring_dialogs import (
    AnswerDialog,
    AuthorizeDialog,
    OpenVisitDialog,
    QueryDialog,
)
from ids_app.ui.overview import OverviewTab
from ids_app.ui.signature import ReasonDialog, SignatureDialog, WitnessDialog
from tests.reports.conftest import pdf_pages
from tests.ui.conftest import PASSWORDS, WindowOpener, sign_in
from tests.ui.test_stock_workflows import choose, open_tab, sign_in_dialog
from tests.ui.workflows import returned_kit, study_id

pytestmark = pytest.mark.gui


def monitoring_tab(open_window: WindowOpener, username: str) -> MonitoringTab:
    tab = open_tab(open_window(username), "ABC-123", "monitoring")
    assert isinstance(tab, MonitoringTab)
    return tab


def open_a_visit(qtbot: QtBot, tab: MonitoringTab) -> None:
    tab.open_visit_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, OpenVisitDialog)
    dialog.period_start.setDate(QDate(today().year - 2, 1, 1))
    choose(dialog.mode, "remote")
    with qtbot.waitSignal(dialog.completed):
        dialog.accept_button.click()


def select_record(tab: MonitoringTab, kind: RecordKind) -> int:
    choose(tab.kind_combo, kind.value.capitalize())
    assert tab.records.rowCount() > 0
    tab.records_view.selectRow(0)
    row = tab.records.row_at(0)
    assert row is not None
    return row.record_id


def reverse_a_receipt(db: Database) -> None:
    """A pharmacist corrects a receipt of ABC-123 after the monitor reviewed it."""
    pharmacist = sign_in(db, "pharm")
    with db.unit_of_work() as session:
        received = session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.study_id == study_id(db, "ABC-123"),
                LedgerEntry.kind == EntryKind.RECEIVE,
                LedgerEntry.reverses_id.is_(None),
            )
            .order_by(LedgerEntry.id.desc())
        ).first()
        assert received is not None
        reverse_entry(session, pharmacist, received.id, "kit never arrived", PASSWORDS["pharm"])


def test_a_visit_reviews_records_and_a_query_goes_to_the_site_and_back(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    monitor = monitoring_tab(open_window, "monitor")
    assert monitor.open_visit_button.isVisible()
    assert not monitor.answer_button.isVisible()
    open_a_visit(qtbot, monitor)
    assert "remote" in monitor.visit_combo.currentText()

    select_record(monitor, RecordKind.RECEIPT)
    monitor.review_button.click()
    assert monitor.message.kind == "success", monitor.message.text()
    assert monitor.records.rows[0].status == REVIEWED

    select_record(monitor, RecordKind.DISPENSE)
    monitor.query_button.click()
    raising = monitor.dialog
    assert isinstance(raising, QueryDialog)
    qtbot.keyClicks(raising.problem, "The label copy is not on file.")
    qtbot.keyClicks(raising.request, "File the label printed for this dispense.")
    with qtbot.waitSignal(raising.completed):
        raising.accept_button.click()
    assert [q.state for q in monitor.queries.rows] == [QueryState.OPEN]

    site_window = open_window("tech")
    overview = open_tab(site_window, "ABC-123", "overview")
    assert isinstance(overview, OverviewTab)
    assert overview.queries_alert.isVisible()
    assert overview.queries_alert.text().startswith(
        "Open queries of the monitor: 1 awaiting the site's answer, 0 awaiting the monitor."
    )
    overview.queries_alert.linkActivated.emit("monitoring")
    site = site_window.workspace.current_tab()
    assert isinstance(site, MonitoringTab)
    assert site.answer_button.isVisible()
    assert not site.close_query_button.isVisible()
    site.queries_view.selectRow(0)
    site.answer_button.click()
    answering = site.dialog
    assert isinstance(answering, AnswerDialog)
    qtbot.keyClicks(answering.answer, "Label reprinted and filed.")
    qtbot.keyClicks(answering.correcting_action, "Filed in the binder, tab 4")
    with qtbot.waitSignal(answering.completed):
        answering.accept_button.click()
    assert site.queries.rows[0].state is QueryState.ANSWERED

    monitor.refresh()
    monitor.queries_view.selectRow(0)
    monitor.reopen_button.click()
    reopening = monitor.dialog
    assert isinstance(reopening, ReasonDialog)
    qtbot.keyClicks(reopening.reason_field, "The copy filed is of visit 3.")
    with qtbot.waitSignal(reopening.completed):
        reopening.accept_button.click()
    assert monitor.queries.rows[0].state is QueryState.OPEN

    site.refresh()
    site.queries_view.selectRow(0)
    site.answer_button.click()
    again = site.dialog
    assert isinstance(again, AnswerDialog)
    qtbot.keyClicks(again.answer, "Visit 2 copy filed now.")
    with qtbot.waitSignal(again.completed):
        again.accept_button.click()

    monitor.refresh()
    monitor.queries_view.selectRow(0)
    monitor.close_query_button.click()
    closed = monitor.queries.rows[0]
    assert closed.state is QueryState.CLOSED
    assert [m.step.value for m in closed.messages] == [
        "raised",
        "answered",
        "reopened",
        "answered",
        "closed",
    ]

    qtbot.keyClicks(monitor.note_field, "Binder complete; shelf tidy.")
    qtbot.keyClick(monitor.note_field, Qt.Key.Key_Return)
    assert monitor.notes.count() == 1
    monitor.close_visit_button.click()
    signing = monitor.dialog
    assert isinstance(signing, SignatureDialog)
    with qtbot.waitSignal(signing.signed):
        sign_in_dialog(qtbot, signing, "demo-monitor")
    assert monitor.visit_facts.text().startswith(
        "Closed and signed: Morgan Monitor, Monitor — Reviewed —"
    )
    assert not monitor.review_button.isEnabled()

    report = tmp_path / "visit.pdf"
    monitor.ask_path = lambda _title, _suggested: str(report)
    monitor.report_button.click()
    qtbot.waitUntil(lambda: monitor.job is None, timeout=120_000)
    assert monitor.message.kind == "success", monitor.message.text()
    text = " ".join(pdf_pages(report))
    assert "Visit closed and signed: Morgan Monitor, Monitor — Reviewed —" in text
    assert "Binder complete; shelf tidy." in text


def test_a_receipt_reversed_after_the_review_reads_changed_until_reviewed_again(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    monitor = monitoring_tab(open_window, "monitor")
    open_a_visit(qtbot, monitor)
    choose(monitor.kind_combo, "Receipt")
    monitor.review_period_button.click()
    assert {row.status for row in monitor.records.rows} == {REVIEWED}

    reverse_a_receipt(monitor.ws.db)
    monitor.refresh()
    assert CHANGED in {row.status for row in monitor.records.rows}

    monitor.review_period_button.click()
    assert {row.status for row in monitor.records.rows} == {REVIEWED}


def test_the_visit_screen_shows_no_visit_actions_to_the_site(
    open_window: WindowOpener,
) -> None:
    site = monitoring_tab(open_window, "pharm")
    assert not site.open_visit_button.isVisible()
    assert not site.review_button.isVisible()
    assert site.rule_button.isVisible()  # a pharmacist sets the sponsor's destruction rule


def test_a_destruction_is_refused_without_the_monitors_authorization_then_goes_with_it(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    pharmacist = monitoring_tab(open_window, "pharm")
    pharmacist.rule_button.click()
    rule = pharmacist.dialog
    assert isinstance(rule, ReasonDialog)
    qtbot.keyClicks(rule.reason_field, "Acme pharmacy manual 4.2: the CRA authorizes")
    with qtbot.waitSignal(rule.completed):
        rule.accept_button.click()
    assert pharmacist.rule_label.text().startswith("The sponsor requires")

    window = open_window("tech")
    returned_kit(window.db, "1012", verified=True)
    tab = open_tab(window, "ABC-123", "destruction")
    assert isinstance(tab, DestructionTab)
    tab.select_all()
    qtbot.keyClicks(tab.number, "DEST-ABC-0002")
    qtbot.keyClicks(tab.method, "Incineration")
    qtbot.keyClicks(tab.authorization, "DA-7")

    def destroy() -> WitnessDialog:
        tab.dispose_button.click()
        witness = tab.dialog
        assert isinstance(witness, WitnessDialog)
        qtbot.keyClicks(witness.performer_password_field, "demo-tech")
        qtbot.keyClicks(witness.username_field, "pharm2")
        qtbot.keyClicks(witness.password_field, "demo-pharm2")
        witness.accept_button.click()
        return witness

    refused = destroy()
    assert refused.isVisible()
    assert refused.error_text.startswith(
        "The sponsor of ABC-123 requires the monitor's authorization before destruction, "
        "and no authorization DA-7 is on record."
    )
    refused.reject()

    monitor = monitoring_tab(open_window, "monitor")
    monitor.authorize_button.click()
    authorizing = monitor.dialog
    assert isinstance(authorizing, AuthorizeDialog)
    qtbot.keyClicks(authorizing.reference, "DA-7")
    qtbot.keyClicks(authorizing.kits, "1012")
    qtbot.keyClicks(authorizing.password, "demo-monitor")
    with qtbot.waitSignal(authorizing.completed):
        authorizing.accept_button.click()
    assert "DA-7 (kits 1012)" in monitor.rule_label.text()

    accepted = destroy()
    assert not accepted.isVisible()
    assert tab.history.rows[0].number == "DEST-ABC-0002"


def test_a_query_waits_in_my_work_and_enter_opens_it_for_the_answer(
    qtbot: QtBot, open_window: WindowOpener, demo_db: Database
) -> None:
    with demo_db.unit_of_work() as session:
        monitor = sign_in(demo_db, "monitor")
        study = session.get_one(Study, study_id(demo_db, "ABC-123"))
        dispense = session.scalars(select(DispenseOrder.id).order_by(DispenseOrder.id)).first()
        assert dispense is not None
        query = raise_query(
            session,
            monitor,
            study,
            kind=RecordKind.DISPENSE,
            record_id=dispense,
            problem="The label copy is not filed",
            request="File the label copy with the order",
        )
        query_id = query.id
    window = open_window("tech")
    [item] = window.my_work.items("queries")
    assert item.what.startswith(f"Query {query_id} on ")
    assert item.note == "File the label copy with the order"
    rows = window.my_work.model.rows
    window.my_work.view.setFocus()
    window.my_work.view.selectRow(next(n for n, row in enumerate(rows) if row.kind == "queries"))
    qtbot.keyClick(window.my_work.view, Qt.Key.Key_Return)
    tab = window.workspace.current_tab()
    assert isinstance(tab, MonitoringTab)
    chosen = tab.queries_view.selectionModel().selectedRows()
    assert [tab.queries.rows[index.row()].id for index in chosen] == [query_id]
