"""The records a monitor reviews, kind by kind, and whether each still reads as reviewed.

A review holds until the record changes: a later audit entry on it (a correction, a
resolution) or a later ledger entry that belongs to it (a reversal, a late entry) makes
it "changed since review" until a monitor marks it reviewed again. Changes monitors make
themselves (verifying a return) do not count: they are the review, not what is reviewed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func, or_, select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.inventory.models import (
    Discrepancy,
    DispenseOrder,
    Disposal,
    Kit,
    LedgerEntry,
    Location,
    OrderState,
    PhysicalCount,
    QuarantineHold,
    Shipment,
    SubjectReturn,
)
from ids_app.monitoring.models import RecordKind, VisitReview
from ids_app.storage.models import Excursion, ExcursionHold
from ids_app.storage.queries import local_day_bounds
from ids_app.studies.models import Subject
from ids_app.users.models import Role, User

NOT_REVIEWED = "not reviewed"
REVIEWED = "reviewed"
CHANGED = "changed since review"

TABLES: dict[RecordKind, str] = {
    RecordKind.DISPENSE: DispenseOrder.__tablename__,
    RecordKind.RECEIPT: Shipment.__tablename__,
    RecordKind.RETURN: SubjectReturn.__tablename__,
    RecordKind.DESTRUCTION: Disposal.__tablename__,
    RecordKind.COUNT: PhysicalCount.__tablename__,
    RecordKind.EXCURSION: Excursion.__tablename__,
}

# The ledger entries that belong to a record (its movements, their reversals).
LEDGER_LINKS: dict[RecordKind, Any] = {
    RecordKind.DISPENSE: LedgerEntry.dispense_order_id,
    RecordKind.RECEIPT: LedgerEntry.shipment_id,
    RecordKind.RETURN: LedgerEntry.subject_return_id,
    RecordKind.DESTRUCTION: LedgerEntry.disposal_id,
}


@dataclass(frozen=True)
class Period:
    """The days under review, both included (local calendar days)."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class RecordRow:
    """One record as the visit screen and the report list it."""

    kind: RecordKind
    record_id: int
    on: dt.date
    what: str
    reviewed_at: dt.datetime | None = None
    reviewed_by: str | None = None
    changed_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.reviewed_at is None:
            return NOT_REVIEWED
        if self.changed_at is not None and self.changed_at > self.reviewed_at:
            return CHANGED
        return REVIEWED

    @property
    def needs_review(self) -> bool:
        return self.status != REVIEWED


def _local_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone().date()


def _between(column: Any, period: Period | None, *, moment: bool) -> list[ColumnElement[bool]]:
    if period is None:
        return []
    if not moment:
        return [column >= period.start, column <= period.end]
    return [column >= local_day_bounds(period.start)[0], column < local_day_bounds(period.end)[1]]


def _among(column: Any, ids: Sequence[int] | None) -> list[ColumnElement[bool]]:
    return [] if ids is None else [column.in_(ids)]


def _study_excursions(study_id: int) -> ColumnElement[bool]:
    """Excursions of the study's shipments, or that put the study's stock on hold."""
    held = (
        select(ExcursionHold.excursion_id)
        .join(QuarantineHold, QuarantineHold.id == ExcursionHold.hold_id)
        .where(QuarantineHold.study_id == study_id)
    )
    shipped = select(Shipment.id).where(Shipment.study_id == study_id)
    return or_(Excursion.id.in_(held), Excursion.shipment_id.in_(shipped))


def _dated(rows: Iterable[Any]) -> list[tuple[int, dt.date, str]]:
    found = []
    for row in rows:
        record_id, on, what = row
        day = _local_day(on) if isinstance(on, dt.datetime) else on
        found.append((int(record_id), day, str(what)))
    return found


