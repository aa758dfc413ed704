"""Transit: the shipment's logger file, judged against each received product's range."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ids_app.db import Database
from ids_app.inventory.models import (
    HoldDecisionKind,
    HoldReason,
    Lot,
    QuarantineHold,
    Shipment,
    StockState,
    TemperatureMonitor,
)
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.storage.excursions import decide_excursion, excursion_holds
from ids_app.storage.models import Excursion, ExcursionStatus, TemperatureReading
from ids_app.storage.readings import read_logger_file
from ids_app.storage.transit import TransitOutcome, attach_transit_log
from ids_app.studies.models import Study
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, receive_kits
from tests.storage.support import (
    UTC_MAPPING,
    add_fridge_study,
    later,
    lot,
    states,
    write_log,
)

DAY = 24 * 60
IN_TRANSIT = -2 * DAY  # two days before BASE: before the receipt


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _attach(
    db: Database, example: Example, shipment: Shipment, path: Path, device: str = "TT-77"
) -> TransitOutcome:
    export = read_logger_file(path)
    with later(), db.unit_of_work() as session:
        return attach_transit_log(
            session,
            example.people.tech,
            session.get_one(Shipment, shipment.id),
            export,
            UTC_MAPPING,
            device_id=device,
        )


def _log(tmp_path: Path, name: str, readings: list[tuple[float, float]]) -> Path:
    return write_log(tmp_path, name, [(IN_TRANSIT + m, c) for m, c in readings])


def test_an_excursion_in_transit_quarantines_what_the_shipment_put_on_the_shelf(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    path = _log(tmp_path, "transit.csv", [(0, 5.0), (60, 11.5), (180, 12.0), (240, 6.0)])
    outcome = _attach(db, example, fridge.shipment, path)
    (excursion,) = outcome.excursions
    assert (excursion.shipment_id, excursion.location_id) == (fridge.shipment.id, None)
    assert (excursion.max_c, excursion.range_text, excursion.status) == (
        12.0,
        "2 to 8 °C",
        ExcursionStatus.CLOSED,
    )
    assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}
    with db.read_session() as session:
        (hold,) = excursion_holds(session, excursion)
        readings = session.scalars(select(TemperatureReading)).all()
    assert (hold.reason, hold.shipment_id) == (HoldReason.EXCURSION, fridge.shipment.id)
    assert hold.details.startswith("Temperature excursion in transit, shipment ZB-0001:")
    assert {(r.shipment_id, r.location_id) for r in readings} == {(fridge.shipment.id, None)}


def test_a_transit_log_in_range_leaves_the_stock_available(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    outcome = _attach(db, example, fridge.shipment, _log(tmp_path, "ok.csv", [(0, 4.0), (60, 7.9)]))
    assert outcome.excursions == []
    assert outcome.log_file.reading_count == 2
    assert states(db, fridge.study.id) == {(StockState.AVAILABLE, example.fridge.id): 10}


def test_each_product_is_judged_against_its_own_range(
    db: Database, example: Example, tmp_path: Path
) -> None:
    # Kits of 15-30 °C travelled at 27 °C for hours: within their range.
    shipment = receive_kits(db, example, range(1001, 1004))
    path = _log(tmp_path, "kits.csv", [(0, 22.0), (60, 27.0), (300, 27.5), (360, 22.0)])
    assert _attach(db, example, shipment, path).excursions == []
    assert states(db, example.study.id) == {(StockState.AVAILABLE, example.shelf.id): 3}
    # Another shipment of the same kits at 31 °C for an hour is held.
    second = receive_kits(db, example, range(1004, 1006), shipment_number="SHP-0002")
    path = _log(tmp_path, "hot.csv", [(0, 22.0), (60, 31.0), (120, 22.0)])
    (excursion,) = _attach(db, example, second, path, device="TT-78").excursions
    assert excursion.range_text == "15 to 30 °C"
    assert states(db, example.study.id) == {
        (StockState.AVAILABLE, example.shelf.id): 3,
        (StockState.QUARANTINED, example.shelf.id): 2,
    }


def test_a_receipt_already_held_for_its_monitor_is_linked_not_held_twice(
    db: Database, example: Example, tmp_path: Path
) -> None:
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        shipment = receive_shipment(
            session,
            example.people.tech,
            study,
            ShipmentReceipt(
                "SHP-HOT",
                "Acme Depot",
                "World Courier",
                TODAY,
                example.shelf.id,
                (ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number="1001"),),
                temperature_monitor=TemperatureMonitor.EXCURSION,
            ),
        )
    path = _log(tmp_path, "hot.csv", [(0, 22.0), (60, 35.0), (120, 22.0)])
    (excursion,) = _attach(db, example, shipment, path).excursions
    with db.read_session() as session:
        (receipt_hold,) = session.scalars(select(QuarantineHold)).all()
        assert [hold.id for hold in excursion_holds(session, excursion)] == [receipt_hold.id]
    assert states(db, example.study.id) == {(StockState.QUARANTINED, example.shelf.id): 1}
    with db.unit_of_work() as session:
        decide_excursion(
            session,
            example.people.pharm,
            session.get_one(Excursion, excursion.id),
            session.get_one(Lot, lot(db, "L2301").id),
            decision=HoldDecisionKind.RELEASE,
            sponsor_reference="Acme stability letter 2026-11",
            password=PASSWORD,
        )
    assert states(db, example.study.id) == {(StockState.AVAILABLE, example.shelf.id): 1}


def test_a_spike_shorter_than_the_minimum_in_transit_is_not_an_excursion(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    path = _log(tmp_path, "spike.csv", [(0, 5.0), (10, 9.0), (25, 5.0)])
    assert _attach(db, example, fridge.shipment, path).excursions == []
    assert states(db, fridge.study.id) == {(StockState.AVAILABLE, example.fridge.id): 10}


def test_readings_after_the_shipment_was_received_are_not_judged_as_transit(
    db: Database, example: Example, tmp_path: Path
) -> None:
    fridge = add_fridge_study(db, example)
    # In range on the road; the logger then left running on the bench at room temperature.
    path = write_log(
        tmp_path,
        "left-running.csv",
        [(IN_TRANSIT, 4.0), (IN_TRANSIT + 60, 5.0), (0, 21.0), (60, 22.0), (120, 22.0)],
    )
    outcome = _attach(db, example, fridge.shipment, path)
    assert outcome.excursions == []
    assert outcome.log_file.reading_count == 5  # kept whole, judged up to the receipt
    assert states(db, fridge.study.id) == {(StockState.AVAILABLE, example.fridge.id): 10}
