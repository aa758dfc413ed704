"""Excursions: time out of a storage range, found in the readings, and the stock it put at risk.

The rule (docs/temperature-logs.md): readings outside the range — a reading equal to a
limit is in range — for at least the minimum duration open an excursion. A run of
out-of-range readings lasts from its first reading to the first reading back in range
(each reading stands until the next), or to the latest reading while it is still out.
An excursion once opened is kept: later readings may lengthen it, never shorten or
erase it (ALCOA+). DOMAIN.md: the stock it exposed is quarantined at once, through the
same holds and signed decisions as any quarantine (inventory/quarantine.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import utc_now
from ids_app.errors import InvalidInput
from ids_app.inventory.ledger import Balance, Links, Place, balances, move
from ids_app.inventory.models import (
    EntryKind,
    HoldDecision,
    HoldDecisionKind,
    HoldReason,
    LedgerEntry,
    Location,
    Lot,
    QuarantineHold,
    StockState,
)
from ids_app.inventory.quarantine import decide_hold, held_stock, open_hold
from ids_app.storage.models import (
    Excursion,
    ExcursionEvidence,
    ExcursionHold,
    ExcursionRule,
    ExcursionStatus,
    ReadingSource,
    TemperatureReading,
    in_force,
)
from ids_app.studies.models import Product
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require

# A fridge door held open for a stock count is not an excursion; 30 minutes is a common
# alarm delay for pharmacy monitoring systems. Sites set their own (ExcursionRule).
DEFAULT_MINIMUM_MINUTES = 30
LONGEST_MINIMUM_MINUTES = 24 * 60
# Without an earlier daily check, a min/max memory is taken to cover the last day.
MEMORY_WITHOUT_EARLIER_CHECK = dt.timedelta(hours=24)
RULE_ROLES = PERMISSIONS[Action.SET_EXCURSION_RULE].roles
# Stock whose storage matters: dispensable, or held and perhaps released later. Returned
# and condemned units are never dispensed again (DOMAIN.md).
ON_SHELF = (StockState.AVAILABLE, StockState.QUARANTINED)

Point = tuple[dt.datetime, float]


@dataclass(frozen=True)
class Run:
    """Consecutive readings out of range; ``closed`` once a reading came back in range."""

    started_at: dt.datetime
    ended_at: dt.datetime
    min_c: float
    max_c: float
    closed: bool

    @property
    def duration(self) -> dt.timedelta:
        return self.ended_at - self.started_at


def out_of_range_runs(points: Iterable[Point], low: float, high: float) -> list[Run]:
    """Split readings in time order into runs below ``low`` or above ``high``.

    A run ends at the first reading back in range, the first time it is known to be back.
    A reading exactly at a limit is in range: USP <659> ranges include their limits.
    """
    runs: list[Run] = []
    start: dt.datetime | None = None
    last: dt.datetime | None = None
    lowest = highest = 0.0
    for taken_at, celsius in points:
        last = taken_at
        if celsius < low or celsius > high:
            if start is None:
                start, lowest, highest = taken_at, celsius, celsius
            else:
                lowest, highest = min(lowest, celsius), max(highest, celsius)
        elif start is not None:
            runs.append(Run(start, taken_at, lowest, highest, closed=True))
            start = None
    if start is not None and last is not None:
        runs.append(Run(start, last, lowest, highest, closed=False))
    return runs


# --- the minimum duration ----------------------------------------------------------------


def minimum_minutes(session: Session, location: Location | None) -> int:
    """The location's own minimum, else the site's default, else 30 minutes."""
    r = ExcursionRule
    scope: ColumnElement[bool] = r.location_id.is_(None)
    if location is not None:
        scope = scope | (r.location_id == location.id)
    rules = {
        rule.location_id: rule.minimum_minutes for rule in session.scalars(select(r).where(scope))
    }
    if location is not None and location.id in rules:
        return rules[location.id]
    return rules.get(None, DEFAULT_MINIMUM_MINUTES)


def set_minimum_duration(
    session: Session,
    actor: User,
    minutes: int,
    *,
    reason: str,
    location: Location | None = None,
) -> ExcursionRule:
    """Set how long a range may be left before it is an excursion, site-wide or for one
    location. Applies to readings checked from now on; excursions on record keep theirs."""
    require(session, actor, Action.SET_EXCURSION_RULE)
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise InvalidInput("The minimum duration is a whole number of minutes.")
    if not 0 <= minutes <= LONGEST_MINIMUM_MINUTES:
        raise InvalidInput(
            f"The minimum duration lies between 0 and {LONGEST_MINIMUM_MINUTES} minutes (a day)."
        )
    if not reason.strip():
        raise InvalidInput("Say why the excursion rule changes; the sponsor will ask.")
    location_id = location.id if location is not None else None
    rule = session.scalar(
        select(ExcursionRule).where(
            ExcursionRule.location_id == location_id
            if location_id is not None
            else ExcursionRule.location_id.is_(None)
        )
    )
    attribute_changes(session, actor, reason=reason.strip())
    if rule is None:
        rule = ExcursionRule(location_id=location_id, minimum_minutes=minutes, set_by_id=actor.id)
        session.add(rule)
    else:
        rule.minimum_minutes = minutes
        rule.set_by_id = actor.id
        rule.set_at = utc_now()
    session.flush()  # the next check reads it
    return rule


# --- detection ---------------------------------------------------------------------------


def lock_location(session: Session, location_id: int) -> None:
    """Serialise excursion checks of one location across workstations.

    On PostgreSQL two imports for the same fridge would otherwise both see no excursion
    and both open one; the row lock makes the second wait and then find the first's. On
    SQLite the unit of work already holds the write lock.
    """
    session.scalar(select(Location.id).where(Location.id == location_id).with_for_update())


def _overlapping(
    session: Session,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    *,
    location_id: int | None,
    shipment_id: int | None,
    low: float,
    high: float,
) -> Excursion | None:
    x = Excursion
    place = (
        x.location_id == location_id
        if location_id is not None
        else and_(x.shipment_id == shipment_id, x.range_min_c == low, x.range_max_c == high)
    )
    return session.scalars(
        select(x)
        .where(place, x.started_at <= ended_at, x.ended_at >= started_at)
        .order_by(x.started_at, x.id)
        .limit(1)
    ).first()


def _lengthen(session: Session, actor: User, excursion: Excursion, run: Run) -> bool:
    """Widen ``excursion`` to cover ``run``; True if anything changed."""
    started = min(excursion.started_at, run.started_at)
    ended = max(excursion.ended_at, run.ended_at)
    status = excursion.status
    if run.ended_at >= excursion.ended_at:
        status = ExcursionStatus.CLOSED if run.closed else ExcursionStatus.OPEN
    duration = (
        None
        if excursion.evidence is ExcursionEvidence.MIN_MAX
        else round((ended - started).total_seconds())
    )
    new = {
        "started_at": started,
        "ended_at": ended,
        "min_c": min(excursion.min_c, run.min_c),
        "max_c": max(excursion.max_c, run.max_c),
        "status": status,
        "duration_seconds": duration,
    }
    if all(getattr(excursion, key) == value for key, value in new.items()):
        return False
    attribute_changes(session, actor, reason="excursion lengthened by later readings")
    for key, value in new.items():
        setattr(excursion, key, value)
    session.flush()  # the exposure query reads the new extent
    return True


def record_runs(
    session: Session,
    actor: User,
    runs: Sequence[Run],
    *,
    low: float,
    high: float,
    minimum: int,
    location_id: int | None = None,
    shipment_id: int | None = None,
) -> list[Excursion]:
    """Open an excursion for each run of at least ``minimum`` minutes, or lengthen the
    excursion a run overlaps; returns the excursions opened or changed."""
    changed: list[Excursion] = []
    for run in runs:
        existing = _overlapping(
            session,
            run.started_at,
            run.ended_at,
            location_id=location_id,
            shipment_id=shipment_id,
            low=low,
            high=high,
        )
        if existing is not None:
            if _lengthen(session, actor, existing, run) and existing not in changed:
                changed.append(existing)
            continue
        if run.duration < dt.timedelta(minutes=minimum):
            continue
        attribute_changes(session, actor, reason="excursion detected in the readings")
        excursion = Excursion(
            location_id=location_id,
            shipment_id=shipment_id,
            range_min_c=low,
            range_max_c=high,
            started_at=run.started_at,
            ended_at=run.ended_at,
            min_c=run.min_c,
            max_c=run.max_c,
            duration_seconds=round(run.duration.total_seconds()),
            status=ExcursionStatus.CLOSED if run.closed else ExcursionStatus.OPEN,
            evidence=ExcursionEvidence.READINGS,
            minimum_minutes=minimum,
            opened_by_id=actor.id,
        )
        session.add(excursion)
        session.flush()  # holds link to it
        changed.append(excursion)
    return changed


def check_location(
    session: Session, actor: User, location: Location, *, since: dt.datetime
) -> list[Excursion]:
    """Look for excursions in the location's readings from ``since`` on (and the run that
    was under way then), and quarantine what each new or longer one exposed."""
    lock_location(session, location.id)
    r = TemperatureReading
    low, high = location.storage_min_c, location.storage_max_c
    anchor = session.scalar(
        select(r.taken_at)
        .where(
            r.location_id == location.id,
            r.taken_at < since,
            r.temperature_c >= low,
            r.temperature_c <= high,
            in_force(),
        )
        .order_by(r.taken_at.desc())
        .limit(1)
    )
    query = select(r.taken_at, r.temperature_c).where(r.location_id == location.id, in_force())
    if anchor is not None:
        query = query.where(r.taken_at >= anchor)
    points = [
        (taken_at, celsius)
        for taken_at, celsius in session.execute(query.order_by(r.taken_at, r.id))
    ]
    excursions = record_runs(
        session,
        actor,
        out_of_range_runs(points, low, high),
        low=low,
        high=high,
        minimum=minimum_minutes(session, location),
        location_id=location.id,
    )
    for excursion in excursions:
        quarantine_exposed(session, actor, excursion)
    return excursions


def check_min_max(
    session: Session, actor: User, location: Location, reading: TemperatureReading
) -> Excursion | None:
    """A daily check's min/max memory out of range: an excursion of unknown duration.

    The memory covers the time since the previous daily check. It cannot show the range
    was left for less than the minimum, so it opens an excursion over that window — unless
    an excursion on record already covers it, which then takes the memory's extremes.
    """
    low, high = location.storage_min_c, location.storage_max_c
    # The current temperature alone is a timed reading: check_location judges it.
    memory_low = reading.min_c is not None and reading.min_c < low
    memory_high = reading.max_c is not None and reading.max_c > high
    if not (memory_low or memory_high):
        return None
    observed = [
        value
        for value in (reading.temperature_c, reading.min_c, reading.max_c)
        if value is not None
    ]
    lowest, highest = min(observed), max(observed)
    lock_location(session, location.id)
    r = TemperatureReading
    previous = session.scalar(
        select(r.taken_at)
        .where(
            r.location_id == location.id,
            r.source == ReadingSource.MANUAL,
            r.taken_at < reading.taken_at,
            in_force(),
        )
        .order_by(r.taken_at.desc())
        .limit(1)
    )
    window_start = previous or reading.taken_at - MEMORY_WITHOUT_EARLIER_CHECK
    back_in_range = low <= reading.temperature_c <= high
    existing = _overlapping(
        session,
        window_start,
        reading.taken_at,
        location_id=location.id,
        shipment_id=None,
        low=low,
        high=high,
    )
    if existing is not None:
        # The memory adds its extremes; when the excursion ended, the readings say.
        closed = existing.status is ExcursionStatus.CLOSED
        extremes = Run(existing.started_at, existing.ended_at, lowest, highest, closed)
        changed = _lengthen(session, actor, existing, extremes)
        if changed:
            quarantine_exposed(session, actor, existing)
        return existing if changed else None
    minimum = minimum_minutes(session, location)
    attribute_changes(session, actor, reason="excursion shown by the thermometer's min/max")
    excursion = Excursion(
        location_id=location.id,
        range_min_c=low,
        range_max_c=high,
        started_at=window_start,
        ended_at=reading.taken_at,
        min_c=lowest,
        max_c=highest,
        duration_seconds=None,
        status=ExcursionStatus.CLOSED if back_in_range else ExcursionStatus.OPEN,
        evidence=ExcursionEvidence.MIN_MAX,
        minimum_minutes=minimum,
        opened_by_id=actor.id,
    )
    session.add(excursion)
    session.flush()  # holds link to it
    quarantine_exposed(session, actor, excursion)
    return excursion


# --- what an excursion exposed, and its quarantine ----------------------------------------


def breaches(excursion: Excursion, product: Product) -> bool:
    """True when the excursion left the product's own range (a limit is in range)."""
    return excursion.min_c < product.storage_min_c or excursion.max_c > product.storage_max_c


