"""Progress and cancellation for long work (reports, imports), so a GUI can run it on a
worker thread.

The work knows nothing of Qt: they call a plain ``progress(done, total)`` callback and
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
    """Counts a long job's steps, reports each one and stops at the next step when asked.

    ``stopped`` is what a cancellation raises: by default a report's, which wrote no file;
    a job that writes records says what it left behind instead.
    """

    def __init__(
        self,
        total: int,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
        *,
        stopped: ReportCancelled | None = None,
    ) -> None:
        self.total = max(total, 1)
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled
        self._stopped = stopped or ReportCancelled("The report was cancelled; no file was written.")

    def check(self) -> None:
        """Stop here if the person cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise self._stopped

    def step(self, count: int = 1) -> None:
        """One more step done: tell the caller, then honour a cancellation."""
        self.reach(self.done + count)

    def reach(self, done: int) -> None:
        """``done`` steps are done now: tell the caller, then honour a cancellation."""
        self.done = min(done, self.total)
        if self._progress is not None:
            self._progress(self.done, self.total)
        self.check()

    def finish(self) -> None:
        self.done = self.total
        if self._progress is not None:
            self._progress(self.total, self.total)
