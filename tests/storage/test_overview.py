"""The overview's alerts and the binder's lists: open excursions, decisions awaited,
locations without today's reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ids_app.db import Database
from ids_app.inventory.models import HoldDecisionKind, Location, Lot
from ids_app.storage.excursions import decide_excursion
from ids_app.storage.models import Excursion
from ids_app.storage.queries import (
    excursion_decisions,
    excursions_at,
    excursions_awaiting_decision,
    locations_missing_reading,
    locations_out_of_range_now,
    log_files,
    open_excursions,
    readings_at,
)
from tests.factories import PASSWORD, Example, make_example
from tests.storage.support import (
    add_fridge_study,
    add_shelf_product,
    at,
    import_log,
    later,
    lot,
    receive_bulk,
    record,
    write_log,
)


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def test_locations_without_todays_reading_are_listed_until_one_is_taken(
    db: Database, example: Example
) -> None:
    day = at(12 * 60).astimezone().date()
    with db.read_session() as session:
        names = [location.name for location in locations_missing_reading(session, day)]
    # Returns holds units that are never dispensed again: it needs no daily check.
    assert names == ["IDS Fridge 1", "IDS Shelf A", "Quarantine"]
    record(db, example.people.tech, example.fridge, 5.0, minutes=12 * 60)
    with db.read_session() as session:
        names = [location.name for location in locations_missing_reading(session, day)]
    assert names == ["IDS Shelf A", "Quarantine"]


def test_an_excursion_under_way_is_open_until_a_reading_is_back_in_range(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    import_log(
        db,
        example.people.tech,
        example.fridge,
        write_log(tmp_path, "a.csv", [(0, 5.0), (10, 9.0), (50, 9.5)]),
    )
    with db.read_session() as session:
        assert [x.location_id for x in open_excursions(session)] == [example.fridge.id]
    record(db, example.people.tech, example.fridge, 5.0, minutes=60)
    with db.read_session() as session:
        assert open_excursions(session) == []


def test_an_excursion_awaits_decisions_until_each_lot_is_decided(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    cold = add_shelf_product(db, example, 2, 8, name="ABC-123 infusion")
    receive_bulk(db, example, cold, "C7", 4, example.fridge, "SHP-C7")
    path = write_log(tmp_path, "a.csv", [(0, 5.0), (10, 12.0), (60, 5.0)])
    (excursion,) = import_log(db, example.people.tech, example.fridge, path).excursions
    for lot_number, decision in (
        ("Z2401", HoldDecisionKind.CONDEMN),
        ("C7", HoldDecisionKind.RELEASE),
    ):
        with db.read_session() as session:
            assert [x.id for x in excursions_awaiting_decision(session)] == [excursion.id]
        with db.unit_of_work() as session:
            decide_excursion(
                session,
                example.people.pharm,
                session.get_one(Excursion, excursion.id),
                session.get_one(Lot, lot(db, lot_number).id),
                decision=decision,
                sponsor_reference="TE-1",
                password=PASSWORD,
            )
    with db.read_session() as session:
        assert excursions_awaiting_decision(session) == []
        decisions = excursion_decisions(session, session.get_one(Excursion, excursion.id))
    assert [(d.lot_id, d.decision) for d in decisions] == [
        (lot(db, "Z2401").id, HoldDecisionKind.CONDEMN),
        (lot(db, "C7").id, HoldDecisionKind.RELEASE),
    ]


def test_the_binder_lists_a_periods_readings_excursions_and_files(
    db: Database, example: Example, tmp_path: Path
) -> None:
    add_fridge_study(db, example)
    path = write_log(tmp_path, "a.csv", [(0, 5.0), (10, 12.0), (60, 5.0), (24 * 60, 5.0)])
    import_log(db, example.people.tech, example.fridge, path)
    with later(), db.read_session() as session:
        fridge = session.get_one(Location, example.fridge.id)
        assert len(readings_at(session, fridge, at(0), at(120))) == 3
        assert len(excursions_at(session, fridge, at(0), at(120))) == 1
        assert excursions_at(session, fridge, at(120), at(2000)) == []
        assert [f.file_name for f in log_files(session, fridge)] == ["a.csv"]


def test_a_single_reading_out_of_range_is_flagged_at_once_and_is_an_excursion_if_it_lasts(
    db: Database, example: Example
) -> None:
    add_fridge_study(db, example)
    tech = example.people.tech
    assert record(db, tech, example.fridge, 9.0, minutes=0).excursions == []
    with db.read_session() as session:
        flagged = [
            (location.name, reading.temperature_c)
            for location, reading in locations_out_of_range_now(session)
        ]
    assert flagged == [("IDS Fridge 1", 9.0)]
    (excursion,) = record(db, tech, example.fridge, 5.0, minutes=40).excursions
    assert excursion.duration == dt.timedelta(minutes=40)
    with db.read_session() as session:
        assert locations_out_of_range_now(session) == []
