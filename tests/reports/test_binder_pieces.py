"""A binder laid out in pieces by worker processes reads as one document.

The demo's binder is cut small here (a few dozen rows a piece, laid out by two worker
processes as a large study's is), then read back: "Page X of Y" runs through every page,
the contents name the page each section starts on, every page keeps its running header,
a record that runs on says so, the outline leads to each section; and a cancelled
parallel layout leaves no file, no piece and no export entry.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.reports import binder, pieces
from ids_app.reports.binder import LONG_TABLES, SECTIONS, binder_pieces
from ids_app.reports.exports import BinderResult, export_audit_binder
from ids_app.reports.gather import gather_study_record
from ids_app.reports.progress import ReportCancelled
from tests.reports.conftest import ORAL, Demo, pdf_pages

ROWS_A_PIECE = 40


@dataclass
class Cut:
    result: BinderResult
    pages: list[str]


def _small_pieces(monkeypatch: pytest.MonkeyPatch, pools: list[int]) -> None:
    """Pieces of a few dozen rows, laid out by two worker processes however small the
    study; ``pools`` records how many workers each layout had."""
    real_pool = pieces.worker_pool

    def counted_pool(count: int) -> Any:
        pools.append(count)
        return real_pool(count)

    monkeypatch.setattr(binder, "PIECE_ROWS", ROWS_A_PIECE)
    monkeypatch.setattr(binder, "PARALLEL_FROM_ROWS", 0)
    monkeypatch.setattr(binder, "workers_for", lambda _pieces: 2)
    monkeypatch.setattr(binder, "worker_pool", counted_pool)


@pytest.fixture(scope="module")
def cut(demo: Demo) -> Cut:
    pools: list[int] = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        _small_pieces(monkeypatch, pools)
        result = export_audit_binder(
            demo.db, demo.user("tech"), ORAL, demo.folder / "ABC-123 in pieces.pdf"
        )
    assert pools == [2]  # laid out by worker processes
    return Cut(result, pdf_pages(result.path))


def test_page_x_of_y_runs_through_every_page_of_the_joined_binder(cut: Cut) -> None:
    total = len(cut.pages)
    assert total == cut.result.pages
    for number, page in enumerate(cut.pages, start=1):
        assert re.findall(r"Page \d+ of \d+", page) == [f"Page {number} of {total}"], number


def test_the_contents_name_the_page_each_section_starts_on(cut: Cut) -> None:
    contents = cut.pages[1]
    for number, section in enumerate(SECTIONS, start=1):
        entry = re.search(rf"{number}\. {re.escape(section.title)} \.+ ?(\d+)", contents)
        assert entry is not None, section.title
        page = int(entry.group(1))
        assert f"{number}. {section.title}" in cut.pages[page - 1], section.title
        if page - 2 > 1:  # the page before it, unless it is the contents itself
            assert f"{number}. {section.title}" not in cut.pages[page - 2], section.title


def test_every_page_keeps_its_running_header_and_a_long_record_says_it_runs_on(
    cut: Cut,
) -> None:
    for page in cut.pages:
        assert "ABC-123 — Drug accountability audit binder" in page
        assert "BLINDED EDITION" in page
        assert "Data SHA-256 " + cut.result.data_hash[:16] in page
    darf_pages = [page for page in cut.pages if "AGENT NAME" in page]
    continued = [page for page in darf_pages if "(continued)" in page]
    assert continued, "the demo's record of ABC 10 mg runs past one piece"
    assert any("This record continues on the next page." in page for page in darf_pages)
    # The record's closing lines come once, after its last line.
    text = " ".join(cut.pages)
    assert text.count("The log reconciles with the stock.") == len(
        re.findall(r"balance on the log at the end", text)
    )


def test_the_outline_leads_to_each_section(cut: Cut) -> None:
    reader = PdfReader(cut.result.path)
    marks = {item.title: reader.get_destination_page_number(item) for item in reader.outline}
    for number, section in enumerate(SECTIONS, start=1):
        page = marks[f"{number}. {section.title}"]
        assert f"{number}. {section.title}" in cut.pages[page]


def test_the_signature_log_runs_on_across_pieces_under_its_one_heading(cut: Cut) -> None:
    text = " ".join(cut.pages)
    assert text.count("Every electronic signature on this study's records") == 1
    assert text.count("Study staff") == 1
    logged = [page for page in cut.pages if "Signature manifestation Record signed" in page]
    assert len(logged) > 1, "the demo's signature log runs past one piece"


CUT_BY_ITEM = ("staff", "shipments", "quarantine", "disposal", "counts", "corrections")


def test_every_growing_section_is_cut_whole_rows_in_order_opening_once(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature log, shipments, holds, disposals, counts and corrections are laid out
    in runs like the long tables: every row once, in order; only the first run opens the
    section, every run but the last says more follows."""
    monkeypatch.setattr(binder, "PIECE_ROWS", 6)
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("pharm"), ORAL)
    by_section: dict[str, list[binder.BinderPiece]] = {}
    for piece in binder_pieces(record):
        by_section.setdefault(piece.section.id, []).append(piece)
    cut_in_runs = []
    for section in CUT_BY_ITEM:
        table = LONG_TABLES[section]
        runs = by_section[section]
        printed = [row for piece in runs for row in table.rows_of(piece.record)]
        assert printed == list(table.rows_of(record)), section
        assert [piece.opens_section for piece in runs] == [True] + [False] * (len(runs) - 1)
        assert [piece.continues_rows for piece in runs] == [False] + [True] * (len(runs) - 1)
        assert [piece.rows_follow for piece in runs] == [True] * (len(runs) - 1) + [False]
        if len(runs) > 1:
            cut_in_runs.append(section)
    assert "staff" in cut_in_runs
    assert "shipments" in cut_in_runs


