"""One study's workspace: a list of its workflows on the left, the chosen one beside it.

A list, not a row of tabs: thirteen workflows do not fit across a 1280-pixel window, and a
column keeps every one in sight, names the open study above them (a technician must never
wonder which protocol a dispense goes to), and is walked with the arrow keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
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


def scrolling(page: QWidget) -> QScrollArea:
    """A page that scrolls when the window is smaller than it needs (1280x720 at 200 %
    scale), instead of holding the whole window at its own minimum size: a stack of
    pages is as large as its largest page's minimum."""
    area = QScrollArea()
    area.setObjectName(f"{page.objectName() or 'page'}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(page)
    area.setFocusProxy(page)
    return area


@dataclass(frozen=True)
class Section:
    """A workflow of the workspace: its key, its title, and how to build its screen."""

    key: str
    title: str
    make: Callable[[], StudyTab]


# Room for the icon and either side of the longest workflow name in the list.
LIST_PADDING = 72
ICON_SIZE = 18


class StudyWorkspace(QWidget):
    """The workflows of the open study, one shown at a time.

    Each section's screen is built the first time it is shown (``tab``), not with the
    main window: building and styling all thirteen took ~0.3 s of every sign-in.
    ``built`` is told of each one as it is made.
    """

    def __init__(
        self,
        ws: Workspace,
        sections: list[Section],
        shortcuts: dict[str, str] | None = None,
        built: Callable[[StudyTab], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("studyWorkspace")
        self.study: StudyRow | None = None
        self.show_arms = False
        self.by_key: dict[str, StudyTab] = {}  # the sections built so far
        self.keys = [section.key for section in sections]
        self._makers = {section.key: section.make for section in sections}
        self._built = built

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
        for section in sections:
            item = QListWidgetItem(workflow_icon(section.key), section.title)
            item.setData(KEY_ROLE, section.key)
            if section.key in shortcuts:
                item.setToolTip(f"{section.title} ({shortcuts[section.key]})")
            self.sections.addItem(item)
            self.pages.addWidget(QWidget())  # stands in until the section is first shown
        self.sections.currentRowChanged.connect(lambda row: self._show_row(row))
        metrics = self.sections.fontMetrics()
        widest = max((metrics.horizontalAdvance(s.title) for s in sections), default=80)
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
        self.sections.setCurrentRow(0)

    def tab(self, key: str) -> StudyTab:
        """The section's screen, built (and given the open study) the first time it is asked
        for."""
        found = self.by_key.get(key)
        if found is not None:
            return found
        tab = self._makers[key]()
        index = self.keys.index(key)
        stand_in = self.pages.widget(index)
        showing = self.pages.currentIndex() == index
        self.pages.insertWidget(index, scrolling(tab))
        if stand_in is not None:
            self.pages.removeWidget(stand_in)
            stand_in.deleteLater()
        if showing:
            self.pages.setCurrentIndex(index)
        self.by_key[key] = tab
        if self._built is not None:
            self._built(tab)
        if self.study is not None:
            tab.set_study(self.study, self.show_arms)
        return tab

    def open_study(self, study_id: int) -> bool:
        user = self.ws.user

        def read(session: Session) -> tuple[StudyRow, bool]:
            return study_row(session, study_id, user), shows_arms(session, user, study_id)

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
        if key not in self._makers:
            return None
        self.sections.setCurrentRow(self.keys.index(key))
        return self.tab(key)

    def current_tab(self) -> StudyTab | None:
        widget = self.pages.currentWidget()
        if isinstance(widget, QScrollArea):
            widget = widget.widget()
        return widget if isinstance(widget, StudyTab) else None

    def section_titles(self) -> list[str]:
        return [self.sections.item(row).text() for row in range(self.sections.count())]

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(self.keys):
            self.tab(self.keys[row])
            self.pages.setCurrentIndex(row)
