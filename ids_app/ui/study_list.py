"""The study list: filter by status, sponsor and free text (in SQL), open one study."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.studies.models import StudyStatus
from ids_app.studies.views import StudyRow, list_studies, sponsor_names
from ids_app.ui.context import Workspace
from ids_app.ui.forms import subheading_label
from ids_app.ui.table_models import ROW_ROLE, Column, RowsModel, table_view

STATUS_COLOURS = {
    StudyStatus.OPEN: "ok",
    StudyStatus.ON_HOLD: "quarantined",
    StudyStatus.CLOSED: "returned",
    StudyStatus.PENDING: "waiting",
}


def study_status_colour(row: StudyRow) -> str | None:
    return STATUS_COLOURS.get(row.status)


class StudyListPanel(QWidget):
    """The left pane: My work, the audit trail, and the studies."""

    study_chosen = Signal(int)
    my_work_chosen = Signal()
    audit_chosen = Signal()

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("studyListPanel")
        self.my_work_button = QPushButton("My work")
        self.my_work_button.setObjectName("myWorkButton")
        self.my_work_button.clicked.connect(self.my_work_chosen.emit)
        self.audit_button = QPushButton("Audit trail")
        self.audit_button.setObjectName("auditButton")
        self.audit_button.clicked.connect(self.audit_chosen.emit)

        self.text_filter = QLineEdit()
        self.text_filter.setObjectName("studyFilter")
        self.text_filter.setPlaceholderText("Protocol, title, sponsor or PI")
        self.text_filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("statusFilter")
        self.status_filter.addItem("Any status", None)
        for status in StudyStatus:
            self.status_filter.addItem(status.value.capitalize(), status)
        self.sponsor_filter = QComboBox()
        self.sponsor_filter.setObjectName("sponsorFilter")

        self.model: RowsModel[StudyRow] = RowsModel(
            [
                Column("Protocol", lambda r: r.protocol_number, tooltip=lambda r: r.title),
                Column("Status", lambda r: r.status),
                Column("Sponsor", lambda r: r.sponsor),
                Column("Title", lambda r: r.title, tooltip=lambda r: r.title),
            ],
            status=study_status_colour,
            parent=self,
        )
        self.view = table_view(self.model, name="studyTable")
        # The list is narrow: the first columns take what they need, the title the rest
        # (cut short, whole in its tooltip), and nothing scrolls sideways.
        header = self.view.horizontalHeader()
        for section in range(len(self.model.columns) - 1):
            header.setSectionResizeMode(section, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(self.model.columns) - 1, QHeaderView.ResizeMode.Stretch)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)
        self.count_label = QLabel()
        self.count_label.setObjectName("hint")

        # Typing re-filters after a short pause, not on every key.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.reload)
        self.text_filter.textChanged.connect(lambda _text: self._debounce.start())
        self.text_filter.returnPressed.connect(self._open_first)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.sponsor_filter.currentIndexChanged.connect(lambda _i: self.reload())

        nav = QHBoxLayout()
        nav.addWidget(self.my_work_button)
        nav.addWidget(self.audit_button)
        filters = QHBoxLayout()
        filters.addWidget(self.status_filter)
        filters.addWidget(self.sponsor_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addLayout(nav)
        layout.addWidget(subheading_label("Studies"))
        find = QLabel("&Find")
        find.setBuddy(self.text_filter)
        layout.addWidget(find)
        layout.addWidget(self.text_filter)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)
        self.setTabOrder(self.my_work_button, self.audit_button)
        self.setTabOrder(self.audit_button, self.text_filter)
        self.setTabOrder(self.text_filter, self.status_filter)
        self.setTabOrder(self.status_filter, self.sponsor_filter)
        self.setTabOrder(self.sponsor_filter, self.view)

    def load(self) -> None:
        """Fill the sponsor list and the studies (at start and after a change)."""
        names = self.ws.read(self, "reading the sponsors", sponsor_names) or []
        current = self.sponsor_filter.currentData()
        self.sponsor_filter.blockSignals(True)
        self.sponsor_filter.clear()
        self.sponsor_filter.addItem("Any sponsor", None)
        for name in names:
            self.sponsor_filter.addItem(name, name)
        index = self.sponsor_filter.findData(current)
        self.sponsor_filter.setCurrentIndex(max(index, 0))
        self.sponsor_filter.blockSignals(False)
        self.reload()

    def reload(self) -> None:
        chosen = self.status_filter.currentData()
        status = StudyStatus(chosen) if chosen else None
        sponsor = self.sponsor_filter.currentData()
        text, user = self.text_filter.text(), self.ws.user

        def read(session: Session) -> list[StudyRow]:
            return list_studies(session, reader=user, status=status, sponsor=sponsor, text=text)

        rows = self.ws.read(self, "reading the study list", read)
        if rows is None:
            return
        self.model.set_rows(rows)
        self.view.resizeColumnsToContents()
        noun = "study" if len(rows) == 1 else "studies"
        self.count_label.setText(f"{len(rows)} {noun}")

    def study_ids(self) -> list[int]:
        """The studies listed now, in the list's order."""
        return [row.id for row in self.model.rows]

    def select(self, study_id: int) -> None:
        for number, row in enumerate(self.model.rows):
            if row.id == study_id:
                self.view.selectRow(number)
                return

    def _activated(self, index: QModelIndex) -> None:
        row = self.model.data(index, ROW_ROLE)
        if isinstance(row, StudyRow):
            self.study_chosen.emit(row.id)

    def _open_first(self) -> None:
        if self.model.rowCount() >= 1:
            self.view.selectRow(0)
            self.view.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.study_chosen.emit(self.model.rows[0].id)
