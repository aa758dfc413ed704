"""Correcting a daily temperature check typed wrongly (``storage.readings``).

The dialog lists the location's recent daily checks that still count; the one chosen is
replaced by a correcting reading at the same time, which names the old values. Nothing
is deleted, and the service judges the corrected values again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget
from sqlalchemy.orm import Session

from ids_app.db import Database, utc_now
from ids_app.errors import InvalidInput
from ids_app.storage.models import TemperatureReading, TemperatureUnit
from ids_app.storage.queries import DailyReadingRow, daily_readings
from ids_app.storage.readings import correct_daily_reading
from ids_app.ui.forms import FormDialog
from ids_app.ui.guard import attempt
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.users.models import User

# Far enough back to catch a typo found at the weekly review.
CORRECTABLE_DAYS = 30
UNITS = (("°C", TemperatureUnit.CELSIUS), ("°F", TemperatureUnit.FAHRENHEIT))


def typed_temperature(text: str, what: str, *, required: bool) -> float | None:
    """A temperature as typed ("5,8" reads as 5.8); empty is None unless required."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned:
        if required:
            raise InvalidInput(f"Type the {what} temperature.")
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise InvalidInput(f"The {what} temperature '{text.strip()}' is not a number.") from None


def _celsius(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Typed:
    current: str
    minimum: str
    maximum: str
    unit: TemperatureUnit
    reason: str


class CorrectReadingDialog(FormDialog):
    """Choose the daily check, type what the thermometer showed, say why."""

    corrected = Signal(str)

    def __init__(
        self, db: Database, user: User, location_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            db,
            title="Correct a daily reading",
            heading="Correct a daily reading",
            intro="The reading chosen stays on record; the correction replaces it wherever "
            "readings count and names what was typed before. An excursion the wrong value "
            "opened stays for the pharmacist's decision.",
            accept_text="Record correction",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("correctReadingDialog")
        self.user = user
        self.readings: RowsModel[DailyReadingRow] = RowsModel(
            [
                Column("Taken", lambda r: f"{r.taken_at.astimezone():%Y-%m-%d %H:%M}"),
                Column("Current °C", lambda r: _celsius(r.current_c), numeric=True),
                Column("Min °C", lambda r: _celsius(r.min_c), numeric=True),
                Column("Max °C", lambda r: _celsius(r.max_c), numeric=True),
                Column("By", lambda r: r.recorded_by),
                Column("Note", lambda r: r.note),
            ],
            parent=self,
        )
        self.readings_view = table_view(self.readings, name="dailyReadingsTable")
        self.readings_view.selectionModel().selectionChanged.connect(lambda *_args: self._chosen())
        since = utc_now() - dt.timedelta(days=CORRECTABLE_DAYS)
        with db.read_session() as session:
            self.readings.set_rows(daily_readings(session, location_id, since))
        fit_columns(self.readings_view)
        self.current = QLineEdit()
        self.current.setObjectName("correctCurrent")
        self.minimum = QLineEdit()
        self.minimum.setObjectName("correctMinimum")
        self.maximum = QLineEdit()
        self.maximum.setObjectName("correctMaximum")
        self.unit = QComboBox()
        self.unit.setObjectName("correctUnit")
        for title, unit in UNITS:
            self.unit.addItem(title, unit.value)
        self.reason = QLineEdit()
        self.reason.setObjectName("correctReadingReason")
        self.reason.setPlaceholderText("e.g. typed 58 for 5.8")
        self.form.addRow("&Reading", self.readings_view)
        self.form.addRow("&Current", self.current)
        self.form.addRow("M&inimum", self.minimum)
        self.form.addRow("M&aximum", self.maximum)
        self.form.addRow("&Unit", self.unit)
        self.form.addRow("Rea&son", self.reason)
        self.setMinimumWidth(640)
        if self.readings.rows:
            self.readings_view.selectRow(0)
        self.readings_view.setFocus()

    def _chosen(self) -> None:
        """Start from what was typed, so only the wrong number is changed."""
        row = selected_row(self.readings_view)
        if row is None:
            return
        self.unit.setCurrentIndex(0)
        self.current.setText(_celsius(row.current_c))
        self.minimum.setText(_celsius(row.min_c))
        self.maximum.setText(_celsius(row.max_c))

    def accept(self) -> None:
        self.clear_error()
        row = selected_row(self.readings_view)
        typed = Typed(
            self.current.text(),
            self.minimum.text(),
            self.maximum.text(),
            TemperatureUnit(self.unit.currentData()),
            self.reason.text(),
        )

        def run() -> str:
            if row is None:
                raise InvalidInput("Choose the reading to correct.")
            with self.db.unit_of_work() as session:
                return _record(session, self.user, row.id, typed)

        message = attempt(
            self, self.db, "correcting the reading", run, show_refusal=self.show_error
        )
        if message is None:
            return
        self.corrected.emit(message)
        super().accept()


def _record(session: Session, user: User, reading_id: int, typed: Typed) -> str:
    current = typed_temperature(typed.current, "current", required=True)
    assert current is not None
    outcome = correct_daily_reading(
        session,
        user,
        session.get_one(TemperatureReading, reading_id),
        current=current,
        minimum=typed_temperature(typed.minimum, "minimum", required=False),
        maximum=typed_temperature(typed.maximum, "maximum", required=False),
        unit=typed.unit,
        reason=typed.reason,
    )
    if outcome.excursions:
        return (
            "Reading corrected. The corrected values are out of range: the stock there is "
            "held in quarantine."
        )
    return "Reading corrected."
