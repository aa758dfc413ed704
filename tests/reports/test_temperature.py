"""The temperature section of the binder and the workbook, on the demo with a logger file,
daily checks, an excursion that quarantined ABC-123's kits and the sponsor's signed release."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader
from sqlalchemy import select

from ids_app.db import simulated_clock, utc_now
from ids_app.inventory.models import Kit, Location
from ids_app.reports.binder import SECTIONS, binder_html
from ids_app.reports.exports import BinderResult, export_audit_binder, export_sponsor_workbook
from ids_app.reports.gather import gather_study_record
from ids_app.reports.period import Period
from ids_app.reports.records import Printing, StudyRecord
from ids_app.reports.rendering import local_time
from ids_app.reports.sheet_writer import excel_time
from ids_app.reports.workbook import SHEETS
from ids_app.storage.excursions import dispensed_after_exposure
from ids_app.storage.mkt import location_summary, mean_kinetic_temperature
from ids_app.storage.models import Excursion
from tests.reports.conftest import (
    INJECTABLE,
    ORAL,
    Demo,
    arm_names,
    flat,
    pdf_pages,
    public_wording,
    without,
)
from tests.reports.temperature_log import (
    EXCURSION_C,
    LOGGER_FILE,
    LOGGER_SERIAL,
    SHELF,
    SPONSOR_REFERENCE,
    ShelfLog,
    add_shelf_log,
    add_transit_log,
)

SECTION = "Temperature log and excursions"
KITS = "ABC 10 mg or placebo tablet"  # the product, named as the blinded edition may


@dataclass
class Logged:
    demo: Demo
    shelf: ShelfLog
    transit_excursion_id: int

    def record(self, protocol: str = ORAL, **options: Any) -> StudyRecord:
        with self.demo.db.read_session() as session:
            return gather_study_record(session, self.demo.user("tech"), protocol, **options)


@dataclass
class Binder:
    result: BinderResult
    pages: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.pages)

    def page_of(self, title: str) -> int:
        """The page the contents give for a section."""
        number = next(n for n, s in enumerate(SECTIONS, start=1) if s.title == title)
        entry = re.search(rf"{number}\. {re.escape(title)} \.+ ?(\d+)", self.pages[1])
        assert entry is not None, title
        return int(entry.group(1))


@pytest.fixture(scope="module")
def logged(demo: Demo) -> Logged:
    """The module's own demo with temperatures recorded through the storage services."""
    shelf = add_shelf_log(demo.db, demo.folder)
    return Logged(demo, shelf, add_transit_log(demo.db, demo.folder))


@pytest.fixture(scope="module")
def binder(logged: Logged) -> Binder:
    demo = logged.demo
    result = export_audit_binder(demo.db, demo.user("tech"), ORAL, demo.folder / "temp.pdf")
    return Binder(result, pdf_pages(result.path))


def _shelf_summary(logged: Logged, record: StudyRecord) -> float:
    """The shelf's MKT as storage computes it over the section's period."""
    with logged.demo.db.read_session() as session:
        shelf = session.scalars(select(Location).where(Location.name == SHELF)).one()
        summary = location_summary(session, shelf, record.temperature.start, record.temperature.end)
    assert summary.mkt_c is not None
    return summary.mkt_c


def test_the_section_shows_each_location_with_its_range_readings_and_mkt(
    logged: Logged, binder: Binder
) -> None:
    record = logged.record()
    section = " ".join(binder.pages[binder.page_of(SECTION) - 1 : binder.page_of(SECTION) + 1])
    assert f"10. {SECTION}" in section
    assert "IDS Shelf A: shelf, 20 to 25 °C" in section
    assert "Returns returns 15 to 30 °C none (no daily check for returns)" in section
    readings = logged.shelf.logger_readings + 7
    assert (
        f"Readings {readings}: 7 manual (Thermometer T-12), "
        f"{logged.shelf.logger_readings} logger ({LOGGER_SERIAL})" in section
    )
    mkt = _shelf_summary(logged, record)
    assert 21.5 < mkt < 23  # a 22 °C room with six warm hours
    assert f"Mean kinetic temperature {mkt:.2f} °C" in section
    assert "Time out of range 6 h" in section
    assert "Lowest, highest 20.6 °C, 32.5 °C" in section
    # An open period stops at its last reading, not at the moment of printing.
    assert record.temperature.ends_at_last_reading
    assert record.temperature.end == logged.shelf.last_reading_at + dt.timedelta(seconds=1)
    assert f"to {local_time(record.temperature.end)}, the last reading on record" in section


