"""A long PDF laid out in pieces, in worker processes, then joined as one document.

WeasyPrint keeps every laid-out page of a document in memory until it writes the file:
about half a megabyte per ledger row of a binder, so a large study's binder could not be
printed at all. Laid out in pieces of a few hundred rows, a piece's memory is freed when
it is written, and pieces lay out side by side, one worker process per core (WeasyPrint is
pure Python: threads would share one core).

What must run across pieces is added when they are joined (pikepdf, on qpdf): "Page X of
Y" on every page, drawn by WeasyPrint in thin overlays once the page count is known, the
document outline, and the first piece's PDF/A identity (archival.py: pikepdf copies pages,
not a document's metadata or output intent) with the files the document carries.
Running headers that do not change (protocol, edition, who printed) are each piece's own.
A piece's pages keep their size: portrait and landscape mix.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ids_app.reports.archival import Attachment, Manifest, attach, keep_archival_identity
from ids_app.reports.rendering import render_html, write_pdf

# Pieces in flight per worker: enough to keep each busy, few enough that the pieces' HTML
# waiting to be laid out stays small.
IN_FLIGHT_PER_WORKER = 2
# Overlay pages laid out per piece: cheap pages (about 12 ms each), but thousands of them.
OVERLAY_PAGES = 400


@dataclass(frozen=True)
class LaidOut:
    """A piece written to ``path``: its pages, and which of them are landscape."""

    path: Path
    landscape: tuple[bool, ...]

    @property
    def pages(self) -> int:
        return len(self.landscape)


@dataclass(frozen=True)
class Bookmark:
    title: str
    page: int  # 1-based, in the joined document


def lay_out(html: str, path: str) -> LaidOut:
    """Lay out one piece into ``path`` (in a worker process, or here)."""
    import pikepdf

    target = Path(path)
    write_pdf(html, target)
    with pikepdf.open(target) as pdf:
        landscape = tuple(float(page.mediabox[2]) > float(page.mediabox[3]) for page in pdf.pages)
    return LaidOut(target, landscape)


def workers_for(pieces: int) -> int:
    """One worker per core this process may use, never more than there are pieces."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, pieces))


@dataclass(frozen=True)
class Workers:
    """Where pieces are laid out: ``count`` worker processes, or here (``pool`` None)."""

    pool: concurrent.futures.Executor | None
    count: int


# How often a worker looks whether the process that started it is still there.
PARENT_CHECK_S = 1.0


def _watch_parent(parent: int) -> None:
    """End this worker when the process that started it is gone: killed or crashed, it
    cannot shut its pool down, and its workers would wait for work forever (each holds
    the work queue's writing end too, so it never reads an end of file)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@contextlib.contextmanager
def worker_pool(count: int) -> Iterator[Workers]:
    """Worker processes, started fresh ("spawn": a forked copy of a process with a GUI's
    threads can deadlock); none when one worker will do (the pieces are laid out here)."""
    if count <= 1:
        yield Workers(None, 1)
        return
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=count,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )
    try:
        yield Workers(pool, count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def lay_out_all(
    htmls: Iterable[str],
    folder: Path,
    *,
    workers: Workers,
    done: Callable[[int], None],
) -> list[LaidOut]:
    """Lay out every piece, in order, into ``folder``; ``done(n)`` after each, which may
    raise to stop (a cancellation): the pieces still waiting are then dropped."""
    results: list[LaidOut] = []
    pool = workers.pool
    if pool is None:
        for number, html in enumerate(htmls):
            results.append(lay_out(html, str(folder / f"{number:06d}.pdf")))
            done(len(results))
        return results
    in_flight = workers.count * IN_FLIGHT_PER_WORKER
    waiting: collections.deque[concurrent.futures.Future[LaidOut]] = collections.deque()
    for number, html in enumerate(htmls):
        waiting.append(pool.submit(lay_out, html, str(folder / f"{number:06d}.pdf")))
        while len(waiting) >= in_flight:
            results.append(waiting.popleft().result())
            done(len(results))
    while waiting:
        results.append(waiting.popleft().result())
        done(len(results))
    return results


def page_number_overlays(
    pieces: list[LaidOut],
    folder: Path,
    template: str,
    *,
    workers: Workers,
) -> list[LaidOut]:
    """ "Page X of Y" for every page of the joined document, as overlay pages laid out by
    ``template`` with the document's own page rules, so each number sits where it would."""
    landscape = [flag for piece in pieces for flag in piece.landscape]
    total = len(landscape)
    htmls = (
        render_html(
            template,
            first=start + 1,
            total=total,
            landscape=landscape[start : start + OVERLAY_PAGES],
        )
        for start in range(0, total, OVERLAY_PAGES)
    )
    overlays = folder / "numbers"
    overlays.mkdir()
    return lay_out_all(htmls, overlays, workers=workers, done=lambda _n: None)


def join(
    pieces: list[LaidOut],
    overlays: list[LaidOut],
    bookmarks: list[Bookmark],
    target: Path,
    *,
    archive: tuple[Manifest, Sequence[Attachment]] | None = None,
) -> int:
    """Join the pieces into ``target`` with the overlays drawn over their pages and the
    bookmarks as the outline; the document's title, author and PDF/A identity are the
    first piece's; ``archive``: the manifest and files to attach. Returns the page count."""
    import pikepdf

    with pikepdf.new() as joined, contextlib.ExitStack() as sources:
        # Sources stay open until the joined file is saved: pikepdf copies lazily.
        for piece in pieces:
            joined.pages.extend(sources.enter_context(pikepdf.open(piece.path)).pages)
        numbered = (
            page
            for overlay in overlays
            for page in sources.enter_context(pikepdf.open(overlay.path)).pages
        )
        for page, number in zip(joined.pages, numbered, strict=True):
            page.add_overlay(number, None)
        with joined.open_outline() as outline:
            outline.root.extend(
                pikepdf.OutlineItem(mark.title, mark.page - 1) for mark in bookmarks
            )
        keep_archival_identity(joined, sources.enter_context(pikepdf.open(pieces[0].path)))
        if archive is not None:
            attach(joined, *archive)
        joined.save(target, min_version="1.7")
        return len(joined.pages)


@contextlib.contextmanager
def piece_folder(beside: Path) -> Iterator[Path]:
    """A private folder for the pieces, beside the target (same disk), removed after."""
    with tempfile.TemporaryDirectory(dir=beside.parent, prefix=f".{beside.name}.") as name:
        yield Path(name)
