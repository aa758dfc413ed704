"""What an auditor reads on the pages of the injectable study's binder and workbook:
read back from the real PDF (pypdf) and the real xlsx (openpyxl)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pypdf import PdfReader
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.inventory.models import DispenseOrder, Lot, OrderState
from ids_app.reports.exports import (
    export_audit_binder,
    export_destruction_certificate,
    export_dispensing_label,
    export_monitor_visit_report,
    export_sponsor_workbook,
)
from ids_app.reports.labels import LabelSettings
from ids_app.reports.sheet_writer import excel_time
from ids_app.storage.models import TemperatureReading
from ids_app.studies.services import get_study
from tests.reports.conftest import INJECTABLE, ORAL, Demo, flat, pdf_pages


@pytest.fixture(scope="module")
def binder_path(demo: Demo) -> Path:
    """The injectable study's binder, rendered once for the module."""
    return export_audit_binder(
        demo.db, demo.user("pharm"), INJECTABLE, demo.folder / "XYZ-789 binder.pdf"
    ).path


@pytest.fixture(scope="module")
def binder(binder_path: Path) -> list[str]:
    return pdf_pages(binder_path)


@pytest.fixture(scope="module")
def workbook(demo: Demo) -> Path:
    return export_sponsor_workbook(
        demo.db, demo.user("pharm"), INJECTABLE, demo.folder / "XYZ-789.xlsx"
    ).path


def test_an_open_label_studys_binder_is_the_open_label_edition_on_every_page(
    binder: list[str],
) -> None:
    assert "Edition Open-label edition" in binder[0]
    for page in binder:
        assert "XYZ-789 — Drug accountability audit binder" in page
        assert "OPEN-LABEL EDITION" in page
        assert "BLINDED EDITION" not in page
        assert "blinded edition" not in page
    assert not any("Treatment arms are not shown" in page for page in binder)


def test_an_open_label_studys_workbook_says_open_label_and_its_audit_entry_too(
    demo: Demo, workbook: Path
) -> None:
    rows = list(load_workbook(workbook)["Summary"].iter_rows(values_only=True))
    summary = {row[0]: row[1] for row in rows[1:] if row[0]}
    assert summary["Edition"] == "OPEN-LABEL EDITION"
    assert workbook.name == "XYZ-789.xlsx"  # not marked "unblinded": nothing is hidden
    with demo.db.read_session() as session:
        details = session.scalars(
            select(AuditEntry.new_value).where(AuditEntry.new_value.like("sponsor workbook, %"))
        ).all()
    assert any(d.startswith("sponsor workbook, open-label edition") for d in details if d)


def test_a_shipment_received_with_its_monitor_in_alarm_is_an_excursion_in_transit(
    binder: list[str],
) -> None:
    transit = next(page for page in binder if "In transit" in page)
    section = transit[transit.index("In transit") :]
    assert "No excursion in transit" not in section
    assert "Shipment ZB-0002, received 2026-" in section
    assert "excursion shown by its temperature monitor" in section
    assert "Logger alarm: 14 °C for 6 h in transit" in section
    assert "Hold 2" in section
    assert "Condemn, lot ZB2402, quantity 10" in section


def test_the_workbooks_excursions_sheet_lists_the_alarmed_receipt(workbook: Path) -> None:
    rows = list(load_workbook(workbook)["Excursions"].iter_rows(values_only=True))
    headers = rows[0]
    transit = [dict(zip(headers, row, strict=True)) for row in rows[1:] if row[2] == "ZB-0002"]
    (row,) = transit
    assert (row["Where"], row["Status"], row["Decision"]) == (
        "in transit",
        "reported at receipt",
        "condemn",
    )
    assert "14 °C for 6 h" in row["Shown by"]
    assert row["Stock held"].startswith("Hold 2: 10 vials")


