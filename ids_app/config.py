"""Where things live: the data directory (platformdirs) and which database to open.

Order of precedence for the database: ``--database URL``, then ``IDS_DATABASE_URL``,
then the workstation's Settings (``settings.ini`` in the data directory, written by the
desktop app's Settings dialog), then ``ids.sqlite`` in the user's data directory.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

from platformdirs import user_data_path

from ids_app.private_files import private_folder

APP_NAME = "ids-accountability"
DATABASE_ENV = "IDS_DATABASE_URL"
DATA_DIR_ENV = "IDS_DATA_DIR"


def data_dir(*, create: bool = True) -> Path:
    """The user's data directory, created owner-only on first use and tightened if others
    can read it (``IDS_DATA_DIR`` overrides it)."""
    override = os.environ.get(DATA_DIR_ENV)
    path = Path(override).expanduser() if override else user_data_path(APP_NAME, appauthor=False)
    if create:
        private_folder(path)
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.expanduser().resolve()}"


def default_database_url() -> str:
    return sqlite_url(data_dir() / "ids.sqlite")


def demo_database_url() -> str:
    return sqlite_url(data_dir() / "demo.sqlite")


SETTINGS_FILE = "settings.ini"


def workstation_setting(section: str, key: str) -> str | None:
    """A value kept by the desktop app's Settings dialog (``settings.ini``), if set."""
    return ini_setting(data_dir(create=False) / SETTINGS_FILE, section, key)


def ini_setting(path: Path, section: str, key: str) -> str | None:
    """A text value of an INI file written by QSettings, or by hand."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return None
    value = _unescaped(parser.get(section, key, fallback=""))
    return value or None


def _unescaped(value: str) -> str:
    r"""A text as QSettings writes it: between quotes when it holds a comma or edge spaces,
    every backslash and quote escaped (``\\server\ids`` for ``\server\ids``).

    A lone backslash means a person wrote the value (``\server\ids``, as typed): it is
    kept as it is, since QSettings never leaves one.
    """
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if "\\" in re.sub(r'\\[\\"]', "", value):
        return value.strip()
    return re.sub(r'\\([\\"])', r"\1", value).strip()


def settings_database_url() -> str | None:
    """The database chosen in the desktop app's Settings, if any."""
    return workstation_setting("database", "url")


def resolve_database_url(option: str | None) -> str:
    return (
        option or os.environ.get(DATABASE_ENV) or settings_database_url() or default_database_url()
    )
