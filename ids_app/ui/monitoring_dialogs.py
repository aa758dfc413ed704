"""The dialogs of the Monitoring screen: open a visit, raise and answer a query, and the
monitor's signed authorization to destroy. Each runs its service through ``act`` in one
unit of work and keeps a refusal beside what was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QSpinBox, QWidget

from ids_app.db import Database, today
from ids_app.monitoring.models import VisitMode
from ids_app.monitoring.views import QueryRow
from ids_app.studies.blinding import NO_MASK, ArmMask
from ids_app.ui.blinding_warning import warn_beside
from ids_app.ui.forms import FormDialog, password_field
from ids_app.ui.guard import attempt
from ids_app.ui.receiving import date_field


def _text_box(name: str, lines: int = 3) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setObjectName(name)
    box.setTabChangesFocus(True)
    box.setFixedHeight(box.fontMetrics().lineSpacing() * lines + 14)
    return box


class ActionDialog(FormDialog):
    """A form whose accept runs ``act()`` (one unit of work); a refusal stays in it."""

    completed = Signal(object)

    def __init__(
        self, db: Database, *, title: str, intro: str, accept_text: str, parent: QWidget | None
    ) -> None:
        super().__init__(
            db,
            title=title,
            heading=title,
            intro=intro,
            accept_text=accept_text,
            reject_text="Cancel",
            parent=parent,
        )
        self.act: Callable[[], Any] = lambda: None

    def accept(self) -> None:
        self.clear_error()
        result = attempt(
            self,
            self.db,
            self.windowTitle().lower(),
            lambda: self.act() or True,
            show_refusal=self.show_error,
        )
        if result is None:
            return
        self.completed.emit(result)
        super().accept()


class OpenVisitDialog(ActionDialog):
    def __init__(self, db: Database, *, parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="Open a monitoring visit",
            intro="The day of the visit, how it is done, and the period of the record you "
            "review in it.",
            accept_text="Open the visit",
            parent=parent,
        )
        self.setObjectName("openVisitDialog")
        self.visit_on = date_field("visitOn", today())
        self.mode = QComboBox()
        self.mode.setObjectName("visitMode")
        for mode in VisitMode:
            self.mode.addItem(mode.value, mode)
        self.period_start = date_field("periodStart", today().replace(day=1))
        self.period_end = date_field("periodEnd", today())
        self.form.addRow("Visit &on", self.visit_on)
        self.form.addRow("&How", self.mode)
        self.form.addRow("Period &from", self.period_start)
        self.form.addRow("Period &to", self.period_end)


class QueryDialog(ActionDialog):
    """The monitor's query on one record: what is wrong, and what is asked of the site."""

    def __init__(
        self,
        db: Database,
        *,
        record: str,
        mask: ArmMask = NO_MASK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title="Raise a query",
            intro=f"On {record}. The site answers it; you then close or reopen it.",
            accept_text="Raise the query",
            parent=parent,
        )
        self.setObjectName("queryDialog")
        self.problem = _text_box("queryProblem")
        self.request = _text_box("queryRequest")
        self.form.addRow("What is &wrong", self.problem)
        self.form.addRow("What is &asked", self.request)
        for field in (self.problem, self.request):
            warn_beside(self.form, field, mask)
        self.problem.setFocus()


class AnswerDialog(ActionDialog):
    """The site's answer to a query, naming any correcting action taken."""

    def __init__(
        self,
        db: Database,
        *,
        query: QueryRow,
        mask: ArmMask = NO_MASK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title="Answer the query",
            intro=f"{query.record}\nWrong: {query.problem}\nAsked: {query.request}",
            accept_text="Send the answer",
            parent=parent,
        )
        self.setObjectName("answerDialog")
        self.answer = _text_box("queryAnswer")
        self.correcting_action = QLineEdit()
        self.correcting_action.setObjectName("correctingAction")
        self.correcting_action.setPlaceholderText("e.g. reversal of the receipt entry, re-count")
        self.form.addRow("&Answer", self.answer)
        self.form.addRow("&Correcting action", self.correcting_action)
        for field in (self.answer, self.correcting_action):
            warn_beside(self.form, field, mask)
        self.answer.setFocus()


class AuthorizeDialog(ActionDialog):
    """The monitor's signed authorization to destroy: its reference and what it covers."""

    def __init__(self, db: Database, *, parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="Authorize destruction",
            intro="The site may destroy only what your authorization covers: a lot, kit "
            "numbers, at most a quantity. You sign it as approved.",
            accept_text="Sign as approved",
            parent=parent,
        )
        self.setObjectName("authorizeDialog")
        self.reference = QLineEdit()
        self.reference.setObjectName("authorizationReference")
        self.lot = QLineEdit()
        self.lot.setObjectName("authorizationLot")
        self.kits = QLineEdit()
        self.kits.setObjectName("authorizationKits")
        self.kits.setPlaceholderText("1007, 1012")
        self.quantity = QSpinBox()
        self.quantity.setObjectName("authorizationQuantity")
        self.quantity.setRange(0, 1_000_000)
        self.quantity.setSpecialValueText("any")
        self.password = password_field()
        self.password.setObjectName("signaturePassword")
        self.form.addRow("&Reference", self.reference)
        self.form.addRow("&Lot", self.lot)
        self.form.addRow("&Kit numbers", self.kits)
        self.form.addRow("At most (&units)", self.quantity)
        self.form.addRow("&Password", self.password)

    def show_error(self, message: str) -> None:
        self.password.clear()
        super().show_error(message)