def describe(excursion: Excursion, where: str) -> str:
    """One line for the hold's details and the binder, in the workstation's local time;
    ``where`` is "at IDS Fridge 1" or "in transit, shipment SHP-0001"."""
    start = excursion.started_at.astimezone()
    end = excursion.ended_at.astimezone()
    if excursion.duration is None:
        lasted = "duration unknown (thermometer min/max memory)"
    else:
        hours, rest = divmod(round(excursion.duration.total_seconds() / 60), 60)
        lasted = f"{hours} h {rest} min" if hours else f"{rest} min"
    still = " and still out of range" if excursion.status is ExcursionStatus.OPEN else ""
    low, high = excursion.min_c, excursion.max_c
    extremes = f"{high:g} °C" if low == high else f"{low:g} to {high:g} °C"
    return (
        f"Temperature excursion {where}: {start:%Y-%m-%d %H:%M} to "
        f"{end:%Y-%m-%d %H:%M %Z}{still}, at {extremes} (range {excursion.range_text}), "
        f"{lasted}"
    )


def excursion_holds(session: Session, excursion: Excursion) -> list[QuarantineHold]:
    return list(
        session.scalars(
            select(QuarantineHold)
            .join(ExcursionHold, ExcursionHold.hold_id == QuarantineHold.id)
            .where(ExcursionHold.excursion_id == excursion.id)
            .order_by(QuarantineHold.id)
        )
    )


