"""The scan field: a barcode scanner is a keyboard that types fast and ends with Enter.

A GS1 DataMatrix arrives as its element string with GS characters (0x1D) between
variable-length fields (DOMAIN.md, "Barcodes on packs"). A line edit drops control
characters, so the field shows each GS as ␝ and gives it back as 0x1D. Scanners that
cannot send 0x1D send Ctrl+]; both are accepted. Typing a kit number and Enter works the
same way. What the scan names is decided by ``inventory.scanning.identify_scan``; a scan
it refuses turns the field red, says why and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ids_app.db import Database
from ids_app.inventory.views import ScannedItem, identify
from ids_app.ui.forms import ERROR_COLOR, SUCCESS_COLOR
from ids_app.ui.guard import attempt
from ids_app.ui.style import repolish

GS = "\x1d"
GS_SHOWN = "␝"


class ScanField(QLineEdit):
    """A line edit that keeps GS characters and reports a scan on Enter."""

    scanned = Signal(str)
    # Enter in the empty field: the screen's next step (after a good scan, sign).
    confirmed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scan")
        self.setPlaceholderText("Scan, or type a kit or lot number and Enter")
        self.setMinimumWidth(160)
        self.setClearButtonEnabled(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if event.text() == GS or (ctrl and event.key() == Qt.Key.Key_BracketRight):
            self.insert(GS_SHOWN)
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # Enter ends a scan; it must not also press a dialog's default button.
            event.accept()
            text = self.scan_text()
            if text.strip(GS + " "):
                self.scanned.emit(text)
            else:
                self.confirmed.emit()
            return
        super().keyPressEvent(event)

    def scan_text(self) -> str:
        return self.text().replace(GS_SHOWN, GS)

    def set_outcome(self, outcome: str) -> None:
        """ "good", "bad" or "" (the stylesheet colours the border)."""
        self.setProperty("scan", outcome)
        repolish(self)


class ScanPanel(QWidget):
    """A scan field and the sentence saying what was scanned, or why it was refused.

    ``identified`` carries the kit or lot; a refused scan emits ``refused`` with the reason
    and nothing else happens.
    """

    identified = Signal(object)
    refused = Signal(str)

    def __init__(
        self,
        db: Database,
        label: str = "Scan",
        parent: QWidget | None = None,
        *,
        check: Callable[[str], None] | None = None,
    ) -> None:
        """``check``, when given, takes each scan instead of :meth:`handle_scan`: a screen
        that checks the item against more than the study (an order) shows the outcome
        itself with :meth:`accept_scan` or :meth:`refuse`."""
        super().__init__(parent)
        self.db = db
        self.study_id: int | None = None
        self.field = ScanField()
        self.result_label = QLabel()
        self.result_label.setObjectName("scanResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.last_item: ScannedItem | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        caption = QLabel(f"&{label}")
        caption.setBuddy(self.field)
        row.addWidget(caption)
        row.addWidget(self.field, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.result_label)
        self.field.scanned.connect(check or self.handle_scan)

    def set_study(self, study_id: int | None) -> None:
        self.study_id = study_id
        self.reset()

    def reset(self) -> None:
        self.field.clear()
        self.field.set_outcome("")
        self.result_label.clear()
        self.last_item = None

    @property
    def refusal_text(self) -> str:
        return self.result_label.text() if self.field.property("scan") == "bad" else ""

    def handle_scan(self, text: str) -> None:
        if self.study_id is None:
            return
        study_id = self.study_id

        def read() -> ScannedItem:
            with self.db.read_session() as session:
                return identify(session, study_id, text)

        item = attempt(self, self.db, "reading the scan", read, show_refusal=self._refuse)
        if item is None:
            return
        self.last_item = item
        self.accept_scan(item.summary)
        self.identified.emit(item)

    def accept_scan(self, summary: str) -> None:
        """Show a good scan: green border, what it named; the field is ready for the next."""
        self.field.set_outcome("good")
        self.result_label.setStyleSheet(f"color: {SUCCESS_COLOR}; font-weight: 600;")
        self.result_label.setText(summary)
        self.field.clear()

    def refuse(self, message: str) -> None:
        """Show a refusal about the scanned item that came from a later check."""
        self._refuse(message)

    def _refuse(self, message: str) -> None:
        self.field.set_outcome("bad")
        self.field.selectAll()  # the next scan replaces the wrong one
        self.result_label.setStyleSheet(f"color: {ERROR_COLOR}; font-weight: 600;")
        self.result_label.setText(message)
        QApplication.beep()
        self.refused.emit(message)
