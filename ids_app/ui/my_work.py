"""My work: the day's list for the signed-in user, across every study.

What is on it, and for whom, is read by ``ids_app.work.day_list``; this page shows it as
one table, grouped by kind in the order the service gives, and opens the place an item is
done in with Enter (or a double click). The list takes the focus whenever the page is shown,
so Ctrl+1 then Enter opens the first thing waiting.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.ui.context import Workspace
from ids_app.ui.forms import heading_label, hint_label
from ids_app.ui.table_models import ROW_ROLE, Column, RowsModel, fit_columns, table_view
from ids_app.ui.workspace import scrolling
from ids_app.users.models import Role, User
from ids_app.work.day_list import WorkItem, WorkKind, WorkQueue, day_list, kinds_for

# The colour each kind of item is given (ui.style's row statuses).
KIND_COLOURS = {"to_pull": "expired", "holds": "quarantined", "discrepancies": "expiring"}


def _colour(item: WorkItem) -> str | None:
    if not item.ready:
        return None
    return KIND_COLOURS.get(item.kind, "waiting")


class MyWorkPage(QWidget):
    """The landing page after sign-in."""

    open_item = Signal(object)  # the WorkItem to open where it is done

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("myWorkPage")
        user = ws.user
        self.kinds: dict[str, WorkKind] = {kind.key: kind for kind in kinds_for(user)}
        self.queues: list[WorkQueue] = []
        self.welcome_label = heading_label(f"Welcome, {user.full_name}", scale=1.5)
        self.role_label = hint_label(self._role_hint(user))
        self.summary_label = QLabel()
        self.summary_label.setObjectName("workSummary")
        self.summary_label.setWordWrap(True)
        self.model: RowsModel[WorkItem] = RowsModel(
            [
                Column("To do", lambda item: self.kinds[item.kind].title),
                Column("Study", lambda item: item.protocol_number or "all studies"),
                Column("What", lambda item: item.what, tooltip=lambda item: item.what),
                Column("When", lambda item: item.when),
                Column("Note", lambda item: item.note, tooltip=lambda item: item.note or None),
            ],
            status=_colour,
            parent=self,
        )
        self.view = table_view(self.model, name="myWorkTable")
        self.view.setAccessibleName("Your work today; Enter opens the item")
        self.view.activated.connect(self._activated)
        self.empty_label = hint_label("")
        self.empty_label.setObjectName("workEmpty")

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(self.welcome_label)
        layout.addWidget(self.role_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(hint_label("Enter (or a double click) opens the item where it is done."))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolling(inner))
        self.setFocusProxy(self.view)

    @staticmethod
    def _role_hint(user: User) -> str:
        return {
            Role.PHARMACIST: "Pharmacist: you verify dispenses you did not prepare, decide on "
            "held stock with the sponsor's ruling and resolve count discrepancies.",
            Role.TECHNICIAN: "Technician: you prepare orders, read the fridges, pull stock past "
            "use, count returns, receive shipments and move stock.",
            Role.MONITOR: "Monitor: you review the records read-only and verify returns with "
            "your signature.",
            Role.ADMINISTRATOR: "Administrator: user accounts are managed with `ids-app users`; "
            "the screens show the records read-only except receiving.",
        }[user.role]

    def items(self, kind: str) -> list[WorkItem]:
        """The items of one kind on the list now."""
        return [item for item in self.model.rows if item.kind == kind]

    def reload(self) -> None:
        user, day = self.ws.user, today()

        def read(session: Session) -> list[WorkQueue]:
            return day_list(session, user, day)

        queues = self.ws.read(self, "reading your work", read)
        if queues is None:
            return
        self.queues = queues
        self.model.set_rows([item for queue in queues for item in queue.items])
        fit_columns(self.view)
        waiting = self.model.rowCount()
        counts = [f"{queue.kind.title} ({len(queue.items)})" for queue in queues if queue.items]
        self.summary_label.setText(
            "Nothing waits for you."
            if waiting == 0
            else f"{waiting} item{'s wait' if waiting != 1 else ' waits'} for you: "
            + ", ".join(counts)
            + "."
        )
        self.empty_label.setText(" ".join(queue.kind.empty for queue in queues if not queue.items))
        self.view.setVisible(waiting > 0)
        if waiting and not self.view.selectionModel().hasSelection():
            self.view.selectRow(0)

    def take_focus(self) -> None:
        """Put the cursor on the list (the first item chosen), ready for Enter."""
        if self.model.rowCount():
            if not self.view.selectionModel().hasSelection():
                self.view.selectRow(0)
            self.view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _activated(self, index: QModelIndex) -> None:
        item = self.model.data(index, ROW_ROLE)
        if isinstance(item, WorkItem):
            self.open_item.emit(item)