def _sheet(path: Path, name: str) -> list[dict[str, Any]]:
    rows = list(load_workbook(path)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_temperature_period_ends_at_the_last_reading_not_a_second_after(
    demo: Demo, workbook: Path
) -> None:
    with demo.db.read_session() as session:
        last = session.scalar(select(func.max(TemperatureReading.taken_at)))
    assert last is not None
    for row in _sheet(workbook, "Temperature"):
        if row["Readings"]:
            assert row["To"] == excel_time(last)


def test_a_study_without_readings_still_covers_its_months_not_one_instant(demo: Demo) -> None:
    path = export_sponsor_workbook(
        demo.db, demo.user("pharm"), ORAL, demo.folder / "ABC-123.xlsx"
    ).path
    rows = _sheet(path, "Temperature")
    assert rows
    for row in rows:
        assert row["Readings"] == 0
        assert row["To"] - row["From"] > dt.timedelta(days=90)


def test_every_cdisc_return_row_names_the_visit_it_came_back_at(demo: Demo) -> None:
    result = export_sponsor_workbook(
        demo.db,
        demo.user("pharm"),
        ORAL,
        demo.folder / "ABC-123 for DA.xlsx",
        cdisc_out=demo.folder / "ABC-123 DA.csv",
    )
    assert result.cdisc_path is not None
    with result.cdisc_path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    dispensed = {(r["USUBJID"], r["DADTC"]): r["VISIT"] for r in rows if r["DATESTCD"] == "DISPAMT"}
    returned = [r for r in rows if r["DATESTCD"] == "RETAMT"]
    assert returned
    for row in returned:
        # Brought back to the visit that gave the next supply.
        assert row["VISIT"] == dispensed.get((row["USUBJID"], row["DADTC"]), "UNSCHEDULED")
        assert row["VISIT"]


def test_the_workbook_prints_landscape_to_the_papers_width_with_its_headers_on_each_page(
    workbook: Path,
) -> None:
    book = load_workbook(workbook)
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth == 1, sheet.title
        if sheet.title == "Summary":
            assert sheet.page_setup.fitToHeight == 1  # the Summary on one page
        else:
            assert sheet.page_setup.fitToHeight == 0  # as many pages long as it needs
            assert sheet.print_title_rows == "$1:$1"


def test_an_infusion_label_gives_the_dose_and_its_cycle_as_a_pharmacist_writes_it(
    demo: Demo,
) -> None:
    with demo.db.read_session() as session:
        study = get_study(session, INJECTABLE)
        order = session.scalars(
            select(DispenseOrder)
            .where(DispenseOrder.study_id == study.id, DispenseOrder.state == OrderState.DISPENSED)
            .order_by(DispenseOrder.id.desc())
        ).first()
    assert order is not None
    settings = LabelSettings("Investigational Drug Service", "(555) 010-0100")
    path = export_dispensing_label(
        demo.db, demo.user("tech"), order.id, demo.folder / "infusion label.pdf", settings
    )
    (text,) = pdf_pages(path)
    assert "For infusion by the study team: 2 vials every 21 days." in text
    assert "2/21" not in text
    assert "vial a day" not in text


def test_the_contents_say_the_binder_covers_the_whole_record_as_a_sentence(
    binder: list[str],
) -> None:
    assert "Every section covers the whole record, up to " in binder[1]
    assert "covers Whole record" not in binder[1]


def test_the_monitor_visit_reports_signing_lines_never_stand_alone_on_a_page(
    demo: Demo,
) -> None:
    path = export_monitor_visit_report(
        demo.db, demo.user("monitor"), ORAL, demo.folder / "ABC-123 monitor visit.pdf"
    )
    pages = pdf_pages(path)
    (signing,) = [page for page in pages if "Monitor: name, signature and date" in page]
    # The monitor's signatures, or at least their last rows, share the page with the lines.
    assert "Morgan Monitor, Monitor — Verified —" in signing


def _darf_pages(path: Path) -> list[str]:
    """The accountability record's pages, as extracted, line breaks kept."""
    pages = [page.extract_text() for page in PdfReader(path).pages]
    return [page for page in pages if "Line Date Transaction" in flat(page)]


def test_every_page_of_the_accountability_record_says_which_agent_it_is(
    binder_path: Path,
) -> None:
    pages = _darf_pages(binder_path)
    assert len(pages) >= 2  # a continuation page to prove it on
    for page in pages:
        head = flat(page)[: flat(page).index("Line Date Transaction")]
        for fact in (
            "NAME OF INSTITUTION Investigational Drug Service",
            "PROTOCOL NUMBER XYZ-789",
            "AGENT NAME Zelumab",
            "DOSE FORM AND STRENGTH vial for infusion, 100 mg/10 mL",
        ):
            assert fact in head, (fact, head)
        assert "RECORD Control record" in head or "RECORD Satellite record: Infusion" in head


def test_the_satellites_own_record_is_printed_with_its_agreement(binder: list[str]) -> None:
    text = " ".join(binder)
    assert "satellite record, Infusion Center Satellite" in text
    assert "RECORD Satellite record: Infusion Center Satellite" in text
    assert "The satellite's incoming agrees with the control record." in text


def test_the_accountability_record_never_breaks_a_lot_or_its_expiry_mid_value(
    demo: Demo, binder_path: Path
) -> None:
    with demo.db.read_session() as session:
        # The demo's expiry dates follow the day it is built.
        expiry = session.scalars(select(Lot.expiry).where(Lot.lot_number == "ZB2401")).one()
    text = "\n".join(_darf_pages(binder_path))
    assert "lot ZB2401" in text
    assert f"(exp. {expiry:%Y-%m-%d})" in text
    assert not re.search(r"\blot\s*\n\s*ZB24", text)
    assert "(exp.\n" not in text


def _audit_pages(path: Path) -> list[Any]:
    return [
        page
        for page in PdfReader(path).pages
        if "# When User Action Record Field" in flat(page.extract_text())
    ]


def test_the_audit_extract_names_people_and_kits_in_whole_words_at_a_readable_size(
    binder_path: Path,
) -> None:
    pages = _audit_pages(binder_path)
    assert pages
    text = " ".join(flat(page.extract_text()) for page in pages)
    # A dispense's verification reads with the pharmacist's name, not "verified_by_id 3".
    assert re.search(r"dispense order \d+ verified by — Jane Roe", text)
    assert "ordered by: Terry Tech" in text
    assert "lot: ZB2401" in text
    for column_name in ("verified_by_id", "kit_id", "lot_id", "user_id", "location_id"):
        assert column_name not in text
    sizes: list[float] = []

    def measure(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            sizes.append(size * tm[3] * cm[3])

    for page in pages:
        page.extract_text(visitor_text=measure)
    body = [size for size in sizes if size > 7.5]  # the page's running texts are 7 pt
    assert len(body) > 0.9 * len(sizes)
    assert round(min(body), 2) >= 8


def test_the_destruction_certificate_carries_the_performers_electronic_signature(
    demo: Demo,
) -> None:
    path = export_destruction_certificate(
        demo.db, demo.user("pharm"), INJECTABLE, "DEST-XYZ-0001", demo.folder / "DEST-XYZ.pdf"
    )
    text = " ".join(pdf_pages(path))
    assert re.search(
        r"Performed by \(electronic signature, 21 CFR 11\.50\) Terry Tech, Technician — "
        r"Performed — 2026-\d\d-\d\d \d\d:\d\d",
        text,
    )
    assert "Witness (electronic signature, 21 CFR 11.50) Sam Lee, Pharmacist — Witnessed" in text
    assert "on paper" not in text
