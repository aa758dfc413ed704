"""The temperature section's data: per location, per study, with chart, MKT and decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from ids_app.db import Database
from ids_app.inventory.models import HoldDecisionKind, Location, Lot, Shipment
from ids_app.storage.excursions import decide_excursion
from ids_app.storage.mkt import mean_kinetic_temperature
from ids_app.storage.models import Excursion
from ids_app.storage.readings import read_logger_file
from ids_app.storage.report import location_section, study_locations, transit_excursions
from ids_app.storage.transit import attach_transit_log
from tests.factories import PASSWORD, Example, make_example
from tests.storage.support import (
    UTC_MAPPING,
    add_fridge_study,
    add_shelf_product,
    at,
    import_log,
    later,
    lot,
    receive_bulk,
    write_log,
)


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def test_a_studys_section_shows_its_own_holds_and_decisions_only(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    cold = add_shelf_product(db, example, 2, 8, name="ABC-123 infusion")
    receive_bulk(db, example, cold, "C7", 4, example.fridge, "SHP-C7")
    path = write_log(tmp_path, "a.csv", [(0, 5.0), (10, 10.0), (40, 12.0), (70, 5.0)])
    (excursion,) = import_log(db, example.people.tech, example.fridge, path).excursions
    with db.unit_of_work() as session:
        decide_excursion(
            session,
            example.people.pharm,
            session.get_one(Excursion, excursion.id),
            session.get_one(Lot, lot(db, "Z2401").id),
            decision=HoldDecisionKind.RELEASE,
            sponsor_reference="Zenith TE-9",
            password=PASSWORD,
        )
    with later(), db.read_session() as session:
        fridge_location = session.get_one(Location, example.fridge.id)
        assert [x.name for x in study_locations(session, fridge.study.id)] == ["IDS Fridge 1"]
        section = location_section(
            session, fridge_location, at(0), at(120), study_id=fridge.study.id
        )
        other = location_section(session, fridge_location, None, None, study_id=example.study.id)
    (report,) = section.excursions
    assert [hold.study_id for hold in report.holds] == [fridge.study.id]
    assert [d.sponsor_reference for d in report.decisions] == ["Zenith TE-9"]
    assert report.awaiting_decision is False
    assert report.mkt_c == pytest.approx(mean_kinetic_temperature([10.0, 12.0]))
    assert report.description.startswith("Temperature excursion at IDS Fridge 1:")
    assert section.summary.reading_count == 4
    assert 'class="excursion"' in section.chart_svg
    assert [f.file_name for f in section.log_files] == ["a.csv"]
    (theirs,) = other.excursions
    assert [hold.study_id for hold in theirs.holds] == [example.study.id]
    assert theirs.decisions == []
    assert theirs.awaiting_decision is True


def test_a_studys_transit_excursions_are_listed_with_their_shipment(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    path = write_log(tmp_path, "t.csv", [(-3000, 5.0), (-2970, 12.0), (-2900, 5.0)])
    with later(), db.unit_of_work() as session:
        attach_transit_log(
            session,
            example.people.tech,
            session.get_one(Shipment, fridge.shipment.id),
            read_logger_file(path),
            UTC_MAPPING,
            device_id="TT-1",
        )
    with db.read_session() as session:
        (report,) = transit_excursions(session, fridge.study.id)
        assert transit_excursions(session, example.study.id) == []
    assert report.description.startswith("Temperature excursion in transit, shipment ZB-0001:")
    assert report.awaiting_decision is True