def link_hold(session: Session, actor: User, excursion: Excursion, hold: QuarantineHold) -> None:
    if hold in excursion_holds(session, excursion):
        return
    attribute_changes(session, actor, reason="quarantine linked to its excursion")
    session.add(ExcursionHold(excursion_id=excursion.id, hold_id=hold.id))
    session.flush()  # the next hold lookup sees it


def hold_for_study(
    session: Session,
    actor: User,
    excursion: Excursion,
    study_id: int,
    details: str,
    *,
    shipment_id: int | None = None,
) -> QuarantineHold:
    """The excursion's hold for a study: its existing one while no decision is recorded
    under it (a lot is decided once per hold), else a new one."""
    for hold in excursion_holds(session, excursion):
        decided = session.scalar(select(HoldDecision.id).where(HoldDecision.hold_id == hold.id))
        if hold.study_id == study_id and decided is None:
            return hold
    hold = open_hold(
        session, actor, study_id, HoldReason.EXCURSION, details, shipment_id=shipment_id
    )
    link_hold(session, actor, excursion, hold)
    return hold


def quarantine_balances(
    session: Session,
    actor: User,
    excursion: Excursion,
    targets: Sequence[tuple[int, Balance]],
    details: str,
    *,
    shipment_id: int | None = None,
) -> list[QuarantineHold]:
    """Hold each (study, available balance) under the excursion's hold for its study."""
    holds: dict[int, QuarantineHold] = {}
    for study_id, balance in targets:
        if study_id not in holds:
            holds[study_id] = hold_for_study(
                session, actor, excursion, study_id, details, shipment_id=shipment_id
            )
        hold = holds[study_id]
        move(
            session,
            actor,
            kind=EntryKind.QUARANTINE,
            study_id=study_id,
            lot_id=balance.lot_id,
            kit_id=balance.kit_id,
            quantity=balance.quantity,
            source=Place(StockState.AVAILABLE, balance.location_id),
            target=Place(StockState.QUARANTINED, balance.location_id),
            reason=f"quarantined: {hold.details}",
            links=Links(hold_id=hold.id),
        )
    return list(holds.values())


