"""The main window: who is signed in, to which database, and the File and Help menus.

The studies, inventory and dispensing screens will fill the central area; for now it
holds a placeholder so the shell can be tried end to end.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from ids_app import __version__
from ids_app.db import Database
from ids_app.ui.forms import heading_label, hint_label
from ids_app.ui.sign_in import ChangePasswordDialog, sign_out
from ids_app.users.models import User

APP_TITLE = "IDS Accountability"
PLACEHOLDER_TEXT = "Studies, inventory and dispensing screens arrive with the desktop issue."


class MainWindow(QMainWindow):
    """One signed-in person's window; it always ends with a recorded sign-out.

    ``signed_out`` asks the shell for the next sign-in; ``quit_requested`` ends the app.
    """

    signed_out = Signal()
    quit_requested = Signal()

    def __init__(self, db: Database, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.change_password_dialog: ChangePasswordDialog | None = None
        self._session_open = True
        self._switching_user = False

        self.setWindowTitle(f"{APP_TITLE} — {db.description}")
        self.resize(900, 600)
        self._build_menus()
        self._build_central()

        self.signed_in_label = QLabel(f"Signed in as {user.full_name} ({user.role.label})")
        self.signed_in_label.setContentsMargins(8, 2, 8, 2)
        self.statusBar().addWidget(self.signed_in_label)

    def _build_menus(self) -> None:
        self.file_menu = self.menuBar().addMenu("&File")
        self.change_password_action = QAction("Change password…", self)
        self.change_password_action.triggered.connect(self.open_change_password)
        self.sign_out_action = QAction("Sign out", self)
        self.sign_out_action.triggered.connect(self.sign_out)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.file_menu.addAction(self.change_password_action)
        self.file_menu.addAction(self.sign_out_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.quit_action)

        self.help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction(f"About {APP_TITLE}", self)
        self.about_action.triggered.connect(self.show_about)
        self.help_menu.addAction(self.about_action)

    def _build_central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.setSpacing(12)
        layout.addStretch(1)
        self.welcome_label = heading_label(f"Welcome, {self.user.full_name}", scale=1.6)
        self.welcome_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label = hint_label(PLACEHOLDER_TEXT)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.welcome_label)
        layout.addWidget(self.placeholder_label)
        layout.addStretch(2)
        self.setCentralWidget(central)

    def open_change_password(self) -> None:
        dialog = ChangePasswordDialog(self.db, self.user, required=False, parent=self)
        dialog.accepted.connect(lambda: self._password_changed(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.change_password_dialog = dialog
        dialog.open()

    def _password_changed(self, dialog: ChangePasswordDialog) -> None:
        self.user = dialog.user
        self.statusBar().showMessage("Your password was changed.", 5000)

    def sign_out(self) -> None:
        """Record the sign-out and hand the workstation back to the sign-in dialog."""
        self._switching_user = True
        self.close()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<b>{APP_TITLE}</b> {__version__}<p>Drug accountability for an "
            "Investigational Drug Service: ledger, signatures, audit trail, binders.</p>",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._session_open:
            self._session_open = False
            sign_out(self.db, self.user, self)
            if self._switching_user:
                self.signed_out.emit()
            else:
                self.quit_requested.emit()
        event.accept()
