"""A server that is gone: the person is offered to try again, and the form keeps its text."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from ids_app.db import Database
from ids_app.ui.guard import RETRY_TITLE, attempt

pytestmark = pytest.mark.gui


def _unreachable_server() -> Database:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return Database(f"postgresql+psycopg://ids_app@127.0.0.1:{port}/ids")


def _answer_retry_box(choice: str, seen: list[str]) -> Callable[[], None]:
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, answer)
            return
        seen.append(box.windowTitle())
        next(b for b in box.buttons() if b.text() == choice).click()

    return answer


def test_lost_server_offers_retry_and_keeps_what_was_typed(qtbot: QtBot) -> None:
    form = QLineEdit("kit 1007, visit 3")
    qtbot.addWidget(form)
    server = _unreachable_server()
    shown: list[str] = []
    seen: list[str] = []
    QTimer.singleShot(0, _answer_retry_box("Not now", seen))
    result = attempt(form, server, "saving", server.check_reachable, show_refusal=shown.append)
    assert result is None
    assert seen == [RETRY_TITLE]
    assert len(shown) == 1
    assert shown[0].startswith("Cannot reach the database")
    assert form.text() == "kit 1007, visit 3"


def test_trying_again_runs_the_same_action_once_the_server_answers(
    qtbot: QtBot, db: Database
) -> None:
    form = QLineEdit()
    qtbot.addWidget(form)
    server = _unreachable_server()
    tries: list[str] = []

    def save() -> str:
        tries.append("try")
        (server if len(tries) == 1 else db).check_reachable()  # back after the first try
        return "saved"

    seen: list[str] = []
    QTimer.singleShot(0, _answer_retry_box("Try again", seen))
    assert attempt(form, server, "saving", save) == "saved"
    assert len(tries) == 2
    assert seen == [RETRY_TITLE]
