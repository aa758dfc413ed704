"""The audit extract's rows wait in a file, not in memory: a large study's 600,000 entries
must not hold the binder past its memory aim, and every reader still sees them all."""

from __future__ import annotations

import datetime as dt
import gc
import threading

from ids_app.reports.records import AUDIT_ROWS_A_BATCH, AuditEntries, AuditRow

AT = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def _row(number: int) -> AuditRow:
    return AuditRow(
        entry_id=number,
        at=AT + dt.timedelta(seconds=number),
        username="tech",
        action="update",
        table_name="kit",
        record_id=str(number),
        field="state",
        old_value="available",
        new_value="dispensed",
        reason=None,
        hash=f"{number:064x}",
    )


def test_every_row_comes_back_in_order_however_many_batches_it_took() -> None:
    count = 2 * AUDIT_ROWS_A_BATCH + 7
    entries = AuditEntries(_row(n) for n in range(count))
    assert len(entries) == count
    assert [row.entry_id for row in entries] == list(range(count))
    assert [row.entry_id for row in entries] == list(range(count)), "read twice, same rows"


def test_an_empty_extract_is_false_and_has_no_rows() -> None:
    entries = AuditEntries(iter(()))
    assert not entries
    assert len(entries) == 0
    assert list(entries) == []


def test_two_readers_at_once_each_keep_their_place() -> None:
    count = 3 * AUDIT_ROWS_A_BATCH
    entries = AuditEntries(_row(n) for n in range(count))
    seen: dict[str, list[int]] = {}

    def read(name: str) -> None:
        seen[name] = [row.entry_id for row in entries]

    readers = [threading.Thread(target=read, args=(name,)) for name in ("one", "two")]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert seen == {"one": list(range(count)), "two": list(range(count))}


def _rows_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, AuditRow))


def test_the_rows_are_not_held_as_objects_but_in_a_file() -> None:
    """A gathered record keeps the batches' places, never the rows: the objects an
    extract holds do not grow with its rows."""
    before = _rows_alive()
    large = AuditEntries(_row(n) for n in range(4 * AUDIT_ROWS_A_BATCH))
    assert _rows_alive() <= before
    assert len(large) == 4 * AUDIT_ROWS_A_BATCH