def test_the_excursion_is_listed_with_its_mkt_hold_decision_and_exposed_dispense(
    logged: Logged, binder: Binder
) -> None:
    section = flat(" ".join(binder.pages[binder.page_of(SECTION) - 1 :]))
    number = logged.shelf.excursion_id
    start = logged.shelf.excursion_start
    end = start + dt.timedelta(hours=len(EXCURSION_C))
    row = re.search(
        rf"E{number} {re.escape(local_time(start))} {re.escape(local_time(end))} 6 h "
        r"26 °C to 32\.5 °C range 20 to 25 °C (\d+\.\d\d) °C",
        section,
    )
    assert row is not None
    assert float(row.group(1)) == round(mean_kinetic_temperature(EXCURSION_C), 2)
    kits_held = r"lot L2301 \(kits 10\d\d(, 10\d\d){5}\)"
    assert re.search(
        rf"Hold \d+, [-\d]+ [\d:]+ \S+: 6 kits of {KITS}, {kits_held} at {SHELF}", section
    )
    assert (
        flat(
            f"Release, lot L2301, quantity 6. Sponsor's reference: {SPONSOR_REFERENCE}. "
            "Signed: Jane Roe, Pharmacist — Approved —"
        )
        in section
    )
    with logged.demo.db.read_session() as session:
        exposed = dispensed_after_exposure(session, session.get_one(Excursion, number))
        kits = [session.get_one(Kit, entry.kit_id).kit_number for entry in exposed if entry.kit_id]
    assert kits  # a kit dispensed six days after the excursion, before anyone knew
    for kit in kits:
        assert re.search(rf"1 kit of {KITS}, lot L2301, kit {kit}, subject 01-00\d", section)
    assert f"{LOGGER_FILE} {LOGGER_SERIAL} EasyLog USB export (°C); °C, UTC" in section
    assert "No excursion in transit on record" in section


def test_the_chart_is_inline_svg_drawn_on_the_sections_page(logged: Logged, binder: Binder) -> None:
    pieces = binder_html(logged.record(), Printing("Terry Tech, Technician", utc_now()))
    (section,) = [html for html in pieces if 'id="temperature"' in html]
    assert section.count('<svg xmlns="http://www.w3.org/2000/svg"') == 1  # the shelf only
    assert section.count('class="excursion"') == 1
    page = binder.pages[binder.page_of(SECTION) - 1]
    # The chart's own text, laid out by WeasyPrint from the SVG.
    assert "IDS Shelf A: temperature, allowed range 20 to 25 °C" in page
    assert "Temperature (°C)" in page
    assert "Allowed 20 to 25 °C" in page


def test_contents_and_page_x_of_y_still_agree(binder: Binder) -> None:
    total = len(PdfReader(binder.result.path).pages)
    assert total == binder.result.pages
    for number, page in enumerate(binder.pages, start=1):
        assert f"Page {number} of {total}" in page
    for number, section in enumerate(SECTIONS, start=1):
        assert f"{number}. {section.title}" in binder.pages[binder.page_of(section.title) - 1]
    ids = [section.id for section in SECTIONS]
    assert ids.index("disposal") < ids.index("temperature") < ids.index("counts")


def test_the_blinded_binder_still_names_no_arm(logged: Logged, binder: Binder) -> None:
    names = arm_names(logged.demo, ORAL)
    allowed = public_wording(logged.demo, ORAL)
    for number, page in enumerate(binder.pages, start=1):
        for name in names:
            assert name not in without(page, allowed), f"page {number} shows arm {name}"


def test_the_data_hash_does_not_move_with_the_clock_while_the_period_is_open(
    logged: Logged,
) -> None:
    now = utc_now()
    later = now + dt.timedelta(minutes=5)
    if later.astimezone().date() != now.astimezone().date():
        later = now - dt.timedelta(minutes=5)  # the day is part of the record (its as-of)
    with simulated_clock(now):
        first = logged.record()
    with simulated_clock(later):
        second = logged.record()
    assert first.temperature == second.temperature
    assert first.data_hash == second.data_hash


def test_a_closed_period_ends_where_it_ends(logged: Logged) -> None:
    period = Period(last=dt.date.today() - dt.timedelta(days=10))
    record = logged.record(period=period)
    assert not record.temperature.ends_at_last_reading
    assert record.temperature.end == period.ends
    (shelf,) = [loc for loc in record.temperature.locations if loc.name == SHELF]
    assert shelf.end == period.ends
    assert 0 < shelf.reading_count < logged.shelf.logger_readings  # no daily check yet


