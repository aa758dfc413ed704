"""The idle lock: after some minutes without input the window hides its records and asks
for the signed-in user's password; what was on screen is kept, untouched, behind it.

Access is limited to the signed-in person (21 CFR 11.10(d)); a wrong password is refused
and kept on record like any other (11.300) and counts toward the lock-out.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ids_app.db import Database
from ids_app.ui.forms import InlineMessage, heading_label, hint_label, password_field
from ids_app.ui.guard import attempt
from ids_app.users import services
from ids_app.users.models import User

INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


class IdleWatcher(QObject):
    """Emits ``idle`` after ``interval_ms`` without keyboard or mouse input anywhere."""

    idle = Signal()

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.idle.emit)
        self._installed = False
        self.set_interval(interval_ms)

    def set_interval(self, interval_ms: int) -> None:
        """0 turns the lock off."""
        self.interval_ms = interval_ms
        if interval_ms > 0:
            self.timer.setInterval(interval_ms)
            if self._installed:
                self.timer.start()
        else:
            self.timer.stop()

    def start(self) -> None:
        app = QApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True
        if self.interval_ms > 0:
            self.timer.start()

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
            self._installed = False
        self.timer.stop()

    def pause(self) -> None:
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in INPUT_EVENTS and self.interval_ms > 0 and self.timer.isActive():
            self.timer.start()
        return False


class LockScreen(QFrame):
    """What a locked window shows: whose session it is, a password field, unlock or sign out."""

    unlocked = Signal()
    sign_out_requested = Signal()

    def __init__(self, db: Database, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.setObjectName("lockScreen")
        card = QFrame()
        card.setObjectName("card")
        card.setMaximumWidth(480)
        self.heading = heading_label("This window is locked")
        self.note = hint_label("")
        self.password_field = password_field()
        self.password_field.setObjectName("unlockPassword")
        self.password_field.returnPressed.connect(self.unlock)
        self.message = InlineMessage("unlockError")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("unlockButton")
        self.unlock_button.setProperty("primary", True)
        self.unlock_button.clicked.connect(self.unlock)
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setObjectName("lockSignOut")
        self.sign_out_button.clicked.connect(self.sign_out_requested.emit)
        caption = QLabel("&Password")
        caption.setBuddy(self.password_field)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        buttons.addWidget(self.unlock_button)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(10)
        inner.addWidget(self.heading)
        inner.addWidget(self.note)
        inner.addWidget(caption)
        inner.addWidget(self.password_field)
        inner.addWidget(self.message)
        inner.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

    def prepare(self, reason: str) -> None:
        self.note.setText(
            f"{reason} It is {self.user.full_name}'s session ({self.user.username}); type "
            "your password to go on where you left off. Anyone else: sign out (what was "
            "typed and not recorded is then lost)."
        )
        self.password_field.clear()
        self.message.clear_message()
        self.password_field.setFocus(Qt.FocusReason.OtherFocusReason)

    def unlock(self) -> None:
        password = self.password_field.text()
        username = self.user.username

        def check() -> bool:
            with self.db.unit_of_work() as session:
                services.authenticate(session, username, password, when="unlock")
            return True

        self.message.clear_message()
        if attempt(self, self.db, "unlocking", check, show_refusal=self._refused):
            self.password_field.clear()
            self.unlocked.emit()

    def _refused(self, message: str) -> None:
        self.password_field.clear()
        self.message.show_error(message)
        self.password_field.setFocus()
