"""The base of a study workspace tab: it re-reads its records when shown after a change."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFormLayout, QWidget

from ids_app.studies.blinding import NO_MASK, ArmMask, arm_mask_of
from ids_app.studies.views import StudyRow
from ids_app.ui.blinding_warning import BlindingWarning, TypedField, warn_beside
from ids_app.ui.context import Workspace


class StudyTab(QWidget):
    """A tab of one study. Subclasses fill :meth:`reload` (read and show the records)."""

    key = ""

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.study: StudyRow | None = None
        self.show_arms = False
        # What a reader blinded on the study would see masked, for warnings as people type.
        self.arm_mask: ArmMask = NO_MASK
        self._warnings: list[BlindingWarning] = []
        self._stale = True
        ws.records_changed.connect(self.mark_stale)

    def warn_as_typed(self, form: QFormLayout, *fields: TypedField) -> None:
        """Warn beside each free-text field when what is typed names an arm of the study."""
        self._warnings += [warn_beside(form, field, self.arm_mask) for field in fields]

    def watch_typed(self, field: TypedField) -> BlindingWarning:
        """The warning for a field outside a form; the caller places it."""
        warning = BlindingWarning(field)
        self._warnings.append(warning)
        return warning

    def set_study(self, study: StudyRow, show_arms: bool) -> None:
        self.study = study
        self.show_arms = show_arms
        self.arm_mask = NO_MASK
        if study.is_blinded:
            study_id = study.id
            mask = self.ws.read(
                self, "reading the study's arms", lambda s: arm_mask_of(s, study_id)
            )
            self.arm_mask = mask or NO_MASK
        for warning in self._warnings:
            warning.set_mask(self.arm_mask)
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

    def select_work(self, record: str, record_id: int) -> None:
        """Show what a My work item points at; ``record`` names what ``record_id`` is
        ("order", "return", "hold"…). Most tabs list one kind of record."""
        if record_id:
            self.select_record(record_id)

    def focus_scan(self) -> bool:
        """Put the cursor in this tab's scan field; False when it has none."""
        return False

    def take_focus(self) -> None:
        """The cursor goes where work starts: the scan field, else the first field that
        takes it (the tab was opened from the keyboard; focus must not stay behind)."""
        if self.focus_scan():
            return
        widget = self.nextInFocusChain()
        while widget is not None and widget is not self:
            if (
                self.isAncestorOf(widget)
                and widget.isVisible()
                and widget.isEnabled()
                and widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            ):
                widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return
            widget = widget.nextInFocusChain()
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
