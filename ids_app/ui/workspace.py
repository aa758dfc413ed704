"""One study's workspace: a list of its workflows on the left, the chosen one beside it.

A list, not a row of tabs: thirteen workflows do not fit across a 1280-pixel window, and a
column keeps every one in sight, names the open study above them (a technician must never
wonder which protocol a dispense goes to), and is walked with the arrow keys.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.studies.views import StudyRow, shows_arms, study_row
from ids_app.ui.context import Workspace
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.style import workflow_icon

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
# Room for the icon and either side of the longest workflow name in the list.
LIST_PADDING = 72
ICON_SIZE = 18


class StudyWorkspace(QWidget):
    """The workflows of the open study, one shown at a time."""

    def __init__(
        self,
        ws: Workspace,
        tabs: list[tuple[str, StudyTab]],
        shortcuts: dict[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("studyWorkspace")
        self.study: StudyRow | None = None
        self.show_arms = False
        self.by_key: dict[str, StudyTab] = {}

        self.study_name = QLabel()
        self.study_name.setObjectName("workspaceStudy")
        self.study_name.setWordWrap(True)
        self.sections = QListWidget()
        self.sections.setObjectName("studySections")
        self.sections.setAccessibleName("Workflows of this study")
        self.sections.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sections.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sections.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.pages = QStackedWidget()
        self.pages.setObjectName("studyPages")
        shortcuts = shortcuts or {}
        for title, tab in tabs:
            item = QListWidgetItem(workflow_icon(tab.key), title)
            item.setData(KEY_ROLE, tab.key)
            if tab.key in shortcuts:
                item.setToolTip(f"{title} ({shortcuts[tab.key]})")
            self.sections.addItem(item)
            self.pages.addWidget(tab)
            self.by_key[tab.key] = tab
        self.sections.currentRowChanged.connect(self.pages.setCurrentIndex)
        self.sections.setCurrentRow(0)
        metrics = self.sections.fontMetrics()
        widest = max((metrics.horizontalAdvance(title) for title, _tab in tabs), default=80)
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.study_name)
        column.addWidget(self.sections, 1)
        column_widget = QWidget()
        column_widget.setObjectName("studySectionColumn")
        column_widget.setLayout(column)
        column_widget.setFixedWidth(widest + LIST_PADDING)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(column_widget)
        layout.addWidget(self.pages, 1)

    def open_study(self, study_id: int) -> bool:
        user = self.ws.user

        def read(session: Session) -> tuple[StudyRow, bool]:
            return study_row(session, study_id), shows_arms(session, user, study_id)

        found = self.ws.read(self, "opening the study", read)
        if found is None:
            return False
        self.study, self.show_arms = found
        self.study_name.setText(self.study.protocol_number)
        self.study_name.setToolTip(self.study.title)
        for tab in self.by_key.values():
            tab.set_study(self.study, self.show_arms)
        return True

    def show_tab(self, key: str) -> StudyTab | None:
        tab = self.by_key.get(key)
        if tab is not None:
            self.sections.setCurrentRow(self.pages.indexOf(tab))
        return tab

    def current_tab(self) -> StudyTab | None:
        widget = self.pages.currentWidget()
        return widget if isinstance(widget, StudyTab) else None

    def section_titles(self) -> list[str]:
        return [self.sections.item(row).text() for row in range(self.sections.count())]