def _select(
    session: Session,
    kind: RecordKind,
    study_id: int,
    period: Period | None,
    ids: Sequence[int] | None,
) -> list[tuple[int, dt.date, str]]:
    """Each record of ``kind``: its id, its day and a line saying what it is."""
    if kind is RecordKind.DISPENSE:
        o = DispenseOrder
        dispenses = (
            select(o.id, o.verified_at, Subject.subject_code, o.visit, Kit.kit_number, o.quantity)
            .join(Subject, Subject.id == o.subject_id)
            .outerjoin(Kit, Kit.id == o.kit_id)
            .where(o.study_id == study_id, o.state == OrderState.DISPENSED)
            .where(*_between(o.verified_at, period, moment=True), *_among(o.id, ids))
        )
        return [
            (
                record,
                _local_day(on),
                f"Subject {code}, {visit}: " + (f"kit {kit}" if kit else f"{qty} units"),
            )
            for record, on, code, visit, kit, qty in session.execute(dispenses)
            if on is not None
        ]
    if kind is RecordKind.RECEIPT:
        s = Shipment
        receipts = select(
            s.id, s.received_on, "Shipment " + s.shipment_number + " from " + s.sender
        ).where(
            s.study_id == study_id,
            *_between(s.received_on, period, moment=False),
            *_among(s.id, ids),
        )
        return _dated(session.execute(receipts))
    if kind is RecordKind.RETURN:
        r = SubjectReturn
        returns = (
            select(r.id, r.returned_on, Subject.subject_code, DispenseOrder.visit, r.quantity)
            .join(DispenseOrder, DispenseOrder.id == r.dispense_order_id)
            .join(Subject, Subject.id == DispenseOrder.subject_id)
            .where(
                r.study_id == study_id,
                *_between(r.returned_on, period, moment=False),
                *_among(r.id, ids),
            )
        )
        return [
            (record, on, f"Subject {code}, {visit}: {qty} back")
            for record, on, code, visit, qty in session.execute(returns)
        ]
    if kind is RecordKind.DESTRUCTION:
        d = Disposal
        disposals = select(d.id, d.performed_on, d.disposal_number, d.kind, d.method).where(
            d.study_id == study_id,
            *_between(d.performed_on, period, moment=False),
            *_among(d.id, ids),
        )
        return [
            (record, on, f"{number}: {how.value}, {method}")
            for record, on, number, how, method in session.execute(disposals)
        ]
    if kind is RecordKind.COUNT:
        c = PhysicalCount
        counts = (
            select(c.id, c.counted_at, "Count at " + Location.name)
            .join(Location, Location.id == c.location_id)
            .where(
                c.study_id == study_id,
                *_between(c.counted_at, period, moment=True),
                *_among(c.id, ids),
            )
        )
        return _dated(session.execute(counts))
    x = Excursion
    excursions = (
        select(x.id, x.started_at, x.min_c, x.max_c, x.range_min_c, x.range_max_c, Location.name)
        .outerjoin(Location, Location.id == x.location_id)
        .where(
            _study_excursions(study_id),
            *_between(x.started_at, period, moment=True),
            *_among(x.id, ids),
        )
    )
    if ids is not None:
        excursions = excursions.where(x.id.in_(ids))
    return [
        (
            record,
            _local_day(started),
            f"{where or 'In transit'}: {low:g} to {high:g} °C "
            f"(range {range_low:g} to {range_high:g} °C)",
        )
        for record, started, low, high, range_low, range_high, where in session.execute(excursions)
    ]


