"""Quarantine: stock held, never dispensable, until a pharmacist records the sponsor's decision.

A hold is opened at receipt (excursion or damage in transit: receiving.py) or later by
:func:`quarantine_stock` (an excursion in a fridge, a recall). Every movement of held
stock names its hold, so what a hold still holds is read from the ledger, never stored.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.late_entries import EventTime, Judged, when_it_happened
from ids_app.inventory.ledger import Balance, Links, Place, balances, move, product_of
from ids_app.inventory.models import (
    EntryKind,
    HoldDecision,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    QuarantineHold,
    StockState,
)
from ids_app.studies.models import Study
from ids_app.users.models import SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.users.signatures import sign_record

QUARANTINE_ROLES = PERMISSIONS[Action.QUARANTINE].roles

# What each decision does to the held stock: its entry kind and the state it ends in.
SCOPE_CHOICE = (
    "Choose what to hold: one kit, one lot (everywhere or in one location), "
    "or all of the study's stock in one location."
)

DECISION_MOVES = {
    HoldDecisionKind.RELEASE: (EntryKind.RELEASE, StockState.AVAILABLE),
    HoldDecisionKind.CONDEMN: (EntryKind.CONDEMN, StockState.CONDEMNED),
}


def open_hold(
    session: Session,
    actor: User,
    study_id: int,
    reason: HoldReason,
    details: str,
    *,
    shipment_id: int | None = None,
) -> QuarantineHold:
    """A hold record that quarantine movements link to; the services that hold stock call it."""
    if not details.strip():
        raise InvalidInput("Say why the stock is held; the sponsor will ask.")
    attribute_changes(session, actor, reason=f"quarantine: {reason.value}")
    hold = QuarantineHold(
        study_id=study_id,
        reason=reason,
        details=details.strip(),
        placed_by_id=actor.id,
        shipment_id=shipment_id,
    )
    session.add(hold)
    session.flush()  # the quarantine movements link to it
    return hold


def _check_in_study(session: Session, study: Study, lot: Lot | None, kit: Kit | None) -> None:
    if kit is not None and kit.study_id != study.id:
        raise InvalidInput(f"Kit {kit.kit_number} is not part of study {study.protocol_number}.")
    if lot is not None and product_of(session, lot.id).study_id != study.id:
        raise InvalidInput(f"Lot {lot.lot_number} is not part of study {study.protocol_number}.")


def quarantine_stock(
    session: Session,
    actor: User,
    study: Study,
    *,
    reason: HoldReason,
    details: str,
    kit: Kit | None = None,
    lot: Lot | None = None,
    location: Location | None = None,
    when: EventTime | None = None,
) -> QuarantineHold:
    """Hold available stock where it stands until the sponsor rules (DOMAIN.md, excursion).

    The scope is one kit, one lot (everywhere, or in one location), or all of the study's
    stock in one location: what a recall notice or a fridge's excursion names. ``when`` is
    the time the stock was held, for a hold entered late from a paper log.
    """
    require(session, actor, Action.QUARANTINE)
    if kit is not None and (lot is not None or location is not None):
        raise InvalidInput(SCOPE_CHOICE)
    _check_in_study(session, study, lot, kit)
    conditions = [LedgerEntry.study_id == study.id]
    if kit is not None:
        conditions.append(LedgerEntry.kit_id == kit.id)
        nothing = f"Kit {kit.kit_number} is not available; only available stock is quarantined."
    elif lot is not None:
        conditions.append(LedgerEntry.lot_id == lot.id)
        where = f" at {location.name}" if location is not None else ""
        nothing = f"There is no available stock of lot {lot.lot_number}{where} to quarantine."
    elif location is not None:
        nothing = (
            f"There is no available stock of {study.protocol_number} at {location.name} "
            "to quarantine."
        )
    else:
        raise InvalidInput(SCOPE_CHOICE)
    in_scope = [
        row
        for row in balances(session, *conditions)
        if row.state is StockState.AVAILABLE
        and (location is None or row.location_id == location.id)
    ]
    if not in_scope:
        raise InvalidInput(nothing)
    judged = [_judged(session, study, when, row, "the hold") for row in in_scope]
    hold = open_hold(session, actor, study.id, reason, details)
    for row, at in zip(in_scope, judged, strict=True):
        move(
            session,
            actor,
            kind=EntryKind.QUARANTINE,
            study_id=study.id,
            lot_id=row.lot_id,
            kit_id=row.kit_id,
            quantity=row.quantity,
            source=Place(StockState.AVAILABLE, row.location_id),
            target=Place(StockState.QUARANTINED, row.location_id),
            reason=f"quarantined: {hold.details}",
            links=Links(hold_id=hold.id),
            occurred_at=at.occurred_at,
            late_reason=at.late_reason,
        )
    return hold


def _judged(
    session: Session, study: Study, when: EventTime | None, row: Balance, what: str
) -> Judged:
    """The event time checked against the last record of the balance's kit (or lot)."""
    kit = session.get_one(Kit, row.kit_id) if row.kit_id is not None else None
    lot = session.get_one(Lot, row.lot_id)
    return when_it_happened(session, study, when, kit=kit, lot=lot, what=what)


