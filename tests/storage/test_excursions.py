"""Excursion detection at the exact limits and minimum duration, and its quarantine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.db import Database, simulated_clock
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import create_order, prepare_order, verify_order
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    EntryKind,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    QuarantineHold,
    StockState,
)
from ids_app.inventory.quarantine import held_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.transfers import transfer_stock
from ids_app.storage.excursions import (
    DEFAULT_MINIMUM_MINUTES,
    decide_excursion,
    dispensed_after_exposure,
    excursion_holds,
    minimum_minutes,
    out_of_range_runs,
    set_minimum_duration,
)
from ids_app.storage.models import (
    Excursion,
    ExcursionEvidence,
    ExcursionStatus,
)
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Signature, SignatureMeaning
from tests.factories import (
    EXPIRY,
    PASSWORD,
    Example,
    make_example,
    prepared_item,
    receive_kits,
    scan_of,
)
from tests.storage.support import (
    BASE,
    add_fridge_study,
    add_shelf_product,
    at,
    import_log,
    lot,
    receive_bulk,
    record,
    states,
    write_log,
)


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _excursions(db: Database) -> list[Excursion]:
    with db.read_session() as session:
        return list(session.scalars(select(Excursion).order_by(Excursion.id)))


def _holds(db: Database, excursion: Excursion) -> list[QuarantineHold]:
    with db.read_session() as session:
        return excursion_holds(session, session.get_one(Excursion, excursion.id))


def _fridge_log(
    db: Database, example: Example, tmp_path: Path, readings: list[tuple[float, float]]
) -> list[Excursion]:
    name = f"fridge-{len(list(tmp_path.iterdir()))}.csv"
    path = write_log(tmp_path, name, readings)
    return import_log(db, example.people.tech, example.fridge, path).excursions


# --- the exact limits and the minimum duration ------------------------------------------------


@pytest.mark.parametrize(
    ("celsius", "opens"),
    [(8.0, False), (8.01, True), (2.0, False), (1.99, True), (5.0, False)],
)
def test_a_reading_equal_to_a_limit_is_in_range_and_just_beyond_is_out(
    db: Database, example: Example, tmp_path: Path, celsius: float, opens: bool
) -> None:
    fridge = add_fridge_study(db, example)
    found = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, celsius), (40, celsius), (70, 5.0)])
    assert bool(found) is opens
    if opens:
        assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}
    else:
        assert _excursions(db) == []
        assert states(db, fridge.study.id) == {(StockState.AVAILABLE, example.fridge.id): 10}


@pytest.mark.parametrize(
    ("back_in_range_after", "opens"),
    [(dt.timedelta(minutes=29, seconds=59), False), (dt.timedelta(minutes=30), True)],
)
def test_out_of_range_for_the_minimum_duration_exactly_opens_an_excursion(
    db: Database,
    example: Example,
    tmp_path: Path,
    back_in_range_after: dt.timedelta,
    opens: bool,
) -> None:
    assert DEFAULT_MINIMUM_MINUTES == 30
    minutes = back_in_range_after.total_seconds() / 60
    found = _fridge_log(db, example, tmp_path, [(0, 5.0), (5, 9.0), (5 + minutes, 5.0)])
    assert bool(found) is opens
    if opens:
        (excursion,) = found
        assert (excursion.started_at, excursion.ended_at) == (at(5), at(35))
        assert excursion.duration == dt.timedelta(minutes=30)
        assert (excursion.min_c, excursion.max_c) == (9.0, 9.0)
        assert excursion.status is ExcursionStatus.CLOSED
        assert (excursion.range_min_c, excursion.range_max_c) == (2.0, 8.0)
        assert excursion.minimum_minutes == 30


def test_runs_split_at_each_reading_back_in_range() -> None:
    def t(minutes: int) -> dt.datetime:
        return BASE + dt.timedelta(minutes=minutes)

    points = [(t(0), 9.0), (t(10), 8.0), (t(20), 1.0), (t(30), 12.0), (t(40), 12.5)]
    runs = out_of_range_runs(points, 2.0, 8.0)
    assert [(r.started_at, r.ended_at, r.min_c, r.max_c, r.closed) for r in runs] == [
        (t(0), t(10), 9.0, 9.0, True),
        (t(20), t(40), 1.0, 12.5, False),
    ]


def test_an_excursion_still_under_way_is_open_and_later_readings_close_it(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    (opened,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.5), (40, 11.0)])
    assert (opened.status, opened.duration) == (ExcursionStatus.OPEN, dt.timedelta(minutes=30))
    (closed,) = _fridge_log(db, example, tmp_path, [(50, 10.0), (70, 6.0)])
    assert closed.id == opened.id
    assert (closed.status, closed.ended_at, closed.max_c) == (ExcursionStatus.CLOSED, at(70), 11.0)
    assert closed.duration == dt.timedelta(minutes=60)
    assert len(_excursions(db)) == 1
    assert len(_holds(db, closed)) == 1
    assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}
    with db.read_session() as session:
        quarantines = session.scalar(
            select(func.count()).where(LedgerEntry.kind == EntryKind.QUARANTINE)
        )
    assert quarantines == 1


def test_a_short_run_becomes_an_excursion_when_later_readings_make_it_long_enough(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    assert _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (30, 9.2)]) == []
    (excursion,) = _fridge_log(db, example, tmp_path, [(40, 9.4), (50, 5.0)])
    assert (excursion.started_at, excursion.ended_at) == (at(10), at(50))


def test_an_excursion_is_never_shortened_by_readings_found_later(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (60, 5.0)])
    # A second logger in the same fridge read 6 °C in the middle of it.
    path = write_log(tmp_path, "second-logger.csv", [(30, 6.0)])
    assert (
        import_log(db, example.people.tech, example.fridge, path, device_id="LOG-2").excursions
        == []
    )
    (kept,) = _excursions(db)
    assert (kept.started_at, kept.ended_at) == (at(10), at(60))


def test_a_location_rule_overrides_the_site_default(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    with db.unit_of_work() as session:
        set_minimum_duration(session, example.people.pharm, 60, reason="SOP-IDS-12 v3")
        fridge = session.get_one(Location, example.fridge.id)
        set_minimum_duration(
            session, example.people.pharm, 10, location=fridge, reason="sponsor manual 4.2"
        )
    with db.read_session() as session:
        assert minimum_minutes(session, session.get_one(Location, example.fridge.id)) == 10
        assert minimum_minutes(session, session.get_one(Location, example.shelf.id)) == 60
    (excursion,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (20, 5.0)])
    assert excursion.minimum_minutes == 10
    path = write_log(tmp_path, "shelf.csv", [(0, 22.0), (10, 26.0), (50, 22.0)])
    assert import_log(db, example.people.tech, example.shelf, path).excursions == []


def test_only_a_pharmacist_or_administrator_sets_the_rule_and_within_a_day(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session, pytest.raises(PermissionDenied):
        set_minimum_duration(session, example.people.tech, 10, reason="faster")
    with db.unit_of_work() as session, pytest.raises(InvalidInput, match="between 0 and 1440"):
        set_minimum_duration(session, example.people.pharm, 1441, reason="too long")
    with db.unit_of_work() as session, pytest.raises(InvalidInput, match="Say why"):
        set_minimum_duration(session, example.people.pharm, 15, reason=" ")


# --- exactly the affected stock ---------------------------------------------------------------


def test_a_product_whose_own_range_was_not_breached_stays_available(
    db: Database, example: Example, tmp_path: Path
) -> None:
    # IDS Shelf A is kept at 20-25 °C. The kits (15-30 °C) tolerate 27 °C; the solution
    # (20-25 °C) does not.
    receive_kits(db, example, range(1001, 1004))
    solution = add_shelf_product(db, example, 20, 25)
    receive_bulk(db, example, solution, "S100", 6, example.shelf, "SHP-S1")
    path = write_log(tmp_path, "shelf.csv", [(0, 22.0), (10, 27.0), (50, 23.0)])
    (excursion,) = import_log(db, example.people.tech, example.shelf, path).excursions
    assert (excursion.max_c, excursion.range_text) == (27.0, "20 to 25 °C")
    with db.read_session() as session:
        stock = {
            (session.get_one(Lot, row.lot_id).lot_number, row.state): row.quantity
            for hold in excursion_holds(session, excursion)
            for row in held_stock(session, hold)
        }
    assert stock == {("S100", StockState.QUARANTINED): 6}
    assert states(db, example.study.id) == {
        (StockState.AVAILABLE, example.shelf.id): 3,
        (StockState.QUARANTINED, example.shelf.id): 6,
    }


def test_a_breach_of_both_ranges_holds_both_products_under_one_hold(
    db: Database, example: Example, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1004))
    solution = add_shelf_product(db, example, 20, 25)
    receive_bulk(db, example, solution, "S100", 6, example.shelf, "SHP-S1")
    path = write_log(tmp_path, "shelf.csv", [(0, 22.0), (10, 31.0), (50, 23.0)])
    (excursion,) = import_log(db, example.people.tech, example.shelf, path).excursions
    (hold,) = _holds(db, excursion)
    assert (hold.reason, hold.study_id) == (HoldReason.EXCURSION, example.study.id)
    assert "Temperature excursion at IDS Shelf A" in hold.details
    assert "at 31 °C (range 20 to 25 °C)" in hold.details
    assert states(db, example.study.id) == {(StockState.QUARANTINED, example.shelf.id): 9}


def test_one_hold_per_study_each_linked_to_the_excursion(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    cold_solution = add_shelf_product(db, example, 2, 8, name="ABC-123 infusion")
    receive_bulk(db, example, cold_solution, "C7", 4, example.fridge, "SHP-C7")
    (excursion,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 12.0), (60, 5.0)])
    holds = _holds(db, excursion)
    assert sorted(hold.study_id for hold in holds) == sorted([example.study.id, fridge.study.id])
    assert {hold.reason for hold in holds} == {HoldReason.EXCURSION}
    assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}
    assert states(db, example.study.id) == {(StockState.QUARANTINED, example.fridge.id): 4}


def test_stock_that_arrived_after_the_excursion_stays_available(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    arrival = BASE + dt.timedelta(days=2, hours=9)
    with simulated_clock(arrival), db.unit_of_work() as session:
        receive_shipment(
            session,
            example.people.tech,
            session.get_one(Study, fridge.study.id),
            ShipmentReceipt(
                "ZB-0002",
                "Zenith Depot",
                "Cold Chain Express",
                arrival.date(),
                example.fridge.id,
                (ReceivedLine(fridge.vial.id, "Z2402", EXPIRY, quantity=5),),
            ),
        )
    _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 12.0), (60, 5.0)])
    with db.read_session() as session:
        by_lot = {
            (session.get_one(Lot, row.lot_id).lot_number, row.state): row.quantity
            for row in study_balances(session, fridge.study.id)
        }
    assert by_lot == {("Z2401", StockState.QUARANTINED): 10, ("Z2402", StockState.AVAILABLE): 5}


def test_a_kit_moved_elsewhere_after_the_excursion_began_is_held_where_it_is(
    db: Database, example: Example, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1004))
    with db.unit_of_work() as session:
        satellite = add_location(
            session, example.people.pharm, "Clinic satellite", LocationKind.SATELLITE, 20, 25
        )

    def send(kit_number: str) -> None:
        with db.unit_of_work() as session:
            kit = session.scalars(select(Kit).where(Kit.kit_number == kit_number)).one()
            transfer_stock(
                session,
                example.people.tech,
                lot=session.get_one(Lot, kit.lot_id),
                kit=kit,
                from_location=session.get_one(Location, example.shelf.id),
                to_location=session.get_one(Location, satellite.id),
                quantity=1,
            )

    send("1001")  # before the excursion: never exposed
    with simulated_clock(BASE + dt.timedelta(days=2)):
        send("1002")  # after it began: exposed on the shelf, held at the satellite
    path = write_log(tmp_path, "shelf.csv", [(0, 22.0), (10, 31.0), (50, 23.0)])
    import_log(db, example.people.tech, example.shelf, path)
    assert states(db, example.study.id) == {
        (StockState.AVAILABLE, satellite.id): 1,
        (StockState.QUARANTINED, satellite.id): 1,
        (StockState.QUARANTINED, example.shelf.id): 1,
    }


def test_exposed_stock_dispensed_before_the_log_was_read_is_listed_for_the_sponsor(
    db: Database, example: Example, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1003))
    with simulated_clock(BASE + dt.timedelta(days=2)), db.unit_of_work() as session:
        order = create_order(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, example.product.id),
            visit="Visit 2",
            assigned_kit_number="1001",
        )
        prepare_order(
            session,
            example.people.tech,
            order,
            password=PASSWORD,
            item=scan_of("1001"),
            location=session.get_one(Location, example.shelf.id),
        )
        verify_order(
            session,
            example.people.pharm,
            order,
            password=PASSWORD,
            item=prepared_item(session, order),
        )
    path = write_log(tmp_path, "shelf.csv", [(0, 22.0), (10, 31.0), (50, 23.0)])
    (excursion,) = import_log(db, example.people.tech, example.shelf, path).excursions
    with db.read_session() as session:
        dispensed = dispensed_after_exposure(session, excursion)
        kits = [session.get_one(Kit, entry.kit_id or 0).kit_number for entry in dispensed]
    assert kits == ["1001"]
    assert states(db, example.study.id) == {
        (StockState.DISPENSED, None): 1,
        (StockState.QUARANTINED, example.shelf.id): 1,
    }


# --- the thermometer's min/max memory ---------------------------------------------------------


def test_a_min_max_memory_out_of_range_opens_an_excursion_of_unknown_duration(
    db: Database, example: Example
) -> None:
    fridge = add_fridge_study(db, example)
    tech = example.people.tech
    assert (
        record(db, tech, example.fridge, 5.0, minimum=3.0, maximum=6.0, minutes=0).excursions == []
    )
    outcome = record(db, tech, example.fridge, 5.1, minimum=3.2, maximum=9.4, minutes=24 * 60)
    (excursion,) = outcome.excursions
    assert excursion.evidence is ExcursionEvidence.MIN_MAX
    assert excursion.duration is None
    # The memory covers the time since the previous daily check.
    assert (excursion.started_at, excursion.ended_at) == (at(0), at(24 * 60))
    assert (excursion.min_c, excursion.max_c, excursion.status) == (
        3.2,
        9.4,
        ExcursionStatus.CLOSED,
    )
    assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}


def test_a_min_max_memory_at_the_limits_is_in_range(db: Database, example: Example) -> None:
    add_fridge_study(db, example)
    outcome = record(
        db, example.people.tech, example.fridge, 5.0, minimum=2.0, maximum=8.0, minutes=0
    )
    assert outcome.excursions == []


def test_a_logger_excursion_on_record_explains_the_min_max_memory(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    tech = example.people.tech
    record(db, tech, example.fridge, 5.0, minutes=0)
    (logged,) = _fridge_log(db, example, tmp_path, [(600, 5.0), (610, 9.0), (660, 5.0)])
    outcome = record(db, tech, example.fridge, 5.0, minimum=4.0, maximum=9.6, minutes=24 * 60)
    assert [excursion.id for excursion in outcome.excursions] == [logged.id]
    (kept,) = _excursions(db)
    assert (kept.evidence, kept.max_c, kept.started_at) == (
        ExcursionEvidence.READINGS,
        9.6,
        at(610),
    )


def test_a_current_reading_still_out_of_range_keeps_the_excursion_open(
    db: Database, example: Example
) -> None:
    add_fridge_study(db, example)
    tech = example.people.tech
    record(db, tech, example.fridge, 5.0, minutes=0)
    (excursion,) = record(db, tech, example.fridge, 9.0, maximum=9.5, minutes=600).excursions
    assert excursion.status is ExcursionStatus.OPEN
    (closed,) = record(db, tech, example.fridge, 5.0, maximum=9.5, minutes=660).excursions
    assert (closed.id, closed.status, closed.ended_at) == (
        excursion.id,
        ExcursionStatus.CLOSED,
        at(660),
    )


# --- the sponsor's decision -------------------------------------------------------------------


def _decide(
    db: Database,
    example: Example,
    excursion: Excursion,
    lot_number: str,
    decision: HoldDecisionKind,
    *,
    who: str = "pharm",
) -> None:
    people = {"pharm": example.people.pharm, "tech": example.people.tech}
    with db.unit_of_work() as session:
        decide_excursion(
            session,
            people[who],
            session.get_one(Excursion, excursion.id),
            session.get_one(Lot, lot(db, lot_number).id),
            decision=decision,
            sponsor_reference="Zenith TE-0042",
            password=PASSWORD,
        )


def test_the_pharmacist_releases_a_lot_with_a_signature(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    (excursion,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (60, 5.0)])
    with pytest.raises(PermissionDenied, match="Only a pharmacist"):
        _decide(db, example, excursion, "Z2401", HoldDecisionKind.RELEASE, who="tech")
    _decide(db, example, excursion, "Z2401", HoldDecisionKind.RELEASE)
    assert states(db, fridge.study.id) == {(StockState.AVAILABLE, example.fridge.id): 10}
    with db.read_session() as session:
        (signature,) = session.scalars(
            select(Signature).where(Signature.record_table == "hold_decision")
        ).all()
    assert (signature.meaning, signature.printed_name) == (SignatureMeaning.APPROVED, "Jane Roe")
    with pytest.raises(InvalidInput, match="No stock of lot Z2401 is held for this excursion"):
        _decide(db, example, excursion, "Z2401", HoldDecisionKind.CONDEMN)


def test_a_condemned_lot_never_becomes_available_and_a_release_stands_when_the_excursion_grows(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    cold_solution = add_shelf_product(db, example, 2, 8, name="ABC-123 infusion")
    receive_bulk(db, example, cold_solution, "C7", 4, example.fridge, "SHP-C7")
    (excursion,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (40, 9.5)])
    _decide(db, example, excursion, "Z2401", HoldDecisionKind.CONDEMN)
    _decide(db, example, excursion, "C7", HoldDecisionKind.RELEASE)
    # Later readings lengthen the excursion; what the sponsor ruled on is not held again.
    _fridge_log(db, example, tmp_path, [(70, 9.8), (90, 5.0)])
    assert states(db, fridge.study.id) == {(StockState.CONDEMNED, example.fridge.id): 10}
    assert states(db, example.study.id) == {(StockState.AVAILABLE, example.fridge.id): 4}


def test_stock_brought_in_while_an_excursion_went_on_is_held_under_a_new_hold_after_a_decision(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    (excursion,) = _fridge_log(db, example, tmp_path, [(0, 5.0), (10, 9.0), (40, 9.5)])
    _decide(db, example, excursion, "Z2401", HoldDecisionKind.RELEASE)
    arrival = at(50)
    with simulated_clock(arrival), db.unit_of_work() as session:
        receive_shipment(
            session,
            example.people.tech,
            session.get_one(Study, fridge.study.id),
            ShipmentReceipt(
                "ZB-0002",
                "Zenith Depot",
                "Cold Chain Express",
                arrival.date(),
                example.fridge.id,
                (ReceivedLine(fridge.vial.id, "Z2402", EXPIRY, quantity=5),),
            ),
        )
    _fridge_log(db, example, tmp_path, [(70, 9.8), (90, 5.0)])
    first, second = _holds(db, excursion)
    with db.read_session() as session:
        assert held_stock(session, first) == []
        (held,) = held_stock(session, second)
    assert (held.lot_id, held.quantity) == (lot(db, "Z2402").id, 5)
    assert states(db, fridge.study.id) == {
        (StockState.AVAILABLE, example.fridge.id): 10,
        (StockState.QUARANTINED, example.fridge.id): 5,
    }
