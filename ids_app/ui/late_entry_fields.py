"""The time and late-entry reason a dated form asks for once its date is before today.

A receipt or a destruction dated an earlier day is typed in from its paper record: the
services (``inventory.late_entries.happened_on``) then need the time it happened and, when
late, the reason. The fields stay greyed out for today's date, so the bench's usual entry
asks for nothing more.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTime
from PySide6.QtWidgets import QLineEdit, QTimeEdit

from ids_app.db import today
from ids_app.inventory.late_entries import EventTime


class LateEntryFields:
    """A time field and a reason field, enabled for a date before today."""

    def __init__(self, name: str) -> None:
        self.time = QTimeEdit(QTime(12, 0))
        self.time.setObjectName(f"{name}Time")
        self.time.setDisplayFormat("HH:mm")
        self.reason = QLineEdit()
        self.reason.setObjectName(f"{name}LateReason")
        self.reason.setPlaceholderText(
            "only for an earlier date: e.g. downtime, from the paper log"
        )
        self.set_day(today())

    def set_day(self, day: dt.date) -> None:
        earlier = day < today()
        self.time.setEnabled(earlier)
        self.reason.setEnabled(earlier)
        tip = (
            "The time on the paper record, and why it is entered now."
            if earlier
            else "Asked only when the date is before today."
        )
        self.time.setToolTip(tip)
        self.reason.setToolTip(tip)

    def event_time(self, day: dt.date) -> EventTime | None:
        """When it happened, for a date before today (None for today: it happens now)."""
        if day >= today():
            return None
        clock = self.time.time()
        moment = dt.datetime.combine(day, dt.time(clock.hour(), clock.minute())).astimezone()
        return EventTime(moment, self.reason.text().strip() or None)

    def clear(self) -> None:
        self.time.setTime(QTime(12, 0))
        self.reason.clear()
        self.set_day(today())