def _held(session: Session, *conditions: ColumnElement[bool]) -> list[tuple[int, Balance]]:
    """Quarantined stock per hold: what arrived in quarantine under a hold minus what left it.

    Held stock can also leave quarantine without naming its hold (an expired lot destroyed,
    a count correction), so each hold's share is capped by the quarantined balance really
    there, shared out oldest hold first when two holds hold stock at the same place.
    """
    e = LedgerEntry
    # ``hold_id > 0`` rather than IS NOT NULL: SQLite serves a range from the hold index but
    # scans the whole ledger for IS NOT NULL (~20 ms at 100,000 movements).
    arrivals = select(
        e.hold_id,
        e.product_id,
        e.lot_id,
        e.kit_id,
        e.to_location_id.label("location_id"),
        e.quantity.label("delta"),
    ).where(e.hold_id > 0, e.to_state == StockState.QUARANTINED, *conditions)
    departures = select(
        e.hold_id,
        e.product_id,
        e.lot_id,
        e.kit_id,
        e.from_location_id.label("location_id"),
        (literal(0) - e.quantity).label("delta"),
    ).where(e.hold_id > 0, e.from_state == StockState.QUARANTINED, *conditions)
    moves = union_all(arrivals, departures).subquery()
    keys = (
        moves.c.hold_id,
        moves.c.product_id,
        moves.c.lot_id,
        moves.c.kit_id,
        moves.c.location_id,
    )
    total = func.sum(moves.c.delta)
    rows = session.execute(
        select(*keys, total)
        .group_by(*keys)
        .having(total > 0)
        .order_by(moves.c.hold_id, moves.c.lot_id, moves.c.location_id, moves.c.kit_id)
    ).all()
    if not rows:
        return []
    lot_ids = {row.lot_id for row in rows}
    really_there = {
        (b.lot_id, b.kit_id, b.location_id): b.quantity
        for b in balances(
            session,
            LedgerEntry.lot_id.in_(lot_ids),
            # Only movements into or out of quarantine: a lot's other history can be long.
            or_(e.to_state == StockState.QUARANTINED, e.from_state == StockState.QUARANTINED),
        )
        if b.state is StockState.QUARANTINED
    }
    held: list[tuple[int, Balance]] = []
    for hold_id, product_id, lot_id, kit_id, location_id, net in rows:
        place = (lot_id, kit_id, location_id)
        share = min(int(net), really_there.get(place, 0))
        if share > 0:
            really_there[place] -= share
            held.append(
                (
                    hold_id,
                    Balance(product_id, lot_id, kit_id, location_id, StockState.QUARANTINED, share),
                )
            )
    return held


def held_stock(session: Session, hold: QuarantineHold) -> list[Balance]:
    """What is still quarantined under ``hold``, per lot, kit and location."""
    lots_of_hold = select(LedgerEntry.lot_id).where(LedgerEntry.hold_id == hold.id)
    return [
        balance
        for hold_id, balance in _held(session, LedgerEntry.lot_id.in_(lots_of_hold))
        if hold_id == hold.id
    ]


