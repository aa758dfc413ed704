"""The kit register: every kit, where it stands now, filtered and paged in SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import Database
from ids_app.inventory.kit_register import (
    KitFilter,
    KitOrder,
    KitPlace,
    KitsShown,
    kit_register_page,
)
from ids_app.inventory.models import HoldReason, Kit, Location, Lot, StockState
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.transfers import transfer_stock
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import Product, Study
from ids_app.studies.services import add_staff
from ids_app.studies.tables import read_table
from ids_app.users.models import User
from tests.factories import EXPIRY, Example, make_example, receive_kits

ON_SITE = KitFilter()


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1006))
    return ex


def _kit(session: Session, number: str) -> Kit:
    return session.scalars(select(Kit).where(Kit.kit_number == number)).one()


def register(
    db: Database, user: User, study_id: int, kits: KitFilter = ON_SITE, **paging: object
) -> list[KitPlace]:
    with db.read_session() as session:
        return kit_register_page(session, user, study_id, kits, **paging)  # type: ignore[arg-type]


def where(rows: list[KitPlace]) -> list[tuple[str, str, StockState | None]]:
    return [(row.kit_number, row.where, row.state) for row in rows]


def test_register_shows_each_kit_where_it_stands(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        tech = example.people.tech
        kit = _kit(session, "1002")
        transfer_stock(
            session,
            example.people.pharm,
            lot=session.get_one(Lot, kit.lot_id),
            kit=kit,
            from_location=session.get_one(Location, example.shelf.id),
            to_location=session.get_one(Location, example.quarantine.id),
            quantity=1,
        )
        quarantine_stock(
            session,
            tech,
            session.get_one(Study, example.study.id),
            reason=HoldReason.DAMAGE,
            details="carton crushed",
            kit=_kit(session, "1004"),
        )
    rows = register(db, example.people.pharm, example.study.id)
    assert where(rows) == [
        ("1001", "IDS Shelf A", StockState.AVAILABLE),
        ("1002", "Quarantine", StockState.AVAILABLE),
        ("1003", "IDS Shelf A", StockState.AVAILABLE),
        ("1004", "IDS Shelf A", StockState.QUARANTINED),
        ("1005", "IDS Shelf A", StockState.AVAILABLE),
    ]
    held = register(db, example.people.tech, example.study.id, KitFilter(KitsShown.QUARANTINED))
    assert where(held) == [("1004", "IDS Shelf A", StockState.QUARANTINED)]
    in_room = KitFilter(KitsShown.ON_SITE, location_id=example.quarantine.id)
    assert where(register(db, example.people.tech, example.study.id, in_room)) == [
        ("1002", "Quarantine", StockState.AVAILABLE)
    ]
    by_number = KitFilter(KitsShown.ALL, text="1003")
    assert where(register(db, example.people.tech, example.study.id, by_number)) == [
        ("1003", "IDS Shelf A", StockState.AVAILABLE)
    ]


def test_kits_listed_by_the_sponsor_but_not_received_are_in_the_register(
    db: Database, example: Example, tmp_path: Path
) -> None:
    listing = tmp_path / "kits.csv"
    listing.write_text("Kit,Lot,Expiry\n2001,L2400,2028-01-31\n2002,L2400,2028-01-31\n")
    with db.unit_of_work() as session:
        import_kit_list(
            session,
            example.people.pharm,
            session.get_one(Study, example.study.id),
            session.get_one(Product, example.product.id),
            read_table(listing),
            KitListMapping("Kit", "Lot", "Expiry", None),
        )
    waiting = KitFilter(KitsShown.NOT_RECEIVED)
    assert where(register(db, example.people.tech, example.study.id, waiting)) == [
        ("2001", "not received yet", None),
        ("2002", "not received yet", None),
    ]
    on_site = register(db, example.people.tech, example.study.id)
    assert [row.kit_number for row in on_site] == ["1001", "1002", "1003", "1004", "1005"]
    everything = register(db, example.people.tech, example.study.id, KitFilter(KitsShown.ALL))
    assert len(everything) == 7


def test_pages_follow_one_another_without_gaps_or_repeats(db: Database, example: Example) -> None:
    receive_kits(db, example, range(1006, 1031), shipment_number="SHP-0002")
    user, study_id = example.people.tech, example.study.id
    seen: list[str] = []
    after: KitPlace | None = None
    while True:
        page = register(db, user, study_id, after=after, limit=7)
        if not page:
            break
        seen += [row.kit_number for row in page]
        after = page[-1]
    assert seen == [str(number) for number in range(1001, 1031)]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("order", list(KitOrder))
def test_the_register_sorts_in_the_database_and_pages_in_that_order(
    db: Database, example: Example, order: KitOrder, descending: bool
) -> None:
    # Three lots whose numbers and expiries run in opposite directions.
    receive_kits(db, example, range(1006, 1012), shipment_number="S2", lot="L9", expiry=EXPIRY)
    later = EXPIRY + dt.timedelta(days=200)
    receive_kits(db, example, range(1012, 1018), shipment_number="S3", lot="L1", expiry=later)
    kits = KitFilter(KitsShown.ON_SITE, order=order, descending=descending)
    user, study_id = example.people.tech, example.study.id
    seen: list[KitPlace] = []
    after: KitPlace | None = None
    while page := register(db, user, study_id, kits, after=after, limit=4):
        seen += page
        after = page[-1]
    key = {
        KitOrder.KIT: lambda r: (r.kit_number,),
        KitOrder.LOT: lambda r: (r.lot_number, r.kit_number),
        KitOrder.EXPIRY: lambda r: (r.expiry, r.kit_number),
    }[order]
    assert len(seen) == 17
    assert seen == sorted(seen, key=key, reverse=descending)


def test_a_blinded_user_never_sees_a_kits_arm(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        attribute_changes(session, example.people.admin, reason="sponsor kit list")
        _kit(session, "1001").arm_id = example.drug_arm.id
        study = session.get_one(Study, example.study.id)
        add_staff(
            session,
            example.people.admin,
            study,
            example.people.pharm2,
            "Unblinded pharmacist",
            unblinded=True,
            reason="unblinded pharmacist for the IWRS",
        )
    for blinded_user in (example.people.tech, example.people.pharm, example.people.monitor):
        blinded = register(db, blinded_user, example.study.id)
        assert blinded
        assert all(row.arm is None for row in blinded)
    unblinded = register(db, example.people.pharm2, example.study.id)
    assert unblinded[0].arm == "ABC 10 mg"
