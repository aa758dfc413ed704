"""Shipment notices: what the sponsor's depot has announced, expected until received.

A depot's IRT sends a shipment notice (number, sender, expected day, courier tracking)
when it ships. Kept here, it puts the shipment on the technician's day list, overdue
ones first, until a receipt with the same shipment number is recorded for the study:
the receipt itself settles the notice, so a notice is never edited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.models import ExpectedShipment, Shipment
from ids_app.studies.identifiers import identifier, optional_identifier
from ids_app.studies.models import Study
from ids_app.users.models import User
from ids_app.users.permissions import Action, require, sees_study

# A notice whose day is further ahead than this is a typing mistake (depots announce days,
# not months, ahead).
FURTHEST_NOTICE = dt.timedelta(days=90)


def announce_shipment(
    session: Session,
    actor: User,
    study: Study,
    *,
    shipment_number: str,
    sender: str,
    expected_on: dt.date,
    today: dt.date,
    tracking_number: str | None = None,
) -> ExpectedShipment:
    """Record the depot's notice of a shipment on its way to the site."""
    require(session, actor, Action.RECEIVE, study)
    number = identifier(shipment_number, "shipment number")
    who = sender.strip()
    if not who:
        raise InvalidInput("The sender is empty; type the depot that ships it.")
    if expected_on > today + FURTHEST_NOTICE:
        raise InvalidInput(
            f"The shipment is expected on {expected_on:%Y-%m-%d}, more than 90 days ahead; "
            "check the date on the notice."
        )
    received = session.scalar(
        select(Shipment.received_on).where(
            Shipment.study_id == study.id, Shipment.shipment_number == number
        )
    )
    if received is not None:
        raise InvalidInput(
            f"Shipment {number} of {study.protocol_number} was already received on "
            f"{received:%Y-%m-%d}."
        )
    if session.scalar(
        select(ExpectedShipment.id).where(
            ExpectedShipment.study_id == study.id, ExpectedShipment.shipment_number == number
        )
    ):
        raise InvalidInput(f"Shipment {number} of {study.protocol_number} is already expected.")
    attribute_changes(session, actor, reason="shipment notice recorded")
    notice = ExpectedShipment(
        study_id=study.id,
        shipment_number=number,
        sender=who,
        expected_on=expected_on,
        tracking_number=optional_identifier(tracking_number, "tracking number"),
        recorded_by_id=actor.id,
    )
    session.add(notice)
    session.flush()  # the day list reads it back
    return notice


@dataclass(frozen=True)
class ExpectedRow:
    id: int
    study_id: int
    protocol_number: str
    shipment_number: str
    sender: str
    expected_on: dt.date
    tracking_number: str | None


def notice_row(session: Session, notice_id: int) -> ExpectedRow:
    notice = session.get_one(ExpectedShipment, notice_id)
    study = session.get_one(Study, notice.study_id)
    return _row(notice, study)


def _row(notice: ExpectedShipment, study: Study) -> ExpectedRow:
    return ExpectedRow(
        notice.id,
        study.id,
        study.protocol_number,
        notice.shipment_number,
        notice.sender,
        notice.expected_on,
        notice.tracking_number,
    )


def shipments_expected(session: Session, reader: User) -> list[ExpectedRow]:
    """Announced shipments not yet received, on the studies ``reader`` sees, soonest first."""
    received = select(Shipment.id).where(
        Shipment.study_id == ExpectedShipment.study_id,
        Shipment.shipment_number == ExpectedShipment.shipment_number,
    )
    rows = session.execute(
        select(ExpectedShipment, Study)
        .join(Study, Study.id == ExpectedShipment.study_id)
        .where(~received.exists())
        .order_by(ExpectedShipment.expected_on, ExpectedShipment.id)
    )
    return [_row(notice, study) for notice, study in rows if sees_study(session, reader, study)]
