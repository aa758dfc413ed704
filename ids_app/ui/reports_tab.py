"""Reports: the audit binder, the sponsor workbook (and CDISC DA file), the monitor-visit
report and destruction certificates, each written off the GUI thread (ui/tasks.py) with a
progress bar and Cancel. The export functions write the audit entry and the file together;
a refusal, failure or cancellation leaves no file (reports/exports.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory.views import disposal_rows
from ids_app.reports.exports import (
    export_audit_binder,
    export_destruction_certificate,
    export_monitor_visit_report,
    export_sponsor_workbook,
)
from ids_app.reports.period import WHOLE_RECORD, Period
from ids_app.reports.progress import CancelCheck, ProgressCallback
from ids_app.studies.models import Study
from ids_app.studies.services import is_unblinded
from ids_app.ui.context import Workspace
from ids_app.ui.forms import InlineMessage, hint_label, primary_button
from ids_app.ui.receiving import date_field, pydate
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.tasks import RunningJob, run_job

BLINDED_REASON = (
    "Only staff unblinded for this study (Study staff, unblinded) may export the unblinded edition."
)

# (title, file filter, suffix) for each kind of file.
PDF = ("PDF (*.pdf)", ".pdf")
XLSX = ("Excel workbook (*.xlsx)", ".xlsx")
CSV = ("CSV (*.csv)", ".csv")


def _describe(result: Any) -> str:
    """The path(s) an export returned, for the success line."""
    if isinstance(result, Path):
        return str(result)
    paths = [str(result.path)]
    for beside in ("cdisc_path", "audit_data_path"):
        path = getattr(result, beside, None)
        if path is not None:
            paths.append(str(path))
    text = " and ".join(paths)
    if hasattr(result, "signed"):
        text += (
            "; signed by the site"
            if result.signed is not None
            else "; NOT signed: this workstation has no site certificate (see Settings)"
        )
    return text


class ReportsTab(StudyTab):
    key = "reports"

    export_ended = Signal()  # an export has ended, whether saved, refused or cancelled

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.job: RunningJob | None = None
        self.last_result: Any = None
        self.unblinded = False
        # Tests replace this to answer the file-save dialog.
        self.ask_path: Callable[[str, str, str], str] = self._ask_path

        # period
        self.limit_dates = QCheckBox("Only from")
        self.limit_dates.setObjectName("limitDates")
        self.first_day = date_field("periodFirst", today() - dt.timedelta(days=90))
        self.last_day = date_field("periodLast", today())
        self.limit_dates.toggled.connect(self._period_toggled)
        self._period_toggled(False)
        period_box = QGroupBox("Period")
        period_row = QHBoxLayout(period_box)
        period_row.addWidget(self.limit_dates)
        period_row.addWidget(self.first_day)
        period_row.addWidget(QLabel("to"))
        period_row.addWidget(self.last_day)
        period_row.addWidget(hint_label("Unticked: the whole record, from study start."), 1)

        # the exports
        self.binder_button = primary_button("Audit binder (blinded)…", name="binderBlinded")
        self.binder_button.clicked.connect(lambda: self.export_binder(unblinded=False))
        self.binder_unblinded_button = QPushButton("Audit binder (unblinded)…")
        self.binder_unblinded_button.setObjectName("binderUnblinded")
        self.binder_unblinded_button.clicked.connect(lambda: self.export_binder(unblinded=True))
        self.workbook_button = QPushButton("Sponsor workbook…")
        self.workbook_button.setObjectName("workbookButton")
        self.workbook_button.clicked.connect(self.export_workbook)
        self.workbook_unblinded = QCheckBox("Unblinded edition")
        self.workbook_unblinded.setObjectName("workbookUnblinded")
        self.with_cdisc = QCheckBox("Also the CDISC DA file (.csv)")
        self.with_cdisc.setObjectName("withCdisc")
        self.monitor_button = QPushButton("Monitor-visit report…")
        self.monitor_button.setObjectName("monitorVisitButton")
        self.monitor_button.clicked.connect(self.export_monitor_visit)
        self.disposal = QComboBox()
        self.disposal.setObjectName("certificateDisposal")
        self.certificate_button = QPushButton("Destruction certificate…")
        self.certificate_button.setObjectName("certificateButton")
        self.certificate_button.clicked.connect(self.export_certificate)

        exports_box = QGroupBox("Export")
        grid = QGridLayout(exports_box)
        grid.addWidget(self.binder_button, 0, 0)
        grid.addWidget(self.binder_unblinded_button, 0, 1)
        grid.addWidget(
            hint_label("Every record of the study for the period, as a paginated PDF."), 0, 2
        )
        grid.addWidget(self.workbook_button, 1, 0)
        options = QHBoxLayout()
        options.addWidget(self.workbook_unblinded)
        options.addWidget(self.with_cdisc)
        options.addStretch(1)
        grid.addLayout(options, 1, 1, 1, 2)
        grid.addWidget(self.monitor_button, 2, 0)
        self.monitor_hint = hint_label("Blinded edition, for the sponsor's monitor.")
        grid.addWidget(self.monitor_hint, 2, 1, 1, 2)
        grid.addWidget(self.certificate_button, 3, 0)
        grid.addWidget(self.disposal, 3, 1)
        grid.addWidget(hint_label("A destruction or return to the sponsor."), 3, 2)
        grid.setColumnStretch(2, 1)

        # progress
        self.progress = QProgressBar()
        self.progress.setObjectName("exportProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelExport")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setObjectName("exportStatus")
        self.message = InlineMessage("exportMessage")
        progress_box = QGroupBox("Progress")
        progress_layout = QVBoxLayout(progress_box)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.progress, 1)
        bar_row.addWidget(self.cancel_button)
        progress_layout.addLayout(bar_row)
        progress_layout.addWidget(self.status)
        progress_layout.addWidget(self.message)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(
            hint_label(
                "Each export is recorded in the audit trail with who, what and which edition. "
                "A refused or cancelled export leaves no file."
            )
        )
        layout.addWidget(period_box)
        layout.addWidget(exports_box)
        layout.addWidget(progress_box)
        layout.addStretch(1)

    # reading -------------------------------------------------------------------------------

    def study_changed(self) -> None:
        self.message.clear_message()
        self.status.clear()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(session: Session) -> tuple[bool, list[str]]:
            study = session.get_one(Study, study_id)
            numbers = [row.number for row in disposal_rows(session, study_id, user)]
            return is_unblinded(session, user, study), numbers

        found = self.ws.read(self, "reading the study's reports", read)
        if found is None:
            return
        self.unblinded, numbers = found
        # An open-label study has one edition, open-label (reports.gather.choose_edition):
        # no blinded/unblinded choice is offered for it.
        open_label = not self.study.is_blinded
        self.binder_unblinded_button.setVisible(not open_label)
        self.workbook_unblinded.setVisible(not open_label)
        self.monitor_hint.setText(
            "Open-label edition, for the sponsor's monitor."
            if open_label
            else "Blinded edition, for the sponsor's monitor."
        )
        self.disposal.clear()
        self.disposal.addItems(numbers)
        self._set_enabled()

    def _set_enabled(self) -> None:
        running = self.job is not None
        for button in (self.binder_button, self.workbook_button, self.monitor_button):
            button.setEnabled(not running)
        self.binder_unblinded_button.setEnabled(not running and self.unblinded)
        self.workbook_unblinded.setEnabled(not running and self.unblinded)
        if not self.unblinded:
            self.workbook_unblinded.setChecked(False)
        tip = "" if self.unblinded else BLINDED_REASON
        self.binder_unblinded_button.setToolTip(tip)
        self.workbook_unblinded.setToolTip(tip)
        has_disposals = self.disposal.count() > 0
        self.certificate_button.setEnabled(not running and has_disposals)
        self.certificate_button.setToolTip(
            "" if has_disposals else "No destruction or return is recorded for this study."
        )
        self.cancel_button.setEnabled(running)

    def _period_toggled(self, on: bool) -> None:
        self.first_day.setEnabled(on)
        self.last_day.setEnabled(on)

    def period(self) -> Period | None:
        """The chosen period; None (and the reason shown) when the dates are the wrong
        way round."""
        if not self.limit_dates.isChecked():
            return WHOLE_RECORD
        first, last = pydate(self.first_day.date()), pydate(self.last_day.date())
        if first > last:
            self.message.show_error(
                f"The period starts on {first:%Y-%m-%d}, after it ends on {last:%Y-%m-%d}; "
                "swap the dates."
            )
            return None
        return Period(first, last)

    # the file ------------------------------------------------------------------------------

    def _ask_path(self, title: str, suggested: str, file_filter: str) -> str:
        path, _chosen = QFileDialog.getSaveFileName(self, title, suggested, file_filter)
        return path

    def _target(self, title: str, name: str, kind: tuple[str, str]) -> str:
        file_filter, suffix = kind
        path = self.ask_path(title, str(Path.home() / f"{name}{suffix}"), file_filter)
        if path and not path.lower().endswith(suffix):
            path += suffix
        return path

    def _name(self, what: str) -> str:
        assert self.study is not None
        return f"{self.study.protocol_number}-{what}-{today():%Y-%m-%d}"

    # the exports ---------------------------------------------------------------------------

    def export_binder(self, *, unblinded: bool) -> None:
        period = self.period()
        if self.study is None or period is None:
            return
        if not self.study.is_blinded:
            edition = "open-label"
        else:
            edition = "unblinded" if unblinded else "blinded"
        out = self._target("Save the audit binder", self._name(f"binder-{edition}"), PDF)
        if not out:
            return
        db, user, protocol = self.ws.db, self.ws.user, self.study.protocol_number

        def job(progress: ProgressCallback, cancelled: CancelCheck) -> Any:
            return export_audit_binder(
                db,
                user,
                protocol,
                out,
                period=period,
                unblinded=unblinded,
                progress=progress,
                cancelled=cancelled,
            )

        self.start(f"Writing the {edition} audit binder", job)

    def export_workbook(self) -> None:
        period = self.period()
        if self.study is None or period is None:
            return
        unblinded = self.workbook_unblinded.isChecked()
        out = self._target("Save the sponsor workbook", self._name("workbook"), XLSX)
        if not out:
            return
        cdisc_out: str | None = None
        if self.with_cdisc.isChecked():
            cdisc_out = self._target("Save the CDISC DA file", self._name("DA"), CSV)
            if not cdisc_out:
                return
        db, user, protocol = self.ws.db, self.ws.user, self.study.protocol_number

        def job(progress: ProgressCallback, cancelled: CancelCheck) -> Any:
            return export_sponsor_workbook(
                db,
                user,
                protocol,
                out,
                period=period,
                unblinded=unblinded,
                cdisc_out=cdisc_out,
                progress=progress,
                cancelled=cancelled,
            )

        self.start("Writing the sponsor workbook", job)

    def export_monitor_visit(self) -> None:
        period = self.period()
        if self.study is None or period is None:
            return
        out = self._target("Save the monitor-visit report", self._name("monitor-visit"), PDF)
        if not out:
            return
        db, user, protocol = self.ws.db, self.ws.user, self.study.protocol_number

        def job(progress: ProgressCallback, cancelled: CancelCheck) -> Any:
            return export_monitor_visit_report(
                db, user, protocol, out, period=period, progress=progress, cancelled=cancelled
            )

        self.start("Writing the monitor-visit report", job)

    def export_certificate(self) -> None:
        number = self.disposal.currentText()
        if self.study is None or not number:
            return
        out = self._target(
            "Save the destruction certificate", self._name(f"certificate-{number}"), PDF
        )
        if not out:
            return
        db, user, protocol = self.ws.db, self.ws.user, self.study.protocol_number

        def job(progress: ProgressCallback, cancelled: CancelCheck) -> Any:
            # One short step: no progress to show and nothing to cancel midway.
            return export_destruction_certificate(db, user, protocol, number, out)

        self.start("Writing the destruction certificate", job)

    # running -------------------------------------------------------------------------------

    def start(self, doing: str, job: Callable[[ProgressCallback, CancelCheck], Any]) -> None:
        if self.job is not None:
            return
        self.message.clear_message()
        self.last_result = None
        self.status.setText(f"{doing}…")
        self.progress.setRange(0, 0)  # busy until the first step reports
        self.job = run_job(
            self,
            self.ws.db,
            doing.lower(),
            job,
            succeeded=self._succeeded,
            failed=self._failed,
            progressed=self._progressed,
            ended=self._finished,
        )
        self._set_enabled()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling at the next step…")
            self.cancel_button.setEnabled(False)

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _succeeded(self, result: Any) -> None:
        self.last_result = result
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.clear()
        self.message.show_success(f"Saved {_describe(result)}. The export is in the audit trail.")
        self.ws.changed()

    def _failed(self, message: str) -> None:
        self._idle()
        self.message.show_error(message)

    def _idle(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.clear()

    def _finished(self) -> None:
        self.job = None
        self._set_enabled()
        self.export_ended.emit()
