"""The sponsor workbook against openpyxl's write-only floor, in the same run.

Run with ``python -m bench.workbook`` or ``python -m bench.run --workbook [ROWS ...]``;
the table goes to docs/benchmarks.md. For each size a generated database of one study
(bench/generate.py); then, each in a fresh process so that its peak RSS is its own:

- the workbook: the study's record gathered as the export gathers it, then written by
  ``write_workbook`` (typed and styled cells, filters, frozen panes, totals, print setup);
- the floor: the same record gathered the same way, its rows then appended as plain values
  (each row's fields) to an openpyxl write-only workbook: no styles, types or formulas.

Time is the writing alone (the gathering is the same for both, and shown apart), as the
process's CPU time, which other work on a shared machine moves far less than the wall
clock (both are reported; the aim is judged on CPU time). Peak RSS is the whole
process's (``os.wait4``), beside its RSS once the record was gathered, so what the
writer itself holds shows as the difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from bench.child import run_measured
from bench.desktop import write_section
from bench.generate import generate
from bench.run import _people
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.migrations.copy import reset_sequences
from ids_app.migrations.schema import prepare_database
from ids_app.reports.records import StudyRecord
from ids_app.users.models import User
from ids_app.users.passwords import set_hashing_cost

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = "BENCH-001"
AIM_TIMES_FLOOR = 1.5
SIZES = (2_000, 13_000)
RUNS = 3


def _fields(row: Any) -> list[Any]:
    """A row's own values as a spreadsheet takes them: nested records left out, times
    without their zone (Excel has none)."""
    values = []
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if isinstance(value, tuple | list) or dataclasses.is_dataclass(value):
            continue
        if isinstance(value, dt.datetime):
            value = value.astimezone().replace(tzinfo=None)
        values.append(value.value if isinstance(value, enum.Enum) else value)
    return values


def _plain_rows(record: StudyRecord) -> Iterator[tuple[str, list[Any]]]:
    """Every data row the workbook writes, as (sheet, plain values)."""
    for darf in record.accountability:
        for line in darf.lines:
            yield "Accountability", [darf.product.description, darf.product.unit, *_fields(line)]
    for shipment in record.shipments:
        for item in shipment.lines:
            yield "Shipments", _fields(shipment) + _fields(item)
    for row in record.inventory:
        yield "Inventory", _fields(row)
    for dispense in record.dispensing:
        yield "Dispensing", _fields(dispense)
    for returned in record.returns:
        yield "Returns & compliance", _fields(returned)
    for hold in record.holds:
        for held in hold.held:
            yield "Quarantine & excursions", _fields(hold) + _fields(held)
    for disposal in record.disposals:
        for removed in disposal.lines:
            yield "Destruction", _fields(disposal) + _fields(removed)
    for count in record.counts:
        for found in count.discrepancies:
            yield "Discrepancies", _fields(count) + _fields(found)
    for entry in record.audit:
        yield "Audit trail", _fields(entry)


def _floor(record: StudyRecord, target: Path) -> None:
    book = Workbook(write_only=True)
    sheets: dict[str, Any] = {}
    for name, values in _plain_rows(record):
        if name not in sheets:
            sheets[name] = book.create_sheet(name)
        sheets[name].append(values)
    book.save(target)


def _child(kind: str, database: Path, target: Path) -> None:
    """One measured process: gather the record, write it, print what it took as JSON."""
    from ids_app.reports.exports import _printing, snapshot
    from ids_app.reports.gather import gather_study_record
    from ids_app.reports.workbook import write_workbook

    db = Database(sqlite_url(database))
    with db.read_session() as session:
        actor = session.scalars(select(User).where(User.username == "pharm")).one()
        session.expunge(actor)
    started = time.perf_counter()
    with snapshot(db) as session:
        record = gather_study_record(session, actor, PROTOCOL)
        printing = _printing(actor, session)
    gathered = time.perf_counter()
    cpu = time.process_time()
    after_gather = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "workbook":
        write_workbook(record, printing, target)
    else:
        _floor(record, target)
    written = time.perf_counter()
    cpu = time.process_time() - cpu
    rows = sum(1 for _ in _plain_rows(record))
    print(
        json.dumps(
            {
                "gather_s": gathered - started,
                "write_s": written - gathered,
                "write_cpu_s": cpu,
                "after_gather_kib": after_gather,
                "data_rows": rows,
                "bytes": target.stat().st_size,
            }
        )
    )
    db.dispose()


@dataclass(frozen=True)
class Sample:
    gather_s: float
    write_s: float
    write_cpu_s: float
    after_gather_mib: float
    peak_mib: float
    data_rows: int
    bytes: int


def _measure(kind: str, database: Path, folder: Path) -> Sample:
    found, peak_mib = run_measured(
        "bench.workbook", ["--child", kind, str(database), str(folder / f"{kind}.xlsx")]
    )
    return Sample(
        found["gather_s"],
        found["write_s"],
        found["write_cpu_s"],
        found["after_gather_kib"] / 1024,
        peak_mib,
        found["data_rows"],
        found["bytes"],
    )


@dataclass(frozen=True)
class Size:
    ledger_rows: int
    workbook: list[Sample]
    floor: list[Sample]

    @staticmethod
    def median(samples: list[Sample], what: str) -> float:
        return float(statistics.median(getattr(s, what) for s in samples))

    def times_floor(self, what: str = "write_cpu_s") -> float:
        return self.median(self.workbook, what) / self.median(self.floor, what)


def _database(folder: Path, rows: int) -> tuple[Path, int]:
    path = folder / f"workbook-{rows}.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    tech, pharm = _people(db)
    made = generate(
        db, studies=1, rows_per_study=rows, user_id=tech.id, verifier_id=pharm.id, trail=True
    )
    with db.engine.begin() as conn:
        reset_sequences(conn)
    db.dispose()
    return path, made.ledger_rows


def _markdown(sizes: list[Size], runs: int) -> str:
    lines = [
        "## Sponsor workbook against openpyxl's write-only floor",
        "",
        f"Written by `python -m bench.workbook`; {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; medians of {runs} fresh processes each. "
        "One generated study (bench/generate.py) with the audit entries and signatures "
        "the services would have written (bench/trail.py). The floor appends the same "
        "record's rows as plain values to an openpyxl write-only workbook (no styles, types, "
        "formulas or print setup). Writing time excludes gathering the record, which both "
        "pay alike; CPU is the writing process's CPU time, which other work on a shared "
        "machine moves far less than the wall clock (the aim is judged on it); "
        "peak RSS is the whole process's, after gathering is the RSS once the record was "
        f"in memory. Aim: the workbook within {AIM_TIMES_FLOOR} times the floor's time, and "
        "memory flat in rows beyond the record itself.",
        "",
        "| ledger rows | data rows | gathering (s) | workbook CPU (s) | floor CPU (s) "
        "| times the floor | workbook wall (s) | floor wall (s) | times the floor (wall) "
        "| workbook peak RSS (MiB) | floor peak RSS (MiB) | after gathering (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        w, f = size.workbook, size.floor
        lines.append(
            f"| {size.ledger_rows:,} | {w[0].data_rows:,} | {size.median(w, 'gather_s'):.1f} "
            f"| {size.median(w, 'write_cpu_s'):.2f} | {size.median(f, 'write_cpu_s'):.2f} "
            f"| {size.times_floor():.2f} "
            f"| {size.median(w, 'write_s'):.2f} | {size.median(f, 'write_s'):.2f} "
            f"| {size.times_floor('write_s'):.2f} | {size.median(w, 'peak_mib'):.0f} "
            f"| {size.median(f, 'peak_mib'):.0f} | {size.median(w, 'after_gather_mib'):.0f} |"
        )
    missed = "; ".join(
        f"{s.ledger_rows:,} rows ({s.times_floor():.2f} times)"
        for s in sizes
        if s.times_floor() > AIM_TIMES_FLOOR
    )
    lines += ["", f"Aim missed: {missed or 'none'}."]
    return "\n".join(lines) + "\n"


def measure(sizes: list[int], runs: int, out: Path) -> None:
    """Each size's database, then ``runs`` workbook and floor processes in turn."""
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    folder = Path(tempfile.mkdtemp(prefix="ids-bench-workbook-"))
    measured = []
    for rows in sizes:
        database, ledger_rows = _database(folder, rows)
        samples: dict[str, list[Sample]] = {"workbook": [], "floor": []}
        for _ in range(runs):
            for kind, found in samples.items():
                found.append(_measure(kind, database, folder))
        size = Size(ledger_rows, samples["workbook"], samples["floor"])
        print(
            f"{ledger_rows:,} ledger rows: workbook "
            f"{size.median(size.workbook, 'write_cpu_s'):.2f} s CPU, floor "
            f"{size.median(size.floor, 'write_cpu_s'):.2f} s ({size.times_floor():.2f} times; "
            f"wall {size.times_floor('write_s'):.2f} times), "
            f"peak RSS {size.median(size.workbook, 'peak_mib'):.0f} / "
            f"{size.median(size.floor, 'peak_mib'):.0f} MiB"
        )
        measured.append(size)
    write_section(out, "workbook", _markdown(measured, runs))
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=list(SIZES), help="ledger rows of each size"
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="processes of each kind per size")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DATABASE", "TARGET"))
    args = parser.parse_args()
    if args.child:
        kind, database, target = args.child
        _child(kind, Path(database), Path(target))
    else:
        measure(args.rows, args.runs, args.out)


if __name__ == "__main__":
    main()
