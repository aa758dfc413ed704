"""The dispensing label of a verified dispense: saved as PDF, then printed when Settings
name a system printer.

The label itself (21 CFR 312.6 caution statement, barcode) is the reports package's
(``reports.exports.export_dispensing_label``, which checks the role and audits the export).
The PDF is always kept in the data directory's labels folder, and a printer gets that same
PDF rendered by PDFium at the printer's resolution, so the paper carries exactly what was
audited and saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

from ids_app.config import data_dir
from ids_app.db import Database
from ids_app.errors import InvalidInput
from ids_app.ui.settings import PDF_PRINTER, AppSettings
from ids_app.users.models import User

LABELS_FOLDER = "labels"
# Label printers print at 203, 300 or 600 dpi; a PDF printer claims 1200, which would only
# make a larger picture of the same label.
MAX_PRINT_DPI = 600
POINTS_PER_INCH = 72


@dataclass(frozen=True)
class SavedLabel:
    """Where a label went: its PDF, and the printer it was printed on (None: PDF only)."""

    path: Path
    printer: str | None = None

    @property
    def message(self) -> str:
        if self.printer is None:
            return f"Label saved as PDF: {self.path}"
        return f"Label printed on {self.printer}; a copy is saved in {self.path}"


def label_button_text(settings: AppSettings) -> str:
    return "Save &label (PDF)" if settings.label_printer == PDF_PRINTER else "Print &label"


def label_after_verification(settings: AppSettings) -> str:
    """What the dispensed order's panel says of its label, made when it was verified."""
    if settings.label_printer == PDF_PRINTER:
        return "Label: saved as PDF when the order was verified; Save label makes another copy."
    return (
        f"Label: printed on {settings.label_printer} when the order was verified (a PDF copy "
        "is kept); Print label prints it again."
    )


def label_target(order_id: int) -> Path:
    """A new file in the data directory's labels folder (a reprint gets its own file)."""
    folder = data_dir() / LABELS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"label-order-{order_id}.pdf"
    copy = 2
    while target.exists():
        target = folder / f"label-order-{order_id}-{copy}.pdf"
        copy += 1
    return target


def save_label(db: Database, user: User, order_id: int, settings: AppSettings) -> SavedLabel:
    """Write the label of a verified dispense as PDF (the reports package decides what it
    holds and who may print it), then print that PDF when Settings name a printer."""
    from ids_app.reports.exports import export_dispensing_label
    from ids_app.reports.labels import LabelSettings, parse_size

    if not settings.site_name or not settings.pharmacy_phone:
        raise InvalidInput(
            "The label prints the pharmacy's name and phone number: type them in Settings "
            "(File ▸ Settings), then save the label again."
        )
    size = parse_size(settings.label_size)
    label = LabelSettings(settings.site_name, settings.pharmacy_phone, *size)
    path = export_dispensing_label(db, user, order_id, label_target(order_id), label)
    if settings.label_printer == PDF_PRINTER:
        return SavedLabel(path)
    printer = system_printer(settings.label_printer, path)
    print_label(path, printer, size)
    return SavedLabel(path, settings.label_printer)


def system_printer(name: str, saved: Path) -> QPrinter:
    """The printer of that name, at its own resolution; a printer removed since Settings
    were saved is refused, and the person is told where the PDF already is."""
    info = QPrinterInfo.printerInfo(name)
    if info.isNull():
        raise InvalidInput(
            f"The label printer '{name}' is not on this workstation any more: choose another "
            f"printer in File ▸ Settings. The label is saved as PDF: {saved}"
        )
    return QPrinter(info, QPrinter.PrinterMode.HighResolution)


def label_page(size_in: tuple[float, float]) -> QPageLayout:
    """The label stock as one full page without margins: the PDF already holds its own."""
    width, height = size_in
    page = QPageSize(
        QSizeF(width, height),
        QPageSize.Unit.Inch,
        f"Label {width:g} x {height:g} in",
        QPageSize.SizeMatchPolicy.ExactMatch,
    )
    return QPageLayout(
        page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Inch
    )


def print_label(pdf: Path, printer: QPrinter, size_in: tuple[float, float]) -> int:
    """Paint every page of the label PDF onto ``printer``, one label a page; return the
    number of pages. Any QPrinter will do: a system printer, or a PDF writer in tests."""
    printer.setDocName(pdf.stem)  # what the print queue shows
    printer.setFullPage(True)
    if not printer.setPageLayout(label_page(size_in)):
        raise InvalidInput(
            f"The printer {printer.printerName()} does not take {size_in[0]:g} x "
            f"{size_in[1]:g} in labels: choose another size or printer in File ▸ Settings. "
            f"The label is saved as PDF: {pdf}"
        )
    painter = QPainter()
    if not painter.begin(printer):
        raise InvalidInput(
            f"The printer {printer.printerName()} could not be opened; check that it is on "
            f"and connected, then save the label again. The label is saved as PDF: {pdf}"
        )
    paper = QRectF(printer.paperRect(QPrinter.Unit.DevicePixel))
    pages = 0
    try:
        for image in page_images(pdf, min(printer.resolution(), MAX_PRINT_DPI)):
            if pages:
                printer.newPage()
            painter.drawImage(paper, image)
            pages += 1
    finally:
        painter.end()
    return pages


def page_images(pdf: Path, dpi: int) -> Iterator[QImage]:
    """Each page of the PDF as a grayscale picture at ``dpi``, rendered by PDFium.

    Grey, because the label is black on white and label printers print one colour. Paths
    are not smoothed, so the barcode's bars end on whole printer dots and stay sharp.
    """
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    document = pdfium.PdfDocument(str(pdf))
    try:
        for page in document:
            bitmap = page.render(scale=dpi / POINTS_PER_INCH, grayscale=True, no_smoothpath=True)
            image = QImage(
                bytes(bitmap.buffer),
                bitmap.width,
                bitmap.height,
                bitmap.stride,
                QImage.Format.Format_Grayscale8,
            )
            yield image.copy()  # the QImage above only borrows the rendered bytes
    finally:
        document.close()
