"""Background jobs (ui/tasks.py): the rules that keep a job's thread away from every Qt
object, each proved with the job held by an event, never by a thread being slow."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from ids_app.db import Database
from ids_app.reports.progress import CancelCheck, ProgressCallback, ReportCancelled
from ids_app.ui.guard import log_path
from ids_app.ui.tasks import RunningJob, run_job, stop_tasks

pytestmark = pytest.mark.gui

WAIT = 30_000


class Replies:
    """What a screen was told, in order."""

    def __init__(self) -> None:
        self.said: list[tuple[str, Any]] = []

    def succeeded(self, result: Any) -> None:
        self.said.append(("succeeded", result))

    def failed(self, message: str) -> None:
        self.said.append(("failed", message))

    def cancelled(self, message: str) -> None:
        self.said.append(("cancelled", message))

    def progressed(self, done: int, total: int) -> None:
        self.said.append(("progressed", (done, total)))

    def ended(self) -> None:
        self.said.append(("ended", None))


def start(owner: QWidget, db: Database, job: Any, replies: Replies) -> RunningJob:
    return run_job(
        owner,
        db,
        "testing",
        job,
        succeeded=replies.succeeded,
        failed=replies.failed,
        cancelled=replies.cancelled,
        progressed=replies.progressed,
        ended=replies.ended,
    )


@pytest.fixture
def screen(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def db(tmp_path: Any) -> Database:
    return Database(f"sqlite:///{tmp_path / 'unused.sqlite'}")


class ClosedScreen:
    """What a closed screen leaves behind: its widget's wrapper in a reference cycle (as a
    bound-method connection makes one), freed only by the cyclic garbage collector."""

    def __init__(self, collected_on: list[str]) -> None:
        self.widget = QWidget()
        self.collected_on = collected_on
        self.cycle = self

    def __del__(self) -> None:
        self.collected_on.append(threading.current_thread().name)


def test_a_closed_screens_garbage_is_never_collected_on_a_job_thread(
    qtbot: QtBot, screen: QWidget, db: Database
) -> None:
    """The crash of issue 11: a job allocating on its thread set off the collector there,
    and it destroyed a closed dialog's widget off the GUI thread (SIGSEGV)."""
    collected_on: list[str] = []
    gc.collect()
    ClosedScreen(collected_on)
    assert collected_on == []  # garbage, waiting for the collector

    def allocate(progress: ProgressCallback, cancelled: CancelCheck) -> bool:
        kept = [[] for _ in range(200_000)]  # far past the collector's thresholds
        return bool(kept) and gc.isenabled()

    replies = Replies()
    running = start(screen, db, allocate, replies)
    qtbot.waitUntil(lambda: running.ended, timeout=WAIT)
    assert all(name == threading.main_thread().name for name in collected_on), collected_on
    assert replies.said[0] == ("succeeded", False)  # automatic collection was off meanwhile
    gc.collect()
    assert collected_on == [threading.main_thread().name]


def test_a_job_holding_a_widget_is_refused_before_it_starts(screen: QWidget, db: Database) -> None:
    def touches_the_screen(progress: ProgressCallback, cancelled: CancelCheck) -> str:
        return screen.windowTitle()

    with pytest.raises(TypeError, match="must not hold a Qt object"):
        start(screen, db, touches_the_screen, Replies())
    with pytest.raises(TypeError, match="must not hold a Qt object"):
        start(screen, db, screen.windowTitle, Replies())


def test_a_closed_screen_gets_no_reply(qtbot: QtBot, db: Database) -> None:
    closing = QWidget()
    release = threading.Event()

    def held(progress: ProgressCallback, cancelled: CancelCheck) -> str:
        release.wait(WAIT / 1000)
        return "done"

    replies = Replies()
    running = start(closing, db, held, replies)
    closing.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(closing), timeout=WAIT)
    release.set()
    qtbot.waitUntil(lambda: running.ended, timeout=WAIT)
    assert replies.said == []


def test_a_reply_faster_than_the_test_is_still_heard(
    qtbot: QtBot, screen: QWidget, db: Database
) -> None:
    replies = Replies()
    running = start(screen, db, lambda progress, cancelled: 7, replies)
    qtbot.waitUntil(lambda: running.ended, timeout=WAIT)
    assert replies.said == [("succeeded", 7), ("ended", None)]


def test_cancel_is_heard_at_the_next_step_and_said_once(
    qtbot: QtBot, screen: QWidget, db: Database
) -> None:
    stepping = threading.Event()

    def steps(progress: ProgressCallback, cancelled: CancelCheck) -> None:
        for step in range(1, 1_000_000):
            progress(step, 1_000_000)
            stepping.set()
            if cancelled():
                raise ReportCancelled("The export was cancelled; no file was written.")
            threading.Event().wait(0.001)

    replies = Replies()
    running = start(screen, db, steps, replies)
    assert stepping.wait(WAIT / 1000)
    running.cancel()
    qtbot.waitUntil(lambda: running.ended, timeout=WAIT)
    endings = [kind for kind, _ in replies.said if kind != "progressed"]
    assert endings == ["cancelled", "ended"]
    assert replies.said[-2] == ("cancelled", "The export was cancelled; no file was written.")
    figures = [value for kind, value in replies.said if kind == "progressed"]
    assert figures == sorted(figures)  # the latest figures, never an older one after


def test_an_unexpected_error_is_worded_and_logged(
    qtbot: QtBot, screen: QWidget, db: Database
) -> None:
    def broken(progress: ProgressCallback, cancelled: CancelCheck) -> None:
        raise RuntimeError("disk on fire")

    replies = Replies()
    running = start(screen, db, broken, replies)
    qtbot.waitUntil(lambda: running.ended, timeout=WAIT)
    kind, message = replies.said[0]
    assert kind == "failed"
    assert message.startswith("Something went wrong while testing: disk on fire.")
    assert "RuntimeError: disk on fire" in log_path().read_text(encoding="utf-8")


def test_stopping_cancels_running_jobs_and_turns_the_collector_back_on(
    screen: QWidget, db: Database
) -> None:
    started, saw_cancel = threading.Event(), threading.Event()

    def waits_for_cancel(progress: ProgressCallback, cancelled: CancelCheck) -> None:
        started.set()
        while not cancelled():
            threading.Event().wait(0.001)
        saw_cancel.set()

    replies = Replies()
    start(screen, db, waits_for_cancel, replies)
    assert started.wait(WAIT / 1000)
    assert not gc.isenabled()
    stop_tasks()
    assert saw_cancel.is_set()  # the pool's thread had ended before stop_tasks returned
    assert gc.isenabled()
    assert replies.said == []  # nothing is said into a runner that has stopped
