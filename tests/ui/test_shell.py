"""The Qt shell, driven through its real widgets offscreen, against a migrated database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.ui.app import Shell, run_app
from ids_app.ui.main_window import MainWindow
from ids_app.ui.sign_in import (
    PASSWORDS_DIFFER,
    ChangePasswordDialog,
    FirstAdministratorDialog,
    SignInDialog,
)
from ids_app.users import services
from ids_app.users.models import Role, User

pytestmark = pytest.mark.gui

ADMIN = ("admin", "Alex Admin", "admin-password")
PHARMACIST = ("pharm", "Jane Roe", "pharm-password")
TEMPORARY = "temporary-1"


def make_administrator(db: Database) -> None:
    with db.unit_of_work() as session:
        services.create_first_administrator(session, *ADMIN)


def make_pharmacist(db: Database) -> None:
    """A pharmacist who has already chosen their own password."""
    make_administrator(db)
    username, full_name, password = PHARMACIST
    with db.unit_of_work() as session:
        admin = services.sign_in(session, ADMIN[0], ADMIN[2])
        services.add_user(session, admin, username, full_name, Role.PHARMACIST, TEMPORARY)
    with db.unit_of_work() as session:
        user = services.sign_in(session, username, TEMPORARY)
        services.change_password(session, user, TEMPORARY, password)


def reset_pharmacist_password(db: Database) -> None:
    with db.unit_of_work() as session:
        admin = services.sign_in(session, ADMIN[0], ADMIN[2])
        services.reset_password(session, admin, PHARMACIST[0], TEMPORARY)


def audit_events(db: Database, username: str) -> list[str]:
    """The events (not row changes) on record for a user name, oldest first."""
    with db.read_session() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(
                    AuditEntry.username == username,
                    AuditEntry.action.not_in(["insert", "update"]),
                )
                .order_by(AuditEntry.id)
            )
        )


def stored_user(db: Database, username: str) -> User:
    with db.read_session() as session:
        return services.get_user(session, username)


@pytest.fixture
def shell(db: Database, qtbot: QtBot) -> Iterator[Shell]:
    shell = Shell(db)
    yield shell
    for widget in (shell.dialog, shell.main_window):
        if widget is not None:
            widget.hide()
            widget.deleteLater()


def sign_in_dialog(shell: Shell) -> SignInDialog:
    assert isinstance(shell.dialog, SignInDialog)
    assert shell.dialog.isVisible()
    return shell.dialog


def sign_in_through(qtbot: QtBot, shell: Shell, username: str, password: str) -> None:
    dialog = sign_in_dialog(shell)
    dialog.username_field.clear()
    qtbot.keyClicks(dialog.username_field, username)
    qtbot.keyClicks(dialog.password_field, password)
    dialog.accept_button.click()


def open_main_window(qtbot: QtBot, shell: Shell) -> MainWindow:
    make_pharmacist(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, PHARMACIST[0], PHARMACIST[2])
    assert shell.main_window is not None
    return shell.main_window


def test_first_run_creates_administrator_then_signs_in(qtbot: QtBot, shell: Shell) -> None:
    shell.start()
    dialog = shell.dialog
    assert isinstance(dialog, FirstAdministratorDialog)
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.username_field, "Admin")
    qtbot.keyClicks(dialog.full_name_field, "Alex Admin")
    qtbot.keyClicks(dialog.password_field, "admin-password")
    qtbot.keyClicks(dialog.confirm_field, "admin-password")
    dialog.accept_button.click()

    assert not dialog.isVisible()
    signing_in = sign_in_dialog(shell)
    assert signing_in.username_field.text() == "admin"
    qtbot.keyClicks(signing_in.password_field, "admin-password")
    signing_in.accept_button.click()

    assert shell.main_window is not None
    assert shell.main_window.isVisible()
    assert stored_user(shell.db, "admin").role is Role.ADMINISTRATOR
    assert audit_events(shell.db, "admin") == ["sign_in"]


def test_first_administrator_passwords_that_differ_create_nobody(
    qtbot: QtBot, shell: Shell
) -> None:
    shell.start()
    dialog = shell.dialog
    assert isinstance(dialog, FirstAdministratorDialog)
    qtbot.keyClicks(dialog.username_field, "admin")
    qtbot.keyClicks(dialog.full_name_field, "Alex Admin")
    qtbot.keyClicks(dialog.password_field, "admin-password")
    qtbot.keyClicks(dialog.confirm_field, "admin-passwort")
    dialog.accept_button.click()

    assert dialog.isVisible()
    assert dialog.error_text == PASSWORDS_DIFFER
    with shell.db.read_session() as session:
        assert services.needs_first_administrator(session)


def test_first_administrator_refusal_is_the_services_sentence(qtbot: QtBot, shell: Shell) -> None:
    shell.start()
    dialog = shell.dialog
    assert isinstance(dialog, FirstAdministratorDialog)
    qtbot.keyClicks(dialog.username_field, "admin")
    qtbot.keyClicks(dialog.password_field, "short")
    qtbot.keyClicks(dialog.confirm_field, "short")
    dialog.accept_button.click()

    assert dialog.isVisible()
    assert dialog.error_text == (
        "Type the person's full name; it is printed with their signatures."
    )
    qtbot.keyClicks(dialog.full_name_field, "Alex Admin")
    dialog.accept_button.click()
    assert dialog.error_text == "A password needs at least 8 characters."


def test_wrong_password_shows_reason_and_keeps_user_name(qtbot: QtBot, shell: Shell) -> None:
    make_pharmacist(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, "pharm", "not-my-password")

    dialog = sign_in_dialog(shell)
    assert "password is wrong" in dialog.error_text
    assert dialog.error_label.isVisible()
    assert dialog.username_field.text() == "pharm"
    assert dialog.password_field.text() == ""
    assert dialog.signed_in_user is None
    assert shell.main_window is None
    assert audit_events(shell.db, "pharm")[-1] == "sign_in_failed"
    assert stored_user(shell.db, "pharm").failed_sign_ins == 1


def test_unknown_user_is_refused_and_recorded(qtbot: QtBot, shell: Shell) -> None:
    make_administrator(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, "nobody", "whatever-1")

    assert sign_in_dialog(shell).error_text == "The user name or password is wrong."
    assert audit_events(shell.db, services.unknown_name("nobody")) == ["sign_in_failed"]
    assert audit_events(shell.db, "nobody") == []  # the typed name is not kept in clear


def test_enter_in_the_password_field_signs_in(qtbot: QtBot, shell: Shell) -> None:
    make_pharmacist(shell.db)
    shell.start()
    dialog = sign_in_dialog(shell)
    qtbot.keyClicks(dialog.username_field, "pharm")
    qtbot.keyClicks(dialog.password_field, PHARMACIST[2])
    qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)

    assert shell.main_window is not None
    assert shell.main_window.user.username == "pharm"


def test_reset_password_must_be_changed_before_main_window(qtbot: QtBot, shell: Shell) -> None:
    make_pharmacist(shell.db)
    reset_pharmacist_password(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, "pharm", TEMPORARY)

    dialog = shell.dialog
    assert isinstance(dialog, ChangePasswordDialog)
    assert dialog.isVisible()
    assert dialog.reject_button.text() == "Sign out"
    assert shell.main_window is None

    qtbot.keyClicks(dialog.current_field, TEMPORARY)
    qtbot.keyClicks(dialog.new_field, "my-own-secret")
    qtbot.keyClicks(dialog.confirm_field, "my-own-secret")
    dialog.accept_button.click()

    assert shell.main_window is not None
    assert shell.main_window.isVisible()
    assert not stored_user(shell.db, "pharm").must_change_password
    assert not shell.main_window.user.must_change_password


def test_new_password_refusal_keeps_the_change_dialog_open(qtbot: QtBot, shell: Shell) -> None:
    make_pharmacist(shell.db)
    reset_pharmacist_password(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, "pharm", TEMPORARY)
    dialog = shell.dialog
    assert isinstance(dialog, ChangePasswordDialog)

    qtbot.keyClicks(dialog.current_field, TEMPORARY)
    qtbot.keyClicks(dialog.new_field, TEMPORARY)
    qtbot.keyClicks(dialog.confirm_field, TEMPORARY)
    dialog.accept_button.click()

    assert dialog.isVisible()
    assert dialog.error_text == "The new password must differ from the current one."
    assert shell.main_window is None
    assert stored_user(shell.db, "pharm").must_change_password


def test_declining_the_new_password_signs_out(qtbot: QtBot, shell: Shell) -> None:
    make_pharmacist(shell.db)
    reset_pharmacist_password(shell.db)
    shell.start()
    sign_in_through(qtbot, shell, "pharm", TEMPORARY)
    dialog = shell.dialog
    assert isinstance(dialog, ChangePasswordDialog)

    dialog.reject_button.click()

    assert shell.main_window is None
    assert sign_in_dialog(shell).username_field.text() == ""
    assert audit_events(shell.db, "pharm")[-2:] == ["sign_in", "sign_out"]


def test_main_window_shows_signed_in_user(qtbot: QtBot, shell: Shell) -> None:
    window = open_main_window(qtbot, shell)

    assert window.isVisible()
    assert shell.dialog is None
    assert window.windowTitle() == f"IDS Accountability — {shell.db.description}"
    assert window.signed_in_label.text() == "Signed in as Jane Roe (Pharmacist)"
    assert window.my_work.welcome_label.text() == "Welcome, Jane Roe"
    assert window.pages.currentWidget() is window.my_work
    assert [action.text() for action in window.menuBar().actions()] == [
        "&File",
        "&View",
        "&Work",
        "&Help",
    ]
    file_items = [action.text() for action in window.file_menu.actions()]
    # Each item has its own Alt key in the menu.
    assert [text for text in file_items if text] == [
        "&Settings…",
        "&Lock the window",
        "&Change password…",
        "Sign &out",
        "&Quit",
    ]


def test_sign_out_is_recorded_and_returns_to_sign_in(qtbot: QtBot, shell: Shell) -> None:
    window = open_main_window(qtbot, shell)
    with qtbot.assertNotEmitted(shell.finished):
        window.sign_out_action.trigger()

    assert not window.isVisible()
    assert shell.main_window is None
    assert sign_in_dialog(shell).username_field.text() == ""
    assert audit_events(shell.db, "pharm")[-2:] == ["sign_in", "sign_out"]


def test_quit_records_sign_out_and_ends_the_app(qtbot: QtBot, shell: Shell) -> None:
    window = open_main_window(qtbot, shell)
    with qtbot.waitSignal(shell.finished, timeout=30_000):
        window.quit_action.trigger()

    assert not window.isVisible()
    assert audit_events(shell.db, "pharm")[-2:] == ["sign_in", "sign_out"]


def test_password_changed_from_the_menu(qtbot: QtBot, shell: Shell) -> None:
    window = open_main_window(qtbot, shell)
    window.change_password_action.trigger()
    dialog = window.change_password_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.reject_button.text() == "Cancel"

    qtbot.keyClicks(dialog.current_field, "wrong-password")
    qtbot.keyClicks(dialog.new_field, "another-secret")
    qtbot.keyClicks(dialog.confirm_field, "another-secret")
    dialog.accept_button.click()
    assert dialog.error_text == "The password is wrong (4 attempts left before the account locks)."
    assert dialog.current_field.text() == ""

    qtbot.keyClicks(dialog.current_field, PHARMACIST[2])
    qtbot.keyClicks(dialog.new_field, "another-secret")
    qtbot.keyClicks(dialog.confirm_field, "another-secret")
    dialog.accept_button.click()

    assert not dialog.isVisible()
    assert window.isVisible()
    with shell.db.read_session() as session:
        services.authenticate(session, "pharm", "another-secret", when="sign_in")


def test_quitting_at_sign_in_ends_the_app(qtbot: QtBot, db: Database) -> None:
    make_administrator(db)
    seen: list[str] = []

    def quit_at_sign_in() -> None:
        dialogs = [
            widget
            for widget in QApplication.topLevelWidgets()
            if isinstance(widget, SignInDialog) and widget.isVisible()
        ]
        seen.extend(dialog.windowTitle() for dialog in dialogs)
        for dialog in dialogs:
            dialog.reject_button.click()
        if not dialogs:
            QApplication.quit()  # never leave the event loop running when the dialog is missing

    QTimer.singleShot(0, quit_at_sign_in)
    assert run_app(db) == 0
    assert seen == ["Sign in — IDS Accountability"]
    assert QApplication.applicationName() == "IDS Accountability"
    assert QApplication.organizationName() == "IDS Accountability"


# A fresh process, as `ids-app gui` starts: open the database, show the sign-in dialog.
SIGN_IN_ONLY = """
import sys
from PySide6.QtWidgets import QApplication
from ids_app.db import Database
from ids_app.migrations.schema import prepare_database
from ids_app.ui.app import Shell

app = QApplication(sys.argv[:1])
db = Database(sys.argv[1])
prepare_database(db)
shell = Shell(db)
shell.start()
print(" ".join(name for name in sys.argv[2:] if name in sys.modules) or "none")
"""


def test_start_to_the_sign_in_dialog_leaves_later_screens_unimported(db: Database) -> None:
    # Half a second of start-up (bench/desktop.py): they load once someone signs in.
    later = ["ids_app.ui.main_window", "alembic", "openpyxl", "weasyprint", "biip"]
    url = db.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-c", SIGN_IN_ONLY, url, *later],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["none"]
