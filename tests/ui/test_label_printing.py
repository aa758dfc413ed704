"""The dispensing label printed on a printer: the same PDF that was audited and saved,
painted page by page at the label's size; a printer that is gone is named and refused."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.config import data_dir
from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.inventory.models import DispenseOrder, OrderState
from ids_app.studies.services import get_study
from ids_app.ui.dispensing import DispensingTab
from ids_app.ui.labels import LABELS_FOLDER, SavedLabel, print_label, save_label
from ids_app.ui.main_window import MainWindow
from ids_app.ui.settings import PDF_PRINTER, AppSettings, printer_choices
from ids_app.ui.settings_dialog import SettingsDialog
from tests.ui.conftest import WindowOpener, sign_in
from tests.ui.workflows import study_id

pytestmark = pytest.mark.gui

GONE = "Zebra ZD421 Room 2"
POINTS = 72


def dispensed_order(db: Database, protocol: str = "ABC-123") -> int:
    """A dispense of the demo that a pharmacist has verified."""
    with db.read_session() as session:
        study = get_study(session, protocol)
        return session.scalars(
            select(DispenseOrder.id)
            .where(
                DispenseOrder.study_id == study.id,
                DispenseOrder.state == OrderState.DISPENSED,
            )
            .order_by(DispenseOrder.id)
            .limit(1)
        ).one()


def label_settings(size: str = "4x2", printer: str = PDF_PRINTER) -> AppSettings:
    settings = AppSettings()
    settings.site_name = "University Hospital IDS"
    settings.pharmacy_phone = "555-0100"
    settings.label_size = size
    settings.label_printer = printer
    return settings


def pdf_printer(out: Path, dpi: int = 300) -> QPrinter:
    """A QPrinter writing a PDF file: the stand-in for a label printer."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(out))
    printer.setResolution(dpi)
    return printer


def grey_pixels(pdf: Path, dpi: int = 100) -> tuple[int, int, bytes]:
    """The first page as 8-bit grey (width, height, pixels) with no row padding."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        bitmap = document[0].render(scale=dpi / POINTS, grayscale=True)
        rows = [
            bytes(bitmap.buffer[row * bitmap.stride : row * bitmap.stride + bitmap.width])
            for row in range(bitmap.height)
        ]
        return bitmap.width, bitmap.height, b"".join(rows)
    finally:
        document.close()


def squares(width: int, pixels: bytes, side: int = 5) -> list[float]:
    """The mean grey of each ``side`` x ``side`` square: what the label shows, not how
    each renderer smooths a letter's edge."""
    height = len(pixels) // width
    return [
        sum(pixels[(top + y) * width + left + x] for y in range(side) for x in range(side))
        / side**2
        for top in range(0, height - side + 1, side)
        for left in range(0, width - side + 1, side)
    ]


def dispensing_tab(window: MainWindow, order_id: int) -> DispensingTab:
    assert window.open_study(study_id(window.db, "ABC-123"))
    window.trigger("view.dispensing")
    tab = window.workspace.current_tab()
    assert isinstance(tab, DispensingTab)
    tab.select_record(order_id)
    assert tab.panel.detail is not None
    assert tab.panel.detail.row.id == order_id
    return tab


def test_label_painted_on_a_printer_is_one_page_of_the_label_size_showing_the_saved_pdf(
    qapp: QApplication, demo_db: Database, tmp_path: Path
) -> None:
    # 3 x 2 in, not the default 4 x 2, so a printer left at its own paper size would show.
    saved = save_label(
        demo_db, sign_in(demo_db, "tech"), dispensed_order(demo_db), label_settings("3x2")
    )
    assert saved == SavedLabel(saved.path)
    printed = tmp_path / "printed.pdf"

    assert print_label(saved.path, pdf_printer(printed), (3.0, 2.0)) == 1

    reader = PdfReader(printed)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((3 * POINTS, 2 * POINTS), abs=0.5)
    width, height, pixels = grey_pixels(printed)
    dark = sum(1 for value in pixels if value < 128) / len(pixels)
    assert 0.02 < dark < 0.5  # text, rules and the barcode, on white
    # The paper carries the saved PDF itself, in place: compared in 0.05 in squares (one
    # rendered at 300 dpi and read back, one straight), they differ by far less than the
    # label moved down 0.02 in would (about 13) or a blank page (about 28).
    assert grey_pixels(saved.path)[:2] == (width, height)
    original = squares(width, grey_pixels(saved.path)[2])
    on_paper = squares(width, pixels)
    assert sum(abs(a - b) for a, b in zip(on_paper, original, strict=True)) / len(original) < 8


