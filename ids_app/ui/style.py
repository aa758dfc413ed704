"""One look for every screen: the stylesheet and icons in ui/resources/, and status colours.

Tables colour their cells from :data:`STATUS_COLOURS`; the stylesheet gives labels with a
``status`` property the same colours, so a quarantined lot looks the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QBrush, QColor, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QWidget

# Package data (pyproject.toml), so an installed wheel looks like a checkout.
RESOURCES = Path(__file__).resolve().parent / "resources"
STYLESHEET = RESOURCES / "style.qss"
ICONS = RESOURCES / "icons"
APP_ICON = ICONS / "app.svg"

# status → (background, text): the same pairs as resources/style.qss.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "quarantined": ("#fff0d6", "#7a4a00"),
    "expired": ("#fdecea", "#8c1d18"),
    "expiring": ("#fff8c5", "#5c4b00"),
    "returned": ("#eceff3", "#3c4043"),
    "condemned": ("#f3e5f5", "#5b2168"),
    "ok": ("#e6f4ea", "#1e6b34"),
    "waiting": ("#e8f0fe", "#174ea6"),
}


def status_background(status: str | None) -> QBrush | None:
    if status is None or status not in STATUS_COLOURS:
        return None
    return QBrush(QColor(STATUS_COLOURS[status][0]))


def status_foreground(status: str | None) -> QBrush | None:
    if status is None or status not in STATUS_COLOURS:
        return None
    return QBrush(QColor(STATUS_COLOURS[status][1]))


def apply_style(app: QApplication) -> None:
    """The stylesheet and window icon; a missing resources folder leaves Qt's defaults."""
    if STYLESHEET.is_file():
        app.setStyleSheet(STYLESHEET.read_text(encoding="utf-8"))
    if APP_ICON.is_file():
        app.setWindowIcon(QIcon(str(APP_ICON)))


def workflow_icon(key: str) -> QIcon:
    """A workflow's icon (``icons/<key>.svg``); an empty icon when there is none."""
    path = ICONS / f"{key}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def set_status(widget: QWidget, status: str | None) -> None:
    """Give a label its status colour (the stylesheet matches the ``status`` property)."""
    widget.setProperty("status", status or "")
    repolish(widget)


def repolish(widget: QWidget) -> None:
    """Re-read the stylesheet after a dynamic property changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


def prepare_high_dpi() -> None:
    """Fractional scale factors (125 %, 150 %) as they are, not rounded: crisp text.

    Must run before the QApplication exists; later it is a no-op.
    """
    from PySide6.QtCore import Qt

    if QGuiApplication.instance() is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
