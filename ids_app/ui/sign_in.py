"""Who is at the workstation: first administrator, sign-in and password change.

Each dialog only collects what is typed and calls one service in one unit of work;
the service decides, and its refusal is shown as it is worded.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QMessageBox, QWidget
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.audit.anchors import sign_in_anchoring_the_day
from ids_app.db import Database
from ids_app.errors import IdsError, NotFound
from ids_app.ui.forms import FormDialog, explain, password_field
from ids_app.users import services
from ids_app.users.models import User

PASSWORDS_DIFFER = "The two passwords differ."


class SignInDialog(FormDialog):
    """User name and password; a failed attempt is recorded by the service."""

    def __init__(self, db: Database, *, username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="Sign in — IDS Accountability",
            heading="Sign in to IDS Accountability",
            intro=f"Records are kept in {db.description}.",
            accept_text="Sign in",
            reject_text="Quit",
            parent=parent,
        )
        self.signed_in_user: User | None = None
        self.username_field = QLineEdit(username)
        self.username_field.setObjectName("username")
        self.password_field = password_field()
        self.password_field.setObjectName("password")
        self.form.addRow("User name", self.username_field)
        self.form.addRow("Password", self.password_field)
        (self.password_field if username else self.username_field).setFocus()

    def accept(self) -> None:
        try:
            signed_in = sign_in_anchoring_the_day(
                self.db, self.username_field.text(), self.password_field.text()
            )
        except (IdsError, SaDatabaseError) as error:
            self.password_field.clear()
            self.show_error(explain(self.db, error))
            self.password_field.setFocus()
            return
        if signed_in.anchor_problem is not None:
            QMessageBox.warning(self, "Anchor log not written", str(signed_in.anchor_problem))
        self.signed_in_user = signed_in.user
        self.clear_error()
        super().accept()


class FirstAdministratorDialog(FormDialog):
    """The first run: a database with no users gets its administrator."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="First run — IDS Accountability",
            heading="Create the first administrator",
            intro=(
                f"{db.description.capitalize()} has no users yet. The administrator adds "
                "the other users, resets their passwords and unlocks their accounts."
            ),
            accept_text="Create administrator",
            reject_text="Quit",
            parent=parent,
        )
        self.created_user: User | None = None
        self.username_field = QLineEdit()
        self.username_field.setObjectName("username")
        self.full_name_field = QLineEdit()
        self.full_name_field.setObjectName("full_name")
        self.full_name_field.setPlaceholderText("As printed with your signatures")
        self.password_field = password_field()
        self.password_field.setObjectName("password")
        self.confirm_field = password_field()
        self.confirm_field.setObjectName("confirm")
        self.form.addRow("User name", self.username_field)
        self.form.addRow("Full name", self.full_name_field)
        self.form.addRow("Password", self.password_field)
        self.form.addRow("Password again", self.confirm_field)
        self.username_field.setFocus()

    def accept(self) -> None:
        # Only a typing slip is caught here; every rule on the account is the service's.
        if self.password_field.text() != self.confirm_field.text():
            self.show_error(PASSWORDS_DIFFER)
            self.confirm_field.clear()
            self.confirm_field.setFocus()
            return
        try:
            with self.db.unit_of_work() as session:
                user = services.create_first_administrator(
                    session,
                    self.username_field.text(),
                    self.full_name_field.text(),
                    self.password_field.text(),
                )
        except (IdsError, SaDatabaseError) as error:
            self.show_error(explain(self.db, error))
            return
        self.created_user = user
        self.clear_error()
        super().accept()


class ChangePasswordDialog(FormDialog):
    """The user's own password change, required after a reset or chosen from the menu."""

    def __init__(
        self, db: Database, user: User, *, required: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            db,
            title="Change password — IDS Accountability",
            heading="Choose a new password" if required else "Change your password",
            intro=(
                f"{user.full_name}, your password was set by an administrator. Choose your "
                "own before you go on; only you should know it."
                if required
                else "Type your current password, then the new one twice."
            ),
            accept_text="Change password",
            reject_text="Sign out" if required else "Cancel",
            parent=parent,
        )
        self.user = user
        self.required = required
        self.current_field = password_field()
        self.current_field.setObjectName("current")
        self.new_field = password_field()
        self.new_field.setObjectName("new")
        self.confirm_field = password_field()
        self.confirm_field.setObjectName("confirm")
        self.form.addRow("Current password", self.current_field)
        self.form.addRow("New password", self.new_field)
        self.form.addRow("New password again", self.confirm_field)
        self.current_field.setFocus()

    def accept(self) -> None:
        if self.new_field.text() != self.confirm_field.text():
            self.show_error(PASSWORDS_DIFFER)
            self.confirm_field.clear()
            self.confirm_field.setFocus()
            return
        try:
            with self.db.unit_of_work() as session:
                # The signed-in user came from an earlier, closed session.
                user = session.get(User, self.user.id)
                if user is None:
                    raise NotFound("Your account is no longer in this database.")
                user = services.change_password(
                    session, user, self.current_field.text(), self.new_field.text()
                )
        except (IdsError, SaDatabaseError) as error:
            for field in (self.current_field, self.new_field, self.confirm_field):
                field.clear()
            self.show_error(explain(self.db, error))
            self.current_field.setFocus()
            return
        self.user = user
        self.clear_error()
        super().accept()


def sign_out(db: Database, user: User, parent: QWidget | None = None) -> None:
    """Put the sign-out on record; if the database refuses, say so and sign out anyway.

    Keeping the person at the workstation signed in because a write failed would be
    worse than a missing sign-out entry.
    """
    try:
        with db.unit_of_work() as session:
            services.sign_out(session, user)
    except (IdsError, SaDatabaseError) as error:
        QMessageBox.warning(
            parent,
            "Sign-out not recorded",
            f"The sign-out could not be recorded: {explain(db, error)}",
        )
