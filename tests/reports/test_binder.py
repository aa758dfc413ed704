"""The audit binder, read back from the real PDF (pypdf): sections, DARF, balances, blinding."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import EntryKind, LedgerEntry
from ids_app.reports.accountability import BALANCE_STATES, DARF_COLUMNS, darf_columns
from ids_app.reports.binder import SECTIONS
from ids_app.reports.exports import BinderResult, export_audit_binder
from ids_app.reports.gather import gather_study_record
from ids_app.reports.period import Period, local_midnight
from ids_app.reports.progress import ReportCancelled
from ids_app.reports.records import Edition
from tests.reports.conftest import (
    HELD_NOTE,
    ORAL,
    RESOLUTION,
    REVERSAL_REASON,
    Demo,
    arm_names,
    flat,
    ledger_totals,
    pdf_pages,
    public_wording,
    without,
)


@dataclass
class Binder:
    result: BinderResult
    pages: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.pages)


@pytest.fixture(scope="module")
def blinded(demo: Demo) -> Binder:
    """Rendered once for the module: WeasyPrint takes seconds."""
    result = export_audit_binder(
        demo.db, demo.user("tech"), ORAL, demo.folder / "ABC-123 binder.pdf"
    )
    return Binder(result, pdf_pages(result.path))


@pytest.fixture(scope="module")
def unblinded(demo: Demo) -> Binder:
    """The last three weeks only (the destruction, the count, the correction): a shorter
    binder, so the module renders fewer pages."""
    result = export_audit_binder(
        demo.db,
        demo.user("pharm"),
        ORAL,
        demo.folder / "ABC-123 unblinded.pdf",
        period=Period(dt.date.today() - dt.timedelta(days=21)),
        unblinded=True,
    )
    return Binder(result, pdf_pages(result.path))


def test_binder_holds_every_section_with_its_page_in_the_contents(blinded: Binder) -> None:
    contents = blinded.pages[1]
    for number, section in enumerate(SECTIONS, start=1):
        entry = re.search(rf"{number}\. {re.escape(section.title)} \.+ ?(\d+)", contents)
        assert entry is not None, section.title
        page = int(entry.group(1))
        # The section's heading is at the top of the page the contents name.
        assert f"{number}. {section.title}" in blinded.pages[page - 1]


def test_cover_names_the_study_period_edition_maker_and_data_hash(blinded: Binder) -> None:
    cover = blinded.pages[0]
    for fact in (
        "ABC-123",
        "Acme Pharma",
        "Dr. Priya Natarajan",
        "Investigational Drug Service",
        "Whole record, up to",
        "BLINDED EDITION",
        "Terry Tech, Technician",
        blinded.result.data_hash,
        "Audit-trail anchor (ID:hash)",
    ):
        assert fact in cover
    assert re.fullmatch(r"[0-9a-f]{64}", blinded.result.data_hash)


def test_accountability_record_has_every_darf_column(blinded: Binder) -> None:
    for column in DARF_COLUMNS:
        assert column in blinded.text, column
    for header in ("Name of institution", "Protocol number", "Agent name"):
        assert header.upper() in blinded.text  # the DARF header block, in small capitals
    assert "Control record (all locations)" in blinded.text


def test_balance_on_the_log_ends_at_the_ledgers_stock(demo: Demo, blinded: Binder) -> None:
    (on_shelf, returned), *_ = ledger_totals(demo, ORAL).values()
    assert on_shelf == 7  # 20 received, 12 dispensed, 1 found missing and written off
    summary = re.search(
        r"balance on the log at the end: (\d+) kits? \(stock on the ledger: (\d+)\)\. "
        r"Subject returns held apart: (\d+) \(ledger: (\d+)\)\. The log reconciles with the stock",
        blinded.text,
    )
    assert summary is not None
    assert [int(n) for n in summary.groups()] == [on_shelf, on_shelf, returned, returned]


def test_running_balance_never_takes_back_a_subjects_return(demo: Demo) -> None:
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("tech"), ORAL)
    (darf,) = record.accountability
    returns = [line for line in darf.lines if line.returns_in]
    assert len(returns) == 8
    for line in returns:
        assert line.new_balance == line.balance_forward
        assert line.transaction == "Returned by the subject (kept apart)"
    for before, after in zip(darf.lines, darf.lines[1:], strict=False):
        assert after.balance_forward == before.new_balance
    assert darf.lines[-1].new_balance == darf.closing_balance == darf.ledger_balance
    assert darf.closing_returns == darf.ledger_returns == 0  # all destroyed, witnessed


def test_page_count_and_page_x_of_y_agree(blinded: Binder) -> None:
    total = len(PdfReader(blinded.result.path).pages)
    assert total == blinded.result.pages
    for number, page in enumerate(blinded.pages, start=1):
        assert f"Page {number} of {total}" in page


def test_every_page_carries_the_protocol_number_and_the_edition(
    blinded: Binder, unblinded: Binder
) -> None:
    for page in blinded.pages:
        assert "ABC-123 — Drug accountability audit binder" in page
        assert "BLINDED EDITION" in page
    for page in unblinded.pages:
        assert "UNBLINDED EDITION" in page


def test_tables_that_need_width_are_printed_landscape(blinded: Binder) -> None:
    reader = PdfReader(blinded.result.path)
    widths = {
        section.id: reader.pages[_page_of(blinded, section.id) - 1].mediabox.width
        for section in SECTIONS
    }
    assert widths["accountability"] > widths["summary"]  # landscape, portrait
    assert widths["audit"] > widths["shipments"]


def _page_of(binder: Binder, section_id: str) -> int:
    """The page the contents give for a section."""
    number, section = next((n, s) for n, s in enumerate(SECTIONS, start=1) if s.id == section_id)
    entry = re.search(rf"{number}\. {re.escape(section.title)} \.+ ?(\d+)", binder.pages[1])
    assert entry is not None
    return int(entry.group(1))


def test_blinded_binder_names_no_arm_on_any_page(demo: Demo, blinded: Binder) -> None:
    names = arm_names(demo, ORAL)
    assert names == ["ABC 10 mg", "Placebo"]
    allowed = public_wording(demo, ORAL)
    for number, page in enumerate(blinded.pages, start=1):
        for name in names:
            assert name not in without(page, allowed), f"page {number} shows arm {name}"
    # The note a technician typed on held stock is masked, not dropped.
    assert flat(HELD_NOTE.replace("Placebo", "[arm hidden]")) in blinded.text
    assert "arm: [arm hidden]" in blinded.text


def test_unblinded_binder_shows_each_kits_arm(unblinded: Binder) -> None:
    assert "Treatment arms (unblinded edition)" in unblinded.text
    assert "Arm A ABC 10 mg" in unblinded.text
    assert "Arm B Placebo" in unblinded.text
    assert "Arm" in darf_columns(shows_arms=True)
    darf = unblinded.pages[_page_of(unblinded, "accountability") - 1]
    assert re.search(r"\b10\d\d (ABC 10 mg|Placebo) Acme Pharma, lot L2301", darf)
    assert flat(HELD_NOTE) in unblinded.text


def test_corrections_print_each_reversal_beside_what_it_corrects(
    demo: Demo, blinded: Binder
) -> None:
    with demo.db.read_session() as session:
        reversal = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REVERSAL)
        ).one()
    corrections = blinded.pages[_page_of(blinded, "corrections") - 1]
    original = re.search(rf"Original {reversal.reverses_id} .* receive", corrections)
    mirror = re.search(rf"Reversal {reversal.id} .* reversal", corrections)
    assert original is not None
    assert mirror is not None
    assert original.start() < mirror.start()
    assert flat(f"Reason: {REVERSAL_REASON}") in corrections


def test_counts_show_the_discrepancy_and_its_resolution(blinded: Binder) -> None:
    counts = blinded.pages[_page_of(blinded, "counts") - 1]
    assert "Morgan Monitor" in counts
    assert "\u22121" in counts  # a true minus sign: one kit short
    assert "resolved" in counts
    assert flat(RESOLUTION) in counts


def test_dispensing_log_shows_both_signatures_of_each_dispense(blinded: Binder) -> None:
    dispensing = blinded.pages[_page_of(blinded, "dispensing") - 1]
    assert dispensing.count("Terry Tech, Technician — Prepared —") == 12
    assert dispensing.count("Jane Roe, Pharmacist — Verified —") == 12


def test_compliance_prints_with_one_decimal_as_the_protocol_states_it(
    demo: Demo, blinded: Binder
) -> None:
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("tech"), ORAL)
    percents = [r.compliance_percent for r in record.returns]
    assert len(percents) == 8
    returns = blinded.pages[_page_of(blinded, "returns") - 1]
    for percent in percents:
        assert percent is not None
        assert f"{percent:.1f} %" in returns
    assert "92.9 %" in returns  # 26 of 28 tablets taken: 92.857…, not "93%"
    assert not re.search(r"\d%", returns)


def test_counts_of_tablets_and_kits_read_in_the_plural(blinded: Binder) -> None:
    assert "1 kit (30 tablets)" in blinded.text  # a dose on the accountability record
    assert "7 kits" in blinded.text  # the balance at the end
    singular = re.findall(r"\b(\d+) (?:tablet|kit)(?=[),.;]| counted| of | \()", blinded.text)
    assert set(singular) == {"1"}  # never "30 tablet" or "7 kit"


def test_binder_export_is_in_the_audit_trail(demo: Demo, blinded: Binder) -> None:
    study = demo.study(ORAL)
    with demo.db.read_session() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "export",
                AuditEntry.table_name == "study",
                AuditEntry.record_id == str(study.id),
                AuditEntry.username == "tech",
            )
        ).all()
    details = [entry.new_value or "" for entry in entries]
    assert any(
        d.startswith("audit binder, blinded edition, study start..")
        and blinded.result.data_hash in d
        for d in details
    )


def test_a_period_opens_with_the_balance_brought_forward(demo: Demo) -> None:
    study = demo.study(ORAL)
    first = dt.date.today() - dt.timedelta(days=60)
    with demo.db.read_session() as session:
        record = gather_study_record(session, demo.user("tech"), ORAL, period=Period(first))
        before = sum(
            row.quantity
            for row in balances(
                session,
                LedgerEntry.study_id == study.id,
                LedgerEntry.occurred_at < local_midnight(first),
                by_kit=False,
            )
            if row.state in BALANCE_STATES
        )
    (darf,) = record.accountability
    assert darf.opening_balance == before
    assert darf.lines[0].balance_forward == before
    assert darf.lines[0].number == 1
    assert all(line.date >= first for line in darf.lines)
    assert darf.reconciles
    assert record.period_label.startswith(f"{first:%Y-%m-%d} to ")


def test_the_same_data_gives_the_same_hash_and_the_other_edition_another(demo: Demo) -> None:
    with demo.db.read_session() as session:
        once = gather_study_record(session, demo.user("tech"), ORAL)
        again = gather_study_record(session, demo.user("monitor"), ORAL)
        unblinded = gather_study_record(session, demo.user("pharm"), ORAL, unblinded=True)
    assert once.edition is Edition.BLINDED
    assert once.data_hash == again.data_hash
    assert unblinded.data_hash != once.data_hash


def test_progress_is_reported_and_a_cancel_leaves_no_file(demo: Demo, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    exports_before = _exports(demo)

    def cancelled() -> bool:
        return len(seen) >= 3

    target = tmp_path / "cancelled.pdf"
    with pytest.raises(ReportCancelled, match=r"^The report was cancelled; no file was written\.$"):
        export_audit_binder(
            demo.db,
            demo.user("tech"),
            ORAL,
            target,
            progress=lambda done, total: seen.append((done, total)),
            cancelled=cancelled,
        )
    # 13 sections read, the data it carries, 20 steps of layout, the audit entry, done
    assert seen == [(1, 36), (2, 36), (3, 36)]
    assert list(tmp_path.iterdir()) == []
    assert _exports(demo) == exports_before


def _exports(demo: Demo) -> list[str | None]:
    with demo.db.read_session() as session:
        return list(
            session.scalars(select(AuditEntry.new_value).where(AuditEntry.action == "export"))
        )
