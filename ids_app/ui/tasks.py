"""Long work off the GUI thread, in a shape where no other thread can touch a Qt object.

A test run crashed (SIGSEGV) in the old ``Worker(QThread)`` as it emitted ``cancelled``
(issue 11): Python's cyclic garbage collector can run on whatever thread allocates, and
there it collected a closed screen's left-over wrapper, destroying a Qt object off the GUI
thread. Which test crashed depended on what ran before, because that decides when the
collector fires. The rules below make that and its relatives impossible:

1. **A job owns no Qt object.** It is a plain function ``job(progress, cancelled)`` run on
   a thread pool; it opens its own database sessions (a Session never crosses threads),
   reports progress through a callback and returns its result or raises. ``run_job``
   refuses a job that carries a Qt object or a screen's bound method.
2. **Nothing is emitted on a short-lived object.** What a job says (progress, its result,
   a refusal) is queued as a closure on the one long-lived ``TaskRunner`` and run on the
   GUI thread. The closure carries only plain data: the screen's callbacks stay on the
   GUI thread, so a job's thread never holds the last reference to a widget.
3. **A screen that is gone gets no callback.** Just before calling, the runner checks on
   the GUI thread that the screen that started the job still exists.
4. **The garbage collector runs on the GUI thread only.** The runner switches automatic
   collection off while it exists and collects on the GUI thread instead, by CPython's
   own generation thresholds, on a timer and whenever a job ends.
5. **Quitting stops the work first.** On ``aboutToQuit`` (and in ``stop_tasks``) every job
   is asked to stop, the pool's threads are joined, and only then is automatic
   collection switched back on.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Database
from ids_app.errors import IdsError
from ids_app.reports.progress import CancelCheck, ProgressCallback, ReportCancelled
from ids_app.ui.forms import explain
from ids_app.ui.guard import log_unexpected

Job = Callable[[ProgressCallback, CancelCheck], Any]

COLLECT_EVERY_MS = 1000  # garbage waits at most this long for the GUI thread to collect it
POOL_THREADS = 4  # an export, an import and a check can run side by side


def collect_garbage() -> int:
    """Collect what CPython's automatic collector would collect now, on this thread."""
    thresholds, counts = gc.get_threshold(), gc.get_count()
    if counts[0] <= thresholds[0]:
        return 0
    generation = 2 if counts[2] > thresholds[2] else 1 if counts[1] > thresholds[1] else 0
    return gc.collect(generation)


@dataclass
class _Replies:
    """What the screen that started a job wants told; kept on the GUI thread only."""

    owner: QObject
    succeeded: Callable[[Any], None]
    failed: Callable[[str], None]
    cancelled: Callable[[str], None]
    progressed: Callable[[int, int], None] | None
    ended: Callable[[], None] | None


class RunningJob:
    """A screen's handle on its job: ask it to stop, see whether it has ended."""

    def __init__(self, doing: str) -> None:
        self.doing = doing
        self._stop = threading.Event()
        self._progress_lock = threading.Lock()
        self._latest_progress: tuple[int, int] | None = None
        self.ended = False  # set on the GUI thread once its reply has been handled

    def cancel(self) -> None:
        """Ask the job to stop at its next step; what it was writing is not kept."""
        self._stop.set()

    def cancel_requested(self) -> bool:
        """The job's ``cancelled`` check, asked from its own thread at every step."""
        return self._stop.is_set()

    def note_progress(self, done: int, total: int) -> bool:
        """Keep the latest figures; True when none were waiting to be shown already."""
        with self._progress_lock:
            first = self._latest_progress is None
            self._latest_progress = (done, total)
        return first

    def take_progress(self) -> tuple[int, int] | None:
        with self._progress_lock:
            latest, self._latest_progress = self._latest_progress, None
        return latest


