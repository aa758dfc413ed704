"""Physical counts: the shelf against the record, and the correction of any difference.

The balance on the log must equal the stock on the shelf (NCI audit checklist, DOMAIN.md).
A count records every difference as a discrepancy; only a pharmacist resolves one, with a
reason, by an adjustment that names it, so the correction is visible beside the original
(ALCOA+; DESIGN.md: adjust needs a reason and a pharmacist).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.late_entries import EventTime, LateEntryRefused, when_it_happened
from ids_app.inventory.ledger import Links, Place, balances, move, product_of
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import (
    ON_SITE_STATES,
    Discrepancy,
    DiscrepancyState,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    PhysicalCount,
    StockState,
)
from ids_app.studies.models import Study
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.users.signatures import sign_record
from ids_app.wording import local_time

# A monitor's count at a visit is the typical one (DESIGN.md, monitoring visit).
COUNT_ROLES = PERMISSIONS[Action.RECORD_COUNTS].roles


@dataclass(frozen=True)
class CountedLine:
    """What was found on the shelf: one lot (and kit) in one state. A kit counts 1 or 0."""

    lot_id: int
    kit_id: int | None
    state: StockState
    quantity: int


CountKey = tuple[int, int | None, StockState]


def _counted(session: Session, study: Study, counted: list[CountedLine]) -> Counter[CountKey]:
    """The counted lines checked and added up (one lot may sit on two shelves of a location)."""
    found: Counter[CountKey] = Counter()
    for line in counted:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidInput("A counted quantity is a whole number.")
        if line.quantity < 0:
            raise InvalidInput("A counted quantity is zero or more.")
        if line.state not in ON_SITE_STATES:
            raise InvalidInput(f"Only stock on site is counted, not {line.state.value} stock.")
        lot = session.get(Lot, line.lot_id)
        product = product_of(session, lot.id) if lot is not None else None
        if lot is None or product is None or product.study_id != study.id:
            raise InvalidInput(f"A counted lot is not part of study {study.protocol_number}.")
        if product.is_kit_tracked:
            kit = session.get(Kit, line.kit_id) if line.kit_id is not None else None
            if kit is None or kit.lot_id != lot.id:
                raise InvalidInput(
                    f"{product.description} is counted by kit: give each kit of lot "
                    f"{lot.lot_number} found."
                )
            if line.quantity > 1:
                raise InvalidInput(f"Kit {kit.kit_number} is one kit; count it as 1 or 0.")
        elif line.kit_id is not None:
            raise InvalidInput(f"{product.description} is counted in bulk; it has no kits.")
        found[(line.lot_id, line.kit_id, line.state)] += line.quantity
    return found


def record_count(
    session: Session,
    actor: User,
    study: Study,
    location: Location,
    counted: list[CountedLine],
    *,
    when: EventTime | None = None,
) -> PhysicalCount:
    """Record a count of one study's stock in one location; each difference is a discrepancy.

    Stock on the record but not counted counts as none found. ``when`` is the time it was
    counted, for a count typed in later from its paper sheet: it may not come before any
    recorded movement of the study's stock at that location, so the balances it is held
    against are the balances as they stood when it was counted.
    """
    require(session, actor, Action.RECORD_COUNTS, study=study)
    place = get_location(session, location.id)
    judged = when_it_happened(session, study, when, what="the count")
    _check_nothing_moved_since(session, study, place, judged.occurred_at)
    found = _counted(session, study, counted)
    on_record = {
        (row.lot_id, row.kit_id, row.state): row.quantity
        for row in balances(session, LedgerEntry.study_id == study.id)
        if row.location_id == place.id and row.state in ON_SITE_STATES
    }
    attribute_changes(session, actor, reason=f"physical count at {place.name}")
    count = PhysicalCount(
        study_id=study.id,
        location_id=place.id,
        counted_by_id=actor.id,
        counted_at=judged.occurred_at,
        late_reason=judged.late_reason,
    )
    session.add(count)
    session.flush()  # its discrepancies refer to it
    for key in sorted(set(found) | set(on_record), key=lambda k: (k[0], k[1] or 0, k[2])):
        lot_id, kit_id, state = key
        if found[key] == on_record.get(key, 0):
            continue
        session.add(
            Discrepancy(
                count_id=count.id,
                product_id=product_of(session, lot_id).id,
                lot_id=lot_id,
                kit_id=kit_id,
                state=state,
                ledger_quantity=on_record.get(key, 0),
                counted_quantity=found[key],
                status=DiscrepancyState.OPEN,
            )
        )
    return count


def _check_nothing_moved_since(
    session: Session, study: Study, place: Location, counted_at: dt.datetime
) -> None:
    e = LedgerEntry
    last = session.scalar(
        select(func.max(e.occurred_at)).where(
            e.study_id == study.id,
            or_(e.from_location_id == place.id, e.to_location_id == place.id),
        )
    )
    if last is not None and counted_at < last:
        raise LateEntryRefused(
            f"Stock of {study.protocol_number} at {place.name} already has a later record "
            f"({local_time(last)}); a count at {local_time(counted_at)} cannot go before it. "
            "Enter the paper log in the order things happened."
        )


def discrepancies_of(session: Session, count: PhysicalCount) -> list[Discrepancy]:
    return list(
        session.scalars(
            select(Discrepancy).where(Discrepancy.count_id == count.id).order_by(Discrepancy.id)
        )
    )


def open_discrepancies(session: Session, study_id: int) -> list[Discrepancy]:
    """Differences still waiting for a pharmacist's resolution, oldest first."""
    return list(
        session.scalars(
            select(Discrepancy)
            .join(PhysicalCount, PhysicalCount.id == Discrepancy.count_id)
            .where(
                PhysicalCount.study_id == study_id,
                Discrepancy.status == DiscrepancyState.OPEN,
            )
            .order_by(Discrepancy.id)
        )
    )


