"""A downtime batch: the paper log's dispenses of a morning the system was down, entered
afterwards through the same services as at the bench (DOMAIN.md, "Late entries").

The batch is all or nothing: it is entered in the caller's one unit of work, and the first
row the rules refuse stops it with the row named, so nothing of the batch is written and
the paper log is entered again once the row is put right. Honest signatures: the people
at the keyboard now sign (the technician entering prepares, a pharmacist verifies with
their own user name), and each row names the paper's preparer and verifier in its
late-entry reason, so the record says who did the work and who typed it in.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.dispensing import (
    Typed,
    create_order,
    prepare_order,
    verify_order_here,
)
from ids_app.inventory.late_entries import EventTime
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import DispenseOrder, LedgerEntry, Location, StockState
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.studies.views import Choice
from ids_app.users.models import User

# How the item was identified: read from the paper log, not scanned now.
FROM_PAPER = "entered from the paper log"


class DowntimeRowRefused(IdsError):
    """A row of the paper log the rules refuse; nothing of the batch is written."""


@dataclass(frozen=True)
class PaperDispense:
    """One dispense as the paper log has it: who, what, when, and who did it."""

    subject_code: str
    item_code: str  # the kit number (or a bulk lot) written down
    visit: str
    product_id: int
    prescriber_id: int
    location_id: int
    dispensed_at: dt.datetime
    prepared_by: str
    verified_by: str


def enter_downtime_dispenses(
    session: Session,
    entering: User,
    study: Study,
    *,
    downtime_reason: str,
    rows: list[PaperDispense],
    password: str,
    pharmacist_username: str,
    pharmacist_password: str,
) -> list[DispenseOrder]:
    """Enter the paper log's dispenses, each ordered, prepared and verified at its time."""
    reason = downtime_reason.strip()
    if not reason:
        raise InvalidInput(
            "Say what the downtime was (for example 'downtime 06:00 to 09:30, from the paper "
            "log'); it is kept with every entry of the batch."
        )
    if not rows:
        raise InvalidInput("The batch has no rows; type the dispenses from the paper log.")
    orders = []
    for number, row in enumerate(rows, start=1):
        try:
            orders.append(
                _enter(
                    session,
                    entering,
                    study,
                    reason,
                    row,
                    password,
                    pharmacist_username,
                    pharmacist_password,
                )
            )
        except IdsError as refusal:
            raise DowntimeRowRefused(
                f"Row {number} ({row.subject_code}, {row.item_code.strip()}): {refusal} "
                "Nothing of the batch was entered."
            ) from refusal
    return orders


def _enter(
    session: Session,
    entering: User,
    study: Study,
    reason: str,
    row: PaperDispense,
    password: str,
    pharmacist_username: str,
    pharmacist_password: str,
) -> DispenseOrder:
    subject = session.scalar(
        select(Subject).where(
            Subject.study_id == study.id, Subject.subject_code == row.subject_code.strip()
        )
    )
    if subject is None:
        raise InvalidInput(f"There is no subject {row.subject_code.strip()} in this study.")
    if not row.prepared_by.strip() or not row.verified_by.strip():
        raise InvalidInput("Type who prepared and who verified it, as the paper log says.")
    on_paper = (
        f"on paper prepared by {row.prepared_by.strip()}, verified by {row.verified_by.strip()}"
    )
    when = EventTime(row.dispensed_at, f"{reason}; {on_paper}")
    # Kept on the order whether or not the entry turns out late: who really did it.
    identified = Typed(row.item_code, f"{FROM_PAPER}; {on_paper}")
    order = create_order(
        session,
        entering,
        study,
        subject=subject,
        prescriber=session.get_one(Prescriber, row.prescriber_id),
        product=session.get_one(Product, row.product_id),
        visit=row.visit,
        when=when,
    )
    prepare_order(
        session,
        entering,
        order,
        password=password,
        item=identified,
        location=session.get_one(Location, row.location_id),
        when=when,
    )
    return verify_order_here(
        session,
        order,
        username=pharmacist_username,
        password=pharmacist_password,
        item=identified,
        when=when,
    )


def source_location_choices(session: Session, study_id: int, product_id: int) -> list[Choice]:
    """The dispensing locations a paper dispense may have come from, where the product's
    dispensable stock is first (most of it first): a form that offers the first location
    by name would otherwise send a hurried technician's batch to an empty shelf."""
    on_hand: Counter[int] = Counter()
    for row in balances(
        session, LedgerEntry.study_id == study_id, LedgerEntry.product_id == product_id
    ):
        if row.state is StockState.AVAILABLE and row.location_id is not None:
            on_hand[row.location_id] += row.quantity
    places = [
        place
        for place in session.scalars(select(Location).order_by(Location.name))
        if place.dispenses
    ]
    places.sort(key=lambda place: -on_hand[place.id])  # stable: by name within equal stock
    return [Choice(place.id, place.name) for place in places]
