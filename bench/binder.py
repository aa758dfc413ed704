"""The audit binder against a plain WeasyPrint table of the same rows, in the same run.

Run with ``python -m bench.binder [--rows 2000 13000 ...]``; the table goes to
docs/benchmarks.md. For each size a generated database of one study (bench/generate.py);
then, each in a fresh process so that its peak memory is its own:

- the binder: the study's record gathered as the export gathers it, then laid out in
  pieces (by worker processes once its long tables pass 1,500 rows) and joined;
- the floor: the same record, its long tables' rows (accountability, dispensing, audit)
  as one plain HTML table laid out by WeasyPrint in one document, as the binder was before
  it was cut in pieces. Its time divided by the cores is the aim for the binder.

Time is wall clock from the record gathered to the file written, and CPU time of the
process and its workers. Peak memory is the parent process's (``os.wait4``) and the largest
worker's; the machine holds the parent plus one piece per worker at most.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
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

from sqlalchemy import select

from bench.child import run_measured
from bench.desktop import write_section
from bench.workbook import _database, _fields
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.reports.binder import PRINTED_AUDIT_ENTRIES, audit_tally
from ids_app.reports.records import StudyRecord
from ids_app.users.models import User
from ids_app.users.passwords import set_hashing_cost

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = "BENCH-001"
SIZES = (500, 2_000, 13_000, 100_000)
RUNS = 1
AIM_PEAK_MIB = 1024


def _long_rows(record: StudyRecord) -> Iterator[list[Any]]:
    """The rows the binder prints that grow with the study: the accountability record, the
    signature log, the dispensing log, and the audit extract as the binder prints it (in
    full up to ``PRINTED_AUDIT_ENTRIES``, else its tally; the whole extract is a data file)."""
    for darf in record.accountability:
        for line in darf.lines:
            yield _fields(line)
    for signature in record.signatures:
        yield _fields(signature)
    for row in record.dispensing:
        yield _fields(row)
    if len(record.audit) <= PRINTED_AUDIT_ENTRIES:
        for entry in record.audit:
            yield _fields(entry)
    else:
        for tally in audit_tally(record.audit):
            yield _fields(tally)


def _floor(record: StudyRecord, target: Path) -> int:
    from ids_app.reports.rendering import write_pdf

    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
        for row in _long_rows(record)
    )
    page = (
        "<html><head><style>@page { size: letter landscape; margin: 12mm } "
        "table { border-collapse: collapse; font-size: 7pt } td { border: 0.5pt solid #000 }"
        "</style></head><body><table>" + rows + "</table></body></html>"
    )
    return write_pdf(page, target)


def _child(kind: str, database: Path, target: Path) -> None:
    """One measured process: gather the record, lay it out, print what it took as JSON."""
    from ids_app.reports.audit_data import audit_data_target, write_audit_data
    from ids_app.reports.binder import write_binder
    from ids_app.reports.exports import _printing, snapshot
    from ids_app.reports.gather import gather_study_record

    db = Database(sqlite_url(database))
    with db.read_session() as session:
        actor = session.scalars(select(User).where(User.username == "pharm")).one()
        session.expunge(actor)
    with snapshot(db) as session:
        record = gather_study_record(session, actor, PROTOCOL)
        printing = _printing(actor, session)
    after_gather = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    if kind == "binder":
        data = audit_data_target(target)
        pages = write_binder(
            record, printing, target, write_audit_data(record.audit, data.name, data)
        )
    else:
        pages = _floor(record, target)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "wall_s": time.perf_counter() - started,
                "cpu_s": time.process_time() - cpu + workers.ru_utime + workers.ru_stime,
                "after_gather_mib": after_gather / 1024,
                "worker_peak_mib": workers.ru_maxrss / 1024,
                "pages": pages,
                "rows": sum(1 for _ in _long_rows(record)),
                "audit_entries": len(record.audit),
                "signatures": len(record.signatures),
            }
        )
    )
    db.dispose()


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    after_gather_mib: float
    peak_mib: float
    worker_peak_mib: float
    pages: int
    rows: int
    audit_entries: int
    signatures: int


def _measure(kind: str, database: Path, folder: Path) -> Sample:
    found, peak_mib = run_measured(
        "bench.binder", ["--child", kind, str(database), str(folder / f"{kind}.pdf")]
    )
    return Sample(peak_mib=peak_mib, **found)


def _median(samples: list[Sample], what: str) -> float:
    return float(statistics.median(getattr(s, what) for s in samples))


@dataclass(frozen=True)
class Size:
    ledger_rows: int
    binder: list[Sample]
    floor: list[Sample]
    # Why there is no floor: not asked for at this size, or its process failed.
    floor_missing: str = "not run"

    def as_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @staticmethod
    def from_json(line: str) -> Size:
        found = json.loads(line)
        return Size(
            found["ledger_rows"],
            [Sample(**sample) for sample in found["binder"]],
            [Sample(**sample) for sample in found["floor"]],
            found["floor_missing"],
        )


def _extrapolated(size: Size, measured: list[Size], cores: int) -> str | None:
    """The floor a size could not lay out, scaled linearly by long-table rows from the
    largest floor measured (its time and memory grew linearly in the sizes measured)."""
    floors = [known for known in measured if known.floor]
    if size.floor or not floors:
        return None
    base = max(floors, key=lambda known: known.binder[0].rows)
    scale = size.binder[0].rows / base.binder[0].rows
    cpu = _median(base.floor, "cpu_s") * scale
    wall = _median(base.floor, "wall_s") * scale
    peak = _median(base.floor, "peak_mib") * scale
    return (
        f"{size.ledger_rows:,} rows: floor {size.floor_missing}; extrapolated (not measured) "
        f"linearly from the {base.ledger_rows:,}-row floor by long-table rows ({scale:.1f} times): "
        f"about {cpu:,.0f} s CPU ({cpu / cores:,.0f} s ÷ {cores} cores; {wall:,.0f} s wall at "
        f"that run's load) and {peak / 1024:,.0f} GiB peak in one process"
    )


def _markdown(sizes: list[Size], runs: int, cores: int) -> str:
    lines = [
        "## Audit binder in pieces against one plain WeasyPrint document",
        "",
        f"Written by `python -m bench.binder`; {platform.machine()}, {cores} cores, Python "
        f"{platform.python_version()}; medians of {runs} fresh processes each. One generated "
        "study (bench/generate.py) with the audit entries and signatures the services would "
        "have written (bench/trail.py: every row's creation, each dispense's workflow and its "
        "two signatures). The floor lays out the long tables' rows as the binder prints them "
        "(accountability, signature log, dispensing, and the audit extract: in full up to "
        f"{PRINTED_AUDIT_ENTRIES:,} entries, else its tally, the whole extract travelling as a "
        "data file) as one plain table in one WeasyPrint document; its time divided by the "
        "cores is the binder's aim. Time from the record gathered to the file written; CPU "
        "includes the workers (on a shared machine, CPU is the measure). Peak memory: the "
        "exporting process (``os.wait4`` counts its workers too), and the largest worker as "
        "its parent counts it (an upper bound: a worker's count starts from the exporting "
        "process's memory when it was started; a floor has none). "
        f"Aim: the binder's peak under {AIM_PEAK_MIB} MiB at any size.",
        "",
        "| ledger rows | audit entries | signatures | long-table rows | binder pages "
        "| binder wall (s) | binder CPU (s) | floor pages | floor wall (s) | floor CPU (s) "
        "| floor ÷ cores (s) | binder peak (MiB) | largest worker, at most (MiB) "
        "| floor peak (MiB) | after gathering (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        b, f = size.binder, size.floor
        floor_wall = f"{_median(f, 'wall_s'):.0f}" if f else size.floor_missing
        floor_cpu = f"{_median(f, 'cpu_s'):.0f}" if f else "—"
        floor_share = f"{_median(f, 'wall_s') / cores:.0f}" if f else "—"
        floor_pages = f"{f[0].pages:,}" if f else "—"
        floor_peak = f"{_median(f, 'peak_mib'):.0f}" if f else "—"
        lines.append(
            f"| {size.ledger_rows:,} | {b[0].audit_entries:,} | {b[0].signatures:,} "
            f"| {b[0].rows:,} | {b[0].pages:,} "
            f"| {_median(b, 'wall_s'):.0f} | {_median(b, 'cpu_s'):.0f} | {floor_pages} "
            f"| {floor_wall} | {floor_cpu} | {floor_share} | {_median(b, 'peak_mib'):.0f} "
            f"| {_median(b, 'worker_peak_mib'):.0f} | {floor_peak} "
            f"| {_median(b, 'after_gather_mib'):.0f} |"
        )
    over = [
        f"{size.ledger_rows:,} rows ({_median(size.binder, 'peak_mib'):.0f} MiB)"
        for size in sizes
        if _median(size.binder, "peak_mib") > AIM_PEAK_MIB
    ]
    lines += ["", f"Binder peak over the aim: {'; '.join(over) or 'none'}."]
    guesses = [guess for size in sizes if (guess := _extrapolated(size, sizes, cores))]
    if guesses:
        lines += ["", *(f"- {guess}." for guess in guesses)]
    return "\n".join(lines) + "\n"


def _floor_samples(database: Path, folder: Path, runs: int) -> tuple[list[Sample], str]:
    """The floor's samples, or none and why: one WeasyPrint document holds every page in
    memory, so a large one may not fit on the machine at all."""
    try:
        return [_measure("floor", database, folder) for _ in range(runs)], ""
    except RuntimeError:
        return [], "failed (its one process could not lay the document out)"


def measure(sizes: list[int], runs: int, floor_up_to: int, out: Path, keep: Path | None) -> None:
    """Each size's database, then ``runs`` binder (and floor) processes in turn. ``keep``:
    a file each size's results are added to, and the table written from, so a size run
    apart (the 100,000-row binder takes half an hour) joins the others' table."""
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    cores = len(os.sched_getaffinity(0))
    folder = Path(tempfile.mkdtemp(prefix="ids-bench-binder-"))
    measured = []
    for rows in sizes:
        database, ledger_rows = _database(folder, rows)
        binder = [_measure("binder", database, folder) for _ in range(runs)]
        floor, missing = _floor_samples(database, folder, runs) if rows <= floor_up_to else ([], "")
        size = Size(
            ledger_rows,
            binder,
            floor,
            missing or "not run (one process would hold every page in memory)",
        )
        print(
            f"{ledger_rows:,} ledger rows: binder {_median(binder, 'wall_s'):.0f} s, "
            f"{binder[0].pages:,} pages, peak {_median(binder, 'peak_mib'):.0f} MiB "
            f"(worker {_median(binder, 'worker_peak_mib'):.0f} MiB)"
            + "; floor "
            + (f"{_median(floor, 'wall_s'):.0f} s" if floor else size.floor_missing),
            flush=True,
        )
        measured.append(size)
        if keep is not None:
            with keep.open("a") as kept:
                kept.write(size.as_json() + "\n")
        database.unlink()
    if keep is not None:
        found = {
            size.ledger_rows: size
            for size in map(Size.from_json, keep.read_text().split("\n")[:-1])
        }
        measured = [found[rows] for rows in sorted(found)]
    write_section(out, "binder", _markdown(measured, runs, cores))
    for leftover in sorted(folder.rglob("*"), reverse=True):
        leftover.rmdir() if leftover.is_dir() else leftover.unlink()
    folder.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows",
        type=int,
        nargs="*",
        default=list(SIZES),
        help="ledger rows of each size; none (with --keep): write the table from the file alone",
    )
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument(
        "--floor-up-to",
        type=int,
        default=13_000,
        help="lay out the floor only for sizes up to this many rows (it holds every page)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--keep",
        type=Path,
        help="add each size's results to this file and write the table from all it holds",
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "DATABASE", "TARGET"))
    args = parser.parse_args()
    if args.child:
        kind, database, target = args.child
        _child(kind, Path(database), Path(target))
    else:
        measure(args.rows, args.runs, args.floor_up_to, args.out, args.keep)


if __name__ == "__main__":
    main()
