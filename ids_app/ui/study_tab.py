"""The base of a study workspace tab: it re-reads its records when shown after a change."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from ids_app.studies.views import StudyRow
from ids_app.ui.context import Workspace


class StudyTab(QWidget):
    """A tab of one study. Subclasses fill :meth:`reload` (read and show the records)."""

    key = ""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.study: StudyRow | None = None
        self.show_arms = False
        self._stale = True
        ws.records_changed.connect(self.mark_stale)

    def set_study(self, study: StudyRow, show_arms: bool) -> None:
        self.study = study
        self.show_arms = show_arms
        self.study_changed()
        self.mark_stale()

    def study_changed(self) -> None:
        """A new study is shown: clear what belonged to the last one (forms, selections)."""

    def mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        if self.study is None:
            return
        self._stale = False
        self.reload()

    def reload(self) -> None:
        raise NotImplementedError

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def select_record(self, record_id: int) -> None:
        """Show one record of this tab (an order, a return…) chosen elsewhere."""

    def focus_scan(self) -> bool:
        """Put the cursor in this tab's scan field; False when it has none."""
        return False
