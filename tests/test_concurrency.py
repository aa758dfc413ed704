"""Two workstations at once: two processes dispensing from the same kits and the same lot.

Exactly one of two contending dispenses succeeds; the other is told why in words
(never a database error); no kit is dispensed twice, no balance goes negative, and
the audit chain stays one line. Runs on SQLite (one file, two processes) and on
PostgreSQL when the suite runs against a server.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ids_app.audit.verification import verify_chain
from ids_app.db import Database
from ids_app.errors import DatabaseProblem, IdsError
from ids_app.inventory.dispensing import create_order, prepare_order, verify_order
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import DispenseOrder, EntryKind, LedgerEntry, Location
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Role, User
from ids_app.users.passwords import set_hashing_cost
from ids_app.users.services import get_user
from tests.factories import PASSWORD, Example, make_example, prepared_item, receive_kits, scan_of

KITS = [str(n) for n in range(1001, 1061)]
ATTEMPTS = 200


@dataclass(frozen=True)
class Station:
    """One workstation: who prepares and who verifies there."""

    url: str
    technician: str
    pharmacist: str
    study_id: int
    product_id: int
    subject_id: int
    prescriber_id: int
    shelf_id: int


@dataclass(frozen=True)
class Outcome:
    dispensed: int
    refusals: Counter[str]
    database_errors: list[str]


def _dispense(
    db: Database,
    station: Station,
    technician: User,
    pharmacist: User,
    kit: str | None,
    lot: str | None,
) -> None:
    with db.unit_of_work() as session:
        order_id = create_order(
            session,
            technician,
            session.get_one(Study, station.study_id),
            subject=session.get_one(Subject, station.subject_id),
            prescriber=session.get_one(Prescriber, station.prescriber_id),
            product=session.get_one(Product, station.product_id),
            visit="Visit 2",
            quantity=None if kit else 1,
            assigned_kit_number=kit,
        ).id
    with db.unit_of_work() as session:
        prepare_order(
            session,
            technician,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORD,
            item=scan_of(kit, lot),
            location=session.get_one(Location, station.shelf_id),
        )
    with db.unit_of_work() as session:
        verify_order(
            session,
            pharmacist,
            session.get_one(DispenseOrder, order_id),
            password=PASSWORD,
            item=prepared_item(session, session.get_one(DispenseOrder, order_id)),
        )


def work_station(
    station: Station, targets: list[str | None], lot: str | None, start: Any
) -> Outcome:
    """What one process does: try to dispense each target in turn, as fast as it can."""
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    db = Database(station.url)
    with db.read_session() as session:
        technician = get_user(session, station.technician)
        pharmacist = get_user(session, station.pharmacist)
    start.wait()  # both workstations begin together
    dispensed, refusals, errors = 0, Counter[str](), []
    for kit in targets:
        try:
            _dispense(db, station, technician, pharmacist, kit, lot)
            dispensed += 1
        except DatabaseProblem as problem:
            errors.append(str(problem))
        except IdsError as refusal:
            refusals[type(refusal).__name__] += 1
    db.dispose()
    return Outcome(dispensed, refusals, errors)


def _stations(db: Database, example: Example, product_id: int) -> list[Station]:
    from ids_app.users.services import add_user, change_password, sign_in

    url = db.url.render_as_string(hide_password=False)
    with db.unit_of_work() as session:
        for name, role in (("tech2", Role.TECHNICIAN), ("pharm3", Role.PHARMACIST)):
            add_user(session, example.people.admin, name, name.title(), role, "temporary-1")
    for name in ("tech2", "pharm3"):
        with db.unit_of_work() as session:
            user = sign_in(session, name, "temporary-1")
            change_password(session, user, "temporary-1", PASSWORD)
    common = dict(
        url=url,
        study_id=example.study.id,
        product_id=product_id,
        subject_id=example.subject.id,
        prescriber_id=example.prescriber.id,
        shelf_id=example.shelf.id,
    )
    return [
        Station(technician="tech", pharmacist="pharm", **common),  # type: ignore[arg-type]
        Station(technician="tech2", pharmacist="pharm3", **common),  # type: ignore[arg-type]
    ]


def _run(
    stations: list[Station], targets: list[list[str | None]], lot: str | None
) -> list[Outcome]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(len(stations)) as pool:
        start = manager.Barrier(len(stations))
        return pool.starmap(
            work_station, [(s, t, lot, start) for s, t in zip(stations, targets, strict=True)]
        )


def _check_ledger(db: Database, example: Example) -> None:
    with db.read_session() as session:
        for row in study_balances(session, example.study.id):
            assert row.quantity > 0, row
        assert verify_chain(session).intact


def test_two_workstations_never_dispense_the_same_kit_twice(db: Database) -> None:
    example = make_example(db)
    receive_kits(db, example, range(1001, 1061))
    stations = _stations(db, example, example.product.id)
    targets: list[list[str | None]] = []
    for seed in (1, 2):
        order = KITS * (ATTEMPTS // len(KITS) + 1)
        rng = random.Random(seed)
        chunks = [order[i : i + len(KITS)] for i in range(0, len(order), len(KITS))]
        for chunk in chunks:
            rng.shuffle(chunk)
        targets.append([kit for chunk in chunks for kit in chunk][:ATTEMPTS])
    outcomes = _run(stations, targets, lot=None)
    assert [o.database_errors for o in outcomes] == [[], []]
    if not db.is_sqlite:
        # PostgreSQL queues writers fairly; SQLite's busy-wait may let one station take
        # every kit first, and then the other's 200 attempts are all (rightly) refused.
        assert all(o.dispensed > 0 for o in outcomes), outcomes
    with db.read_session() as session:
        per_kit = Counter(
            session.scalars(
                select(LedgerEntry.kit_id).where(LedgerEntry.kind == EntryKind.DISPENSE)
            )
        )
    assert max(per_kit.values()) == 1  # no kit dispensed twice
    assert len(per_kit) == len(KITS)  # and every kit was dispensed by one of the two
    assert sum(o.dispensed for o in outcomes) == len(KITS)
    assert sum(sum(o.refusals.values()) for o in outcomes) == 2 * ATTEMPTS - len(KITS)
    _check_ledger(db, example)


def test_two_workstations_share_the_last_units_of_a_lot_exactly(db: Database) -> None:
    from tests.inventory.test_dispensing import add_bulk_product

    example = make_example(db)
    product_id = add_bulk_product(db, example, quantity=60)
    stations = _stations(db, example, product_id)
    outcomes = _run(stations, [[None] * 50, [None] * 50], lot="B100")
    assert [o.database_errors for o in outcomes] == [[], []]
    assert sum(o.dispensed for o in outcomes) == 60
    with db.read_session() as session:
        dispensed = session.scalar(
            select(func.sum(LedgerEntry.quantity)).where(LedgerEntry.kind == EntryKind.DISPENSE)
        )
    assert dispensed == 60
    _check_ledger(db, example)
