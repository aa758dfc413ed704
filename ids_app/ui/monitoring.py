"""Monitoring: the monitor's visit (records reviewed, notes, a signed close), the queries
the site answers, and the monitor's authorization to destroy where the sponsor asks for it.

Every button runs one service of ``ids_app.monitoring.services`` in its own unit of work;
the screen reads rows from ``monitoring.records`` and ``monitoring.views`` and shows the
service's refusal as it is worded. Monitors see the actions of a visit; technicians and
pharmacists see the queries they answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.monitoring import services
from ids_app.monitoring.models import (
    MonitoringVisit,
    MonitorQuery,
    QueryState,
    RecordKind,
    VisitMode,
    VisitState,
)
from ids_app.monitoring.records import CHANGED, NOT_REVIEWED, Period, RecordRow, record_rows
from ids_app.monitoring.views import (
    AuthorizationRow,
    NoteRow,
    QueryRow,
    VisitRow,
    destruction_authorizations,
    query_rows,
    visit_notes,
    visit_rows,
)
from ids_app.reports.exports import export_monitor_visit_report
from ids_app.reports.progress import CancelCheck, ProgressCallback
from ids_app.studies.models import Study
from ids_app.ui.context import Workspace
from ids_app.ui.forms import (
    InlineMessage,
    hint_label,
    open_dialog,
    primary_button,
)
from ids_app.ui.guard import attempt
from ids_app.ui.monitoring_dialogs import (
    AnswerDialog,
    AuthorizeDialog,
    OpenVisitDialog,
    QueryDialog,
)
from ids_app.ui.receiving import pydate
from ids_app.ui.signature import ReasonDialog, SignatureDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.ui.tasks import RunningJob, run_job
from ids_app.users.models import SignatureMeaning
from ids_app.wording import local_time

ALL_KINDS = "All records"
# How a review state is coloured in the records table (style.STATUS_COLOURS).
STATUS_OF = {NOT_REVIEWED: "waiting", CHANGED: "expiring"}
RECORD_COLUMN = 2  # of the queries table
QUERY_STATUS = {QueryState.OPEN: "waiting", QueryState.ANSWERED: "expiring"}


class MonitoringTab(StudyTab):
    key = "monitoring"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        role = ws.user.role
        self.is_monitor = role in services.MONITOR_ROLES
        self.answers = role in services.SITE_ROLES
        self.sets_rule = role in services.RULE_ROLES
        self.dialog: QWidget | None = None
        self.visits: list[VisitRow] = []
        self.rule_required = False
        self._wanted_visit: int | None = None  # a visit just opened, shown once re-read

        # the visit ---------------------------------------------------------------------
        self.visit_combo = QComboBox()
        self.visit_combo.setObjectName("visitChoice")
        self.visit_combo.currentIndexChanged.connect(lambda _i: self._show_visit())
        self.open_visit_button = QPushButton("Open a visit…")
        self.open_visit_button.setObjectName("openVisitButton")
        self.open_visit_button.clicked.connect(self.open_visit)
        self.close_visit_button = primary_button(
            "Close the visit and sign…", name="closeVisitButton"
        )
        self.close_visit_button.clicked.connect(self.close_visit)
        self.report_button = QPushButton("Visit report (PDF)…")
        self.report_button.setObjectName("visitReportButton")
        self.report_button.clicked.connect(self.export_report)
        self.ask_path: Callable[[str, str], str] = self._ask_path
        self.job: RunningJob | None = None
        self.visit_facts = QLabel()
        self.visit_facts.setObjectName("visitFacts")
        self.visit_facts.setWordWrap(True)
        self.message = InlineMessage("monitoringMessage")
        visit_box = QGroupBox("Visit")
        visit_box.setObjectName("visitBox")
        visit_layout = QVBoxLayout(visit_box)
        row = QHBoxLayout()
        row.addWidget(self.visit_combo, 1)
        row.addWidget(self.open_visit_button)
        row.addWidget(self.report_button)
        row.addWidget(self.close_visit_button)
        visit_layout.addLayout(row)
        visit_layout.addWidget(self.visit_facts)

        # records of the period -----------------------------------------------------------
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("recordKind")
        self.kind_combo.addItem(ALL_KINDS, None)
        for kind in RecordKind:
            self.kind_combo.addItem(kind.value.capitalize(), kind)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._read_records())
        self.records: RowsModel[RecordRow] = RowsModel(
            [
                Column("Record", lambda r: r.kind.value),
                Column("On", lambda r: r.on),
                Column("Review", lambda r: r.status, tooltip=_review_tip),
                Column("What", lambda r: r.what, tooltip=lambda r: r.what),
            ],
            status=lambda r: STATUS_OF.get(r.status, "ok"),
            parent=self,
        )
        self.records_view = table_view(self.records, name="recordsTable")
        self.records_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.review_button = primary_button("Mark reviewed", name="markReviewedButton")
        self.review_button.clicked.connect(self.mark_reviewed)
        self.review_period_button = QPushButton("Mark the whole period reviewed")
        self.review_period_button.setObjectName("markPeriodReviewedButton")
        self.review_period_button.clicked.connect(self.mark_period_reviewed)
        self.query_button = QPushButton("Raise a query…")
        self.query_button.setObjectName("raiseQueryButton")
        self.query_button.clicked.connect(self.raise_query)
        records_box = QGroupBox("Records of the period")
        records_box.setObjectName("recordsBox")
        records_layout = QVBoxLayout(records_box)
        records_layout.addWidget(self.kind_combo, 0, Qt.AlignmentFlag.AlignLeft)
        records_layout.addWidget(self.records_view)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.query_button)
        buttons.addWidget(self.review_period_button)
        buttons.addWidget(self.review_button)
        records_layout.addLayout(buttons)

        # notes ------------------------------------------------------------------------------
        self.notes = QListWidget()
        self.notes.setObjectName("visitNotes")
        self.notes.setWordWrap(True)
        self.note_field = QLineEdit()
        self.note_field.setObjectName("noteField")
        self.note_field.setPlaceholderText("A note of this visit")
        self.note_field.returnPressed.connect(self.add_note)
        self.note_button = QPushButton("Add note")
        self.note_button.setObjectName("addNoteButton")
        self.note_button.clicked.connect(self.add_note)
        notes_box = QGroupBox("Visit notes")
        notes_box.setObjectName("notesBox")
        notes_layout = QVBoxLayout(notes_box)
        notes_layout.addWidget(self.notes)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_field, 1)
        note_row.addWidget(self.note_button)
        notes_layout.addLayout(note_row)
        notes_layout.addWidget(self.watch_typed(self.note_field))

        # queries ----------------------------------------------------------------------------
        self.queries: RowsModel[QueryRow] = RowsModel(
            [
                Column("Query", lambda q: q.id, numeric=True),
                Column("State", lambda q: q.state.value),
                Column("Record", lambda q: q.record, tooltip=lambda q: q.record),
                Column("What is wrong", lambda q: q.problem, tooltip=lambda q: q.problem),
                Column("What is asked", lambda q: q.request, tooltip=lambda q: q.request),
                Column(
                    "Answer",
                    lambda q: q.last_answer.text if q.last_answer else "",
                    tooltip=lambda q: _answer_tip(q),
                ),
                Column("Raised", lambda q: f"{q.raised_by}, {local_time(q.raised_at)}"),
            ],
            status=lambda q: QUERY_STATUS.get(q.state, "ok"),
            parent=self,
        )
        self.queries_view = table_view(self.queries, name="queriesTable")
        self.answer_button = primary_button("Answer…", name="answerQueryButton")
        self.answer_button.clicked.connect(self.answer_query)
        self.close_query_button = QPushButton("Close query")
        self.close_query_button.setObjectName("closeQueryButton")
        self.close_query_button.clicked.connect(self.close_query)
        self.reopen_button = QPushButton("Reopen…")
        self.reopen_button.setObjectName("reopenQueryButton")
        self.reopen_button.clicked.connect(self.reopen_query)
        queries_box = QGroupBox("Queries")
        queries_box.setObjectName("queriesBox")
        queries_layout = QVBoxLayout(queries_box)
        queries_layout.addWidget(self.queries_view)
        query_buttons = QHBoxLayout()
        query_buttons.addStretch(1)
        query_buttons.addWidget(self.reopen_button)
        query_buttons.addWidget(self.close_query_button)
        query_buttons.addWidget(self.answer_button)
        queries_layout.addLayout(query_buttons)

        # destruction authorization ----------------------------------------------------------
        self.rule_label = QLabel()
        self.rule_label.setObjectName("destructionRule")
        self.rule_label.setWordWrap(True)
        self.rule_button = QPushButton("Change…")
        self.rule_button.setObjectName("destructionRuleButton")
        self.rule_button.clicked.connect(self.change_rule)
        self.authorize_button = QPushButton("Authorize destruction…")
        self.authorize_button.setObjectName("authorizeDestructionButton")
        self.authorize_button.clicked.connect(self.authorize)
        rule_row = QHBoxLayout()
        rule_row.addWidget(self.rule_label, 1)
        rule_row.addWidget(self.rule_button)
        rule_row.addWidget(self.authorize_button)

        for widget in (
            self.open_visit_button,
            self.close_visit_button,
            self.review_button,
            self.review_period_button,
            self.query_button,
            self.close_query_button,
            self.reopen_button,
            self.authorize_button,
        ):
            widget.setVisible(self.is_monitor)
        self.answer_button.setVisible(self.answers)
        self.rule_button.setVisible(self.sets_rule)
        self.note_field.setVisible(self.is_monitor)
        self.note_button.setVisible(self.is_monitor)

        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(records_box, 3)
        top_layout.addWidget(notes_box, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(queries_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        if not self.is_monitor:
            layout.addWidget(
                hint_label(
                    "The monitor reviews the record at each visit and raises queries here; "
                    "technicians and pharmacists answer them, naming any correction made."
                )
            )
        layout.addWidget(visit_box)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        layout.addLayout(rule_row)

    # reading ------------------------------------------------------------------------------

    def study_changed(self) -> None:
        self.message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(
            session: Session,
        ) -> tuple[list[VisitRow], list[QueryRow], tuple[bool, list[AuthorizationRow]]]:
            return (
                visit_rows(session, user, study_id),
                query_rows(session, user, study_id),
                destruction_authorizations(session, study_id),
            )

        found = self.ws.read(self, "reading the monitoring visits", read)
        if found is None:
            return
        self.visits, queries, (required, authorizations) = found
        keep = self._wanted_visit or self.visit_combo.currentData()
        self._wanted_visit = None
        self.visit_combo.blockSignals(True)
        self.visit_combo.clear()
        for visit in self.visits:
            self.visit_combo.addItem(visit.label, visit.id)
        if not self.visits:
            self.visit_combo.addItem("No visit yet: the whole record is shown", None)
        index = self.visit_combo.findData(keep)
        self.visit_combo.setCurrentIndex(max(index, 0))
        self.visit_combo.blockSignals(False)
        self.queries.set_rows(queries)
        fit_columns(self.queries_view)
        # The record is in its tooltip too: leave room for what is wrong and what is asked.
        header = self.queries_view.horizontalHeader()
        header.resizeSection(RECORD_COLUMN, min(header.sectionSize(RECORD_COLUMN), 260))
        self.rule_required = required
        self.rule_label.setText(_rule_text(required, authorizations))
        self._show_visit()

    def current_visit(self) -> VisitRow | None:
        visit_id = self.visit_combo.currentData()
        return next((visit for visit in self.visits if visit.id == visit_id), None)

    def _show_visit(self) -> None:
        visit = self.current_visit()
        is_open = visit is not None and visit.state is VisitState.OPEN
        own = is_open and visit is not None and visit.monitor == self.ws.user.full_name
        for button in (
            self.close_visit_button,
            self.review_button,
            self.review_period_button,
            self.note_button,
        ):
            button.setEnabled(bool(own))
        self.note_field.setEnabled(bool(own))
        self.report_button.setEnabled(visit is not None and self.job is None)
        if visit is None:
            self.visit_facts.setText("No visit selected.")
        elif visit.signature is not None:
            self.visit_facts.setText(f"Closed and signed: {visit.signature}")
        elif own:
            self.visit_facts.setText(
                "Open: mark each record reviewed as you check it, then close the visit "
                "with your signature."
            )
        else:
            self.visit_facts.setText(f"Open: {visit.monitor} is reviewing the period.")
        notes: list[NoteRow] = []
        if visit is not None:
            visit_id = visit.id
            notes = (
                self.ws.read(self, "reading the notes", lambda s: visit_notes(s, visit_id)) or []
            )
        self.notes.clear()
        for note in notes:
            self.notes.addItem(f"{note.text} — {note.by}, {local_time(note.at)}")
        self._read_records()

    def _read_records(self) -> None:
        if self.study is None:
            return
        visit = self.current_visit()
        kinds = self._chosen_kinds()
        period = Period(visit.period_start, visit.period_end) if visit is not None else None
        study_id = self.study.id
        rows = self.ws.read(
            self,
            "reading the records",
            lambda s: record_rows(s, study_id, kinds, period=period),
        )
        self.records.set_rows(rows or [])
        fit_columns(self.records_view)

    def _chosen_kinds(self) -> tuple[RecordKind, ...]:
        # Qt hands a stored StrEnum back as its text.
        kind = self.kind_combo.currentData()
        return (RecordKind(kind),) if kind is not None else tuple(RecordKind)

    def _selected_records(self) -> list[RecordRow]:
        model = self.records_view.selectionModel()
        rows = [self.records.row_at(index.row()) for index in model.selectedRows()]
        return [row for row in rows if row is not None]

    # acting -------------------------------------------------------------------------------

    def _done(self, text: str) -> None:
        self.ws.changed(text)
        self.refresh()
        self.message.show_success(text)

    def _run(self, doing: str, act: Callable[[Session], str]) -> None:
        """One unit of work; the service's refusal is shown above the tables."""

        def run() -> str:
            with self.ws.db.unit_of_work() as session:
                return act(session)

        self.message.clear_message()
        text = attempt(self, self.ws.db, doing, run, show_refusal=self.message.show_error)
        if text is not None:
            self._done(text)

    def open_visit(self) -> None:
        assert self.study is not None
        dialog = OpenVisitDialog(self.ws.db, parent=self)
        user, study_id = self.ws.user, self.study.id

        def act() -> int:
            with self.ws.db.unit_of_work() as session:
                return services.open_visit(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    visit_on=pydate(dialog.visit_on.date()),
                    mode=VisitMode(dialog.mode.currentData()),
                    period_start=pydate(dialog.period_start.date()),
                    period_end=pydate(dialog.period_end.date()),
                ).id

        dialog.act = act
        dialog.completed.connect(self._visit_opened)
        self.dialog = dialog
        open_dialog(dialog)

    def _visit_opened(self, visit_id: int) -> None:
        self._wanted_visit = visit_id
        self._done("Visit opened.")

    def mark_reviewed(self) -> None:
        visit, rows = self.current_visit(), self._selected_records()
        if visit is None or not rows:
            self.message.show_error("Choose the records you reviewed.")
            return
        user, visit_id = self.ws.user, visit.id
        by_kind: dict[RecordKind, list[int]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row.record_id)

        def act(session: Session) -> str:
            chosen = session.get_one(MonitoringVisit, visit_id)
            for kind, ids in by_kind.items():
                services.mark_reviewed(session, user, chosen, kind, ids)
            return f"{len(rows)} record(s) marked reviewed."

        self._run("marking records reviewed", act)

    def mark_period_reviewed(self) -> None:
        visit = self.current_visit()
        if visit is None:
            self.message.show_error("Open a visit first.")
            return
        user, visit_id = self.ws.user, visit.id
        kinds = self._chosen_kinds()

        def act(session: Session) -> str:
            chosen = session.get_one(MonitoringVisit, visit_id)
            reviews = services.mark_period_reviewed(session, user, chosen, kinds)
            return f"{len(reviews)} record(s) of the period marked reviewed."

        self._run("marking the period reviewed", act)

    def add_note(self) -> None:
        visit = self.current_visit()
        if visit is None:
            self.message.show_error("Open a visit first.")
            return
        user, visit_id, text = self.ws.user, visit.id, self.note_field.text()

        def act(session: Session) -> str:
            services.add_visit_note(session, user, session.get_one(MonitoringVisit, visit_id), text)
            return "Note added to the visit."

        self._run("adding the note", act)
        if self.message.kind == "success":
            self.note_field.clear()

    def close_visit(self) -> None:
        visit = self.current_visit()
        if visit is None:
            return
        user, db, visit_id = self.ws.user, self.ws.db, visit.id

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                services.close_visit(
                    session, user, session.get_one(MonitoringVisit, visit_id), password=password
                )
            return "Visit closed and signed as reviewed."

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.REVIEWED,
            what=f"The visit of {visit.visit_on:%Y-%m-%d} ({visit.mode.value}), period "
            f"{visit.period_start:%Y-%m-%d} to {visit.period_end:%Y-%m-%d}. Nothing can be "
            "added to it once signed.",
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)

    def raise_query(self) -> None:
        assert self.study is not None
        rows = self._selected_records()
        if len(rows) != 1:
            self.message.show_error("Choose the one record the query is about.")
            return
        record, visit = rows[0], self.current_visit()
        user, study_id = self.ws.user, self.study.id
        visit_id = visit.id if visit is not None and visit.state is VisitState.OPEN else None
        dialog = QueryDialog(
            self.ws.db,
            record=f"{record.kind.value} of {record.on:%Y-%m-%d}: {record.what}",
            mask=self.arm_mask,
            parent=self,
        )

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                query = services.raise_query(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    kind=record.kind,
                    record_id=record.record_id,
                    problem=dialog.problem.toPlainText(),
                    request=dialog.request.toPlainText(),
                    visit=session.get_one(MonitoringVisit, visit_id) if visit_id else None,
                )
                return f"Query {query.id} raised; it waits for the site's answer."

        dialog.act = act
        dialog.completed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)

    def select_work(self, record: str, record_id: int) -> None:
        """A query from My work: chosen in the list, ready to answer, close or reopen."""
        if record != "query":
            return
        for number, row in enumerate(self.queries.rows):
            if row.id == record_id:
                self.queries_view.selectRow(number)
                self.queries_view.setFocus()
                return

    def _chosen_query(self) -> QueryRow | None:
        row = selected_row(self.queries_view)
        if not isinstance(row, QueryRow):
            self.message.show_error("Choose the query.")
            return None
        return row

    def answer_query(self) -> None:
        query = self._chosen_query()
        if query is None:
            return
        user, query_id = self.ws.user, query.id
        dialog = AnswerDialog(self.ws.db, query=query, mask=self.arm_mask, parent=self)

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                services.answer_query(
                    session,
                    user,
                    session.get_one(MonitorQuery, query_id),
                    answer=dialog.answer.toPlainText(),
                    correcting_action=dialog.correcting_action.text(),
                )
            return f"Query {query_id} answered; it waits for the monitor."

        dialog.act = act
        dialog.completed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)

    def close_query(self) -> None:
        query = self._chosen_query()
        if query is None:
            return
        user, query_id = self.ws.user, query.id

        def act(session: Session) -> str:
            services.close_query(session, user, session.get_one(MonitorQuery, query_id))
            return f"Query {query_id} closed."

        self._run("closing the query", act)

    def reopen_query(self) -> None:
        query = self._chosen_query()
        if query is None:
            return
        user, db, query_id = self.ws.user, self.ws.db, query.id

        def act(reason: str) -> str:
            with db.unit_of_work() as session:
                services.reopen_query(
                    session, user, session.get_one(MonitorQuery, query_id), reason=reason
                )
            return f"Query {query_id} reopened; it waits for the site again."

        dialog = ReasonDialog(
            db,
            title="Reopen the query",
            intro=f"{query.record}\nSay what is still missing; the site answers again.",
            accept_text="Reopen",
            act=act,
            mask=self.arm_mask,
            parent=self,
        )
        dialog.completed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)

    def _ask_path(self, title: str, suggested: str) -> str:
        path, _chosen = QFileDialog.getSaveFileName(self, title, suggested, "PDF files (*.pdf)")
        return path

    def export_report(self) -> None:
        """The monitor-visit report of the chosen visit, written off the GUI thread."""
        visit = self.current_visit()
        if self.study is None or visit is None or self.job is not None:
            return
        name = f"{self.study.protocol_number}-monitor-visit-{visit.visit_on:%Y-%m-%d}.pdf"
        out = self.ask_path("Save the monitor-visit report", str(Path.home() / name))
        if not out:
            return
        if not out.lower().endswith(".pdf"):
            out += ".pdf"
        db, user, protocol, visit_id = (
            self.ws.db,
            self.ws.user,
            self.study.protocol_number,
            visit.id,
        )

        def job(progress: ProgressCallback, cancelled: CancelCheck) -> Path:
            return export_monitor_visit_report(
                db,
                user,
                protocol,
                out,
                visit_id=visit_id,
                progress=progress,
                cancelled=cancelled,
            )

        self.message.clear_message()
        self.report_button.setEnabled(False)
        self.job = run_job(
            self,
            db,
            "writing the monitor-visit report",
            job,
            succeeded=lambda path: self.message.show_success(
                f"Saved {path}. The export is in the audit trail."
            ),
            failed=self.message.show_error,
            ended=self._report_ended,
        )

    def _report_ended(self) -> None:
        self.job = None
        self.report_button.setEnabled(self.current_visit() is not None)
        self.ws.changed()

    def authorize(self) -> None:
        assert self.study is not None
        user, study_id = self.ws.user, self.study.id
        dialog = AuthorizeDialog(self.ws.db, parent=self)

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                authorization = services.authorize_destruction(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    reference=dialog.reference.text(),
                    password=dialog.password.text(),
                    lot_number=dialog.lot.text(),
                    kit_numbers=dialog.kits.text().split(","),
                    quantity=dialog.quantity.value() or None,
                )
                return f"Destruction authorized under {authorization.reference}."

        dialog.act = act
        dialog.completed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)

    def change_rule(self) -> None:
        assert self.study is not None
        user, db, study_id = self.ws.user, self.ws.db, self.study.id
        required = self.rule_required

        def act(reason: str) -> str:
            with db.unit_of_work() as session:
                services.require_monitor_authorization(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    required=not required,
                    reason=reason,
                )
            return (
                "The monitor's authorization is now required before destruction."
                if not required
                else "Destruction no longer needs the monitor's authorization."
            )

        dialog = ReasonDialog(
            db,
            title="Change the sponsor's rule for destruction",
            intro=(
                "Stop requiring the monitor's authorization before destruction?"
                if required
                else "Require the monitor's signed authorization before anything is destroyed?"
            )
            + " Say where the sponsor asks for it (the pharmacy manual, a letter).",
            accept_text="Change",
            act=act,
            parent=self,
        )
        dialog.completed.connect(self._done)
        self.dialog = dialog
        open_dialog(dialog)


def _review_tip(row: RecordRow) -> str | None:
    if row.reviewed_at is None:
        return None
    return f"Last reviewed by {row.reviewed_by}, {local_time(row.reviewed_at)}"


def _answer_tip(query: QueryRow) -> str | None:
    answer = query.last_answer
    if answer is None:
        return None
    action = f" Correcting action: {answer.correcting_action}." if answer.correcting_action else ""
    return f"{answer.by}, {local_time(answer.at)}: {answer.text}.{action}"


def _rule_text(required: bool, authorizations: list[AuthorizationRow]) -> str:
    if not required:
        return "The sponsor does not require the monitor's authorization before destruction."
    listed = "; ".join(f"{a.reference} ({a.covers})" for a in authorizations) or "none yet"
    return (
        "The sponsor requires the monitor's signed authorization before destruction. "
        f"Authorizations: {listed}."
    )
