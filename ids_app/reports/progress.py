"""Progress and cancellation for long reports, so a GUI can run them on a worker thread.

The reports know nothing of Qt: they call a plain ``progress(done, total)`` callback and
ask a plain ``cancelled()`` check between steps.
"""

from __future__ import annotations

from collections.abc import Callable

from ids_app.errors import IdsError

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class ReportCancelled(IdsError):
    """The person asked to stop; nothing was written."""


class Steps:
    """Counts a report's steps, reports each one and stops at the next step when asked."""

    def __init__(
        self,
        total: int,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled

    def check(self) -> None:
        """Stop here if the person cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise ReportCancelled("The report was cancelled; no file was written.")

    def step(self, count: int = 1) -> None:
        """One more step done: tell the caller, then honour a cancellation."""
        self.done = min(self.done + count, self.total)
        if self._progress is not None:
            self._progress(self.done, self.total)
        self.check()

    def finish(self) -> None:
        self.done = self.total
        if self._progress is not None:
            self._progress(self.total, self.total)