def _latest_changes(
    session: Session, kind: RecordKind, study_id: int, ids: Sequence[int]
) -> dict[int, dt.datetime]:
    """When each record last changed after it was made: its own audit entries by anyone
    but a monitor, and the ledger entries that belong to it (a reversal, a late entry)."""
    if not ids:
        return {}
    latest: dict[int, dt.datetime] = {}

    def keep(record: int, at: dt.datetime | None) -> None:
        if at is not None and (record not in latest or at > latest[record]):
            latest[record] = at

    keys = [str(record) for record in ids]
    a = AuditEntry
    not_a_monitor = or_(User.role.is_(None), User.role != Role.MONITOR)
    audited = (
        select(a.record_id, func.max(a.at))
        .outerjoin(User, User.id == a.user_id)
        .where(a.table_name == TABLES[kind], a.record_id.in_(keys), not_a_monitor)
        .group_by(a.record_id)
    )
    for key, at in session.execute(audited):
        keep(int(str(key)), at)
    link = LEDGER_LINKS.get(kind)
    if link is not None:
        moved = (
            select(link, func.max(LedgerEntry.recorded_at))
            .where(LedgerEntry.study_id == study_id, link.in_(ids))
            .group_by(link)
        )
        for record, at in session.execute(moved):
            keep(int(record), at)
    if kind is RecordKind.COUNT:
        # A count changes when its discrepancies are resolved or adjusted.
        of_count = {
            key: count
            for key, count in session.execute(
                select(cast(Discrepancy.id, String), Discrepancy.count_id).where(
                    Discrepancy.count_id.in_(ids)
                )
            )
        }
        if of_count:
            resolved = (
                select(a.record_id, func.max(a.at))
                .outerjoin(User, User.id == a.user_id)
                .where(
                    a.table_name == Discrepancy.__tablename__,
                    a.record_id.in_(list(of_count)),
                    not_a_monitor,
                )
                .group_by(a.record_id)
            )
            for key, at in session.execute(resolved):
                keep(of_count[str(key)], at)
            adjusted = (
                select(Discrepancy.count_id, func.max(LedgerEntry.recorded_at))
                .join(LedgerEntry, LedgerEntry.discrepancy_id == Discrepancy.id)
                .where(Discrepancy.count_id.in_(ids))
                .group_by(Discrepancy.count_id)
            )
            for record, at in session.execute(adjusted):
                keep(int(record), at)
    return latest


def _latest_reviews(
    session: Session, kind: RecordKind, study_id: int, ids: Sequence[int]
) -> dict[int, tuple[dt.datetime, str]]:
    if not ids:
        return {}
    v = VisitReview
    reviews = (
        select(v.record_id, v.reviewed_at, User.full_name)
        .join(User, User.id == v.reviewed_by_id)
        .where(v.study_id == study_id, v.kind == kind, v.record_id.in_(ids))
        .order_by(v.reviewed_at, v.id)
    )
    latest: dict[int, tuple[dt.datetime, str]] = {}
    for record, at, name in session.execute(reviews):
        latest[record] = (at, name)
    return latest


def record_rows(
    session: Session,
    study_id: int,
    kinds: Iterable[RecordKind] = tuple(RecordKind),
    *,
    period: Period | None = None,
    ids: Sequence[int] | None = None,
) -> list[RecordRow]:
    """The study's records of ``kinds`` (in the period, or with the ids given), each with
    its latest review and latest change; in kind order, then by day."""
    rows: list[RecordRow] = []
    for kind in kinds:
        found = sorted(_select(session, kind, study_id, period, ids), key=lambda r: (r[1], r[0]))
        record_ids = [record for record, _on, _what in found]
        changes = _latest_changes(session, kind, study_id, record_ids)
        reviews = _latest_reviews(session, kind, study_id, record_ids)
        for record, on, what in found:
            reviewed = reviews.get(record)
            rows.append(
                RecordRow(
                    kind,
                    record,
                    on,
                    what,
                    reviewed_at=reviewed[0] if reviewed else None,
                    reviewed_by=reviewed[1] if reviewed else None,
                    changed_at=changes.get(record),
                )
            )
    return rows


def record_row(session: Session, study_id: int, kind: RecordKind, record_id: int) -> RecordRow:
    """One record of the study, or :class:`LookupError` when the study has no such record."""
    found = record_rows(session, study_id, (kind,), ids=[record_id])
    if not found:
        raise LookupError(record_id)
    return found[0]


def describe(
    session: Session, study_id: int, kinds_and_ids: Iterable[tuple[RecordKind, int]]
) -> dict[tuple[RecordKind, int], str]:
    """What each named record is, in one read per kind (for query lists)."""
    wanted: defaultdict[RecordKind, list[int]] = defaultdict(list)
    for kind, record in kinds_and_ids:
        wanted[kind].append(record)
    return {
        (kind, record): f"{kind.value.capitalize()} of {on:%Y-%m-%d}: {what}"
        for kind, records in wanted.items()
        for record, on, what in _select(session, kind, study_id, None, records)
    }
