"""The audit trail, read-only: every change of every record, filtered in SQL by user, table,
record and date, read a page at a time (21 CFR 11.10(e); 11.10(b): available for inspection).

The model reads 200 entries per fetch with keyset paging on the entry id, so scrolling
deep into a million entries costs the same as the first page. Arms, and arm names in what
people typed, are hidden from a user blinded on their study (audit.views.BlindingRedactor).
The site-wide page shows every entry; a study's workspace shows the same page scoped to
that study (:class:`StudyAuditTab`).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.audit.views import (
    AuditFilter,
    AuditRow,
    BlindingRedactor,
    audit_page,
    audit_table_names,
    audit_usernames,
)
from ids_app.audit.wording import told
from ids_app.db import today
from ids_app.studies.views import StudyRow
from ids_app.ui.context import Workspace
from ids_app.ui.forms import heading_label, hint_label
from ids_app.ui.guard import attempt
from ids_app.ui.receiving import date_field, pydate
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, PagedRowsModel, selected_row, table_view
from ids_app.ui.workspace import scrolling
from ids_app.wording import local_time_with_zone

PAGE_SIZE = 200
ANY = "(any)"
# Column widths in characters: #, when, user, what happened, then the raw row's action,
# table, record, field, old, new (the reason takes the rest).
COLUMN_CHARACTERS = (7, 23, 10, 48, 14, 16, 7, 18, 22, 40)
RAW_COLUMNS = range(4, 10)
SITE_HINT = (
    "Every insert and update of every record: who, when, what was before and after, "
    "and why. Entries are never changed or removed; `ids-app verify` checks the "
    "hash chain. Scroll to read further back."
)
STUDY_HINT = (
    "Every insert and update of this study's records, its signatures and exports: who, "
    "when, what was before and after, and why. Users, sign-ins, shared locations and "
    "entries written before this version are in the site-wide audit trail."
)


def _short(value: str | None, length: int = 80) -> str:
    if value is None:
        return ""
    flat = " ".join(value.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


class AuditTrailModel(PagedRowsModel[AuditRow]):
    """The trail as a paged table; ``last_fetch_ms`` is how long the last page took."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            [
                Column("#", lambda r: r.id, numeric=True),
                Column("When", lambda r: local_time_with_zone(r.at)),
                Column("User", lambda r: r.username),
                Column("What happened", lambda r: r.description, tooltip=lambda r: r.description),
                Column("Action", lambda r: r.action),
                Column("Table", lambda r: r.table_name),
                Column("Record", lambda r: r.record_id),
                Column("Field", lambda r: r.field),
                Column("Old", lambda r: _short(r.old_value), tooltip=lambda r: r.old_value),
                Column("New", lambda r: _short(r.new_value), tooltip=lambda r: r.new_value),
                Column("Reason", lambda r: _short(r.reason), tooltip=lambda r: r.reason),
            ],
            page_size=PAGE_SIZE,
            status=lambda r: "expired" if r.action.endswith("_failed") else None,
            parent=parent,
        )
        self.last_fetch_ms = 0.0


