"""One study's workspace: a tab per workflow, all looking at the same study."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget
from sqlalchemy.orm import Session

from ids_app.ui.context import Workspace
from ids_app.ui.queries import StudyRow, shows_arms, study_row
from ids_app.ui.study_tab import StudyTab


class StudyWorkspace(QWidget):
    def __init__(
        self, ws: Workspace, tabs: list[tuple[str, StudyTab]], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("studyWorkspace")
        self.study: StudyRow | None = None
        self.show_arms = False
        self.tabs = QTabWidget()
        self.tabs.setObjectName("studyTabs")
        self.tabs.setDocumentMode(False)
        self.by_key: dict[str, StudyTab] = {}
        for title, tab in tabs:
            self.tabs.addTab(tab, title)
            self.by_key[tab.key] = tab
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def open_study(self, study_id: int) -> bool:
        user = self.ws.user

        def read(session: Session) -> tuple[StudyRow, bool]:
            return study_row(session, study_id), shows_arms(session, user, study_id)

        found = self.ws.read(self, "opening the study", read)
        if found is None:
            return False
        self.study, self.show_arms = found
        for tab in self.by_key.values():
            tab.set_study(self.study, self.show_arms)
        return True

    def show_tab(self, key: str) -> StudyTab | None:
        tab = self.by_key.get(key)
        if tab is not None:
            self.tabs.setCurrentWidget(tab)
        return tab

    def current_tab(self) -> StudyTab | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, StudyTab) else None
