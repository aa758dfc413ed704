"""``ids-app verify``: everything an inspector needs proven, in one read-only pass.

The hash chain proves the trail was not edited; the replay proves every record of every
audited table is what the trail says it became; each signature is re-hashed against the
record it signs; the workflow and the ledger are checked for states no service could have
left; and the database's own guards (its tables, columns and append-only triggers) are
compared with what the migrations made. Anchors kept outside the database defeat a chain
re-computed from scratch.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Float, Table, select
from sqlalchemy.orm import Mapper, Session

from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.audit.trail import REDACTED, display_value, redacted
from ids_app.audit.verification import (
    Anchor,
    ChainReport,
    Finding,
    Processor,
    StoredText,
    TrailReplay,
    converter,
    driver_rows,
    stored_text,
    verify_chain,
)
from ids_app.db import Base
from ids_app.inventory.consistency import SignedBy, workflow_findings
from ids_app.migrations.guards import guard_problems
from ids_app.monitoring.consistency import monitoring_findings
from ids_app.users.models import Signature
from ids_app.users.signatures import content_hash_of

UNAUDITED = frozenset({AuditEntry.__tablename__, AuditChainHead.__tablename__})


@dataclass(frozen=True)
class IntegrityReport:
    chain: ChainReport
    findings: tuple[Finding, ...]
    records_checked: int
    signatures_checked: int

    @property
    def intact(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        head = self.chain.head
        anchor = f" Chain head (keep it as an anchor): {head}." if head is not None else ""
        if self.intact:
            return (
                f"Record intact: {self.chain.entries_checked} audit entries, "
                f"{self.records_checked} records and {self.signatures_checked} signatures "
                f"verified; the database's guards are in place.{anchor}"
            )
        return f"Record NOT intact: {len(self.findings)} findings.{anchor}"

    def as_json(self) -> dict[str, Any]:
        head = self.chain.head
        return {
            "intact": self.intact,
            "entries_checked": self.chain.entries_checked,
            "records_checked": self.records_checked,
            "signatures_checked": self.signatures_checked,
            "head": None if head is None else {"id": head.entry_id, "hash": head.hash},
            "findings": [asdict(finding) for finding in self.findings],
        }


# Where verify's time went: each check's (wall, CPU) seconds, for bench/verify.py.
PhaseTimes = dict[str, tuple[float, float]]


def verify_database(
    session: Session, anchors: tuple[Anchor, ...] = (), times: PhaseTimes | None = None
) -> IntegrityReport:
    """Every check, on one snapshot read through ``session`` (which is never flushed).

    The replay holds an object per record; Python's cycle collector would walk them all
    again and again as they accumulate (a third of the time on a million entries), and
    none of them can form a cycle, so it is paused while verifying.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _verify(session, anchors, {} if times is None else times)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _phase(times: PhaseTimes, name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    times[name] = (time.perf_counter() - wall, time.process_time() - cpu)


def _verify(session: Session, anchors: tuple[Anchor, ...], times: PhaseTimes) -> IntegrityReport:
    with _phase(times, "guards"):
        findings = [
            Finding("guards", problem.table, None, problem.problem)
            for problem in guard_problems(session.connection())
        ]
    replay = TrailReplay()
    with _phase(times, "chain"):
        chain = verify_chain(session, replay, anchors)
    if chain.first_break is not None:
        findings.append(
            Finding(
                "chain",
                AuditEntry.__tablename__,
                str(chain.first_break.entry_id),
                chain.first_break.problem,
            )
        )
    findings += [
        Finding("anchors", AuditEntry.__tablename__, str(problem.entry_id), problem.problem)
        for problem in chain.anchor_problems
    ]
    signatures = list(session.execute(select(Signature.__table__)).mappings())
    signed = {(row["record_table"], row["record_id"]) for row in signatures}
    records = _RecordCheck(replay, signed)
    with _phase(times, "records"):
        findings += records.run(session)
    holding: list[SignedBy] = []
    with _phase(times, "signatures"):
        for row in signatures:
            problem = _signature_problem(row, records.signed_hashes)
            if problem is None:
                holding.append(
                    SignedBy(row["record_table"], row["record_id"], row["meaning"], row["user_id"])
                )
            else:
                findings.append(Finding("signatures", "signature", str(row["id"]), problem))
    with _phase(times, "workflow"):
        findings += workflow_findings(session, holding)
        findings += monitoring_findings(session, holding)
    return IntegrityReport(chain, tuple(findings), records.checked, len(signatures))


def _signature_problem(row: Any, hashes: dict[tuple[str, str], str]) -> str | None:
    what = f"the {display_value(row['meaning'])} signature of {row['printed_name']}"
    current = hashes.get((row["record_table"], row["record_id"]))
    if current is None:
        return f"{what} signs {row['record_table']} {row['record_id']}, which does not exist"
    if current != row["content_hash"]:
        return (
            f"{what} no longer matches {row['record_table']} {row['record_id']}: the record "
            "was changed after it was signed, or the signature was moved to it"
        )
    return None


class _RecordCheck:
    """Each audited table's rows compared with the trail's replay, field by field."""

    def __init__(self, replay: TrailReplay, signed: set[tuple[str, str]]) -> None:
        self.replay = replay
        self.signed = signed
        self.signed_hashes: dict[tuple[str, str], str] = {}
        self.checked = 0

    def run(self, session: Session) -> list[Finding]:
        findings = [
            Finding(
                "records",
                table,
                record,
                "the trail changed this record but never recorded its creation",
            )
            for table, record in sorted(self.replay.updated_unborn)
        ]
        mappers = sorted(Base.registry.mappers, key=lambda mapper: str(mapper.local_table))
        for mapper in mappers:
            table = mapper.local_table
            if isinstance(table, Table) and table.name not in UNAUDITED:
                findings += self._table(session, mapper, table)
        return findings

    def _table(self, session: Session, mapper: Mapper[Any], table: Table) -> Iterator[Finding]:
        known = self.replay.records.get(table.name, {})
        seen: set[str] = set()
        hidden = frozenset(getattr(mapper.class_, "__audit_redacted__", ()))
        columns = [(attr.key, attr.columns[0]) for attr in mapper.column_attrs]
        names = [name for name, _column in columns]
        dialect = session.get_bind().dialect
        found = driver_rows(session, select(*(column for _name, column in columns)))
        # What SQLAlchemy would make of each stored value (for a signed row's hash), and
        # the columns whose text is not simply the driver's value (moments, enums, secrets).
        processors = [
            converter(column, dialect, code)
            for (_name, column), code in zip(columns, found.type_codes, strict=True)
        ]
        special: list[tuple[int, StoredText]] = []
        for n, (name, column) in enumerate(columns):
            shown = stored_text(column, dialect, found.type_codes[n])
            if name in hidden:
                shown = partial(_secret_text, processors[n])
            if shown is not None:
                special.append((n, shown))
        key_at = [
            next(n for n, (_name, column) in enumerate(columns) if column is key)
            for key in mapper.primary_key
        ]
        only_key = key_at[0] if len(key_at) == 1 and processors[key_at[0]] is None else None
        for row in found.rows:
            self.checked += 1
            if only_key is not None:
                record = str(row[only_key])
            else:
                record = ",".join(str(_typed(processors[n], row[n])) for n in key_at)
            seen.add(record)
            if (table.name, record) in self.signed:
                typed = [
                    _typed(process, value) for process, value in zip(processors, row, strict=True)
                ]
                self.signed_hashes[(table.name, record)] = content_hash_of(
                    table.name, record, dict(zip(names, typed, strict=True)), mapper
                )
            said = known.get(record)
            if said is None:
                yield Finding(
                    "records",
                    table.name,
                    record,
                    "the trail never recorded this row: it was written behind the app's back",
                )
                continue
            # _shown of each value, written out: a call per value is most of the cost.
            texts = [
                value
                if value is None or (kind := type(value)) is str
                else str(value)
                if kind is int or kind is float
                else display_value(value)
                for value in row
            ]
            for n, shown in special:
                texts[n] = shown(row[n])
            holds = dict(zip(names, texts, strict=True))
            if isinstance(said, str):  # never updated: the insert entry's own text
                said = json.loads(said)  # the text insert_text(holds) would be, parsed
            if holds == said:
                continue  # the usual case, settled in one comparison
            for name, column in columns:
                yield from _field_findings(table.name, record, name, column, said, holds, hidden)
        for record in sorted(set(known) - seen, key=_natural):
            yield Finding(
                "records",
                table.name,
                record,
                "the trail recorded this row but the table no longer holds it (deleted)",
            )


def _typed(process: Processor | None, stored: Any) -> Any:
    return stored if process is None else process(stored)


def _secret_text(process: Processor | None, stored: Any) -> str:
    return redacted(_typed(process, stored))


def _field_findings(
    table: str,
    record: str,
    name: str,
    column: ColumnElement[Any],
    said: dict[str, str | None],
    row_holds: dict[str, str | None],
    hidden: frozenset[str],
) -> Iterator[Finding]:
    holds = row_holds[name]
    if name not in said:
        if holds is None:
            # A column a later migration added: rows written before it were recorded
            # without it and start empty. Any value set since would have been recorded.
            return
        yield Finding(
            "records", table, record, "a value the trail never recorded", name, None, holds
        )
        return
    says = said[name]
    if says == holds or (name in hidden and says == REDACTED):
        return  # a secret written before its fingerprint was kept cannot be compared
    if isinstance(column.type, Float) and _same_number(says, holds):
        return
    yield Finding(
        "records",
        table,
        record,
        "the table no longer holds what the trail recorded",
        name,
        says,
        holds,
    )


def _same_number(says: str | None, holds: str | None) -> bool:
    try:
        return says is not None and holds is not None and float(says) == float(holds)
    except ValueError:
        return False


def _natural(record: str) -> tuple[int, str]:
    return (int(record), record) if record.isdigit() else (0, record)
