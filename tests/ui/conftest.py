"""UI fixtures: the demo database built once per run, copied for each test, and windows
signed in as the demo's people."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.demo import build_demo
from ids_app.migrations.schema import prepare_database
from ids_app.ui.main_window import MainWindow
from ids_app.ui.settings import AppSettings
from ids_app.ui.tasks import stop_tasks
from ids_app.users import services
from ids_app.users.models import User

PASSWORDS = {
    "admin": "demo-admin",
    "tech": "demo-tech",
    "pharm": "demo-pharm",
    "pharm2": "demo-pharm2",
    "monitor": "demo-monitor",
}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once (a few seconds) and copied for every test."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    build_demo(db)
    db.dispose()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    database = Database(sqlite_url(path))
    yield database
    database.dispose()


def sign_in(db: Database, username: str) -> User:
    with db.unit_of_work() as session:
        return services.sign_in(session, username, PASSWORDS[username])


WindowOpener = Callable[[str], MainWindow]


@pytest.fixture(autouse=True)
def no_key_held_over(qapp: QApplication) -> None:
    """Every test starts with no Shift, Ctrl or Alt held.

    A shortcut that closes its window (Ctrl+Shift+O signs out) never delivers its key
    release, and Qt then believes the key still held: the next test's ``selectRow`` would
    toggle or extend a selection instead of making one. The held keys are released on a
    widget of their own before the test begins.
    """
    held = QApplication.keyboardModifiers()
    if held == Qt.KeyboardModifier.NoModifier:
        return
    probe = QWidget()
    for modifier, key in (
        (Qt.KeyboardModifier.ShiftModifier, Qt.Key.Key_Shift),
        (Qt.KeyboardModifier.ControlModifier, Qt.Key.Key_Control),
        (Qt.KeyboardModifier.AltModifier, Qt.Key.Key_Alt),
        (Qt.KeyboardModifier.MetaModifier, Qt.Key.Key_Meta),
    ):
        if held & modifier:
            QTest.keyRelease(probe, key)
    probe.deleteLater()
    assert QApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier


@pytest.fixture
def open_window(qtbot: QtBot, demo_db: Database) -> Iterator[WindowOpener]:
    """Open the main window signed in as a demo user; closed (signed out) afterwards."""
    windows: list[MainWindow] = []

    def opener(username: str) -> MainWindow:
        window = MainWindow(demo_db, sign_in(demo_db, username), settings=AppSettings())
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=30_000)
        windows.append(window)
        return window

    yield opener
    for window in windows:
        window.close()


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person could read in ``root`` and its visible children: labels,
    fields, buttons, tooltips, combo items, list items, group titles and table cells."""
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QListWidget,
        QPlainTextEdit,
    )

    from ids_app.ui.table_models import RowsModel

    texts: list[str] = [root.windowTitle(), root.toolTip()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        elif isinstance(widget, QPlainTextEdit):
            texts.append(widget.toPlainText())
        elif isinstance(widget, QComboBox):
            texts.extend(widget.itemText(i) for i in range(widget.count()))
        elif isinstance(widget, QGroupBox):
            texts.append(widget.title())
        elif isinstance(widget, QListWidget):
            for row in range(widget.count()):
                texts.extend((widget.item(row).text(), widget.item(row).toolTip()))
        if isinstance(widget, QAbstractItemView):
            model = widget.model()
            if isinstance(model, RowsModel):
                texts.extend(model.all_texts())
    return [text for text in texts if text]


@pytest.fixture(autouse=True)
def no_job_outlives_its_test() -> Iterator[None]:
    """Stop the background-job runner after each test: a job of one test can never answer
    into the next, and the garbage collector is back on for tests without a window."""
    yield
    stop_tasks()
