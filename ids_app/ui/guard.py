"""Running a person's action: a refusal is shown as the service worded it; anything
unexpected is written to a log file in the data directory and shown, and the form keeps
what was typed (nothing is cleared on a failure).
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.config import data_dir
from ids_app.db import Database
from ids_app.errors import ConnectionLost, IdsError
from ids_app.private_files import private_file
from ids_app.ui.forms import explain

T = TypeVar("T")

LOG_NAME = "ids-app.log"
UNEXPECTED_TITLE = "Something went wrong"


def log_path() -> Path:
    return data_dir() / LOG_NAME


def log_unexpected(error: BaseException, doing: str) -> Path:
    """Append the error and its traceback to the log; return the log's path."""
    path = private_file(log_path())  # tracebacks can quote records
    stamp = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{stamp} while {doing}:\n{''.join(lines)}\n")
    return path


def show_message(
    parent: QWidget | None,
    title: str,
    text: str,
    icon: QMessageBox.Icon = QMessageBox.Icon.Information,
) -> QMessageBox:
    """A message box that does not block: the window (and its tests) keep running."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.open()
    return box


def attempt(
    parent: QWidget,
    db: Database,
    doing: str,
    action: Callable[[], T],
    *,
    show_refusal: Callable[[str], None] | None = None,
) -> T | None:
    """Run ``action``; None means it was refused or failed, and the person was told why.

    ``doing`` completes "Something went wrong while …". A refusal goes to
    ``show_refusal`` (an inline label) when given, else to a message box.
    """
    while True:
        try:
            return action()
        except (IdsError, SaDatabaseError) as error:
            refusal = db.problem(error) if isinstance(error, SaDatabaseError) else error
            if isinstance(refusal, ConnectionLost) and ask_to_retry(parent, str(refusal)):
                continue  # nothing was saved, and the form still holds what was typed
            message = explain(db, error)
            if show_refusal is not None:
                show_refusal(message)
            else:
                show_message(parent, "Not done", message, QMessageBox.Icon.Warning)
            return None
        except Exception as error:  # anything else: the person must hear of it, the log keeps it
            path = log_unexpected(error, doing)
            show_message(
                parent,
                UNEXPECTED_TITLE,
                f"Something went wrong while {doing}: {error}.\n\nNothing was recorded and "
                f"what you typed is still in the form. The details are in {path}; please send "
                "that file to your administrator.",
                QMessageBox.Icon.Critical,
            )
            return None


RETRY_TITLE = "Connection lost"


def ask_to_retry(parent: QWidget | None, message: str) -> bool:
    """Offer to try the same action again once the server answers (issue: connection loss).

    Modal on purpose: the action waits for the answer, and the form keeps what was typed.
    """
    box = QMessageBox(QMessageBox.Icon.Warning, RETRY_TITLE, message, parent=parent)
    box.setObjectName("retryBox")
    retry = box.addButton("Try again", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(retry)
    box.exec()
    return box.clickedButton() is retry