@dataclass(frozen=True)
class Exposure:
    """A lot (and kit) of a breached product that was at the location during an excursion."""

    study_id: int
    product_id: int
    lot_id: int
    kit_id: int | None


def exposed_stock(session: Session, excursion: Excursion) -> list[Exposure]:
    """Lots and kits on the shelf at the excursion's location at its start or brought
    there during it, of products whose own range it breached."""
    if excursion.location_id is None:
        return []
    e = LedgerEntry
    columns = (e.study_id, e.product_id, e.lot_id, e.kit_id, e.occurred_at)
    arrivals = select(*columns, e.quantity.label("delta")).where(
        e.to_location_id == excursion.location_id,
        e.to_state.in_(ON_SHELF),
        e.occurred_at <= excursion.ended_at,
    )
    departures = select(*columns, (literal(0) - e.quantity).label("delta")).where(
        e.from_location_id == excursion.location_id,
        e.from_state.in_(ON_SHELF),
        e.occurred_at <= excursion.ended_at,
    )
    moves = union_all(arrivals, departures).subquery()
    before = moves.c.occurred_at <= excursion.started_at
    at_start = func.sum(case((before, moves.c.delta), else_=0))
    brought = func.sum(case((and_(~before, moves.c.delta > 0), moves.c.delta), else_=0))
    keys = (moves.c.study_id, moves.c.product_id, moves.c.lot_id, moves.c.kit_id)
    rows = session.execute(
        select(*keys).group_by(*keys).having((at_start > 0) | (brought > 0)).order_by(*keys)
    ).all()
    products = {
        product.id: product
        for product in session.scalars(
            select(Product).where(Product.id.in_({row.product_id for row in rows}))
        )
    }
    return [
        Exposure(row.study_id, row.product_id, row.lot_id, row.kit_id)
        for row in rows
        if breaches(excursion, products[row.product_id])
    ]


