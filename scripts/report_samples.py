"""Regenerate the report pictures in docs/reports/ from a fresh demo database.

    .venv/bin/python scripts/report_samples.py

Needs poppler's ``pdftoppm`` and ``pdftotext``. The workbook has no renderer here, so its
picture is drawn from the cells read back with openpyxl (values, with formulas shown as
written).
"""

from __future__ import annotations

import datetime as dt
import html
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "docs" / "reports"
sys.path.insert(0, str(HERE.parent.parent))

from openpyxl import load_workbook  # type: ignore[import-untyped]  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ids_app.config import sqlite_url  # noqa: E402
from ids_app.db import Database  # noqa: E402
from ids_app.demo import build_demo  # noqa: E402
from ids_app.inventory.models import DispenseOrder, OrderState  # noqa: E402
from ids_app.migrations.schema import prepare_database  # noqa: E402
from ids_app.reports.exports import (  # noqa: E402
    export_audit_binder,
    export_destruction_certificate,
    export_dispensing_label,
    export_sponsor_workbook,
)
from ids_app.reports.labels import LabelSettings  # noqa: E402
from ids_app.reports.rendering import write_pdf  # noqa: E402
from ids_app.users.services import get_user  # noqa: E402


def png(
    pdf: Path, name: str, *, first: int, last: int, dpi: int = 60, single: bool = False
) -> None:
    """Pages as name-NN.png; ``single``: one page as name.png, a link that survives the
    page moving when a section grows."""
    pages = ["-f", str(first), "-l", str(last)]
    once = ["-singlefile"] if single else []
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), *pages, *once, str(pdf), str(HERE / name)],
        check=True,
    )


def page_with(pdf: Path, text: str) -> int:
    """The number of the first page whose text holds ``text``."""
    found = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return next(n for n, page in enumerate(found.split("\f"), start=1) if text in page)


def _shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d}" if value.time() == dt.time(0) else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def sheet_picture(book_path: Path, sheet: str, rows: int, target: Path) -> None:
    """A grid of a sheet's first rows, as the file holds them."""
    book = load_workbook(book_path)
    cells = []
    for row in book[sheet].iter_rows(max_row=rows, values_only=True):
        if all(v is None for v in row):
            continue
        shown = [html.escape(_shown(v))[:60] for v in row]
        cells.append("<tr>" + "".join(f"<td>{v}</td>" for v in shown) + "</tr>")
    page = (
        "<html><head><style>@page { size: 470mm 120mm; margin: 5mm }"
        "body { font-family: 'DejaVu Sans Condensed', sans-serif; font-size: 7pt }"
        "td { border: 0.5pt solid #999; padding: 0.5mm 1mm; white-space: nowrap }"
        "tr:first-child td { font-weight: bold; background: #ddd }"
        "table { border-collapse: collapse }</style></head><body>"
        f"<p><b>{html.escape(book_path.name)}</b>, sheet “{html.escape(sheet)}” "
        f"(tabs: {html.escape(', '.join(book.sheetnames))})</p>"
        f"<table>{''.join(cells)}</table></body></html>"
    )
    write_pdf(page, target)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        db = Database(sqlite_url(work / "demo.sqlite"))
        prepare_database(db)
        build_demo(db)
        with db.read_session() as session:
            tech = get_user(session, "tech")
            order = session.scalars(
                select(DispenseOrder)
                .where(
                    DispenseOrder.state == OrderState.DISPENSED, DispenseOrder.kit_id.is_not(None)
                )
                .order_by(DispenseOrder.id.desc())
            ).first()
        assert order is not None
        binder = export_audit_binder(db, tech, "ABC-123", work / "binder.pdf")
        png(binder.path, "binder", first=1, last=3)
        png(binder.path, "binder-darf", first=6, last=6)
        # The demo's injectable study keeps fridge logs; its satellite had a power cut.
        injectable = export_audit_binder(db, tech, "XYZ-789", work / "injectable.pdf")
        page = page_with(injectable.path, "Infusion Center Satellite: satellite, 2 to 8 °C")
        png(injectable.path, "binder-temperature", first=page, last=page, single=True)
        label = export_dispensing_label(
            db,
            tech,
            order.id,
            work / "label.pdf",
            LabelSettings("Investigational Drug Service, Example Hospital", "(555) 010-0100"),
        )
        png(label, "label", first=1, last=1, dpi=110)
        certificate = export_destruction_certificate(
            db, tech, "ABC-123", "DEST-ABC-0001", work / "certificate.pdf"
        )
        png(certificate, "certificate", first=1, last=1)
        workbook = export_sponsor_workbook(
            db, tech, "ABC-123", work / "ABC-123.xlsx", cdisc_out=HERE / "ABC-123-DA.csv"
        )
        for sheet, name in (("Summary", "workbook-summary"), ("Accountability", "workbook-darf")):
            picture = work / f"{name}.pdf"
            sheet_picture(workbook.path, sheet, 24, picture)
            png(picture, name, first=1, last=1, dpi=60)
        db.dispose()
    print(f"Pictures written to {HERE}")


if __name__ == "__main__":
    main()