def resolve_discrepancy(
    session: Session,
    pharmacist: User,
    discrepancy: Discrepancy,
    reason: str,
    password: str,
    when: EventTime | None = None,
) -> Discrepancy:
    """Bring the record to what was counted, by an adjustment naming the discrepancy and why.

    ``when`` is the time it was resolved, for a resolution entered late from a paper log.

    A shortage takes the missing quantity off the record; a surplus adds what was found.
    What a late entry of an earlier event has explained since the count is not adjusted
    again: when it explains all of it, nothing is. The pharmacist signs the adjustment (or,
    with none, the resolution) with the password (21 CFR 11.50, 11.200): a correction of
    the record is never anonymous.
    """
    require(session, pharmacist, Action.RESOLVE_DISCREPANCIES, discrepancy)
    why = reason.strip()
    if not why:
        raise InvalidInput(
            "Give the reason for the difference (what was found out); it is printed beside "
            "the correction."
        )
    if discrepancy.status is not DiscrepancyState.OPEN:
        raise InvalidInput("This discrepancy is already resolved.")
    count = session.get_one(PhysicalCount, discrepancy.count_id)
    judged = when_it_happened(
        session,
        session.get_one(Study, count.study_id),
        when,
        kit=session.get_one(Kit, discrepancy.kit_id) if discrepancy.kit_id is not None else None,
        lot=session.get_one(Lot, discrepancy.lot_id),
        not_before=count.counted_at,
        what="the resolution",
    )
    # A late entry of something that happened before the count (a paper dispense typed in
    # after the downtime) may have explained the difference, wholly or in part.
    unexplained = discrepancy.counted_quantity - _on_record_when_counted(
        session, count, discrepancy
    )
    adjustment = None
    if unexplained:
        place = Place(discrepancy.state, count.location_id)
        adjustment = move(
            session,
            pharmacist,
            kind=EntryKind.ADJUST,
            study_id=count.study_id,
            lot_id=discrepancy.lot_id,
            kit_id=discrepancy.kit_id,
            quantity=abs(unexplained),
            source=place if unexplained < 0 else None,
            target=None if unexplained < 0 else place,
            reason=why,
            links=Links(discrepancy_id=discrepancy.id),
            occurred_at=judged.occurred_at,
            late_reason=judged.late_reason,
        )
        sign_record(session, pharmacist.username, password, SignatureMeaning.APPROVED, adjustment)
    attribute_changes(session, pharmacist, reason=why)
    discrepancy.status = DiscrepancyState.RESOLVED
    discrepancy.resolved_by_id = pharmacist.id
    discrepancy.resolved_at = judged.occurred_at
    discrepancy.resolution = why
    if adjustment is None:
        # Nothing to adjust: the pharmacist signs the resolution itself.
        sign_record(session, pharmacist.username, password, SignatureMeaning.APPROVED, discrepancy)
    return discrepancy


def _on_record_when_counted(
    session: Session, count: PhysicalCount, discrepancy: Discrepancy
) -> int:
    """The balance at the counted place as the record now says it stood when counted:
    late entries of earlier events count, movements after the count do not."""
    e = LedgerEntry
    rows = balances(
        session,
        e.study_id == count.study_id,
        e.lot_id == discrepancy.lot_id,
        e.kit_id == discrepancy.kit_id if discrepancy.kit_id is not None else e.kit_id.is_(None),
        e.occurred_at <= count.counted_at,
    )
    return sum(
        row.quantity
        for row in rows
        if row.location_id == count.location_id and row.state is discrepancy.state
    )
