"""Transfers: between locations keeping the state, and between studies with approval."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.ledger import NotEnoughStock, study_balances
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    StockState,
)
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.transfers import transfer_stock, transfer_to_study
from ids_app.studies.models import (
    Blinding,
    Product,
    ProductRole,
    Study,
    StudyStatus,
    Tracking,
)
from ids_app.studies.services import add_product, change_study_status, create_study
from ids_app.users.models import User
from tests.factories import EXPIRY, TODAY, Example, add_bulk_product, make_example, receive_kits


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1004))
    return ex


@pytest.fixture
def satellite(db: Database, example: Example) -> Location:
    with db.unit_of_work() as session:
        return add_location(
            session, example.people.pharm, "Clinic satellite", LocationKind.SATELLITE, 20, 25
        )


@dataclass
class Target:
    study: Study
    product: Product


def _target_study(
    db: Database, example: Example, *, strength: str = "10 mg or placebo", status: StudyStatus
) -> Target:
    with db.unit_of_work() as session:
        pharm = example.people.pharm
        study = create_study(
            session,
            pharm,
            protocol_number="ABC-124",
            title="An extension study of ABC",
            sponsor="Acme Pharma",
            principal_investigator="Dr. Pat Investigator",
            blinding=Blinding.DOUBLE_BLIND,
        )
        product = add_product(
            session,
            pharm,
            study,
            agent_name="ABC-123",
            strength=strength,
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.BLINDED,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            dose_unit="tablet",
            units_per_kit=30,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )
        change_study_status(session, pharm, study, status, "set up for the test")
        return Target(study, product)


@pytest.fixture
def target(db: Database, example: Example) -> Target:
    return _target_study(db, example, status=StudyStatus.OPEN)


def _entries(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def _kit(db: Database, number: str, study: Study) -> Kit:
    with db.read_session() as session:
        return session.scalars(
            select(Kit).where(Kit.kit_number == number, Kit.study_id == study.id)
        ).one()


def _lot(db: Database, product: Product) -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.product_id == product.id)).one()


def _move_kit(
    db: Database,
    example: Example,
    number: str,
    to: Location,
    *,
    actor: User | None = None,
    source: Location | None = None,
    state: StockState = StockState.AVAILABLE,
) -> list[LedgerEntry]:
    with db.unit_of_work() as session:
        return transfer_stock(
            session,
            actor or example.people.tech,
            lot=session.get_one(Lot, _lot(db, example.product).id),
            kit=session.get_one(Kit, _kit(db, number, example.study).id),
            from_location=source or example.shelf,
            to_location=to,
            quantity=1,
            state=state,
        )


def _to_study(
    db: Database,
    example: Example,
    target: Target,
    *,
    approval: str = "Acme letter 2026-014",
    actor: User | None = None,
    product: Product | None = None,
) -> tuple[LedgerEntry, LedgerEntry]:
    with db.unit_of_work() as session:
        return transfer_to_study(
            session,
            actor or example.people.pharm,
            source_study=session.get_one(Study, example.study.id),
            lot=session.get_one(Lot, _lot(db, example.product).id),
            kit=session.get_one(Kit, _kit(db, "1001", example.study).id),
            location=session.get_one(Location, example.shelf.id),
            quantity=1,
            target_study=session.get_one(Study, target.study.id),
            target_product=session.get_one(Product, (product or target.product).id),
            sponsor_approval_reference=approval,
        )


def test_transfer_moves_stock_to_a_satellite_keeping_its_state(
    db: Database, example: Example, satellite: Location
) -> None:
    (entry,) = _move_kit(db, example, "1001", satellite)
    assert (entry.kind, entry.from_location_id, entry.to_location_id) == (
        EntryKind.TRANSFER,
        example.shelf.id,
        satellite.id,
    )
    assert entry.from_state is entry.to_state is StockState.AVAILABLE
    with db.read_session() as session:
        places = {(row.location_id, row.state) for row in study_balances(session, example.study.id)}
    assert places == {
        (example.shelf.id, StockState.AVAILABLE),
        (satellite.id, StockState.AVAILABLE),
    }


def test_transfer_refuses_a_location_outside_the_storage_range(
    db: Database, example: Example
) -> None:
    before = _entries(db)
    with pytest.raises(InvalidInput, match="must be kept at 15 to 30 °C; IDS Fridge 1 is kept"):
        _move_kit(db, example, "1001", example.fridge)
    assert _entries(db) == before


def test_transfer_needs_another_location(db: Database, example: Example) -> None:
    before = _entries(db)
    with pytest.raises(InvalidInput, match="already at IDS Shelf A"):
        _move_kit(db, example, "1001", example.shelf)
    assert _entries(db) == before


def test_available_stock_is_not_moved_into_the_returns_room(db: Database, example: Example) -> None:
    before = _entries(db)
    with pytest.raises(InvalidInput, match="Returns keeps returned and condemned stock only"):
        _move_kit(db, example, "1001", example.returns)
    assert _entries(db) == before


def test_a_monitor_cannot_move_stock(db: Database, example: Example, satellite: Location) -> None:
    before = _entries(db)
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist"):
        _move_kit(db, example, "1001", satellite, actor=example.people.monitor)
    assert _entries(db) == before


def test_transfer_cannot_move_stock_that_is_not_there(
    db: Database, example: Example, satellite: Location
) -> None:
    before = _entries(db)
    with pytest.raises(NotEnoughStock, match="Kit 1001 is not quarantined at IDS Shelf A"):
        _move_kit(db, example, "1001", satellite, state=StockState.QUARANTINED)
    assert _entries(db) == before


def test_only_stock_on_site_moves_between_locations(
    db: Database, example: Example, satellite: Location
) -> None:
    before = _entries(db)
    with pytest.raises(InvalidInput, match="not dispensed stock"):
        _move_kit(db, example, "1001", satellite, state=StockState.DISPENSED)
    assert _entries(db) == before


def test_transfer_of_bulk_stock_moves_the_quantity_asked(
    db: Database, example: Example, satellite: Location
) -> None:
    bulk = add_bulk_product(db, example)
    lot = _lot(db, bulk)
    with db.unit_of_work() as session:
        transfer_stock(
            session,
            example.people.tech,
            lot=lot,
            kit=None,
            from_location=example.shelf,
            to_location=satellite,
            quantity=40,
        )
    before = _entries(db)
    with pytest.raises(NotEnoughStock, match="lot R100 at IDS Shelf A has 60 available"):
        with db.unit_of_work() as session:
            transfer_stock(
                session,
                example.people.tech,
                lot=lot,
                kit=None,
                from_location=example.shelf,
                to_location=satellite,
                quantity=61,
            )
    assert _entries(db) == before


def test_transfer_to_another_study_needs_sponsor_approval(
    db: Database, example: Example, target: Target
) -> None:
    before = _entries(db)
    with pytest.raises(InvalidInput, match="needs the sponsor's written approval"):
        _to_study(db, example, target, approval=" ")
    with pytest.raises(PermissionDenied, match="Only a pharmacist"):
        _to_study(db, example, target, actor=example.people.tech)
    assert _entries(db) == before
    with db.read_session() as session:
        assert session.scalars(select(Kit).where(Kit.study_id == target.study.id)).all() == []


def test_transfer_to_another_study_links_an_entry_in_each_record(
    db: Database, example: Example, target: Target
) -> None:
    out, into = _to_study(db, example, target)
    assert (out.kind, out.study_id, out.to_state) == (
        EntryKind.TRANSFER_OUT,
        example.study.id,
        StockState.TRANSFERRED_OUT,
    )
    assert (into.kind, into.study_id, into.transfer_of_id) == (
        EntryKind.TRANSFER_IN,
        target.study.id,
        out.id,
    )
    assert out.reference == into.reference == "Acme letter 2026-014"
    target_lot = _lot(db, target.product)
    assert (target_lot.lot_number, target_lot.expiry) == ("L2301", EXPIRY)
    assert _kit(db, "1001", target.study).lot_id == target_lot.id
    with db.read_session() as session:
        (row,) = study_balances(session, target.study.id)
        left = {row.kit_id for row in study_balances(session, example.study.id)}
    assert (row.location_id, row.state, row.quantity) == (
        example.shelf.id,
        StockState.AVAILABLE,
        1,
    )
    assert _kit(db, "1001", example.study).id in left  # as transferred out, off the shelf


def test_transfer_to_another_study_needs_the_same_agent_and_strength(
    db: Database, example: Example, target: Target
) -> None:
    with db.unit_of_work() as session:
        other = add_product(
            session,
            example.people.pharm,
            session.get_one(Study, target.study.id),
            agent_name="ABC-123",
            strength="20 mg or placebo",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.BLINDED,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            dose_unit="tablet",
            units_per_kit=30,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )
    before = _entries(db)
    with pytest.raises(InvalidInput, match="Only the same agent and strength"):
        _to_study(db, example, target, product=other)
    assert _entries(db) == before


def test_a_closed_study_receives_no_transfer(db: Database, example: Example) -> None:
    closed = _target_study(db, example, status=StudyStatus.CLOSED)
    before = _entries(db)
    with pytest.raises(InvalidInput, match="ABC-124 is closed"):
        _to_study(db, example, closed)
    assert _entries(db) == before


def test_a_kit_number_already_in_the_target_study_is_refused(
    db: Database, example: Example, target: Target
) -> None:
    lines = (ReceivedLine(target.product.id, "L9", EXPIRY, kit_number="1001"),)
    receipt = ShipmentReceipt("T-1", "Acme Depot", "Courier", TODAY, example.shelf.id, lines)
    with db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, target.study.id), receipt
        )
    before = _entries(db)
    with pytest.raises(InvalidInput, match="ABC-124 already has a kit 1001"):
        _to_study(db, example, target)
    assert _entries(db) == before
