"""Desktop benchmarks through the real widgets, offscreen; results go to docs/benchmarks.md.

Run with ``scripts/bench`` (after the ledger benchmarks) or ``python -m bench.desktop``.
Three things are timed, each as the person would meet it:

- cold start: a fresh ``python`` process that imports the app, opens the database and shows
  the sign-in dialog through the app's own ``Shell``; the floor is a bare PySide6
  ``QMainWindow`` shown the same way;
- a study with 100,000 ledger rows opened in the real ``MainWindow``: its Overview with the
  stock, then every other section of its workspace, each read afresh;
- the audit-trail viewer over 1,000,000 entries: the first page, 50 more pages, and each
  filter, applied as the Apply button applies it.

Each figure is wall clock from the call to the screen having painted (events processed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from bench.generate import generate
from bench.run import PASSWORD, _people
from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.audit.trail import can_belong_to_a_study
from ids_app.audit.views import audit_table_names
from ids_app.config import DATA_DIR_ENV, sqlite_url
from ids_app.db import Base, Database
from ids_app.inventory.models import DispenseOrder, LedgerEntry
from ids_app.migrations.copy import reset_sequences
from ids_app.migrations.schema import prepare_database
from ids_app.users.models import User
from ids_app.users.passwords import set_hashing_cost

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent
AIM_START_S = 1.0
AIM_SCREEN_MS = 100.0
AUDIT_BATCH = 50_000

# A fresh process: import the app, open the database, show the sign-in dialog as `ids-app gui`
# does (through the Shell), and print the monotonic clock once it is on screen and painted.
START_APP = """
import os, sys, time
from PySide6.QtWidgets import QApplication
from ids_app.db import Database
from ids_app.inventory.models import DispenseOrder, LedgerEntry
from ids_app.migrations.schema import prepare_database
from ids_app.ui.app import APP_TITLE, Shell
from ids_app.ui.sign_in import SignInDialog
from ids_app.ui.style import apply_style, prepare_high_dpi

prepare_high_dpi()
app = QApplication(sys.argv[:1])
apply_style(app)
app.setApplicationName(APP_TITLE)
app.setOrganizationName(APP_TITLE)
app.setQuitOnLastWindowClosed(False)
db = Database(sys.argv[1])
prepare_database(db, allow_upgrade=db.is_sqlite)
shell = Shell(db)
shell.start()
window = shell.dialog
assert isinstance(window, SignInDialog), window
while window.windowHandle() is None or not window.windowHandle().isExposed():
    app.processEvents()
window.repaint()
app.processEvents()
print(time.monotonic(), flush=True)
os._exit(0)
"""

START_BARE = """
import os, sys, time
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(400, 300)
window.show()
while window.windowHandle() is None or not window.windowHandle().isExposed():
    app.processEvents()
window.repaint()
app.processEvents()
print(time.monotonic(), flush=True)
os._exit(0)
"""

START_PYTHON = """
import os, time
print(time.monotonic(), flush=True)
os._exit(0)
"""


@dataclass(frozen=True)
class Figure:
    name: str
    samples: list[float]  # seconds
    note: str
    aim_ms: float

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def worst_ms(self) -> float:
        return max(self.samples) * 1000

    @property
    def first_ms(self) -> float:
        return self.samples[0] * 1000

    @property
    def verdict(self) -> str:
        if not self.aim_ms:
            return "—"
        return "met" if self.median_ms <= self.aim_ms else "missed"


def write_section(path: Path, name: str, body: str) -> None:
    """Write ``body`` between ``<!-- name -->`` and ``<!-- /name -->`` in ``path``: the
    section is replaced where it is, or appended; the rest of the file is kept."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    start = text.find(begin)
    stop = text.find(end, start) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


# cold start -------------------------------------------------------------------------------


