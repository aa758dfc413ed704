"""Long work off the GUI thread: a job runs on a QThread, reports its progress, and stops
at its next step when the person presses Cancel (the desktop issue's item 10).

A job is a plain function ``job(progress, cancelled)``; it must open its own database
sessions (the export functions do), since a Session never crosses threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QThread, Signal
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Database
from ids_app.errors import IdsError
from ids_app.reports.progress import CancelCheck, ProgressCallback, ReportCancelled
from ids_app.ui.forms import explain
from ids_app.ui.guard import log_unexpected

Job = Callable[[ProgressCallback, CancelCheck], Any]

# Workers still running: a QThread destroyed while it runs aborts the process, so a worker
# has no parent and is kept here until it ends, even if the screen that started it closes.
_RUNNING: set[Worker] = set()


class Worker(QThread):
    """Runs one job once. Exactly one of ``succeeded``, ``failed`` or ``cancelled`` is
    emitted, then QThread's own ``finished``; all arrive in the GUI thread."""

    progressed = Signal(int, int)  # done, total
    succeeded = Signal(object)  # the job's result
    failed = Signal(str)  # the refusal or failure, worded for the person
    cancelled = Signal(str)

    def __init__(self, db: Database, job: Job, doing: str) -> None:
        super().__init__()
        self.db = db
        self.job = job
        self.doing = doing
        self._stop = threading.Event()
        self.finished.connect(self._ended)
        app = QCoreApplication.instance()
        if app is not None:  # quitting cancels the job and waits for it to stop
            app.aboutToQuit.connect(self._quit)

    def start_job(self) -> None:
        _RUNNING.add(self)
        self.start()

    def _ended(self) -> None:
        self.wait()  # ``finished`` comes just before the thread itself ends
        _RUNNING.discard(self)
        self.deleteLater()

    def _quit(self) -> None:
        self.cancel()
        self.wait()

    def cancel(self) -> None:
        """Ask the job to stop at its next step; nothing it was writing is kept."""
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        try:
            result = self.job(self._progress, self._stop.is_set)
        except ReportCancelled as stop:
            self.cancelled.emit(str(stop))
        except (IdsError, SaDatabaseError) as error:
            self.failed.emit(explain(self.db, error))
        except Exception as error:  # the person must hear of it; the log keeps the details
            path = log_unexpected(error, self.doing)
            self.failed.emit(
                f"Something went wrong while {self.doing}: {error}. No file was written. "
                f"The details are in {path}; please send that file to your administrator."
            )
        else:
            self.succeeded.emit(result)

    def _progress(self, done: int, total: int) -> None:
        self.progressed.emit(done, total)
