"""Ledger benchmarks on a generated database; results go to docs/benchmarks.md.

Run with ``scripts/bench`` (``--rows`` and ``--studies`` change the size). What is
timed goes through the real services in real units of work: a dispense (prepare +
verify, each with its signature), a study's balances, a subject's history. Argon2's
password check, which every signature pays by design, is timed on its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import func, select

from bench.generate import Generated, generate
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.inventory.dispensing import (
    Scanned,
    create_order,
    prepare_order,
    subject_history,
    verify_order,
)
from ids_app.inventory.ledger import study_balances, study_stock
from ids_app.inventory.models import DispenseOrder, Kit, LedgerEntry, Location, StockState
from ids_app.migrations.copy import reset_sequences
from ids_app.migrations.schema import prepare_database
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Role, User
from ids_app.users.passwords import set_hashing_cost
from ids_app.users.services import add_user, change_password, create_first_administrator, sign_in

PASSWORD = "bench-pass-1"
RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]
    note: str

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


def _people(db: Database) -> tuple[User, User]:
    with db.unit_of_work() as session:
        admin = create_first_administrator(session, "admin", "Bench Admin", PASSWORD)
    made = []
    for name, role in (("tech", Role.TECHNICIAN), ("pharm", Role.PHARMACIST)):
        with db.unit_of_work() as session:
            add_user(session, admin, name, name.title(), role, "temporary-1")
        with db.unit_of_work() as session:
            user = sign_in(session, name, "temporary-1")
            made.append(change_password(session, user, "temporary-1", PASSWORD))
    return made[0], made[1]


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _available_kits(db: Database, study_id: int, shelf_id: int, count: int) -> list[str]:
    with db.read_session() as session:
        rows = [
            row
            for row in study_balances(session, study_id)
            if row.state is StockState.AVAILABLE and row.location_id == shelf_id
        ][:count]
        return [session.get_one(Kit, row.kit_id).kit_number for row in rows if row.kit_id]


def _dispenses(db: Database, data: Generated, tech: User, pharm: User, n: int) -> list[float]:
    samples = []
    for index in range(n):
        generated = data.studies[index % len(data.studies)]
        kit = _available_kits(db, generated.study_id, data.shelf_id, 1)[0]
        with db.unit_of_work() as session:
            order = create_order(
                session,
                tech,
                session.get_one(Study, generated.study_id),
                subject=session.get_one(Subject, generated.subject_ids[index]),
                prescriber=session.get_one(Prescriber, generated.study_id),
                product=session.get_one(Product, generated.product_id),
                visit="Bench visit",
                assigned_kit_number=kit,
            )
            order_id = order.id

        def prepare_and_verify(order_id: int = order_id, kit: str = kit) -> None:
            with db.unit_of_work() as session:
                prepare_order(
                    session,
                    tech,
                    session.get_one(DispenseOrder, order_id),
                    password=PASSWORD,
                    item=Scanned(kit),
                    location=session.get_one(Location, data.shelf_id),
                )
            with db.unit_of_work() as session:
                verify_order(
                    session,
                    pharm,
                    session.get_one(DispenseOrder, order_id),
                    password=PASSWORD,
                    item=Scanned(kit),
                )

        samples.append(_timed(prepare_and_verify))
    return samples


def _balances(db: Database, data: Generated, query: Callable[..., object]) -> list[float]:
    samples = []
    for generated in data.studies:
        with db.read_session() as session:
            samples.append(_timed(lambda s=session, g=generated: query(s, g.study_id)))
    return samples


def _histories(db: Database, data: Generated, n: int) -> list[float]:
    samples = []
    for index in range(n):
        generated = data.studies[index % len(data.studies)]
        subject_id = generated.subject_ids[(index * 7) % len(generated.subject_ids)]
        with db.read_session() as session:
            samples.append(_timed(lambda s=session, i=subject_id: subject_history(s, i)))
    return samples


def _argon2(n: int) -> list[float]:
    hasher = PasswordHasher()
    stored = hasher.hash(PASSWORD)
    return [_timed(lambda: hasher.verify(stored, PASSWORD)) for _ in range(n)]


@dataclass(frozen=True)
class Run:
    """One database's measurements."""

    backend: str
    timings: list[Timing]
    ledger_rows: int
    generated_in: float


