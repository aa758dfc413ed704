"""Moving a workstation's records to a server: every table, then proof it arrived whole.

The target must be empty. Inside the copy's one transaction the target's row counts,
every study's balances and the audit chain (to the same last hash) are checked against
the source; any difference is reported and the whole copy rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditChainHead
from ids_app.audit.trail import Actor, record_event
from ids_app.audit.verification import verify_chain
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.inventory.ledger import study_balances
from ids_app.migrations.schema import current_revision, head_revision, prepare_database
from ids_app.models import metadata
from ids_app.studies.models import Study

BATCH = 5_000
# Rows the schema itself writes: the chain's genesis head, updated rather than copied.
SEEDED = frozenset({AuditChainHead.__tablename__})


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]
    studies: int
    audit_entries: int

    def summary(self) -> str:
        total = sum(self.rows.values())
        return (
            f"Copied {total:,} rows in {len(self.rows)} tables; row counts, the balances of "
            f"{self.studies} studies and the audit chain ({self.audit_entries:,} entries) "
            "match the source."
        )


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _check_target_empty(target: Database) -> None:
    with target.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in SEEDED and _count(conn, table):
                raise DatabaseProblem(
                    f"{target.description} already holds records ({table.name}); "
                    "copy only into an empty database."
                )


def _copy_table(
    source: Connection, target: Connection, table: Table, progress: Callable[[str], None]
) -> int:
    copied = 0
    rows = source.execute(select(table).order_by(*table.primary_key.columns)).mappings()
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(dict(row))
        if len(batch) == BATCH:
            target.execute(insert(table), batch)
            copied += len(batch)
            batch.clear()
            progress(f"{table.name}: {copied:,} rows")
    if batch:
        target.execute(insert(table), batch)
        copied += len(batch)
    return copied


def reset_sequences(target: Connection) -> None:
    """Server ids continue after the copied ones (SQLite has no sequences to move)."""
    if target.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or column.autoincrement is False:
            continue
        target.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


def _compare(there: Connection, here: Connection, rows: dict[str, int]) -> tuple[int, int]:
    """Check the copy inside its own transaction, so a mismatch rolls it all back."""
    for table in metadata.sorted_tables:
        arrived = _count(here, table)
        if table.name not in SEEDED and arrived != rows[table.name]:
            raise DatabaseProblem(
                f"The copy of {table.name} holds {arrived} rows, the source "
                f"{rows[table.name]}; nothing was kept."
            )
    with Session(bind=there) as source, Session(bind=here) as target:
        study_ids = list(source.scalars(select(Study.id)))
        for study_id in study_ids:
            if set(study_balances(source, study_id)) != set(study_balances(target, study_id)):
                raise DatabaseProblem(
                    f"Study {study_id}'s balances differ after the copy; nothing was kept."
                )
        report = verify_chain(target)
        if not report.intact:
            raise DatabaseProblem(f"After the copy, {report.summary()} Nothing was kept.")
        source_head = source.get_one(AuditChainHead, 1)
        target_head = target.get_one(AuditChainHead, 1)
        if (source_head.last_id, source_head.last_hash) != (
            target_head.last_id,
            target_head.last_hash,
        ):
            raise DatabaseProblem(
                "The copied audit chain ends elsewhere than the source's; nothing was kept."
            )
    return len(study_ids), report.entries_checked


def copy_database(
    source: Database, target: Database, progress: Callable[[str], None] = lambda _: None
) -> CopyReport:
    """Copy every record from ``source`` into the empty ``target``, then check it."""
    with source.engine.connect() as conn:
        if current_revision(conn) != head_revision():
            raise DatabaseProblem(
                f"{source.description} is not at this version's schema; run "
                "`ids-app migrate` on it first."
            )
    prepare_database(target)
    _check_target_empty(target)
    rows: dict[str, int] = {}
    with source.engine.connect() as there, target.engine.begin() as here:
        for table in metadata.sorted_tables:
            if table.name in SEEDED:
                head = there.execute(select(table)).mappings().one()
                here.execute(update(table).where(table.c.id == head["id"]).values(**dict(head)))
                continue
            rows[table.name] = _copy_table(there, here, table, progress)
        reset_sequences(here)
        counts = _compare(there, here, rows)
    report = CopyReport(rows, *counts)
    with target.unit_of_work() as session:
        record_event(
            session,
            Actor(None, "ids-app copy"),
            "copied_in",
            table_name="database",
            detail=f"from {source.description}: {report.summary()}",
        )
    return report
