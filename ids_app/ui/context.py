"""What every screen of one signed-in window shares: the database, the user, the settings,
and the news that records changed (so other screens re-read them when next shown)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from ids_app.db import Database
from ids_app.ui.actions import can
from ids_app.ui.guard import attempt
from ids_app.ui.settings import AppSettings
from ids_app.users.models import User

T = TypeVar("T")


class Workspace(QObject):
    records_changed = Signal()
    message = Signal(str)
    open_study_requested = Signal(int, str)  # study id, tab key

    def __init__(
        self, db: Database, user: User, settings: AppSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.settings = settings

    def can(self, permission: str) -> bool:
        return can(self.user, permission)

    def read(self, parent: QWidget, doing: str, reader: Callable[..., T]) -> T | None:
        """Run ``reader(session)`` in a read session; a failure is shown, never raised."""

        def run() -> T:
            with self.db.reading() as session:
                return reader(session)

        return attempt(parent, self.db, doing, run)

    def changed(self, message: str = "") -> None:
        """An action succeeded: say so and let every screen re-read what it shows."""
        if message:
            self.message.emit(message)
        self.records_changed.emit()
