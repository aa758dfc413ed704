"""The workstation's settings, kept in ``settings.ini`` in the data directory.

An INI file (not the registry) so that the settings travel with the data directory and
code outside the UI can read them with ``configparser``. Window geometry is kept here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ids_app.config import data_dir, ini_setting

SETTINGS_NAME = "settings.ini"
DEFAULT_IDLE_MINUTES = 10
# Width x height in inches, as reports.labels.parse_size reads them; shown with millimetres.
LABEL_SIZES = {
    "4x2": "4 x 2 in (102 x 51 mm)",
    "3x2": "3 x 2 in (76 x 51 mm)",
    "3x1": "3 x 1 in (76 x 25 mm)",
    "2x1": "2 x 1 in (51 x 25 mm)",
}
PDF_PRINTER = "PDF file"
MISSING_PRINTER = "{} (not found)"


def settings_path() -> Path:
    return data_dir() / SETTINGS_NAME


def printer_choices(saved: str, available: Sequence[str]) -> list[tuple[str, str]]:
    """(text shown, printer name) for the label printer: PDF first, then the printers here.

    A saved printer that is gone stays listed, marked, so that opening and saving Settings
    does not quietly switch the labels to another printer.
    """
    names = [PDF_PRINTER, *(name for name in available if name != PDF_PRINTER)]
    choices = [(name, name) for name in names]
    if saved and saved not in names:
        choices.append((MISSING_PRINTER.format(saved), saved))
    return choices


class AppSettings:
    """Typed access to the workstation's settings."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()
        self.store = QSettings(str(self.path), QSettings.Format.IniFormat)

    def _text(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return str(value) if value is not None else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(str(self.store.value(key, default)))
        except ValueError:
            return default

    @property
    def idle_minutes(self) -> int:
        """Minutes without input before the window locks (0 turns the lock off)."""
        return max(self._int("lock/idle_minutes", DEFAULT_IDLE_MINUTES), 0)

    @idle_minutes.setter
    def idle_minutes(self, minutes: int) -> None:
        self.store.setValue("lock/idle_minutes", int(minutes))

    @property
    def site_name(self) -> str:
        return self._text("general/site_name")

    @site_name.setter
    def site_name(self, name: str) -> None:
        self.store.setValue("general/site_name", name.strip())

    @property
    def database_url(self) -> str:
        """The database to open at the next start ("" = the default file)."""
        return self._text("database/url")

    @database_url.setter
    def database_url(self, url: str) -> None:
        self.store.setValue("database/url", url.strip())

    @property
    def anchor_folder(self) -> str:
        """Where the anchor log goes ("" = beside the database), read as
        ``ids_app.audit.anchors`` reads it: a share path written by hand
        (``\\\\server\\ids``) is kept, where QSettings would drop its lone backslashes."""
        self.store.sync()
        return ini_setting(self.path, "anchors", "folder") or ""

    @anchor_folder.setter
    def anchor_folder(self, folder: str) -> None:
        self.store.setValue("anchors/folder", folder.strip())

    @property
    def label_size(self) -> str:
        size = self._text("labels/size", "4x2")
        return size if size in LABEL_SIZES else "4x2"

    @label_size.setter
    def label_size(self, size: str) -> None:
        self.store.setValue("labels/size", size)

    @property
    def pharmacy_phone(self) -> str:
        """Printed on the dispensing label with the site's name."""
        return self._text("general/pharmacy_phone")

    @pharmacy_phone.setter
    def pharmacy_phone(self, phone: str) -> None:
        self.store.setValue("general/pharmacy_phone", phone.strip())

    @property
    def label_printer(self) -> str:
        return self._text("labels/printer", PDF_PRINTER)

    @label_printer.setter
    def label_printer(self, printer: str) -> None:
        self.store.setValue("labels/printer", printer)

    @property
    def expiring_days(self) -> int:
        """How far ahead the overview warns of expiry."""
        return max(self._int("alerts/expiring_days", 90), 0)

    def geometry(self, key: str) -> QByteArray | None:
        value = self.store.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, key: str, value: QByteArray) -> None:
        self.store.setValue(f"window/{key}", value)

    def sync(self) -> None:
        self.store.sync()
