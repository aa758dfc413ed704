"""Which database the app opens: option, environment, the workstation's Settings, default."""

from __future__ import annotations

import pytest

from ids_app.config import data_dir, default_database_url, resolve_database_url


def test_default_is_a_file_in_the_data_directory() -> None:
    assert resolve_database_url(None) == default_database_url()
    assert default_database_url().endswith(str(data_dir() / "ids.sqlite"))


def test_settings_choose_the_database_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (data_dir() / "settings.ini").write_text(
        "[database]\nurl=postgresql+psycopg://ids_app@dbhost/ids\n", encoding="utf-8"
    )
    assert resolve_database_url(None) == "postgresql+psycopg://ids_app@dbhost/ids"
    monkeypatch.setenv("IDS_DATABASE_URL", "sqlite:////srv/ids.sqlite")
    assert resolve_database_url(None) == "sqlite:////srv/ids.sqlite"
    assert resolve_database_url("sqlite:////tmp/x.sqlite") == "sqlite:////tmp/x.sqlite"


def test_an_empty_setting_means_the_default() -> None:
    (data_dir() / "settings.ini").write_text("[database]\nurl=\n", encoding="utf-8")
    assert resolve_database_url(None) == default_database_url()


def test_reports_and_labels_take_the_site_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from ids_app.reports.common import site_name
    from ids_app.reports.labels import LabelSettings

    monkeypatch.delenv("IDS_SITE_NAME", raising=False)
    monkeypatch.delenv("IDS_PHARMACY_NAME", raising=False)
    monkeypatch.delenv("IDS_PHARMACY_PHONE", raising=False)
    (data_dir() / "settings.ini").write_text(
        "[general]\nsite_name=Mercy Hospital IDS\npharmacy_phone=555-0100\n", encoding="utf-8"
    )
    assert site_name() == "Mercy Hospital IDS"
    label = LabelSettings.from_environment()
    assert (label.pharmacy, label.phone) == ("Mercy Hospital IDS", "555-0100")