def _measure(db: Database, args: argparse.Namespace) -> Run:
    prepare_database(db)
    tech, pharm = _people(db)
    started = time.perf_counter()
    data = generate(
        db, studies=args.studies, rows_per_study=args.rows // args.studies, user_id=tech.id
    )
    with db.engine.begin() as conn:
        reset_sequences(conn)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    seconds = time.perf_counter() - started
    with db.read_session() as session:
        rows = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    print(f"{backend}: generated {rows:,} ledger rows in {seconds:.0f} s")
    timings = [
        Timing(
            "dispense: prepare + verify",
            _dispenses(db, data, tech, pharm, args.samples),
            "two units of work: scan checks, signature, ledger movement, audit entries",
        ),
        Timing(
            "a study's stock",
            _balances(db, data, study_stock),
            "per product, lot, location and state (the overview), from ~20,000 entries",
        ),
        Timing(
            "a study's balances, kit by kit",
            _balances(db, data, study_balances),
            "~9,000 kits' balances per study, each with its location and state",
        ),
        Timing(
            "a subject's history",
            _histories(db, data, args.samples * 3),
            "a subject's orders with their ledger movements",
        ),
    ]
    for timing in timings:
        print(f"  {timing.name:40} median {timing.median_ms:8.1f} ms  p95 {timing.p95_ms:8.1f} ms")
    return Run(backend, timings, rows, seconds)


def _write(path: Path, runs: list[Run], argon2: Timing, studies: int) -> None:
    servers = ", ".join(
        f"{run.backend} ({run.ledger_rows:,} rows, generated in {run.generated_in:,.0f} s)"
        for run in runs
    )
    lines = [
        "# Benchmarks",
        "",
        "Written by `scripts/bench` (`bench/run.py`); tests never assert on time.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL); "
        "PostgreSQL is the throwaway local server `scripts/postgres` starts (fsync off, "
        "loopback), so its numbers show the app's cost, not a production server's disk.",
        f"- Databases: {studies} studies each: {servers}, by bulk inserts; every timed "
        "operation goes through the real services and units of work.",
        "- Signatures in the timed dispenses use argon2 at a low cost (time 1, 8 KiB) so the "
        "ledger's own cost shows; the production password check is timed on its own "
        f"({argon2.median_ms:.0f} ms median, p95 {argon2.p95_ms:.0f} ms, argon2-cffi "
        "defaults), and a real dispense pays it twice: the technician's and the "
        "pharmacist's signature.",
        "",
        "| operation | "
        + " | ".join(f"{run.backend} median (ms) | p95" for run in runs)
        + " | what it does |",
        "|---|" + "---:|---:|" * len(runs) + "---|",
    ]
    for index, timing in enumerate(runs[0].timings):
        cells = " | ".join(
            f"{run.timings[index].median_ms:.1f} | {run.timings[index].p95_ms:.1f}" for run in runs
        )
        lines.append(f"| {timing.name} | {cells} | {timing.note} |")
    lines.append("")
    from bench.desktop import write_section  # each benchmark writes only its own section

    write_section(path, "ledger", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger rows in all")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument(
        "--postgres", metavar="URL", help="also run on this empty PostgreSQL database"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--workbook",
        type=int,
        nargs="*",
        metavar="ROWS",
        help="instead, the sponsor workbook against openpyxl's write-only floor, at these "
        "ledger-row sizes (bench/workbook.py)",
    )
    args = parser.parse_args()
    if args.workbook is not None:
        from bench.workbook import RUNS, SIZES, measure

        measure(args.workbook or list(SIZES), RUNS, args.out)
        return
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    folder = Path(tempfile.mkdtemp(prefix="ids-bench-"))
    runs = []
    sqlite_db = Database(sqlite_url(folder / "bench.sqlite"))
    runs.append(_measure(sqlite_db, args))
    sqlite_db.dispose()
    if args.postgres:
        server_db = Database(args.postgres)
        runs.append(_measure(server_db, args))
        server_db.dispose()
    argon2 = Timing("argon2", _argon2(10), "")
    _write(args.out, runs, argon2, args.studies)
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
