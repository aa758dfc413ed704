"""`ids-app verify` on a database with a million audit entries, and where its time goes.

The records are written through the app's own sessions, so the audit listener writes a
real, hash-chained entry for each (a bulk insert would leave rows the trail never saw,
and verify would rightly name every one). Temperature readings are the app's most
numerous record; a logger file of 20,000 lines is one unit of work, as an import is.

Run: ``python -m bench.verify --entries 1000000`` (SQLite; prints the split).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ids_app.audit.integrity import _RecordCheck, verify_database
from ids_app.audit.trail import attribute_changes
from ids_app.audit.verification import TrailReplay, verify_chain
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import LocationKind
from ids_app.migrations.schema import open_for_checking, prepare_database
from ids_app.storage.models import ReadingSource, TemperatureReading
from ids_app.users.passwords import set_hashing_cost
from ids_app.users.services import create_first_administrator

PER_UNIT = 20_000
AIM_S = 30.0


def build(path: Path, entries: int) -> None:
    db = Database(sqlite_url(path))
    prepare_database(db)
    with db.unit_of_work() as session:
        admin = create_first_administrator(session, "admin", "Alex Admin", "bench-pass-1")
        fridge = add_location(session, admin, "Fridge 1", LocationKind.FRIDGE, 2, 8)
        admin_id, fridge_id = admin.id, fridge.id
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    written = 0
    while written < entries:
        with db.unit_of_work() as session:
            attribute_changes(session, admin, reason="logger file imported")
            batch = min(PER_UNIT, entries - written)
            session.add_all(
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
            )
            written += batch
    db.dispose()


def measure(path: Path) -> dict[str, tuple[float, float]]:
    """Wall-clock and CPU seconds of the whole verification, then of its two big phases
    (run alone, as verify runs them: the cycle collector paused)."""
    db = open_for_checking(sqlite_url(path))
    split: dict[str, tuple[float, float]] = {}
    with db.read_session() as session:
        with _timed(split, "whole"):
            report = verify_database(session)
        assert report.intact, [finding.line() for finding in report.findings[:5]]
        gc.disable()
        try:
            replay = TrailReplay()
            with _timed(split, "chain and replay"):
                verify_chain(session, replay)
            with _timed(split, "records"):
                _RecordCheck(replay, set()).run(session)
        finally:
            gc.enable()
    db.dispose()
    return split


@contextmanager
def _timed(split: dict[str, tuple[float, float]], name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    split[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", type=Path, help="build the database in this file (once) and keep it"
    )
    args = parser.parse_args()
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "verify.sqlite"
        if not path.exists():
            began = time.perf_counter()
            build(path, args.entries)
            print(f"built {args.entries:,} entries in {time.perf_counter() - began:.0f} s")
        split = measure(path)
    (whole, whole_cpu), (chain, chain_cpu), (records, records_cpu) = (
        split["whole"],
        split["chain and replay"],
        split["records"],
    )
    print(
        f"verify: {whole:.1f} s wall, {whole_cpu:.1f} s CPU (aim {AIM_S:.0f} s); chain walk "
        f"and replay {chain:.1f} s ({chain_cpu:.1f} s CPU), records {records:.1f} s "
        f"({records_cpu:.1f} s CPU), guards, signatures, workflow and ledger the rest"
    )


if __name__ == "__main__":
    main()
