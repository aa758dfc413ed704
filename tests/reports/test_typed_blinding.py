"""Arms typed into free text, through the real services, never reach a blinded reader.

On the DOMAIN.md study (ABC-123: arms A "ABC 10 mg" and B "Placebo") the staff type what
the issue saw and its kin: a hold's details, a shipment's notes, a visit, a return's
condition and an order's rejection reason each name an arm the way people write it. The
blinded binder, monitor-visit report, label and destruction certificate (read with
pypdf), the blinded workbook with its audit sheet (openpyxl) and CDISC file, the audit
viewer and the study's screens show none of it; the unblinded editions keep every word.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from ids_app.audit.views import AuditFilter, BlindingRedactor, audit_page
from ids_app.db import Database, today
from ids_app.inventory.dispensing import reject_order
from ids_app.inventory.disposal import DisposalItem, dispose
from ids_app.inventory.models import (
    DispenseOrder,
    DisposalKind,
    HoldReason,
    Kit,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.order_views import orders_page, return_rows
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.views import hold_rows
from ids_app.reports.exports import (
    export_audit_binder,
    export_destruction_certificate,
    export_dispensing_label,
    export_monitor_visit_report,
    export_sponsor_workbook,
)
from ids_app.reports.labels import LabelSettings
from ids_app.studies.blinding import ARM_HIDDEN
from ids_app.studies.models import Study
from ids_app.studies.services import add_staff
from tests.factories import PASSWORD, Example, make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit, order_kit, prepare
from tests.reports.conftest import flat, pdf_pages

# What was typed, and the arm-naming part of it a blinded reader must not read.
HOLD_DETAILS = "kit is arm B; ABC 10mg look-alike; Treatment A"
SHIPMENT_NOTES = "Two abc-10 mg kits (Arm: B) arrived with torn labels"
VISIT = "Visit 2, group B"
CONDITION = "Opened; ABC10MG blister, B arm"
REJECTION = "Arm-A kit picked for an ARM B subject"
TYPED = (HOLD_DETAILS, SHIPMENT_NOTES, VISIT, CONDITION, REJECTION)
ARM_WORDS = (
    "arm B",
    "ABC 10mg",
    "Treatment A",
    "abc-10 mg",
    "Arm: B",
    "group B",
    "ABC10MG",
    "B arm",
    "Arm-A",
    "ARM B",
)
# What stays readable around them: the rest of each sentence.
ORDINARY_WORDS = ("look-alike", "arrived with torn labels", "Visit 2", "blister", "picked for")
LABEL_SETTINGS = LabelSettings("Investigational Drug Service, Example Hospital", "(555) 010-0100")


@pytest.fixture
def typed(db: Database) -> Example:
    """ABC-123 with the arm-naming text typed into its records; Sam Lee (pharm2) is
    unblinded on it, Terry Tech and Jane Roe are blinded."""
    example = make_example(db)
    receive_kits(db, example, notes=SHIPMENT_NOTES)
    people = example.people
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        add_staff(
            session,
            people.admin,
            study,
            people.pharm2,
            "Unblinded pharmacist",
            unblinded=True,
            reason="Prepares the unblinded dispenses",
        )
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1003")).one()
        quarantine_stock(
            session, people.pharm, study, reason=HoldReason.DAMAGE, details=HOLD_DETAILS, kit=kit
        )
    dispensed = dispense_kit(db, example, "1007", visit=VISIT)
    with db.unit_of_work() as session:
        record_return(
            session,
            people.tech,
            session.get_one(DispenseOrder, dispensed),
            returned_on=today(),
            quantity=1,
            units_counted=3,
            condition=CONDITION,
            location=example.returns,
        )
    rejected = order_kit(db, example, "1008")
    prepare(db, example, rejected, kit_number="1008")
    with db.unit_of_work() as session:
        reject_order(session, people.pharm, session.get_one(DispenseOrder, rejected), REJECTION)
    return example


def _unspaced(text: str) -> str:
    """Without white space: a PDF table cell breaks its lines anywhere."""
    return "".join(text.split())


def _names_no_arm(text: str) -> None:
    for words in ARM_WORDS:
        assert _unspaced(words) not in _unspaced(text), words
    assert ARM_HIDDEN in text
    for words in ORDINARY_WORDS:
        assert _unspaced(words) in _unspaced(text), words


def _names_every_arm(text: str) -> None:
    for words in ARM_WORDS:
        assert _unspaced(words) in _unspaced(text), words


def _workbook_text(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def test_the_blinded_binder_and_its_audit_data_name_no_typed_arm_and_the_unblinded_do(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    people = typed.people
    blinded = export_audit_binder(db, people.tech, "ABC-123", tmp_path / "binder.pdf")
    _names_no_arm(" ".join(pdf_pages(blinded.path)))
    blinded_data = blinded.audit_data_path.read_text(encoding="utf-8")
    for words in ARM_WORDS:
        assert _unspaced(words) not in _unspaced(blinded_data), words
    assert ARM_HIDDEN in blinded_data

    unblinded = export_audit_binder(
        db, people.pharm2, "ABC-123", tmp_path / "binder-unblinded.pdf", unblinded=True
    )
    _names_every_arm(" ".join(pdf_pages(unblinded.path)))
    _names_every_arm(unblinded.audit_data_path.read_text(encoding="utf-8"))


def test_the_blinded_workbook_its_audit_sheet_and_the_cdisc_file_hold_no_typed_arm(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    people = typed.people
    blinded = export_sponsor_workbook(
        db, people.tech, "ABC-123", tmp_path / "abc.xlsx", cdisc_out=tmp_path / "abc-da.csv"
    )
    text = _workbook_text(blinded.path)
    _names_no_arm(text)
    audit_sheet = load_workbook(blinded.path)["Audit trail"]
    audit_text = "\n".join(
        str(v) for row in audit_sheet.iter_rows(values_only=True) for v in row if v is not None
    )
    assert f"kit is {ARM_HIDDEN}; {ARM_HIDDEN} look-alike; {ARM_HIDDEN}" in audit_text
    assert blinded.cdisc_path is not None
    with blinded.cdisc_path.open(newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [cell for cell in cells if "group b" in cell.casefold()]
    assert f"VISIT 2, {ARM_HIDDEN}".upper() in cells

    unblinded = export_sponsor_workbook(
        db, people.pharm2, "ABC-123", tmp_path / "abc.xlsx", unblinded=True
    )
    text = _workbook_text(unblinded.path)
    for typed_text in TYPED:
        assert typed_text in text, typed_text


def test_the_monitor_visit_report_and_the_subjects_label_name_no_typed_arm(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    people = typed.people
    report = export_monitor_visit_report(db, people.monitor, "ABC-123", tmp_path / "visit.pdf")
    text = _unspaced(" ".join(pdf_pages(report)))
    for words in ARM_WORDS:
        assert _unspaced(words) not in text, words

    with db.read_session() as session:
        order = session.scalars(
            select(DispenseOrder).where(
                DispenseOrder.visit == VISIT, DispenseOrder.kit_id.is_not(None)
            )
        ).first()
        assert order is not None
    # The subject is blinded whoever prints: the unblinded pharmacist's label masks too.
    label = export_dispensing_label(db, people.pharm2, order.id, tmp_path / "l.pdf", LABEL_SETTINGS)
    (page,) = pdf_pages(label)
    assert "groupB" not in _unspaced(page)
    assert flat(f"Visit 2, {ARM_HIDDEN}") in page


def test_the_audit_viewer_and_the_study_screens_mask_typed_arms_for_a_blinded_reader(
    db: Database, typed: Example
) -> None:
    people, study_id = typed.people, typed.study.id

    def seen_by(reader: Any) -> str:
        with db.read_session() as session:
            trail = BlindingRedactor(session, reader).redact(
                session,
                audit_page(session, AuditFilter(study_id=study_id), limit=10_000, reader=reader),
            )
            screens = [
                *(row.details for row in hold_rows(session, study_id, reader)),
                *(
                    f"{row.visit} {row.closed_reason}"
                    for row in orders_page(session, study_id, state=None, limit=50, reader=reader)
                ),
                *(
                    f"{row.visit} {row.condition}"
                    for row in return_rows(session, reader, study_id=study_id)
                ),
            ]
        values = [v for row in trail for v in (row.old_value, row.new_value, row.reason) if v]
        return "\n".join([*values, *screens])

    _names_no_arm(seen_by(people.tech))
    unblinded = seen_by(people.pharm2)
    for typed_text in TYPED:
        assert typed_text in unblinded, typed_text


METHOD = "Incineration; the placebo kits went first"
AUTHORIZATION = "Acme DA-17 for Treatment B"


def test_a_destruction_certificate_masks_typed_arms_for_a_blinded_reader_only(
    db: Database, typed: Example, tmp_path: Path
) -> None:
    people = typed.people
    with db.unit_of_work() as session:
        (returned,) = session.scalars(
            select(SubjectReturn).where(SubjectReturn.condition == CONDITION)
        ).all()
        verify_return(session, people.monitor, returned, password=PASSWORD)
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        dispose(
            session,
            people.tech,
            session.get_one(Study, typed.study.id),
            kind=DisposalKind.DESTROYED_ON_SITE,
            disposal_number="D-001",
            method=METHOD,
            sponsor_authorization=AUTHORIZATION,
            performed_on=today(),
            items=[DisposalItem(kit.lot_id, kit.id, typed.returns.id, StockState.RETURNED, 1)],
            performer_password=PASSWORD,
            witness_username="pharm",
            witness_password=PASSWORD,
        )
    blinded = export_destruction_certificate(
        db, people.tech, "ABC-123", "D-001", tmp_path / "c.pdf"
    )
    text = " ".join(pdf_pages(blinded))
    assert flat(f"Incineration; the {ARM_HIDDEN} kits went first") in text
    assert flat(f"Acme DA-17 for {ARM_HIDDEN}") in text

    unblinded = export_destruction_certificate(
        db, people.pharm2, "ABC-123", "D-001", tmp_path / "c-unblinded.pdf"
    )
    text = " ".join(pdf_pages(unblinded))
    assert flat(METHOD) in text
    assert flat(AUTHORIZATION) in text
