"""Labels, destruction certificates and monitor-visit reports, read back from the PDFs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.models import DispenseOrder, Kit, OrderState
from ids_app.reports.exports import (
    export_destruction_certificate,
    export_dispensing_label,
    export_monitor_visit_report,
)
from ids_app.reports.labels import CAUTION, LabelSettings, parse_size
from ids_app.reports.period import Period
from ids_app.studies.services import get_study
from tests.reports.code128 import read_code128
from tests.reports.conftest import (
    INJECTABLE,
    ORAL,
    RESOLUTION,
    Demo,
    arm_names,
    flat,
    pdf_pages,
    public_wording,
    without,
)

SETTINGS = LabelSettings("Investigational Drug Service, Example Hospital", "(555) 010-0100")
POINTS_PER_INCH = 72


def _last_order(demo: Demo, protocol: str) -> DispenseOrder:
    with demo.db.read_session() as session:
        study = get_study(session, protocol)
        return session.scalars(
            select(DispenseOrder)
            .where(DispenseOrder.study_id == study.id, DispenseOrder.state == OrderState.DISPENSED)
            .order_by(DispenseOrder.id.desc())
        ).first()  # type: ignore[return-value]


@pytest.fixture(scope="module")
def kit_label(demo: Demo) -> tuple[Path, str]:
    order = _last_order(demo, ORAL)
    with demo.db.read_session() as session:
        kit = session.get_one(Kit, order.kit_id)
    path = export_dispensing_label(
        demo.db, demo.user("tech"), order.id, demo.folder / "label.pdf", SETTINGS
    )
    return path, kit.kit_number


def test_label_carries_the_caution_statement_and_every_field(kit_label: tuple[Path, str]) -> None:
    path, kit_number = kit_label
    (text,) = pdf_pages(path)
    assert flat(CAUTION) in text
    assert CAUTION == (
        "Caution: New Drug—Limited by Federal (or United States) law to investigational use."
    )
    for field in (
        "Protocol ABC-123",
        "Subject 01-004",
        f"Kit {kit_number}",
        "Take 1 tablet once a day",
        "Qty: 1 kit (30 tablets)",
        "Dispensed ",
        "Prescriber: Dr. Priya Natarajan, MD",
        "Investigational Drug Service, Example Hospital",
        "(555) 010-0100",
        "Store at 15 to 30 °C",
        "Expires ",
    ):
        assert field in text, field


def test_label_shows_no_arm(demo: Demo, kit_label: tuple[Path, str]) -> None:
    (text,) = pdf_pages(kit_label[0])
    for name in arm_names(demo, ORAL):
        assert name not in without(text, public_wording(demo, ORAL))


def test_label_barcode_decodes_to_the_kit_number(kit_label: tuple[Path, str]) -> None:
    path, kit_number = kit_label
    assert read_code128(PdfReader(path).pages[0]) == kit_number


def test_label_is_four_by_two_inches_by_default(kit_label: tuple[Path, str]) -> None:
    box = PdfReader(kit_label[0]).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (4 * 72, 2 * 72)
    assert len(PdfReader(kit_label[0]).pages) == 1


def test_label_of_bulk_stock_barcodes_the_dispense_number_on_the_size_asked(
    demo: Demo,
) -> None:
    order = _last_order(demo, INJECTABLE)
    settings = LabelSettings.from_environment(
        pharmacy="IDS", phone="555-0100", size="3x1.5in", beyond_use=None
    )
    path = export_dispensing_label(
        demo.db, demo.user("tech"), order.id, demo.folder / "bulk-label.pdf", settings
    )
    page = PdfReader(path).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (216, 108)
    assert read_code128(page) == f"DSP-{order.id:06d}"
    assert "Qty: 2 vials" in flat(page.extract_text())


def test_label_size_must_be_a_label(demo: Demo) -> None:
    with pytest.raises(InvalidInput, match="is not WIDTHxHEIGHT in inches"):
        parse_size("four by two")
    with pytest.raises(InvalidInput, match="wider than tall"):
        parse_size("2x4")


def test_label_needs_the_pharmacy_name_and_phone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDS_PHARMACY_NAME", raising=False)
    monkeypatch.delenv("IDS_PHARMACY_PHONE", raising=False)
    with pytest.raises(InvalidInput, match=r"needs the pharmacy's name and phone number"):
        LabelSettings.from_environment()
    monkeypatch.setenv("IDS_PHARMACY_NAME", "IDS")
    monkeypatch.setenv("IDS_PHARMACY_PHONE", "555-0100")
    assert LabelSettings.from_environment().phone == "555-0100"


def test_label_is_printed_only_by_dispensing_staff(demo: Demo, tmp_path: Path) -> None:
    order = _last_order(demo, ORAL)
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist may print"):
        export_dispensing_label(
            demo.db, demo.user("monitor"), order.id, tmp_path / "label.pdf", SETTINGS
        )
    assert list(tmp_path.iterdir()) == []


def test_destruction_certificate_lists_what_went_and_the_witness_signature(
    demo: Demo,
) -> None:
    path = export_destruction_certificate(
        demo.db, demo.user("pharm"), INJECTABLE, "DEST-XYZ-0001", demo.folder / "cert.pdf"
    )
    pages = pdf_pages(path)
    text = " ".join(pages)
    assert "Certificate of destruction" in text
    for fact in (
        "DEST-XYZ-0001",
        "Audit-trail anchor (ID:hash)",
        "destroyed at a facility",
        "Incineration at a licensed facility",
        "Zenith TE-2026-044",
        "ZB2402",
        "10 vials",
        "Terry Tech",
        "Sam Lee, Pharmacist — Witnessed —",
        "21 CFR 312.59",
    ):
        assert fact in text, fact
    assert f"Page 1 of {len(pages)}" in pages[0]
    with demo.db.read_session() as session:
        exported = session.scalars(
            select(AuditEntry.new_value).where(
                AuditEntry.action == "export", AuditEntry.username == "pharm"
            )
        ).all()
    assert any(e.startswith("destruction certificate, disposal DEST-XYZ-0001") for e in exported)


def test_monitor_visit_report_says_what_was_reviewed_found_and_signed(demo: Demo) -> None:
    path = export_monitor_visit_report(
        demo.db, demo.user("monitor"), ORAL, demo.folder / "visit.pdf", period=Period()
    )
    text = " ".join(pdf_pages(path))
    for fact in (
        "Monitor-visit report: ABC-123",
        "What was reviewed",
        "Shipment receipts against packing lists",
        "Dispenses (prepared and verified, both signed) 12 All signed twice",
        "Subject returns and compliance 8 All verified",
        "Physical counts 1 1 discrepancies, 0 open",
        "Discrepancies",
        flat(RESOLUTION),
        "Open items at the visit",
        "Morgan Monitor, Monitor — Verified —",
        "Monitor: name, signature and date",
        "Record intact",
        "Chain head (keep it as an anchor)",
        "BLINDED EDITION",
    ):
        assert fact in text, fact
    assert re.search(r"Accountability record: .* reconciles", text)
    for name in arm_names(demo, ORAL):
        assert name not in without(text, public_wording(demo, ORAL))