class AuditTrailPage(QWidget):
    """The trail with its filters: the whole site's, or one study's (``study_scoped``,
    then :meth:`set_study` names the study before :meth:`load`)."""

    def __init__(
        self, ws: Workspace, parent: QWidget | None = None, *, study_scoped: bool = False
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("studyAuditTrailPage" if study_scoped else "auditTrailPage")
        self.study_scoped = study_scoped
        self.study: StudyRow | None = None
        # Nothing is read until load() has decided what this user may see.
        self.redactor: BlindingRedactor | None = None

        self.user_filter = QComboBox()
        self.user_filter.setObjectName("auditUser")
        self.user_filter.setEditable(True)  # a failed sign-in's name is no account: type it
        self.user_filter.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.table_filter = QComboBox()
        self.table_filter.setObjectName("auditTable")
        self.table_filter.addItem(ANY, "")
        for name in audit_table_names(in_a_study=study_scoped):
            self.table_filter.addItem(name, name)
        self.record_filter = QLineEdit()
        self.record_filter.setObjectName("auditRecord")
        self.record_filter.setPlaceholderText("record id")
        self.record_filter.setMaximumWidth(120)
        self.from_check = QCheckBox("&From")
        self.from_check.setObjectName("auditFromOn")
        self.date_from = date_field("auditFrom", today())
        self.to_check = QCheckBox("&To")
        self.to_check.setObjectName("auditToOn")
        self.date_to = date_field("auditTo", today())
        self.newest_first = QCheckBox("&Newest first")
        self.newest_first.setObjectName("auditNewestFirst")
        self.newest_first.setChecked(True)
        # Security events: refused attempts and failed sign-ins or signatures.
        self.refusals_only = QCheckBox("Refusa&ls only")
        self.refusals_only.setObjectName("auditRefusals")
        self.refusals_only.setToolTip("Refused attempts and failed sign-ins or signatures")
        self.raw_columns = QCheckBox("Ra&w columns")
        self.raw_columns.setObjectName("auditRawColumns")
        self.raw_columns.setToolTip(
            "Show each entry's table, record, field and values as stored, beside its sentence"
        )
        self.raw_columns.toggled.connect(self._show_raw)
        self.apply_button = QPushButton("&Apply")
        self.apply_button.setObjectName("auditApply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.clear_button = QPushButton("&Clear")
        self.clear_button.setObjectName("auditClear")
        self.clear_button.clicked.connect(self.clear_filters)
        self.record_filter.returnPressed.connect(self.apply)
        line_edit = self.user_filter.lineEdit()
        if line_edit is not None:
            line_edit.returnPressed.connect(self.apply)
        for check in (self.from_check, self.to_check, self.newest_first, self.refusals_only):
            check.toggled.connect(lambda _on: self.apply())
        self.table_filter.currentIndexChanged.connect(lambda _i: self.apply())
        self.user_filter.activated.connect(lambda _i: self.apply())

        self.model = AuditTrailModel(self)
        self.view = table_view(self.model, name="auditTable", stretch_last=True)
        self.view.selectionModel().selectionChanged.connect(self._chosen)
        self.model.rowsInserted.connect(lambda *_args: self._update_status())
        # Widths set once from the font: measuring the rows after each filter would cost
        # more than reading them.
        character = self.view.fontMetrics().horizontalAdvance("0")
        header = self.view.horizontalHeader()
        for section, characters in enumerate(COLUMN_CHARACTERS):
            header.resizeSection(section, characters * character + 16)
        self._show_raw(False)
        self.status_label = QLabel()
        self.status_label.setObjectName("auditStatus")
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("auditDetail")
        self.detail.setReadOnly(True)
        self.detail.setTabChangesFocus(True)
        self.detail.setPlaceholderText("Choose an entry to read it whole.")

        filters = QHBoxLayout()
        for title, field in (("&User", self.user_filter), ("Ta&ble", self.table_filter)):
            caption = QLabel(title)
            caption.setBuddy(field)
            filters.addWidget(caption)
            filters.addWidget(field)
        record_caption = QLabel("&Record")
        record_caption.setBuddy(self.record_filter)
        filters.addWidget(record_caption)
        filters.addWidget(self.record_filter)
        filters.addStretch(1)
        dates = QHBoxLayout()
        dates.addWidget(self.from_check)
        dates.addWidget(self.date_from)
        dates.addWidget(self.to_check)
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        dates.addWidget(self.clear_button)
        dates.addWidget(self.apply_button)
        # The switches on a line of their own: the page fits 960 pixels (200 % scale).
        options = QHBoxLayout()
        options.addWidget(self.newest_first)
        options.addWidget(self.refusals_only)
        options.addWidget(self.raw_columns)
        options.addStretch(1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(heading_label("Audit trail", scale=1.3))
        layout.addWidget(hint_label(STUDY_HINT if study_scoped else SITE_HINT))
        layout.addLayout(filters)
        layout.addLayout(dates)
        layout.addLayout(options)
        layout.addWidget(split, 1)
        layout.addWidget(self.status_label)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolling(inner))

    def set_study(self, study: StudyRow) -> None:
        """Scope the page to ``study``; its filters start over (a record id of another
        study means nothing here). The entries are read by the next :meth:`load`."""
        if not self.study_scoped:
            raise RuntimeError("the site-wide audit trail is not scoped to a study")
        self.study = study
        self.redactor = None
        self._reset_filters()
        self.model.reset(None)
        self.detail.clear()
        self._update_status()

    def load(self) -> None:
        """Fill the user list and show the newest entries (when the page is first shown)."""
        if self.study_scoped and self.study is None:
            return
        user = self.ws.user

        def read(session: Session) -> tuple[list[str], BlindingRedactor]:
            return audit_usernames(session, user), BlindingRedactor(session, user)

        found = self.ws.read(self, "reading the audit trail", read)
        if found is None:
            return
        names, self.redactor = found
        current = self.user_filter.currentText()
        self.user_filter.blockSignals(True)
        self.user_filter.clear()
        self.user_filter.addItem(ANY)
        self.user_filter.addItems(names)
        self.user_filter.setCurrentText(current or ANY)
        self.user_filter.blockSignals(False)
        self.apply()

    def current_filter(self) -> AuditFilter:
        user = self.user_filter.currentText().strip()
        return AuditFilter(
            username=None if user in ("", ANY) else user.lower(),
            table_name=self.table_filter.currentData() or None,
            record_id=self.record_filter.text().strip() or None,
            date_from=pydate(self.date_from.date()) if self.from_check.isChecked() else None,
            date_to=pydate(self.date_to.date()) if self.to_check.isChecked() else None,
            study_id=self.study.id if self.study is not None else None,
            security_events=self.refusals_only.isChecked(),
        )

    def apply(self) -> None:
        where = self.current_filter()
        newest_first = self.newest_first.isChecked()
        redactor, reader = self.redactor, self.ws.user
        if redactor is None or (self.study_scoped and where.study_id is None):
            # Not loaded yet: whether arms must be hidden is not known, so nothing is shown.
            self.model.reset(None)
            self._update_status()
            return

        def fetch(last: AuditRow | None, limit: int) -> list[AuditRow]:
            def run() -> list[AuditRow]:
                started = time.perf_counter()
                with self.ws.db.read_session() as session:
                    rows = audit_page(
                        session,
                        where,
                        reader=reader,
                        limit=limit,
                        before_id=last.id if last and newest_first else None,
                        after_id=last.id if last and not newest_first else None,
                        newest_first=newest_first,
                    )
                    rows = told(session, redactor.redact(session, rows))
                self.model.last_fetch_ms = (time.perf_counter() - started) * 1000
                return rows

            return attempt(self, self.ws.db, "reading the audit trail", run) or []

        self.model.reset(fetch)
        self._update_status()

    def _update_status(self) -> None:
        shown = self.model.rowCount()
        more = "; scroll for more" if self.model.canFetchMore(self.model.index(-1, -1)) else ""
        hidden = ""
        if self.redactor is not None and self.study is not None:
            if self.study.id in self.redactor.blinded_studies:
                hidden = " Arms are hidden: you are blinded on this study."
        elif self.redactor is not None and self.redactor.hides_anything:
            hidden = " Arms are hidden: you are blinded on a study."
        self.status_label.setText(
            f"{shown} entries shown{more} (last page read in {self.model.last_fetch_ms:.0f} ms)."
            + hidden
        )

    def clear_filters(self) -> None:
        self._reset_filters()
        self.apply()

    def _reset_filters(self) -> None:
        widgets = (
            self.from_check,
            self.to_check,
            self.refusals_only,
            self.table_filter,
            self.user_filter,
        )
        for widget in widgets:
            widget.blockSignals(True)
        self.user_filter.setCurrentText(ANY)
        self.table_filter.setCurrentIndex(0)
        self.record_filter.clear()
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        self.refusals_only.setChecked(False)
        for widget in widgets:
            widget.blockSignals(False)

    def _chosen(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = selected_row(self.view)
        if not isinstance(row, AuditRow):
            self.detail.clear()
            return
        lines = [
            row.description,
            f"Entry {row.id} at {local_time_with_zone(row.at)} by {row.username}",
            f"Stored as: {row.action} {row.table_name} {row.record_id or ''} "
            f"{row.field or ''}".rstrip(),
        ]
        if row.old_value is not None:
            lines.append(f"Before: {row.old_value}")
        if row.new_value is not None:
            lines.append(f"After: {row.new_value}")
        if row.reason:
            lines.append(f"Why: {row.reason}")
        self.detail.setPlainText("\n".join(lines))

    def _show_raw(self, shown: bool) -> None:
        """The stored row (action, table, record, field, old and new) on demand; the
        sentence and the reason are always shown."""
        for section in RAW_COLUMNS:
            self.view.setColumnHidden(section, not shown)


class StudyAuditTab(StudyTab):
    """The open study's audit trail in its workspace: the site-wide page's filters and
    blinding, scoped to the entries that name this study."""

    key = "study_audit"  # "audit" is the site-wide trail's (View ▸ Audit trail, Ctrl+0)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.setObjectName("studyAuditTab")
        self.page = AuditTrailPage(ws, self, study_scoped=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.page)

    def study_changed(self) -> None:
        if self.study is not None:
            self.page.set_study(self.study)

    def reload(self) -> None:
        self.page.load()