def _process(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(process start → window shown, whole process run) in seconds."""
    started = time.monotonic()
    clock = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    whole = time.perf_counter() - clock
    if done.returncode != 0:
        raise RuntimeError(f"the timed process failed:\n{done.stderr}")
    shown = float(done.stdout.strip().splitlines()[-1]) - started
    return shown, whole


def _cold_starts(url: str, data: Path, runs: int) -> list[Figure]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", DATA_DIR_ENV: str(data)}
    figures = []
    for name, code, args, note, aim in (
        (
            "cold start: sign-in dialog shown",
            START_APP,
            [url],
            "fresh process: import the app, open and check the database, Shell shows the "
            "sign-in dialog, painted",
            AIM_START_S * 1000,
        ),
        (
            "floor: bare QMainWindow shown",
            START_BARE,
            [],
            "fresh process: import PySide6, QApplication, an empty QMainWindow shown, painted",
            0.0,
        ),
        (
            "floor: bare Python",
            START_PYTHON,
            [],
            "fresh process that only prints the clock",
            0.0,
        ),
    ):
        shown, whole = [], []
        for _ in range(runs):
            a, b = _process(code, args, env)
            shown.append(a)
            whole.append(b)
        figures.append(Figure(name, shown, note, aim))
        figures.append(
            Figure(
                f"{name.split(':')[0]}: whole process",
                whole,
                "time.perf_counter() around subprocess.run, exit included",
                0.0,
            )
        )
        print(
            f"  {name:45} median {statistics.median(shown) * 1000:7.0f} ms "
            f"(whole process {statistics.median(whole) * 1000:.0f} ms)"
        )
    return figures


# the audit trail, bulk-inserted -------------------------------------------------------------


def _audit_rows(db: Database, count: int, users: list[User], study_id: int) -> tuple[int, int]:
    """Append ``count`` entries after the real ones (ids and times increasing over two years),
    then move the chain head past them so later real appends still follow on.

    An entry of a table whose records belong to a study names one: the benchmarked study
    for 60 % of them, four other studies for the rest, so a study's trail is filtered from
    a mixed one."""
    rng = random.Random(4)
    tables = audit_table_names()
    of_a_study = {name for name in tables if can_belong_to_a_study(Base.metadata.tables[name])}
    studies = [study_id, -1, -2, -3, -4]
    busy = {"ledger_entry": 30, "dispense_order": 20, "kit": 12, "signature": 12, "subject": 6}
    weights = [busy.get(name, 1) for name in tables]
    people = [(user.id, user.username) for user in users]
    person_weights = [50, 35, 15][: len(people)]
    with db.read_session() as session:
        first = int(session.scalar(select(func.max(AuditEntry.id))) or 0) + 1
    end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    start = end - dt.timedelta(days=730)
    step = (end - start) / count
    rows: list[dict[str, Any]] = []
    for offset in range(count):
        entry_id = first + offset
        table = rng.choices(tables, weights)[0]
        user_id, username = rng.choices(people, person_weights)[0]
        changed = rng.random() < 0.3
        rows.append(
            {
                "id": entry_id,
                "at": start + step * offset,
                "user_id": user_id,
                "username": username,
                "action": "update" if changed else "insert",
                "table_name": table,
                "record_id": str(rng.randrange(1, 50_000)),
                "study_id": rng.choices(studies, [60, 10, 10, 10, 10])[0]
                if table in of_a_study
                else None,
                "field": "state" if changed else None,
                "old_value": "available" if changed else None,
                "new_value": "dispensed" if changed else '{"quantity": 1, "note": "bench"}',
                "reason": "Bench correction" if changed and rng.random() < 0.05 else None,
                "prev_hash": f"{entry_id - 1:064x}",
                "hash": f"{entry_id:064x}",
            }
        )
        if len(rows) >= AUDIT_BATCH:
            with db.engine.begin() as conn:
                conn.execute(insert(AuditEntry), rows)
            rows.clear()
    if rows:
        with db.engine.begin() as conn:
            conn.execute(insert(AuditEntry), rows)
    last = first + count - 1
    with db.engine.begin() as conn:
        conn.execute(update(AuditChainHead).values(last_id=last, last_hash=f"{last:064x}"))
    return first, last


# in one QApplication: the main window and the audit viewer -----------------------------------


def _settle() -> None:
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()


def _time(work: Callable[[], object], check: Callable[[], bool], what: str = "") -> float:
    started = time.perf_counter()
    work()
    _settle()
    seconds = time.perf_counter() - started
    if not check():
        raise RuntimeError(f"the screen did not show what was asked for {what}")
    return seconds


def _study_screens(db: Database, user: User, study_id: int, data: Path, runs: int) -> list[Figure]:
    from ids_app.ui.actions import STUDY_TABS
    from ids_app.ui.dispensing import DispensingTab
    from ids_app.ui.main_window import MainWindow
    from ids_app.ui.overview import OverviewTab
    from ids_app.ui.settings import AppSettings

    signed_in: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        window = MainWindow(db, user, settings=AppSettings(data / "settings.ini"))
        window.resize(1280, 800)
        window.show()
        _settle()
        signed_in.append(time.perf_counter() - started)
        window.close()
        _settle()
    window = MainWindow(db, user, settings=AppSettings(data / "settings.ini"))
    window.resize(1280, 800)
    window.show()
    _settle()
    overview = window.workspace.tab("overview")
    dispensing = window.workspace.tab("dispensing")
    assert isinstance(overview, OverviewTab)
    assert isinstance(dispensing, DispensingTab)
    opening: list[float] = []
    sections: dict[str, list[float]] = {key: [] for key, _title in STUDY_TABS[1:]}
    for _ in range(runs):
        window.show_my_work()
        window.workspace.show_tab("overview")
        _settle()
        opening.append(
            _time(
                lambda: window.open_study(study_id),
                lambda: overview.isVisible() and overview.stock.rowCount() > 0,
            )
        )
        for key in sections:
            tab = window.workspace.tab(key)
            window.workspace.show_tab("overview")
            _settle()
            tab.mark_stale()  # read afresh, as after a change elsewhere
            sections[key].append(
                _time(
                    lambda key=key: window.show_tab(key),
                    lambda tab=tab: (
                        tab.isVisible()
                        and (tab is not dispensing or dispensing.model.rowCount() > 0)
                    ),
                    key,
                )
            )
    with db.read_session() as session:
        ledger = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
        count = session.scalar(select(func.count()).select_from(DispenseOrder)) or 0
    audit = _audit_screens(window, runs)
    window.close()
    _settle()
    titles = dict(STUDY_TABS)
    notes = {
        "dispensing": f"the first 100 of {count:,} orders (keyset paging) and the locations",
        "inventory": "the kit register, first 200 kits on site (keyset on kit number)",
        "transfers": "stock on site, first 200 kits (units first), locations, other studies",
        "returns": "the latest 200 dispenses with their returns, the first 100 returns",
        "destruction": "what may go now (condemned, verified returns, expired lots)",
        "study_audit": "the study's audit entries, first page (keyset on id)",
    }
    return [
        Figure(
            "main window after sign-in",
            signed_in,
            "MainWindow built and shown: menus, study list, My work (each section is built "
            "when first opened); argon2's password check comes before",
            AIM_SCREEN_MS,
        ),
        Figure(
            "open the study: Overview with its stock",
            opening,
            "MainWindow.open_study: the study, its products, stock by lot/location/state, "
            f"the four alert lists, from {ledger:,} ledger rows",
            AIM_SCREEN_MS,
        ),
        *(
            Figure(
                f"switch to {titles[key]}",
                times,
                notes.get(key, "read afresh and shown"),
                AIM_SCREEN_MS,
            )
            for key, times in sections.items()
        ),
        *audit,
    ]


def _audit_screens(window: Any, runs: int) -> list[Figure]:
    from PySide6.QtCore import QDate, QModelIndex

    page = window.audit_page
    assert page is not None
    model = page.model
    opening, more = [], []
    for _ in range(runs):
        window.show_my_work()
        _settle()
        opening.append(_time(window.show_audit, lambda: model.rowCount() == model.page_size))
    for _ in range(50):
        before = model.rowCount()
        more.append(
            _time(
                lambda: model.fetchMore(QModelIndex()),
                lambda before=before: model.rowCount() == before + model.page_size,
            )
        )
    third = dt.date.today() - dt.timedelta(days=365)
    with window.db.read_session() as session:
        record = session.scalar(
            select(AuditEntry.record_id)
            .where(AuditEntry.table_name == "dispense_order", AuditEntry.id > model.page_size)
            .order_by(AuditEntry.id)
            .limit(1)
        )

    def by_user() -> None:
        page.user_filter.setCurrentText("tech")

    def by_rare_user() -> None:
        page.user_filter.setCurrentText("admin")

    def by_table(name: str) -> Callable[[], None]:
        def choose() -> None:
            page.table_filter.setCurrentIndex(page.table_filter.findData(name))

        return choose

    def by_record() -> None:
        by_table("dispense_order")()
        page.record_filter.setText(record or "")

    def by_record_alone() -> None:
        page.record_filter.setText(record or "")

    def by_dates() -> None:
        page.from_check.setChecked(True)
        page.to_check.setChecked(True)
        page.date_from.setDate(QDate(third.year, third.month, third.day))
        week = third + dt.timedelta(days=6)
        page.date_to.setDate(QDate(week.year, week.month, week.day))

    figures = [
        Figure(
            "audit trail: open the viewer",
            opening,
            "the user list and the first page (200 entries, newest first)",
            AIM_SCREEN_MS,
        ),
        Figure(
            "audit trail: each of 50 more pages",
            more,
            "fetchMore as the view calls it when scrolled to the end: 200 entries, keyset",
            AIM_SCREEN_MS,
        ),
    ]
    filters: list[tuple[str, Callable[[], None], str]] = [
        ("filter: user (busy)", by_user, "`tech`: half of the entries"),
        ("filter: user (few entries)", by_rare_user, "`admin`: 15 % of the entries"),
        ("filter: table (busy)", by_table("ledger_entry"), "`ledger_entry`: ~30 % of entries"),
        ("filter: table (rare)", by_table("location"), "`location`: ~1 % of entries"),
        ("filter: table + record", by_record, "one dispense order's history"),
        ("filter: record alone", by_record_alone, "that record id in every table"),
        ("filter: date range", by_dates, "one week, a year ago (~9,600 entries)"),
    ]
    widgets = (
        page.user_filter,
        page.table_filter,
        page.record_filter,
        page.from_check,
        page.to_check,
        page.date_from,
        page.date_to,
    )
    for name, choose, note in filters:
        samples = []
        for _ in range(runs):
            page.clear_filters()
            _settle()
            for widget in widgets:
                widget.blockSignals(True)
            choose()
            for widget in widgets:
                widget.blockSignals(False)
            samples.append(_time(page.apply, lambda: model.rowCount() > 0, name))
        figures.append(
            Figure(f"audit trail: {name}", samples, f"{note}; Apply, first page", AIM_SCREEN_MS)
        )
    page.clear_filters()
    return figures


# the report ---------------------------------------------------------------------------------


def _markdown(start: list[Figure], screens: list[Figure], ledger_rows: int, audit: int) -> str:
    import PySide6

    def row(figure: Figure, first: bool) -> str:
        seen = f"{figure.first_ms:.0f}" if first else "—"
        aim = f"≤ {figure.aim_ms:.0f}" if figure.aim_ms else "—"
        return (
            f"| {figure.name} | {figure.median_ms:.0f} | {figure.worst_ms:.0f} | {seen} | "
            f"{aim} | {figure.verdict} | {figure.note} |"
        )

    runs = len(start[0].samples)
    lines = [
        "## Desktop",
        "",
        "Written by `scripts/bench` (`bench/desktop.py`): the real widgets, offscreen "
        "(`QT_QPA_PLATFORM=offscreen`), on a SQLite file; every figure is wall clock until "
        "Qt's pending events (layout, paint) are processed.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, PySide6 {PySide6.__version__}.",
        f"- Database: one double-blind study with {ledger_rows:,} ledger rows "
        f"(`bench.generate`), {audit:,} audit entries bulk-inserted (Core `insert()`, a few "
        "users and tables, increasing ids and times over two years; entries of study records "
        "name the benchmarked study 60 % of the time, four others the rest), then `ANALYZE`.",
        "- Sections: each opened from the Overview after being marked stale, so it reads "
        "its records afresh, as after a change made elsewhere.",
        f"- Cold start: median of {runs} fresh processes; the time is from just before "
        "`subprocess.run` to the window painted (the child prints the monotonic clock); "
        "'whole process' adds the exit.",
        "- Screens: one QApplication, one MainWindow signed in as a (blinded) pharmacist; "
        "'first' is the first run, before the database pages were in SQLite's cache.",
        "",
        "| what | median (ms) | worst (ms) | first (ms) | aim (ms) | aim | what it does |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    lines += [row(figure, False) for figure in start]
    lines += [row(figure, True) for figure in screens]
    missed = [f for f in (*start, *screens) if f.verdict == "missed"]
    lines += [
        "",
        "Aims missed (median): "
        + ("; ".join(f"{f.name} ({f.median_ms:.0f} ms)" for f in missed) or "none")
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="ledger rows of the study")
    parser.add_argument("--audit", type=int, default=1_000_000, help="audit entries")
    parser.add_argument("--starts", type=int, default=7, help="cold starts timed")
    parser.add_argument("--runs", type=int, default=5, help="runs of each screen")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    folder = Path(tempfile.mkdtemp(prefix="ids-bench-desktop-"))
    os.environ[DATA_DIR_ENV] = str(folder)
    path = folder / "desktop.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    tech, pharm = _people(db)
    started = time.perf_counter()
    data = generate(db, studies=1, rows_per_study=args.rows, user_id=tech.id)
    with db.engine.begin() as conn:
        reset_sequences(conn)
    with db.read_session() as session:
        admin = session.scalars(select(User).where(User.username == "admin")).one()
    first, last = _audit_rows(db, args.audit, [tech, pharm, admin], data.studies[0].study_id)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(
        f"SQLite: {data.ledger_rows:,} ledger rows and audit entries {first:,} to {last:,} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    start = _cold_starts(sqlite_url(path), folder, args.starts)

    from PySide6.QtWidgets import QApplication

    from ids_app.ui.style import apply_style, prepare_high_dpi
    from ids_app.users.services import sign_in

    prepare_high_dpi()
    app = QApplication(sys.argv[:1])
    apply_style(app)
    app.setQuitOnLastWindowClosed(False)
    with db.unit_of_work() as session:
        user = sign_in(session, pharm.username, PASSWORD)
    screens = _study_screens(db, user, data.studies[0].study_id, folder, args.runs)
    for figure in screens:
        print(f"  {figure.name:45} median {figure.median_ms:7.1f} ms  worst {figure.worst_ms:.1f}")
    with db.read_session() as session:
        audit = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    write_section(args.out, "desktop", _markdown(start, screens, data.ledger_rows, audit))
    db.dispose()
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
