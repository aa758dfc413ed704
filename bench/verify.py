"""`ids-app verify` on a database with a million audit entries, and where its time goes.

The records are written through the app's own sessions, so the audit listener writes a
real, hash-chained entry for each (a bulk insert would leave rows the trail never saw,
and verify would rightly name every one). Temperature readings are the app's most
numerous record; a logger file of 20,000 lines is one unit of work, as an import is.
Every 100th reading is signed, so the signatures are checked too.

Run: ``python -m bench.verify --entries 1000000`` (SQLite; prints the split and writes it
to docs/benchmarks.md; ``--keep FILE`` builds the database once and reuses it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

from ids_app.audit.integrity import IntegrityReport, PhaseTimes, verify_database
from ids_app.audit.trail import attribute_changes
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import LocationKind
from ids_app.migrations.schema import open_for_checking, prepare_database
from ids_app.storage.models import ReadingSource, TemperatureReading
from ids_app.users.models import SignatureMeaning
from ids_app.users.passwords import set_hashing_cost
from ids_app.users.services import create_first_administrator
from ids_app.users.signatures import sign_record

PER_UNIT = 20_000
# Every 100th reading is signed (reviewed), so that the signatures' check is timed too.
SIGNED_EVERY = 100
PASSWORD = "bench-pass-1"
AIM_S = 30.0
RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def build(path: Path, entries: int) -> None:
    db = Database(sqlite_url(path))
    prepare_database(db)
    with db.unit_of_work() as session:
        admin = create_first_administrator(session, "admin", "Alex Admin", PASSWORD)
        fridge = add_location(session, admin, "Fridge 1", LocationKind.FRIDGE, 2, 8)
        admin_id, fridge_id = admin.id, fridge.id
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    written = 0
    while written < entries:
        with db.unit_of_work() as session:
            attribute_changes(session, admin, reason="logger file imported")
            batch = min(PER_UNIT, entries - written)
            readings = [
                TemperatureReading(
                    location_id=fridge_id,
                    taken_at=start + dt.timedelta(minutes=5 * (written + n)),
                    temperature_c=4.0 + (written + n) % 30 / 10,
                    source=ReadingSource.LOGGER,
                    device_id="LOG-1",
                    line=n + 1,
                    recorded_by_id=admin_id,
                )
                for n in range(batch)
            ]
            session.add_all(readings)
            for reading in readings[::SIGNED_EVERY]:
                sign_record(session, "admin", PASSWORD, SignatureMeaning.REVIEWED, reading)
            written += batch
    db.dispose()


def measure(path: Path) -> tuple[PhaseTimes, IntegrityReport]:
    """Wall-clock and CPU seconds of the whole verification and of each of its checks, in
    one run (the checks time themselves; nothing is run twice)."""
    db = open_for_checking(sqlite_url(path))
    times: PhaseTimes = {}
    with db.read_session() as session:
        wall, cpu = time.perf_counter(), time.process_time()
        report = verify_database(session, times=times)
        times["whole"] = (time.perf_counter() - wall, time.process_time() - cpu)
    db.dispose()
    assert report.intact, [finding.line() for finding in report.findings[:5]]
    return times, report


PHASES = {
    "chain": "chain walk and replay: every entry's SHA-256 and link, and what each record became",
    "records": "records: every row of every audited table against the replay, field by field",
    "signatures": "signatures: each re-hashed against its record (hashed during the records)",
    "workflow": "workflow and ledger: signed states, orders against the ledger, no negative "
    "balance",
    "guards": "guards: tables, columns and append-only triggers against the migrations",
}


def _write(path: Path, entries: int, times: PhaseTimes, report: IntegrityReport) -> None:
    whole_wall, whole_cpu = times["whole"]
    lines = [
        "## Verify",
        "",
        "Written by `python -m bench.verify` (`bench/verify.py`): `ids-app verify`'s whole "
        "check, read-only, on a SQLite file.",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}.",
        f"- Database: {entries:,} temperature readings written through the app's sessions, "
        f"{PER_UNIT:,} per unit of work as a logger import is, so {report.chain.entries_checked:,} "
        f"real, hash-chained audit entries and {report.records_checked:,} records; every "
        f"{SIGNED_EVERY}th reading signed (reviewed): {report.signatures_checked:,} "
        "signatures.",
        f"- Whole: {whole_wall:.1f} s wall, **{whole_cpu:.1f} s CPU** (aim ≤ {AIM_S:.0f} s: "
        f"{'met' if whole_cpu <= AIM_S else 'not met'}). CPU time is the measure: the "
        "machine is shared, so wall time waits for the other users' work.",
        "",
        "| check | wall (s) | CPU (s) | what it does |",
        "|---|---:|---:|---|",
    ]
    for name, what in PHASES.items():
        wall, cpu = times[name]
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {what} |")
    lines.append("")
    from bench.desktop import write_section  # each benchmark writes only its own section

    write_section(path, "verify", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, help="build the database in this file (once) and keep it"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "verify.sqlite"
        if not path.exists():
            began = time.perf_counter()
            build(path, args.entries)
            print(f"built {args.entries:,} entries in {time.perf_counter() - began:.0f} s")
        times, report = measure(path)
    wall, cpu = times["whole"]
    print(f"verify: {wall:.1f} s wall, {cpu:.1f} s CPU (aim {AIM_S:.0f} s)")
    for name in PHASES:
        print(f"  {name:12} {times[name][0]:6.2f} s wall {times[name][1]:6.2f} s CPU")
    _write(args.out, args.entries, times, report)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
