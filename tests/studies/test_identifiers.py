"""Identifiers are trimmed and never hold a character that cannot be printed: a NUL, a
tab, a line break or a zero-width space typed, scanned or imported is refused in words,
through the real services, and nothing is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.inventory.models import Kit, Shipment
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.identifiers import identifier
from ids_app.studies.models import Study, Subject
from ids_app.studies.services import add_subject
from tests.factories import EXPIRY, TODAY, Example, make_example, receive_kits

UNPRINTABLE = {
    "NUL": "10\x0001",
    "tab": "10\t01",
    "newline": "10\n01",
    "zero-width space": "10\u200b01",
    "right-to-left mark": "\u200f1001",
}


@pytest.mark.parametrize("typed", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
def test_an_identifier_with_an_unprintable_character_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="cannot be printed"):
        identifier(typed, "kit number")


def test_an_identifier_is_trimmed() -> None:
    assert identifier("  1001 \t", "kit number") == "1001"


def count(db: Database, table: type) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.parametrize("typed", UNPRINTABLE.values(), ids=UNPRINTABLE.keys())
def test_a_shipment_with_an_unprintable_kit_number_records_nothing(
    db: Database, typed: str
) -> None:
    example = make_example(db)
    kits, shipments = count(db, Kit), count(db, Shipment)
    with pytest.raises(InvalidInput, match="The kit number holds a character"):
        _receive(db, example, typed)
    assert (count(db, Kit), count(db, Shipment)) == (kits, shipments)


def _receive(db: Database, example: Example, kit_number: str) -> None:
    receipt = ShipmentReceipt(
        shipment_number="SHP-0009",
        sender="Acme Depot",
        carrier="World Courier",
        received_on=TODAY,
        location_id=example.shelf.id,
        lines=(ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number=kit_number),),
    )
    with db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )


def test_a_shipment_number_with_a_nul_is_refused(db: Database) -> None:
    example = make_example(db)
    with pytest.raises(InvalidInput, match="shipment number holds a character"):
        receive_kits(db, example, shipment_number="SHP\x000001")


def test_a_subject_id_with_a_tab_is_refused(db: Database) -> None:
    example = make_example(db)
    subjects = count(db, Subject)
    with pytest.raises(InvalidInput, match="subject ID holds a character"), db.unit_of_work() as s:
        add_subject(s, example.people.tech, s.get_one(Study, example.study.id), "01-\t099", "ABC")
    assert count(db, Subject) == subjects
