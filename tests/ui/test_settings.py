"""Settings: the folder the anchor log goes to, chosen by the site and used at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from ids_app.audit.anchors import ANCHOR_DIR_ENV, anchor_log_path, sign_in_anchoring_the_day
from ids_app.config import data_dir, workstation_setting
from ids_app.db import Database
from ids_app.ui.settings import AppSettings
from ids_app.ui.settings_dialog import SettingsDialog


def open_settings(qtbot: QtBot, db: Database) -> SettingsDialog:
    dialog = SettingsDialog(db, AppSettings())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def test_the_anchor_folder_chosen_in_settings_receives_the_next_anchor(
    qtbot: QtBot, demo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ANCHOR_DIR_ENV, raising=False)
    share = tmp_path / "pharmacy-share" / "ids-anchors"
    dialog = open_settings(qtbot, demo_db)
    assert dialog.anchor_field.objectName() == "anchorFolder"
    assert dialog.anchor_field.text() == ""
    assert dialog.anchor_field.placeholderText() == f"Beside the database: {tmp_path}"

    qtbot.keyClicks(dialog.anchor_field, str(share))
    dialog.accept_button.click()
    assert dialog.isVisible()
    assert dialog.error_text == (
        f"The anchor folder {share} does not exist or is not a folder; is the network share "
        "connected?"
    )
    assert AppSettings().anchor_folder == ""

    share.mkdir(parents=True)
    with qtbot.waitSignal(dialog.accepted):
        dialog.accept_button.click()
    assert AppSettings().anchor_folder == str(share)
    assert anchor_log_path(demo_db) == share / "demo.sqlite.anchors.log"

    # The next anchor (here the day's first sign-in) goes to the share, not beside the file.
    assert sign_in_anchoring_the_day(demo_db, "tech", "demo-tech").anchor_problem is None
    (line,) = (share / "demo.sqlite.anchors.log").read_text(encoding="utf-8").splitlines()
    assert line.endswith("\tfirst use of the day")
    assert not (tmp_path / "demo.sqlite.anchors.log").exists()

    again = open_settings(qtbot, demo_db)
    assert again.anchor_field.text() == str(share)
    again.anchor_field.clear()
    with qtbot.waitSignal(again.accepted):
        again.accept_button.click()
    assert anchor_log_path(demo_db) == tmp_path / "demo.sqlite.anchors.log"


def test_a_relative_anchor_folder_is_refused(qtbot: QtBot, demo_db: Database) -> None:
    dialog = open_settings(qtbot, demo_db)
    qtbot.keyClicks(dialog.anchor_field, "anchors")
    dialog.accept_button.click()
    assert dialog.isVisible()
    assert "Give the anchor folder's full path" in dialog.error_text
    assert AppSettings().anchor_folder == ""


def test_a_windows_share_saved_in_settings_reads_back_as_typed() -> None:
    share = r"\\pharmacy-nas\IDS, anchors"
    settings = AppSettings()
    settings.anchor_folder = share
    settings.sync()
    assert workstation_setting("anchors", "folder") == share
    assert AppSettings().anchor_folder == share


def test_a_share_written_into_settings_ini_by_hand_is_kept_as_written(
    qtbot: QtBot, demo_db: Database
) -> None:
    (data_dir() / "settings.ini").write_text(
        "[anchors]\nfolder = \\\\records-server\\ids-anchors\n", encoding="utf-8"
    )
    assert workstation_setting("anchors", "folder") == r"\\records-server\ids-anchors"
    dialog = open_settings(qtbot, demo_db)
    assert dialog.anchor_field.text() == r"\\records-server\ids-anchors"


def test_settings_show_the_site_certificate_fingerprint_to_give_monitors(
    qtbot: QtBot, demo_db: Database
) -> None:
    from PySide6.QtWidgets import QLabel

    from ids_app.signing.site import create_site_certificate

    before = open_settings(qtbot, demo_db)
    assert "exported unsigned" in before.findChild(QLabel, "siteCertificate").text()
    certificate = create_site_certificate("Test Hospital IDS")
    after = open_settings(qtbot, demo_db)
    assert certificate.fingerprint_text in after.findChild(QLabel, "siteCertificate").text()
