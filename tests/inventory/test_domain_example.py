"""The whole DOMAIN.md example, through the services a technician, pharmacist and monitor use.

Protocol ABC-123: 20 blinded kits of lot L2301 received into IDS Shelf A; at visit 2 the
IWRS assigns kit 1007 to subject 01-004; the technician prepares it, the pharmacist
verifies and signs; 28 days later the subject returns it with 3 tablets left (27/28
taken, 96.4 %); the kit waits in Returns until the monitor verifies the return.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from sqlalchemy import select

from ids_app.audit.verification import verify_chain
from ids_app.db import Database, simulated_clock, today
from ids_app.inventory.dispensing import (
    create_order,
    dispensed_on,
    prepare_order,
    subject_history,
    verify_order,
)
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Kit,
    Location,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.returns import (
    compliance,
    record_return,
    returns_awaiting_monitor,
    verify_return,
)
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Signature
from ids_app.users.signatures import manifestation, signature_holds, signatures_of
from tests.factories import PASSWORD, make_example, prepared_item, receive_kits, scan_of


def test_the_domain_example_runs_end_to_end(db: Database) -> None:
    example = make_example(db)
    people = example.people
    receive_kits(db, example)  # kits 1001-1020 of lot L2301, expiring in 14 months

    with db.unit_of_work() as session:
        order = create_order(
            session,
            people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, example.product.id),
            visit="Visit 2",
            assigned_kit_number="1007",  # from the IWRS
        )
        order_id = order.id
    with db.unit_of_work() as session:
        prepare_order(
            session,
            people.tech,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORD,
            item=scan_of("1007"),  # the technician's scan
            location=example.shelf,
        )
    with db.unit_of_work() as session:
        order = verify_order(
            session,
            people.pharm,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORD,
            item=prepared_item(session, session.get_one(DispenseOrder, order_id)),
        )
        given = dispensed_on(order)

    # Visit 3, 28 days later: the subject brings kit 1007 back with 3 tablets left.
    visit_3 = given + dt.timedelta(days=28)
    with simulated_clock(dt.datetime.combine(visit_3, dt.time(10)).astimezone()):
        assert today() == visit_3
        with db.unit_of_work() as session:
            returned = record_return(
                session,
                people.tech,
                session.get_one(DispenseOrder, order_id),
                returned_on=visit_3,
                quantity=1,
                units_counted=3,
                condition="kit opened, 3 tablets left",
                location=example.returns,
            )
        with db.read_session() as session:
            result = compliance(session, session.get_one(SubjectReturn, returned.id))
            assert [r.id for r in returns_awaiting_monitor(session, example.study.id)] == [
                returned.id
            ]
        with db.unit_of_work() as session:
            verify_return(
                session,
                people.monitor,
                session.get_one(SubjectReturn, returned.id),
                password=PASSWORD,
            )

    assert (result.units_dispensed, result.units_returned) == (30, 3)
    assert (result.units_taken, result.units_expected, result.days) == (27, Fraction(28), 28)
    assert str(result.percent) == "96.4"

    with db.read_session() as session:
        kit_1007 = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        totals: dict[tuple[str, StockState], int] = {}
        for row in study_balances(session, example.study.id):
            assert row.location_id is not None
            where = session.get_one(Location, row.location_id).name
            totals[(where, row.state)] = totals.get((where, row.state), 0) + row.quantity
            if row.state is StockState.RETURNED:
                assert row.kit_id == kit_1007.id
        assert totals == {
            ("IDS Shelf A", StockState.AVAILABLE): 19,
            ("Returns", StockState.RETURNED): 1,
        }

        (history,) = subject_history(session, example.subject.id)
        assert [entry.kind for entry in history.entries] == [EntryKind.DISPENSE, EntryKind.RETURN]
        assert returns_awaiting_monitor(session, example.study.id) == []

        order = session.get_one(DispenseOrder, order_id)
        prepared, verified = signatures_of(session, order)
        assert [manifestation(s).split(" — ")[:2] for s in (prepared, verified)] == [
            ["Terry Tech, Technician", "Prepared"],
            ["Jane Roe, Pharmacist", "Verified"],
        ]
        assert all(signature_holds(s, order) for s in (prepared, verified))
        subject_return = session.get_one(SubjectReturn, returned.id)
        (monitor_signature,) = signatures_of(session, subject_return)
        assert monitor_signature.printed_name == "Morgan Monitor"
        assert subject_return.monitor_verified_by_id == people.monitor.id
        assert session.scalars(select(Signature)).all() == [
            prepared,
            verified,
            monitor_signature,
        ]
        assert verify_chain(session).intact
