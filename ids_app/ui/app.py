"""Starting the desktop app and walking the person to the main window.

First run (no users) → create the administrator → sign in → change a temporary
password if one is due → main window; signing out comes back to the sign-in dialog.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog

from ids_app.db import Database
from ids_app.ui.sign_in import (
    ChangePasswordDialog,
    FirstAdministratorDialog,
    SignInDialog,
    sign_out,
)
from ids_app.ui.style import apply_style, prepare_high_dpi
from ids_app.users.models import User
from ids_app.users.services import needs_first_administrator

if TYPE_CHECKING:
    from ids_app.ui.main_window import MainWindow

APP_TITLE = "IDS Accountability"
# Long enough for the sign-in dialog to be painted and focused; far shorter than typing.
PRELOAD_AFTER_MS = 300


def _load_main_window() -> None:
    importlib.import_module("ids_app.ui.main_window")


class Shell(QObject):
    """Decides which window comes next; ``finished`` means the person quit.

    Every window is opened without blocking, so the same flow runs under
    ``app.exec()`` and under tests that click through it.
    """

    finished = Signal()

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.dialog: QDialog | None = None
        self.main_window: MainWindow | None = None

    def start(self) -> None:
        with self.db.read_session() as session:
            first_run = needs_first_administrator(session)
        if first_run:
            dialog = FirstAdministratorDialog(self.db)
            dialog.accepted.connect(lambda: self._administrator_created(dialog))
            self._show(dialog)
        else:
            self.show_sign_in()
        # The main window's modules load while the person types their password, not after.
        QTimer.singleShot(PRELOAD_AFTER_MS, _load_main_window)

    def show_sign_in(self, username: str = "") -> None:
        dialog = SignInDialog(self.db, username=username)
        dialog.accepted.connect(lambda: self._signed_in(dialog))
        self._show(dialog)

    def _show(self, dialog: QDialog, on_reject: Callable[[], None] | None = None) -> None:
        dialog.rejected.connect(on_reject or self.finished.emit)
        # ``finished`` comes after accepted/rejected, once the next window is chosen.
        dialog.finished.connect(lambda: self._forget(dialog))
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _forget(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _administrator_created(self, dialog: FirstAdministratorDialog) -> None:
        user = dialog.created_user
        self.show_sign_in(user.username if user is not None else "")

    def _signed_in(self, dialog: SignInDialog) -> None:
        user = dialog.signed_in_user
        if user is None:
            self.show_sign_in()
        elif user.must_change_password:
            self._require_new_password(user)
        else:
            self._show_main_window(user)

    def _require_new_password(self, user: User) -> None:
        dialog = ChangePasswordDialog(self.db, user, required=True)
        dialog.accepted.connect(lambda: self._show_main_window(dialog.user))
        # Declining the change is signing out: nobody works on a temporary password.
        self._show(dialog, on_reject=lambda: self._declined_new_password(user))

    def _declined_new_password(self, user: User) -> None:
        sign_out(self.db, user)
        self.show_sign_in()

    def _show_main_window(self, user: User) -> None:
        # Imported once someone has signed in: its tabs, reports and exports are half a
        # second of imports the sign-in dialog does not need.
        from ids_app.ui.main_window import MainWindow

        window = MainWindow(self.db, user)
        window.signed_out.connect(lambda: self._main_window_signed_out(window))
        window.quit_requested.connect(self.finished.emit)
        self.main_window = window
        window.show()

    def _main_window_signed_out(self, window: MainWindow) -> None:
        window.deleteLater()
        self.main_window = None
        self.show_sign_in()


def run_app(db: Database) -> int:
    """Show the first window and run Qt's event loop until the person quits."""
    existing = QApplication.instance()
    if existing is None:
        prepare_high_dpi()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    apply_style(app)
    app.setApplicationName(APP_TITLE)
    app.setOrganizationName(APP_TITLE)
    # Between two windows (sign-in → main window) none is shown; the shell says when to quit.
    app.setQuitOnLastWindowClosed(False)
    shell = Shell(db)
    shell.finished.connect(app.quit)
    shell.start()
    return int(app.exec())
