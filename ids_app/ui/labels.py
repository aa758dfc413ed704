"""The dispensing label of a verified dispense.

The label itself (21 CFR 312.6 caution statement, barcode) is the reports package's
(``reports.exports.export_dispensing_label``); this screen only asks for it and says where
it went. Without that package the screen says that labels arrive with the reports issue.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ids_app.config import data_dir
from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.ui.settings import PDF_PRINTER, AppSettings
from ids_app.users.models import User

LABEL_PLACEHOLDER = "Labels arrive with the reports issue."
LABELS_FOLDER = "labels"


def label_module_available() -> bool:
    """True when the reports package can make dispensing labels."""
    try:
        found = importlib.util.find_spec("ids_app.reports.labels") is not None
    except ImportError:
        return False
    return found and importlib.util.find_spec("ids_app.reports.exports") is not None


def label_after_verification() -> str:
    if label_module_available():
        return "Label: press Save label to make the dispensing label (PDF)."
    return f"Label: {LABEL_PLACEHOLDER}"


def label_target(order_id: int) -> Path:
    """A new file in the data directory's labels folder (a reprint gets its own file)."""
    folder = data_dir() / LABELS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"label-order-{order_id}.pdf"
    copy = 2
    while target.exists():
        target = folder / f"label-order-{order_id}-{copy}.pdf"
        copy += 1
    return target


def save_label(db: Database, user: User, order_id: int, settings: AppSettings) -> Path:
    """Write the label of a verified dispense as PDF; the reports package decides what it holds
    and who may print it."""
    from ids_app.reports.exports import export_dispensing_label
    from ids_app.reports.labels import LabelSettings, parse_size

    if not settings.site_name or not settings.pharmacy_phone:
        raise InvalidInput(
            "The label prints the pharmacy's name and phone number: type them in Settings "
            "(File ▸ Settings), then save the label again."
        )
    width, height = parse_size(settings.label_size)
    label = LabelSettings(settings.site_name, settings.pharmacy_phone, width, height)
    return export_dispensing_label(db, user, order_id, label_target(order_id), label)


def printer_note(settings: AppSettings) -> str:
    if settings.label_printer == PDF_PRINTER:
        return ""
    return (
        f" Printing straight to {settings.label_printer} is not available yet; print the PDF "
        "from its folder."
    )
