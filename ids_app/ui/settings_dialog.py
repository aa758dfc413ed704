"""Settings: database location, anchor folder, idle lock time, site name, label size and
printer; and the site signing certificate's fingerprint, for the site to give monitors."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinterInfo
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ids_app.audit.anchors import anchor_log_path, chosen_anchor_folder, default_anchor_folder
from ids_app.config import default_database_url, sqlite_url
from ids_app.db import Database, parse_database_url
from ids_app.errors import IdsError
from ids_app.signing.site import site_certificate
from ids_app.ui.forms import FormDialog, hint_label
from ids_app.ui.settings import LABEL_SIZES, AppSettings, printer_choices


class SettingsDialog(FormDialog):
    def __init__(self, db: Database, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(
            db,
            title="Settings — IDS Accountability",
            heading="Settings of this workstation",
            intro=f"Kept in {settings.path}.",
            accept_text="Save",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.database_field = QLineEdit(settings.database_url)
        self.database_field.setObjectName("databaseUrl")
        self.database_field.setPlaceholderText(default_database_url())
        browse = QPushButton("Browse…")
        browse.setObjectName("browseDatabase")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        database_row = QHBoxLayout()
        database_row.addWidget(self.database_field, 1)
        database_row.addWidget(browse)
        self.anchor_field = QLineEdit(settings.anchor_folder)
        self.anchor_field.setObjectName("anchorFolder")
        self.anchor_field.setPlaceholderText(f"Beside the database: {default_anchor_folder(db)}")
        browse_anchors = QPushButton("Browse…")
        browse_anchors.setObjectName("browseAnchorFolder")
        browse_anchors.setAutoDefault(False)
        browse_anchors.clicked.connect(self._browse_anchor_folder)
        anchor_row = QHBoxLayout()
        anchor_row.addWidget(self.anchor_field, 1)
        anchor_row.addWidget(browse_anchors)
        self.idle_field = QSpinBox()
        self.idle_field.setObjectName("idleMinutes")
        self.idle_field.setRange(0, 240)
        self.idle_field.setSuffix(" min")
        self.idle_field.setSpecialValueText("never")
        self.idle_field.setValue(settings.idle_minutes)
        self.site_field = QLineEdit(settings.site_name)
        self.site_field.setObjectName("siteName")
        self.site_field.setPlaceholderText("e.g. University Hospital IDS")
        self.phone_field = QLineEdit(settings.pharmacy_phone)
        self.phone_field.setObjectName("pharmacyPhone")
        self.phone_field.setPlaceholderText("printed on dispensing labels")
        self.label_size = QComboBox()
        self.label_size.setObjectName("labelSize")
        for size, text in LABEL_SIZES.items():
            self.label_size.addItem(text, size)
        self.label_size.setCurrentIndex(max(self.label_size.findData(settings.label_size), 0))
        self.printer = QComboBox()
        self.printer.setObjectName("labelPrinter")
        saved = settings.label_printer
        for text, name in printer_choices(saved, QPrinterInfo.availablePrinterNames()):
            self.printer.addItem(text, name)
        self.printer.setCurrentIndex(max(self.printer.findData(saved), 0))
        self.form.addRow("Database", database_row)
        self.form.addRow(
            "",
            hint_label(
                f"Now open: {db.description}. Kept for this workstation; to open another "
                "database today, start with ids-app --database URL."
            ),
        )
        self.form.addRow("Anchor log folder", anchor_row)
        self.form.addRow(
            "",
            hint_label(
                "Every export and each day's first use add the trail's head here; choose a "
                f"share this workstation may add to but not change. Now: {anchor_log_path(db)}."
            ),
        )
        self.form.addRow("Lock the window after", self.idle_field)
        self.form.addRow("Site (pharmacy) name", self.site_field)
        self.form.addRow("Pharmacy phone", self.phone_field)
        self.form.addRow("Label size", self.label_size)
        self.form.addRow("Label printer", self.printer)
        self.form.addRow("Site signing certificate", _certificate_label())
        self.database_field.setFocus()

    def _browse(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self,
            "Database file",
            self.database_field.text(),
            "SQLite database (*.sqlite *.db);;All files (*)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.database_field.setText(sqlite_url(Path(path)))

    def _browse_anchor_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self,
            "Anchor log folder",
            self.anchor_field.text() or str(default_anchor_folder(self.db)),
        )
        if folder:
            self.anchor_field.setText(str(Path(folder)))

    def accept(self) -> None:
        url = self.database_field.text().strip()
        if url:
            try:
                parse_database_url(url)
            except IdsError as error:
                self.show_error(str(error))
                self.database_field.setFocus()
                return
        try:
            anchor_folder = chosen_anchor_folder(self.anchor_field.text())
        except IdsError as error:
            self.show_error(str(error))
            self.anchor_field.setFocus()
            return
        self.settings.database_url = url
        self.settings.anchor_folder = anchor_folder
        self.settings.idle_minutes = self.idle_field.value()
        self.settings.site_name = self.site_field.text()
        self.settings.pharmacy_phone = self.phone_field.text()
        self.settings.label_size = str(self.label_size.currentData())
        self.settings.label_printer = str(self.printer.currentData())
        self.settings.sync()
        self.clear_error()
        super().accept()


def _certificate_label() -> QLabel:
    """The certificate files are signed with, by its SHA-256 fingerprint (selectable, so it
    can be copied to a monitor), or why there is none."""
    try:
        certificate = site_certificate()
    except IdsError as error:
        text = str(error)
    else:
        text = (
            "None on this workstation: binders, certificates and reports are exported "
            "unsigned. Make one with ids-app site-certificate create (or import)."
            if certificate is None
            else f"{certificate.signer_name}\nSHA-256 {certificate.fingerprint_text}"
        )
    label = hint_label(text)
    label.setObjectName("siteCertificate")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