def _exports(demo: Demo) -> list[str | None]:
    with demo.db.read_session() as session:
        return list(
            session.scalars(select(AuditEntry.new_value).where(AuditEntry.action == "export"))
        )


def test_a_cancelled_parallel_layout_leaves_no_file_and_no_piece(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[int] = []
    _small_pieces(monkeypatch, pools)
    seen: list[int] = []
    exports_before = _exports(demo)
    layout_started = len(SECTIONS) + 3  # after the record is read, a few pieces laid out

    with pytest.raises(ReportCancelled):
        export_audit_binder(
            demo.db,
            demo.user("tech"),
            ORAL,
            tmp_path / "cancelled.pdf",
            progress=lambda done, _total: seen.append(done),
            cancelled=lambda: bool(seen) and seen[-1] >= layout_started,
        )
    assert pools == [2]
    assert list(tmp_path.iterdir()) == []  # no binder, no data file, no folder of pieces
    assert _exports(demo) == exports_before


# Generous bounds for waiting on state: the test waits for a fact, never for a duration.
FACT_WITHIN_S = 120.0


def _until(fact: Callable[[], bool]) -> None:
    deadline = time.monotonic() + FACT_WITHIN_S
    while not fact():
        assert time.monotonic() < deadline, "waited too long"
        time.sleep(0.05)


def _start_workers_then_wait(pids_file: str) -> None:
    """An exporting process: starts its layout workers, names them, and waits to be
    killed (as a crash, or a technician ending the app from the task manager, would)."""
    with pieces.worker_pool(2) as workers:
        assert workers.pool is not None
        pids = {workers.pool.submit(os.getpid).result() for _ in range(8)}
        staged = Path(pids_file + ".part")
        staged.write_text(" ".join(str(pid) for pid in pids))
        staged.rename(pids_file)
        time.sleep(FACT_WITHIN_S * 10)


def _gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(sys.platform != "linux", reason="reads process states from /proc")
def test_layout_workers_end_when_the_exporting_process_is_killed(tmp_path: Path) -> None:
    pids_file = tmp_path / "workers"
    exporter = multiprocessing.get_context("spawn").Process(
        target=_start_workers_then_wait, args=(str(pids_file),)
    )
    exporter.start()
    try:
        _until(pids_file.exists)
        workers = [int(pid) for pid in pids_file.read_text().split()]
        assert workers
        assert all(not _gone(pid) for pid in workers)
    finally:
        exporter.kill()
        exporter.join()
    _until(lambda: all(_gone(pid) for pid in workers))