def test_the_workbook_has_temperature_and_excursion_sheets_with_typed_cells(
    logged: Logged,
) -> None:
    demo = logged.demo
    result = export_sponsor_workbook(demo.db, demo.user("tech"), ORAL, demo.folder / "t.xlsx")
    book = load_workbook(result.path)
    assert book.sheetnames == list(SHEETS)
    assert SHEETS.index("Destruction") < SHEETS.index("Temperature") < SHEETS.index("Excursions")
    record = logged.record()
    rows = _rows(book, "Temperature")
    shelf = rows[SHELF]
    assert (shelf["Range low (°C)"], shelf["Range high (°C)"]) == (20, 25)
    assert shelf["From"] == excel_time(record.temperature.start)
    assert shelf["To"] == excel_time(record.temperature.shown_end)
    assert isinstance(shelf["From"], dt.datetime)
    assert shelf["From"].tzinfo is None  # Excel has no zones: local time, as the screens
    assert shelf["Readings"] == logged.shelf.logger_readings + 7
    assert (shelf["Manual readings"], shelf["Logger readings"]) == (7, logged.shelf.logger_readings)
    assert shelf["MKT (°C)"] == pytest.approx(_shelf_summary(logged, record), abs=0.005)
    assert shelf["Highest (°C)"] == 32.5
    assert shelf["Hours out of range"] == 6
    assert isinstance(shelf["Share out of range"], float)
    assert rows["Returns"]["Readings"] == 0
    (excursion,) = _rows(book, "Excursions", key="Excursion").values()
    assert excursion["Excursion"] == logged.shelf.excursion_id
    assert excursion["Where"] == SHELF
    assert excursion["Started at"] == excel_time(logged.shelf.excursion_start)
    assert excursion["Hours"] == 6
    assert (excursion["Lowest (°C)"], excursion["Highest (°C)"]) == (26, 32.5)
    assert excursion["MKT (°C)"] == round(mean_kinetic_temperature(EXCURSION_C), 2)
    assert (excursion["Decision"], excursion["Quantity decided"]) == ("release", 6)
    assert excursion["Sponsor's reference"] == SPONSOR_REFERENCE
    assert isinstance(excursion["Decided at"], dt.datetime)
    assert excursion["Signature"].startswith("Jane Roe, Pharmacist — Approved — ")
    assert excursion["Dispensed after exposure"] >= 1
    for name in ("Temperature", "Excursions"):
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref.startswith("A1:")
        assert sheet.column_dimensions["A"].width > 5
    assert book["Temperature"]["M2"].number_format == "0.00"  # MKT
    assert book["Temperature"]["E2"].number_format == "yyyy-mm-dd hh:mm"
    names = arm_names(demo, ORAL)
    allowed = public_wording(demo, ORAL)
    for name in ("Temperature", "Excursions"):
        for row in book[name].iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    assert not any(arm in without(value, allowed) for arm in names), value


def test_a_transit_excursion_is_listed_under_its_shipment_with_its_decision(
    logged: Logged,
) -> None:
    record = logged.record(INJECTABLE)
    (transit,) = record.temperature.transit
    assert transit.excursion_id == logged.transit_excursion_id
    assert (transit.shipment_number, transit.place) == ("ZB-0002", "in transit, shipment ZB-0002")
    assert transit.max_c == 14.0
    assert transit.duration == "6 h"
    (hold,) = transit.holds  # the receipt's own hold, linked to the excursion
    assert [(h.lot_number, h.quantity) for h in hold.held] == [("ZB2402", 10)]
    (decision,) = transit.decisions
    assert decision.decision == "condemn"
    assert decision.signature.startswith("Jane Roe, Pharmacist — Approved — ")
    assert not transit.awaiting_decision
    demo = logged.demo
    result = export_sponsor_workbook(
        demo.db, demo.user("pharm"), INJECTABLE, demo.folder / "x.xlsx"
    )
    rows = _rows(load_workbook(result.path), "Excursions", key="Excursion")
    row = rows[logged.transit_excursion_id]
    assert (row["Where"], row["Shipment"], row["Decision"]) == ("in transit", "ZB-0002", "condemn")


def test_the_demos_satellite_excursion_and_its_release_are_in_the_injectable_record(
    logged: Logged,
) -> None:
    record = logged.record(INJECTABLE)
    by_name = {loc.name: loc for loc in record.temperature.locations}
    assert by_name["IDS Fridge 1"].logged
    assert not by_name["IDS Fridge 1"].excursions
    (excursion,) = by_name["Infusion Center Satellite"].excursions
    assert excursion.max_c == 11.4
    (decision,) = excursion.decisions
    assert decision.decision == "release"
    assert decision.sponsor_reference.startswith("Zenith TE-2026-031")
    # The vials dispensed weeks later had been released by the sponsor: not "exposed".
    assert excursion.dispensed_after == ()
    assert by_name["Infusion Center Satellite"].chart_svg is not None


def test_a_location_without_readings_is_flagged_unless_it_needs_no_daily_check(
    logged: Logged,
) -> None:
    quarantine = next(
        loc for loc in logged.record(INJECTABLE).temperature.locations if loc.name == "Quarantine"
    )
    assert (quarantine.logged, quarantine.checked_daily, quarantine.chart_svg) == (
        False,
        True,
        None,
    )
    returns = next(loc for loc in logged.record().temperature.locations if loc.name == "Returns")
    assert (returns.logged, returns.checked_daily) == (False, False)


def _rows(book: Any, sheet: str, key: str = "Location") -> dict[Any, dict[str, Any]]:
    rows = list(book[sheet].iter_rows(values_only=True))
    headers = rows[0]
    found = {}
    for row in rows[1:]:
        values = dict(zip(headers, row, strict=True))
        found[values[key]] = values
    return found
