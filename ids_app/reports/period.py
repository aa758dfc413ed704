"""The period a report covers: whole days in the pharmacy's local time, ends included."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ids_app.errors import IdsError, InvalidInput


class EmptyPeriod(IdsError):
    """Nothing was recorded for the study in the period asked for."""


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of a local calendar day, as an aware instant."""
    return dt.datetime.combine(day, dt.time(0)).astimezone()


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last`` (both included); either end may be open."""

    first: dt.date | None = None
    last: dt.date | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None and self.first > self.last:
            raise InvalidInput(
                f"The period starts on {self.first:%Y-%m-%d}, after it ends on "
                f"{self.last:%Y-%m-%d}; swap the dates."
            )

    @property
    def is_whole_record(self) -> bool:
        return self.first is None and self.last is None

    @property
    def starts(self) -> dt.datetime | None:
        """The first instant in the period, or None for "from the beginning"."""
        return None if self.first is None else local_midnight(self.first)

    @property
    def ends(self) -> dt.datetime | None:
        """The first instant after the period, or None for "up to now"."""
        return None if self.last is None else local_midnight(self.last + dt.timedelta(days=1))

    def holds(self, moment: dt.datetime) -> bool:
        starts, ends = self.starts, self.ends
        return (starts is None or moment >= starts) and (ends is None or moment < ends)

    def holds_day(self, day: dt.date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def text(self, today: dt.date) -> str:
        """ "2026-01-01..2026-11-30", open ends shown as the study's start or today."""
        first = "study start" if self.first is None else f"{self.first:%Y-%m-%d}"
        last = f"{(self.last or today):%Y-%m-%d}"
        return f"{first}..{last}"

    def label(self, today: dt.date) -> str:
        """How the cover and headers say it."""
        if self.is_whole_record:
            return f"Whole record, up to {today:%Y-%m-%d}"
        first = "the study's start" if self.first is None else f"{self.first:%Y-%m-%d}"
        return f"{first} to {(self.last or today):%Y-%m-%d}"

    def phrase(self, today: dt.date) -> str:
        """How a sentence says it: "… covers the whole record, up to 2026-12-04"."""
        if self.is_whole_record:
            return f"the whole record, up to {today:%Y-%m-%d}"
        return f"the period {self.label(today)}"


WHOLE_RECORD = Period()
