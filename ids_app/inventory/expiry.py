"""Expiry: the one test of "expired", and the stock on site that is running out.

A dispense may not use expired stock (DESIGN.md, "The ledger"); expired stock waits for
destruction or return to the sponsor (21 CFR 312.59). Nobody has to act for stock to
expire: every rule asks :func:`is_expired` on the day it applies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import today as pharmacy_today
from ids_app.errors import InvalidInput
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import Kit, LedgerEntry, Lot, StockState

# Stock that may still be dispensed once a hold is lifted; returned and condemned stock
# is never dispensed again, so its expiry changes nothing.
SHELF_STATES = frozenset({StockState.AVAILABLE, StockState.QUARANTINED})


def is_expired(lot: Lot, on: dt.date) -> bool:
    """A lot is usable through its expiry date and expired from the next day on."""
    return lot.expiry < on


@dataclass(frozen=True)
class ExpiringStock:
    """One balance of a lot that expires soon (or already has), for the overview."""

    product_id: int
    lot_id: int
    lot_number: str
    expiry: dt.date
    kit_id: int | None
    kit_number: str | None
    location_id: int
    state: StockState
    quantity: int
    expired: bool


def expiring_stock(
    session: Session, study_id: int, *, within_days: int, today: dt.date | None = None
) -> list[ExpiringStock]:
    """Available and quarantined stock whose lot expires within ``within_days``, soonest first.

    Already expired stock is listed too, flagged, so it is taken off the shelf.
    """
    if within_days < 0:
        raise InvalidInput("Give the number of days ahead to look, zero or more.")
    day = today or pharmacy_today()
    soon = select(Lot.id).where(Lot.expiry <= day + dt.timedelta(days=within_days))
    rows = [
        row
        for row in balances(session, LedgerEntry.study_id == study_id, LedgerEntry.lot_id.in_(soon))
        if row.state in SHELF_STATES
    ]
    lots = {lot.id: lot for lot in session.scalars(select(Lot).where(Lot.id.in_(soon)))}
    kit_ids = {row.kit_id for row in rows if row.kit_id is not None}
    kits = {
        kit_id: number
        for kit_id, number in session.execute(
            select(Kit.id, Kit.kit_number).where(Kit.id.in_(kit_ids))
        )
    }
    found = [
        ExpiringStock(
            product_id=row.product_id,
            lot_id=row.lot_id,
            lot_number=lots[row.lot_id].lot_number,
            expiry=lots[row.lot_id].expiry,
            kit_id=row.kit_id,
            kit_number=kits.get(row.kit_id) if row.kit_id is not None else None,
            location_id=row.location_id,
            state=row.state,
            quantity=row.quantity,
            expired=is_expired(lots[row.lot_id], day),
        )
        for row in rows
        if row.location_id is not None  # always set for stock on a shelf
    ]
    return sorted(found, key=lambda item: (item.expiry, item.lot_number, item.kit_number or ""))