def _held_before(session: Session, excursion: Excursion) -> set[tuple[int, int | None]]:
    """Lots and kits this excursion already quarantined (a release stands)."""
    hold_ids = [hold.id for hold in excursion_holds(session, excursion)]
    if not hold_ids:
        return set()
    e = LedgerEntry
    rows = session.execute(
        select(e.lot_id, e.kit_id).where(
            e.hold_id.in_(hold_ids), e.to_state == StockState.QUARANTINED
        )
    )
    return {(lot_id, kit_id) for lot_id, kit_id in rows}


def _available_now(
    session: Session, excursion: Excursion, exposures: Sequence[Exposure]
) -> list[tuple[int, Balance]]:
    """Where the exposed stock is available now: a kit wherever it went; a lot counted in
    bulk at the location, and what was transferred from there since the excursion began."""
    location_id = excursion.location_id
    study_of = {(x.lot_id, x.kit_id): x.study_id for x in exposures}
    kit_ids = [x.kit_id for x in exposures if x.kit_id is not None]
    bulk_lots = [x.lot_id for x in exposures if x.kit_id is None]
    targets: list[tuple[int, Balance]] = []
    if kit_ids:
        for row in balances(session, LedgerEntry.kit_id.in_(kit_ids)):
            if row.state is StockState.AVAILABLE and (row.lot_id, row.kit_id) in study_of:
                targets.append((study_of[(row.lot_id, row.kit_id)], row))
    if bulk_lots:
        e = LedgerEntry
        sent: dict[tuple[int, int | None], int] = defaultdict(int)
        for lot_id, to_location, quantity in session.execute(
            select(e.lot_id, e.to_location_id, func.sum(e.quantity))
            .where(
                e.kind == EntryKind.TRANSFER,
                e.lot_id.in_(bulk_lots),
                e.kit_id.is_(None),
                e.from_location_id == location_id,
                e.from_state == StockState.AVAILABLE,
                e.occurred_at > excursion.started_at,
            )
            .group_by(e.lot_id, e.to_location_id)
        ):
            sent[(lot_id, to_location)] += int(quantity)
        for row in balances(session, LedgerEntry.lot_id.in_(bulk_lots)):
            if row.state is not StockState.AVAILABLE or row.kit_id is not None:
                continue
            quantity = (
                row.quantity
                if row.location_id == location_id
                else min(row.quantity, sent.get((row.lot_id, row.location_id), 0))
            )
            if quantity > 0:
                targets.append(
                    (
                        study_of[(row.lot_id, None)],
                        Balance(
                            row.product_id,
                            row.lot_id,
                            None,
                            row.location_id,
                            row.state,
                            quantity,
                        ),
                    )
                )
    return targets


