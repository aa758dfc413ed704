"""Shared pieces of the shell's dialogs: a heading, a form and an inline refusal.

One look for every dialog, and one place that turns a refusal into the sentence shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Database
from ids_app.errors import IdsError

ERROR_COLOR = "#b3261e"
HINT_COLOR = "#5f6368"
SUCCESS_COLOR = "#1e6b34"

Refusal = IdsError | SaDatabaseError


def explain(db: Database, error: Refusal) -> str:
    """The sentence to show: a service's own words, or the database's problem in one line."""
    if isinstance(error, SaDatabaseError):
        return db.explain(error)
    return str(error)


def heading_label(text: str, *, scale: float = 1.35) -> QLabel:
    """A heading in a slightly larger bold font, so every screen reads the same way."""
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


def hint_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {HINT_COLOR};")
    return label


def password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


class FormDialog(QDialog):
    """A heading, an explanation, a form, an inline refusal and two buttons.

    The refusal stays in the dialog, beside what was typed, rather than in a message
    box that hides it.
    """

    def __init__(
        self,
        db: Database,
        *,
        title: str,
        heading: str,
        intro: str,
        accept_text: str,
        reject_text: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.setWindowTitle(title)
        self.setMinimumWidth(460)

        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setVerticalSpacing(10)
        self.form.setHorizontalSpacing(14)

        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error_label.hide()

        buttons = QDialogButtonBox()
        self.accept_button = QPushButton(accept_text)
        self.accept_button.setDefault(True)
        self.accept_button.setAutoDefault(True)
        self.reject_button = QPushButton(reject_text)
        self.reject_button.setAutoDefault(False)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.reject_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(heading_label(heading))
        if intro:
            layout.addWidget(hint_label(intro))
        layout.addSpacing(4)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addSpacing(4)
        layout.addWidget(buttons)

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow to the height the wrapped lines need at this width. A window's minimum
        size ignores height-for-width, so a refusal appearing would otherwise squeeze
        the form's wrapped labels into each other."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width())
        if needed > self.height():
            self.resize(self.width(), needed)

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    @property
    def error_text(self) -> str:
        """The refusal now shown, or "" when there is none."""
        return self.error_label.text() if not self.error_label.isHidden() else ""


def subheading_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("subheading")
    return label


def primary_button(text: str, *, name: str) -> QPushButton:
    """The screen's main action: blue, and the one Enter presses in a dialog."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setProperty("primary", True)
    # As wide as its words, not as wide as the form it ends.
    button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return button


class InlineMessage(QLabel):
    """A refusal (red) or a confirmation (green) shown beside the form it is about."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()
        self.kind = ""

    def show_error(self, message: str) -> None:
        self._show(message, ERROR_COLOR, "error")

    def show_success(self, message: str) -> None:
        self._show(message, SUCCESS_COLOR, "success")

    def _show(self, message: str, colour: str, kind: str) -> None:
        self.kind = kind
        self.setStyleSheet(f"color: {colour}; font-weight: 600;")
        self.setText(message)
        self.show()

    def clear_message(self) -> None:
        self.kind = ""
        self.clear()
        self.hide()

    @property
    def error_text(self) -> str:
        return self.text() if self.kind == "error" and not self.isHidden() else ""


def open_dialog(dialog: QDialog) -> None:
    """Show a dialog without blocking (window-modal) and give it the keyboard at once; when
    it closes, the keyboard goes back to the window it came from."""
    owner = dialog.parentWidget()
    if owner is not None:
        window = owner.window()
        dialog.finished.connect(lambda _result: window.activateWindow())
    dialog.open()
    dialog.raise_()
    dialog.activateWindow()


def fit_characters(field: QWidget, characters: int) -> None:
    """A field at least wide enough for ``characters`` of its font: a sender's name or a
    method must read whole, not as "me Depot" or "azardous waste vendor)" (issue #14)."""
    field.setMinimumWidth(field.fontMetrics().averageCharWidth() * characters + 16)


class FieldGrid(QWidget):
    """Caption and field pairs in as many columns as the width allows, up to ``columns``:
    three across a 1280-pixel window, one at 200 % scale, never a clipped field."""

    def __init__(
        self,
        pairs: Sequence[tuple[str, QWidget]],
        *,
        columns: int = 3,
        characters: int = 18,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.max_columns = columns
        self.pairs: list[tuple[QLabel, QWidget]] = []
        for title, field in pairs:
            caption = QLabel(title)
            caption.setBuddy(field)
            fit_characters(field, characters)
            self.pairs.append((caption, field))
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.columns = 0
        self._place(columns)

    def pair_width(self) -> int:
        caption = max(label.sizeHint().width() for label, _field in self.pairs)
        field = max(field.minimumWidth() for _label, field in self.pairs)
        return caption + field + 3 * self.grid.horizontalSpacing()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """One pair wide (it reflows to one column), as tall as its rows are now."""
        rows = -(-len(self.pairs) // max(self.columns, 1))
        row_height = max(field.sizeHint().height() for _label, field in self.pairs)
        height = rows * (row_height + self.grid.verticalSpacing())
        return QSize(self.pair_width(), height)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.pair_width() * self.max_columns, self.minimumSizeHint().height())

    def _columns_for(self, width: int) -> int:
        return max(1, min(self.max_columns, width // max(self.pair_width(), 1)))

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        columns = self._columns_for(event.size().width())
        if columns != self.columns:
            self._place(columns)

    def _place(self, columns: int) -> None:
        for label, field in self.pairs:
            self.grid.removeWidget(label)
            self.grid.removeWidget(field)
        for column in range(self.max_columns * 2):
            self.grid.setColumnStretch(column, 0)
        for index, (label, field) in enumerate(self.pairs):
            self.grid.addWidget(label, index // columns, (index % columns) * 2)
            self.grid.addWidget(field, index // columns, (index % columns) * 2 + 1)
        for column in range(columns):
            self.grid.setColumnStretch(column * 2 + 1, 1)
        self.columns = columns
        self.updateGeometry()
