"""The demo database, built once per run and copied for each test module, with a few more
records the reports show.

Through the real services, on top of the demo's four months: a receipt made by mistake
and its reversal, a kit held with a note that names an arm (free text a blinded edition
must mask), and a monitor's count that finds a kit missing, resolved by a pharmacist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import Database, today
from ids_app.demo import build_demo
from ids_app.inventory.counts import (
    CountedLine,
    discrepancies_of,
    record_count,
    resolve_discrepancy,
)
from ids_app.inventory.ledger import Balance, reverse_entry, study_balances, study_stock
from ids_app.inventory.models import (
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    StockState,
)
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.reports.accountability import BALANCE_STATES
from ids_app.studies.models import Study
from ids_app.studies.services import get_study
from ids_app.users.models import User
from ids_app.users.services import get_user
from tests import databases

PASSWORDS = {
    "admin": "demo-admin",
    "tech": "demo-tech",
    "pharm": "demo-pharm",
    "pharm2": "demo-pharm2",
    "monitor": "demo-monitor",
}
ORAL = "ABC-123"
INJECTABLE = "XYZ-789"
HELD_NOTE = "Cap cracked on the shelf; the IWRS note says this kit is Placebo"
MISTAKEN_KIT = "1021"
MISSING_KIT = "1019"
REVERSAL_REASON = "Kit 1021 belongs to the sponsor's next shipment; received by mistake"
RESOLUTION = "Kit 1019 was dropped and broken; the pieces went to hazardous waste"


@dataclass
class Demo:
    db: Database
    folder: Path

    def user(self, name: str) -> User:
        with self.db.read_session() as session:
            return get_user(session, name)

    def study(self, protocol: str) -> Study:
        with self.db.read_session() as session:
            return get_study(session, protocol)


def _location(session: Session, name: str) -> Location:
    return session.scalars(select(Location).where(Location.name == name)).one()


def _more_records(db: Database) -> None:
    with db.read_session() as session:
        tech, pharm = get_user(session, "tech"), get_user(session, "pharm")
        monitor = get_user(session, "monitor")
    with db.unit_of_work() as session:
        study = get_study(session, ORAL)
        lot = session.scalars(select(Lot).where(Lot.lot_number == "L2301")).one()
        shipment = receive_shipment(
            session,
            tech,
            study,
            ShipmentReceipt(
                shipment_number="ACME-SHP-0002",
                sender="Acme Depot (Memphis)",
                carrier="World Courier",
                received_on=today(),
                location_id=_location(session, "IDS Shelf A").id,
                lines=(
                    ReceivedLine(
                        study.products[0].id, "L2301", lot.expiry, kit_number=MISTAKEN_KIT
                    ),
                ),
            ),
        )
        mistaken = session.scalars(
            select(LedgerEntry).where(LedgerEntry.shipment_id == shipment.id)
        ).one()
    with db.unit_of_work() as session:
        reverse_entry(session, pharm, mistaken.id, REVERSAL_REASON, PASSWORDS["pharm"])
    with db.unit_of_work() as session:
        study = get_study(session, ORAL)
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1020")).one()
        quarantine_stock(session, tech, study, reason=HoldReason.DAMAGE, details=HELD_NOTE, kit=kit)
    with db.unit_of_work() as session:
        study = get_study(session, ORAL)
        shelf = _location(session, "IDS Shelf A")
        found = [
            CountedLine(row.lot_id, row.kit_id, row.state, row.quantity)
            for row in study_balances(session, study.id)
            if row.location_id == shelf.id and row.state in BALANCE_STATES
        ]
        missing = session.scalars(select(Kit).where(Kit.kit_number == MISSING_KIT)).one()
        counted = [
            CountedLine(line.lot_id, line.kit_id, line.state, 0)
            if line.kit_id == missing.id
            else line
            for line in found
        ]
        count = record_count(session, monitor, study, shelf, counted)
    with db.unit_of_work() as session:
        (discrepancy,) = discrepancies_of(session, count)
        resolve_discrepancy(session, pharm, discrepancy, RESOLUTION, PASSWORDS["pharm"])


@pytest.fixture(scope="session")
def reports_demo_template(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Built once (the demo's four months take seconds, more on a server); modules copy it."""
    database, name = databases.fresh_database(
        migrated_template, tmp_path_factory.mktemp("reports-template")
    )
    build_demo(database)
    _more_records(database)
    database.dispose()
    yield name
    if databases.ON_POSTGRES:
        databases.ServerDatabases(databases.SERVER).drop(name)


@pytest.fixture(scope="module")
def demo(reports_demo_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("reports")
    database, name = databases.fresh_database(reports_demo_template, folder)
    yield Demo(database, folder)
    databases.discard(database, name)


# Reading what the files hold -------------------------------------------------------------


def flat(text: str) -> str:
    """Text with every run of white space as one space: table cells wrap lines anywhere."""
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(path: Path) -> list[str]:
    return [flat(page.extract_text()) for page in PdfReader(path).pages]


def arm_names(demo: Demo, protocol: str) -> list[str]:
    """The study's arm names, as :class:`Arm` holds them."""
    with demo.db.read_session() as session:
        return [arm.name for arm in get_study(session, protocol).arms]


def public_wording(demo: Demo, protocol: str) -> list[str]:
    """Protocol wording that may contain an arm's name without naming a kit's arm: the
    product's strength ("10 mg or placebo") and the study's title ("Placebo-Controlled")."""
    with demo.db.read_session() as session:
        study = get_study(session, protocol)
        products = list(study.products)
        phrases = [study.title]
        for product in products:
            phrases += [product.description, f"{product.agent_name} {product.strength}"]
    return sorted(phrases, key=len, reverse=True)


def without(text: str, phrases: list[str]) -> str:
    for phrase in phrases:
        text = text.replace(flat(phrase), " ")
    return text


def ledger_totals(demo: Demo, protocol: str) -> dict[int, tuple[int, int]]:
    """Per product: (stock the balance counts, subject returns held apart), from the ledger."""
    totals: dict[int, tuple[int, int]] = {}
    with demo.db.read_session() as session:
        study = get_study(session, protocol)
        rows: list[Balance] = study_stock(session, study.id)
        for product in study.products:
            on_shelf = sum(
                r.quantity for r in rows if r.product_id == product.id and r.state in BALANCE_STATES
            )
            returned = sum(
                r.quantity
                for r in rows
                if r.product_id == product.id and r.state is StockState.RETURNED
            )
            totals[product.id] = (on_shelf, returned)
    return totals
