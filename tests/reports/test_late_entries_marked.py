"""A downtime morning typed in afterwards is marked late in the binder and the workbook:
both times and the reason, never printed as a timely entry (DOMAIN.md)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook  # type: ignore[import-untyped]

from ids_app.db import Database, simulated_clock
from ids_app.inventory.late_entries import EventTime
from ids_app.reports.exports import export_audit_binder, export_sponsor_workbook
from ids_app.wording import local_time
from tests.factories import make_example, receive_kits
from tests.inventory.test_late_entries import (
    DOWNTIME,
    EXPIRES,
    at,
    count_on_paper,
    enter_dispense,
    paper_morning,
)
from tests.reports.conftest import pdf_pages

MARK = f"Late entry: happened {local_time(at(10, 9))}, recorded {local_time(at(13, 10))}"


def test_late_entries_are_marked_in_the_binder_and_workbook(db: Database, tmp_path: Path) -> None:
    example = make_example(db)
    receive_kits(db, example, expiry=EXPIRES)
    with simulated_clock(at(10, 10)):
        timely = enter_dispense(db, example, "1008")
    with simulated_clock(at(13, 10)):
        late = enter_dispense(db, example, "1007", *paper_morning(10))
    with simulated_clock(at(13, 11)):
        binder = export_audit_binder(db, example.people.tech, "ABC-123", tmp_path / "binder.pdf")
        workbook = export_sponsor_workbook(
            db, example.people.tech, "ABC-123", tmp_path / "sponsor.xlsx"
        )
    text = " ".join(pdf_pages(binder.path)).replace("- ", "-")
    # Once on the accountability record, once on the dispensing log; the timely one unmarked.
    assert text.count("Late entry: happened") == 2
    assert "paper log" in text

    book = load_workbook(workbook.path, read_only=True)
    for sheet in ("Accountability", "Dispensing"):
        rows = list(book[sheet].iter_rows(values_only=True))
        header = list(rows[0])
        column = header.index("Late entry")
        marked = [row[column] for row in rows[1:] if len(row) > column and row[column]]
        assert marked == [f"{MARK}; {DOWNTIME}"], sheet
    orders = {row[0] for row in list(book["Dispensing"].iter_rows(values_only=True))[1:]}
    assert {late.id, timely.id} <= orders


def test_a_count_entered_late_is_marked_in_the_binder_and_workbook(
    db: Database, tmp_path: Path
) -> None:
    example = make_example(db)
    receive_kits(db, example, expiry=EXPIRES)
    with simulated_clock(at(1, 10)):
        count_on_paper(db, example, EventTime(at(1, 7), DOWNTIME))
    with simulated_clock(at(1, 11)):
        binder = export_audit_binder(db, example.people.tech, "ABC-123", tmp_path / "binder.pdf")
        workbook = export_sponsor_workbook(
            db, example.people.tech, "ABC-123", tmp_path / "sponsor.xlsx"
        )
    mark = f"Late entry: happened {local_time(at(1, 7))}, recorded {local_time(at(1, 10))}"
    text = " ".join(" ".join(pdf_pages(binder.path)).split())
    assert f"{mark}; {DOWNTIME}" in text
    rows = list(
        load_workbook(workbook.path, read_only=True)["Discrepancies"].iter_rows(values_only=True)
    )
    column = list(rows[0]).index("Late entry")
    assert [row[column] for row in rows[1:] if row[0] is not None and row[column]] == [
        f"{mark}; {DOWNTIME}"
    ]