def quarantine_exposed(session: Session, actor: User, excursion: Excursion) -> list[QuarantineHold]:
    """Quarantine exactly the stock the excursion exposed and did not hold already: one
    hold per study, reason excursion, linked to the excursion."""
    held = _held_before(session, excursion)
    exposures = [x for x in exposed_stock(session, excursion) if (x.lot_id, x.kit_id) not in held]
    targets = _available_now(session, excursion, exposures)
    if not targets:
        return []
    location = session.get_one(Location, excursion.location_id)
    return quarantine_balances(
        session, actor, excursion, targets, describe(excursion, f"at {location.name}")
    )


def dispensed_after_exposure(session: Session, excursion: Excursion) -> list[LedgerEntry]:
    """Exposed stock that reached a subject after the excursion began: the sponsor must
    hear of it, since it can no longer be held."""
    exposures = exposed_stock(session, excursion)
    kit_ids = [x.kit_id for x in exposures if x.kit_id is not None]
    bulk_lots = [x.lot_id for x in exposures if x.kit_id is None]
    e = LedgerEntry
    from_here = (e.kit_id.in_(kit_ids)) | and_(
        e.lot_id.in_(bulk_lots), e.kit_id.is_(None), e.from_location_id == excursion.location_id
    )
    return list(
        session.scalars(
            select(e)
            .where(
                e.kind == EntryKind.DISPENSE,
                e.occurred_at >= excursion.started_at,
                from_here,
            )
            .order_by(e.occurred_at, e.id)
        )
    )


# --- the sponsor's decision ---------------------------------------------------------------


def decide_excursion(
    session: Session,
    pharmacist: User,
    excursion: Excursion,
    lot: Lot,
    *,
    decision: HoldDecisionKind,
    sponsor_reference: str,
    password: str,
) -> list[HoldDecision]:
    """Record and sign the sponsor's ruling on one lot held for this excursion.

    Goes through ``decide_hold`` for each of the excursion's holds holding the lot, so a
    decision is signed and carried out exactly as for any quarantine (21 CFR 11.50).
    """
    require(session, pharmacist, Action.DECIDE_ON_HELD_STOCK)
    holds = [
        hold
        for hold in excursion_holds(session, excursion)
        if any(balance.lot_id == lot.id for balance in held_stock(session, hold))
    ]
    if not holds:
        raise InvalidInput(
            f"No stock of lot {lot.lot_number} is held for this excursion; its decision may "
            "already be recorded."
        )
    return [
        decide_hold(
            session,
            pharmacist,
            hold,
            lot,
            decision=decision,
            sponsor_reference=sponsor_reference,
            password=password,
        )
        for hold in holds
    ]
