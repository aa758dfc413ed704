"""Where the sponsor requires it, nothing is destroyed without the monitor's signed
authorization, and only what it covers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ids_app.audit.integrity import verify_database
from ids_app.db import Database
from ids_app.errors import PermissionDenied
from ids_app.inventory.disposal import DisposalItem, DisposalRefused, dispose
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import ON_SITE_STATES, Disposal, DisposalKind, Kit, LedgerEntry
from ids_app.monitoring.services import authorize_destruction, require_monitor_authorization
from ids_app.monitoring.views import destruction_authorizations
from ids_app.studies.models import Study
from tests.factories import PASSWORD, TODAY, Example, make_example, receive_kits

EXPIRED = TODAY - dt.timedelta(days=1)


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(2001, 2004), shipment_number="S2", lot="OLD", expiry=EXPIRED)
    with db.unit_of_work() as session:
        require_monitor_authorization(
            session,
            ex.people.pharm,
            session.get_one(Study, ex.study.id),
            required=True,
            reason="Acme's pharmacy manual 4.2: the CRA authorizes every destruction",
        )
    return ex


def _items(db: Database, example: Example, *numbers: str) -> list[DisposalItem]:
    with db.read_session() as session:
        kits = session.scalars(select(Kit).where(Kit.kit_number.in_(numbers))).all()
        # Wherever each kit stands now: expired on arrival, it was received into quarantine.
        return [
            DisposalItem(kit.lot_id, kit.id, place.location_id, place.state, 1)
            for kit in kits
            for place in balances(session, LedgerEntry.kit_id == kit.id)
            if place.state in ON_SITE_STATES
        ]


def _destroy(db: Database, example: Example, reference: str, *numbers: str) -> Disposal:
    with db.unit_of_work() as session:
        return dispose(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            kind=DisposalKind.DESTROYED_ON_SITE,
            disposal_number=f"D-{reference}",
            method="incineration",
            sponsor_authorization=reference,
            performed_on=TODAY,
            items=_items(db, example, *numbers),
            performer_password=PASSWORD,
            witness_username="pharm",
            witness_password=PASSWORD,
        )


def _authorize(db: Database, example: Example, reference: str, *kits: str) -> None:
    with db.unit_of_work() as session:
        authorize_destruction(
            session,
            example.people.monitor,
            session.get_one(Study, example.study.id),
            reference=reference,
            password=PASSWORD,
            kit_numbers=kits,
        )


def test_a_destruction_is_refused_without_the_monitors_authorization(
    db: Database, example: Example
) -> None:
    with pytest.raises(DisposalRefused, match="requires the monitor's authorization") as refused:
        _destroy(db, example, "DA-1", "2001")
    assert "Ask the monitor to authorize it" in str(refused.value)
    with db.read_session() as session:
        assert session.scalars(select(Disposal)).all() == []


def test_the_monitors_authorization_lets_the_kits_it_covers_be_destroyed(
    db: Database, example: Example
) -> None:
    _authorize(db, example, "DA-1", "2001", "2002")
    with pytest.raises(DisposalRefused, match="does not cover kit 2003"):
        _destroy(db, example, "DA-1", "2001", "2003")
    _destroy(db, example, "DA-1", "2001", "2002")
    with db.read_session() as session:
        required, rows = destruction_authorizations(session, example.study.id)
        assert verify_database(session).intact
    assert required
    assert [(row.reference, row.covers) for row in rows] == [("DA-1", "kits 2001, 2002")]
    assert rows[0].signature is not None
    assert "— Approved —" in rows[0].signature


def test_only_a_monitor_authorizes_destruction(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied, match="Only a monitor may authorize destruction"):
        with db.unit_of_work() as session:
            authorize_destruction(
                session,
                example.people.pharm,
                session.get_one(Study, example.study.id),
                reference="DA-2",
                password=PASSWORD,
                quantity=3,
            )


def test_a_technician_cannot_lift_the_sponsors_rule(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied, match="Only a pharmacist or administrator"):
        with db.unit_of_work() as session:
            require_monitor_authorization(
                session,
                example.people.tech,
                session.get_one(Study, example.study.id),
                required=False,
                reason="in a hurry",
            )
