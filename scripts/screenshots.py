"""Render the shell's screens to docs/screenshots/ (offscreen, from a fresh demo database).

Run from the repository root: ``.venv/bin/python scripts/screenshots.py``. The pictures
in the README then show what the code draws today.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget

from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.demo import build_demo
from ids_app.migrations.schema import prepare_database
from ids_app.ui.main_window import APP_TITLE, MainWindow
from ids_app.ui.sign_in import FirstAdministratorDialog, SignInDialog

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
MAIN_WINDOW_SIZE = (900, 600)


def save(widget: QWidget, name: str) -> Path:
    widget.show()
    QApplication.processEvents()
    path = OUTPUT / name
    if not widget.grab().save(str(path)):
        raise SystemExit(f"Could not write {path}")
    widget.close()
    print(f"wrote {path}")
    return path


def open_database(folder: Path, name: str) -> Database:
    db = Database(sqlite_url(folder / name))
    prepare_database(db)
    return db


def main() -> int:
    app = QApplication(sys.argv)
    app.setApplicationName(APP_TITLE)
    app.setOrganizationName(APP_TITLE)
    OUTPUT.mkdir(parents=True, exist_ok=True)

    # A steady folder keeps the path shown in the dialogs the same on every run.
    folder = Path(tempfile.gettempdir()) / "ids-accountability-screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        empty = open_database(folder, "ids.sqlite")
        save(FirstAdministratorDialog(empty), "first-administrator.png")
        empty.dispose()

        demo = open_database(folder, "demo.sqlite")
        build_demo(demo)
        save(SignInDialog(demo, username="pharm"), "sign-in.png")

        signing_in = SignInDialog(demo)
        signing_in.username_field.setText("pharm")
        signing_in.password_field.setText("demo-pharm")
        signing_in.accept()
        user = signing_in.signed_in_user
        if user is None:
            raise SystemExit(f"The demo sign-in was refused: {signing_in.error_text}")
        window = MainWindow(demo, user)
        window.resize(*MAIN_WINDOW_SIZE)
        save(window, "main-window.png")  # closing it records the demo's sign-out
        demo.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