class TaskRunner(QObject):
    """The one long-lived GUI-thread object every job's reply goes through."""

    _pending = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._closures: list[Callable[[], None]] = []
        self._replies: dict[int, _Replies] = {}
        self._jobs: dict[int, RunningJob] = {}
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="ids-job")
        self._pending.connect(self._run_pending, Qt.ConnectionType.QueuedConnection)
        gc.disable()
        self._collector = QTimer(self)
        self._collector.setInterval(COLLECT_EVERY_MS)
        self._collector.timeout.connect(collect_garbage)
        self._collector.start()

    def run_on_main(self, closure: Callable[[], None]) -> None:
        """Queue ``closure`` for the GUI thread; callable from any thread."""
        with self._lock:
            self._closures.append(closure)
        self._pending.emit()

    def _run_pending(self) -> None:
        with self._lock:
            closures, self._closures = self._closures, []
        for closure in closures:
            closure()

    def start(self, db: Database, job: Job, replies: _Replies, doing: str) -> RunningJob:
        job_id = next(self._ids)
        running = RunningJob(doing)
        self._replies[job_id] = replies
        self._jobs[job_id] = running
        self._pool.submit(self._work, job_id, running, db, job)
        return running

    # on the job's thread: plain data only ------------------------------------------------

    def _work(self, job_id: int, running: RunningJob, db: Database, job: Job) -> None:
        def progress(done: int, total: int) -> None:
            if running.note_progress(done, total):  # one closure queued at a time
                self.run_on_main(partial(self._show_progress, job_id))

        try:
            result = job(progress, running.cancel_requested)
        except ReportCancelled as stop:
            reply: tuple[str, Any] = ("cancelled", str(stop))
        except (IdsError, SaDatabaseError) as error:
            reply = ("failed", explain(db, error))
        except Exception as error:  # the person must hear of it; the log keeps the details
            path = log_unexpected(error, running.doing)
            reply = (
                "failed",
                f"Something went wrong while {running.doing}: {error}. No file was written. "
                f"The details are in {path}; please send that file to your administrator.",
            )
        else:
            reply = ("succeeded", result)
        self.run_on_main(partial(self._reply, job_id, *reply))

    # on the GUI thread -------------------------------------------------------------------

    def _show_progress(self, job_id: int) -> None:
        running, replies = self._jobs.get(job_id), self._replies.get(job_id)
        if running is None or replies is None:
            return
        latest = running.take_progress()
        if latest is not None and replies.progressed is not None and _alive(replies.owner):
            replies.progressed(*latest)

    def _reply(self, job_id: int, kind: str, payload: Any) -> None:
        running, replies = self._jobs.pop(job_id), self._replies.pop(job_id)
        running.ended = True
        if _alive(replies.owner):
            if kind == "succeeded":
                replies.succeeded(payload)
            elif kind == "cancelled":
                replies.cancelled(payload)
            else:
                replies.failed(payload)
            if replies.ended is not None and _alive(replies.owner):
                replies.ended()
        collect_garbage()

    def stop(self) -> None:
        """Cancel every job, wait for the pool's threads to end, drop what they said."""
        for running in self._jobs.values():
            running.cancel()
        self._pool.shutdown(wait=True)
        self._collector.stop()
        with self._lock:
            self._closures.clear()
        self._jobs.clear()
        self._replies.clear()
        gc.enable()  # no thread of ours is left to run it on


def _alive(owner: QObject) -> bool:
    return shiboken6.isValid(owner)


_runner: TaskRunner | None = None
_quit_hooked: set[int] = set()  # the applications whose aboutToQuit stops the runner


def task_runner() -> TaskRunner:
    """The application's runner, made with the first job and stopped as the app quits."""
    global _runner  # one per application, as QCoreApplication itself
    if _runner is None:
        _runner = TaskRunner()
        app = QCoreApplication.instance()
        if app is not None and id(app) not in _quit_hooked:
            _quit_hooked.add(id(app))
            app.aboutToQuit.connect(stop_tasks)
    return _runner


def stop_tasks() -> None:
    """Stop the runner (quitting, or between tests); the next job makes a new one."""
    global _runner
    runner, _runner = _runner, None
    if runner is not None:
        runner.stop()
        runner.deleteLater()


def run_job(
    owner: QObject,
    db: Database,
    doing: str,
    job: Job,
    *,
    succeeded: Callable[[Any], None],
    failed: Callable[[str], None],
    cancelled: Callable[[str], None] | None = None,
    progressed: Callable[[int, int], None] | None = None,
    ended: Callable[[], None] | None = None,
) -> RunningJob:
    """Run ``job`` off the GUI thread; exactly one of ``succeeded``, ``failed`` or
    ``cancelled`` (``failed`` when not given) is called on the GUI thread, then ``ended``,
    unless ``owner`` has been destroyed by then. ``doing`` completes "Something went wrong
    while …"."""
    _refuse_qt_in(job)
    replies = _Replies(owner, succeeded, failed, cancelled or failed, progressed, ended)
    return task_runner().start(db, job, replies, doing)


def _refuse_qt_in(job: Job) -> None:
    """A job that holds a Qt object could drop or touch it off the GUI thread (rule 1)."""
    held: list[object] = [getattr(job, "__self__", None)]
    for cell in getattr(job, "__closure__", None) or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:  # a cell not filled yet
            continue
    for value in held:
        if isinstance(value, QObject) or isinstance(getattr(value, "__self__", None), QObject):
            raise TypeError(f"a background job must not hold a Qt object: {value!r}")