def test_a_printer_that_is_gone_is_named_and_the_pdf_copy_is_still_saved(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    order_id = dispensed_order(window.db)
    panel = dispensing_tab(window, order_id).panel
    window.settings.site_name = "University Hospital IDS"
    window.settings.pharmacy_phone = "555-0100"
    window.settings.label_printer = GONE
    panel.label_button.click()

    labels = sorted((data_dir() / LABELS_FOLDER).glob(f"label-order-{order_id}*.pdf"))
    assert len(labels) == 1
    assert labels[0].stat().st_size > 0
    assert panel.label_message.error_text == (
        f"The label printer '{GONE}' is not on this workstation any more: choose another "
        f"printer in File ▸ Settings. The label is saved as PDF: {labels[0]}"
    )
    assert panel.last_label is None


def test_save_label_refuses_a_missing_printer_after_writing_the_pdf(
    qapp: QApplication, demo_db: Database
) -> None:
    order_id = dispensed_order(demo_db)
    with pytest.raises(InvalidInput, match=f"'{GONE}' is not on this workstation") as refusal:
        save_label(demo_db, sign_in(demo_db, "pharm"), order_id, label_settings(printer=GONE))
    saved = data_dir() / LABELS_FOLDER / f"label-order-{order_id}.pdf"
    assert PdfReader(saved).pages
    assert str(saved) in str(refusal.value)


def test_settings_list_pdf_first_and_keep_a_printer_that_is_gone(
    qtbot: QtBot, db: Database
) -> None:
    settings = label_settings(printer=GONE)
    dialog = SettingsDialog(db, settings)
    qtbot.addWidget(dialog)
    combo = dialog.printer
    assert combo.objectName() == "labelPrinter"
    texts = [combo.itemText(index) for index in range(combo.count())]
    assert texts[0] == "PDF file"
    assert texts[-1] == f"{GONE} (not found)"
    assert combo.currentText() == f"{GONE} (not found)"

    dialog.accept()
    assert AppSettings(settings.path).label_printer == GONE

    dialog = SettingsDialog(db, settings)
    qtbot.addWidget(dialog)
    dialog.printer.setCurrentIndex(0)
    dialog.accept()
    assert AppSettings(settings.path).label_printer == PDF_PRINTER


def test_printer_choices_mark_only_a_saved_printer_that_is_not_here() -> None:
    here = ["Zebra ZD421", "Office HP"]
    assert printer_choices("Office HP", here) == [
        ("PDF file", "PDF file"),
        ("Zebra ZD421", "Zebra ZD421"),
        ("Office HP", "Office HP"),
    ]
    assert printer_choices(GONE, here)[-1] == (f"{GONE} (not found)", GONE)
    assert printer_choices(PDF_PRINTER, []) == [("PDF file", "PDF file")]


def test_dispensing_screen_names_the_pdf_a_label_was_saved_to(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    order_id = dispensed_order(window.db)
    panel = dispensing_tab(window, order_id).panel
    window.settings.site_name = "University Hospital IDS"
    window.settings.pharmacy_phone = "555-0100"
    assert panel.label_note.text() == (
        "Label: saved as PDF when the order was verified; Save label makes another copy."
    )
    panel.label_button.click()

    expected = data_dir() / LABELS_FOLDER / f"label-order-{order_id}.pdf"
    assert panel.last_label == expected
    assert PdfReader(expected).pages
    assert panel.label_message.text() == f"Label saved as PDF: {expected}"


def test_a_printed_label_says_which_printer_and_where_the_copy_is() -> None:
    copy = Path("/data/labels/label-order-7.pdf")
    assert SavedLabel(copy, "Zebra ZD421").message == (
        f"Label printed on Zebra ZD421; a copy is saved in {copy}"
    )