def held_portions(
    session: Session, lot_id: int, kit_id: int | None, location_id: int
) -> list[tuple[int, int]]:
    """(hold id, quantity) of the holds that hold this lot (and kit) at this location.

    A transfer of quarantined stock names these holds, so the hold follows its stock
    into the Quarantine room and the decision later finds it there.
    """
    return [
        (hold_id, balance.quantity)
        for hold_id, balance in _held(session, LedgerEntry.lot_id == lot_id)
        if balance.kit_id == kit_id and balance.location_id == location_id
    ]


def open_holds(session: Session, study_id: int) -> list[QuarantineHold]:
    """Holds of a study that still hold stock, oldest first: what awaits a sponsor's ruling."""
    still_holding = {hold_id for hold_id, _ in _held(session, LedgerEntry.study_id == study_id)}
    return list(
        session.scalars(
            select(QuarantineHold)
            .where(QuarantineHold.id.in_(still_holding))
            .order_by(QuarantineHold.placed_at, QuarantineHold.id)
        )
    )


def decide_hold(
    session: Session,
    pharmacist: User,
    hold: QuarantineHold,
    lot: Lot,
    *,
    decision: HoldDecisionKind,
    sponsor_reference: str,
    password: str,
    when: EventTime | None = None,
) -> HoldDecision:
    """Record and sign the sponsor's ruling on one lot under a hold, then carry it out.

    Released stock becomes available where it stands; condemned stock waits for
    destruction or return to the sponsor. The pharmacist signs the decision with the
    password (21 CFR 11.50, 11.200); a wrong password is refused and kept on record.
    """
    require(session, pharmacist, Action.DECIDE_ON_HELD_STOCK)
    reference = sponsor_reference.strip()
    if not reference:
        raise InvalidInput(
            "Type the sponsor's reference for this decision (the letter, e-mail or form "
            "that gives it); it is kept on file."
        )
    if product_of(session, lot.id).study_id != hold.study_id:
        raise InvalidInput(f"Lot {lot.lot_number} is not part of this hold's study.")
    earlier = session.scalar(
        select(HoldDecision).where(HoldDecision.hold_id == hold.id, HoldDecision.lot_id == lot.id)
    )
    if earlier is not None:
        raise InvalidInput(
            f"The sponsor's decision on lot {lot.lot_number} under this hold is already "
            f"recorded ({earlier.decision.value}, {earlier.decided_at.astimezone():%Y-%m-%d}); "
            "a decision is recorded once."
        )
    remaining = [balance for balance in held_stock(session, hold) if balance.lot_id == lot.id]
    if not remaining:
        raise InvalidInput(f"No stock of lot {lot.lot_number} is held under this hold.")
    study = session.get_one(Study, hold.study_id)
    judged = [_judged(session, study, when, row, "the decision") for row in remaining]
    kind, state = DECISION_MOVES[decision]
    why = f"sponsor's decision on hold {hold.id}: {decision.value} ({reference})"
    attribute_changes(session, pharmacist, reason=why)
    record = HoldDecision(
        hold_id=hold.id,
        lot_id=lot.id,
        decision=decision,
        sponsor_reference=reference,
        decided_by_id=pharmacist.id,
        decided_at=judged[0].occurred_at,
    )
    session.add(record)
    sign_record(session, pharmacist.username, password, SignatureMeaning.APPROVED, record)
    for balance, at in zip(remaining, judged, strict=True):
        move(
            session,
            pharmacist,
            kind=kind,
            study_id=hold.study_id,
            lot_id=lot.id,
            kit_id=balance.kit_id,
            quantity=balance.quantity,
            source=Place(StockState.QUARANTINED, balance.location_id),
            target=Place(state, balance.location_id),
            reason=why,
            reference=reference,
            links=Links(hold_id=hold.id),
            occurred_at=at.occurred_at,
            late_reason=at.late_reason,
        )
    return record
