"""Receiving: the shipment's lines by scan or typing, or the depot's packing list imported;
the reconciliation (expected against received) is on screen before the receipt is recorded.

21 CFR 312.57: the receipt must be matchable against the sponsor's shipment record. What a
scan names is decided by ``scanning.identify_scan``; what may be received, and whether
stock goes to quarantine, by ``receiving.receive_shipment``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import Database, today
from ids_app.errors import IdsError
from ids_app.inventory.models import (
    DISPENSING_KINDS,
    LocationKind,
    ShipmentCondition,
    TemperatureMonitor,
)
from ids_app.inventory.packing_list import PackingListMapping, PackingListPreview, read_packing_list
from ids_app.inventory.receiving import (
    ExpectedLine,
    ReceivedLine,
    ReconciliationLine,
    ShipmentReceipt,
    arrives_expired,
    expired_on_arrival,
    receive_shipment,
    reconcile,
)
from ids_app.inventory.shipment_notices import announce_shipment, notice_row
from ids_app.inventory.views import (
    ScannedItem,
    ShipmentRow,
    location_choices,
    reconciliation_summary,
    shipment_rows,
)
from ids_app.storage.readings import read_logger_file
from ids_app.storage.transit import transit_log_files
from ids_app.studies.import_presets import (
    PresetMapping,
    PresetRow,
    fitting_preset,
    spelled_as_in,
)
from ids_app.studies.models import ImportKind, Product, Study
from ids_app.studies.tables import Table, TableUnreadable, guess_header, read_table
from ids_app.studies.views import Choice, ProductRow, StudyRow, product_rows
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import (
    FieldGrid,
    FormDialog,
    InlineMessage,
    hint_label,
    open_dialog,
    primary_button,
)
from ids_app.ui.guard import attempt
from ids_app.ui.kit_list_dialog import DATE_ORDERS, chosen_order
from ids_app.ui.late_entry_fields import LateEntryFields
from ids_app.ui.preset_dialog import (
    SAVED,
    ArchivePresetDialog,
    SavePresetDialog,
    add_presets,
    choose_order,
    chosen_preset,
    preset_data,
    preset_used,
    read_presets,
)
from ids_app.ui.scan import ScanPanel
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.ui.transit_log import TransitLogDialog
from ids_app.users.models import User
from ids_app.users.permissions import Action, may

NO_COLUMN = "(none)"


def qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


def date_field(name: str, day: dt.date) -> QDateEdit:
    field = QDateEdit(qdate(day))
    field.setObjectName(name)
    field.setCalendarPopup(True)
    field.setDisplayFormat("yyyy-MM-dd")
    return field


@dataclass(frozen=True)
class LineRow:
    line: ReceivedLine
    product: str


@dataclass(frozen=True)
class ReconRow:
    line: ReconciliationLine
    product: str

    @property
    def status(self) -> str | None:
        if self.line.missing:
            return "expired"
        if self.line.damaged:
            return "quarantined"
        if self.line.extra:
            return "expiring"
        return "ok"


class PackingListDialog(FormDialog):
    """Choose which column holds what; the preview lists every line that cannot be read.

    The sponsor's saved packing-list presets come first: the newest whose columns the
    file has maps it, and the result names it. The header row can be chosen when no
    row reads as one (a depot that writes neither "lot" nor "exp" in its header).
    """

    chosen = Signal(object)

    def __init__(
        self,
        ws: Workspace,
        study: StudyRow,
        products: list[ProductRow],
        table: Table,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ws.db,
            title=f"Packing list — {table.source}",
            heading="Read the depot's packing list",
            intro=(
                f"{table.source}: choose the product and which column holds what; the lines "
                "are checked against the kit list and the lots on record."
            ),
            accept_text="Use the readable lines",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("packingListDialog")
        self.ws = ws
        self.study = study
        self.study_id = study.id
        self.file_table = table  # as read, before the header row was found
        self.preview: PackingListPreview | None = None
        self.save_dialog: SavePresetDialog | None = None
        self.archive_dialog: ArchivePresetDialog | None = None
        try:
            self.saved_presets = read_presets(ws, study.id, ImportKind.PACKING_LIST)
        except IdsError as error:
            self.show_error(str(error))
            self.saved_presets = []
        self.product = QComboBox()
        self.product.setObjectName("packingProduct")
        fill_combo(self.product, [Choice(p.id, p.description) for p in products])
        self.preset = QComboBox()
        self.preset.setObjectName("packingPreset")
        self.preset.addItem("Guessed from the column names", "")
        add_presets(self.preset, self.saved_presets)
        self.save_preset_button = QPushButton("&Save as preset…")
        self.save_preset_button.setObjectName("savePackingPreset")
        self.save_preset_button.setAutoDefault(False)
        self.save_preset_button.clicked.connect(self.save_preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(self.save_preset_button)
        self.archive_preset_button = QPushButton("Archi&ve preset…")
        self.archive_preset_button.setObjectName("archivePackingPreset")
        self.archive_preset_button.setAutoDefault(False)
        self.archive_preset_button.clicked.connect(self.archive_preset)
        self.archive_preset_button.setVisible(may(ws.user.role, Action.ARCHIVE_IMPORT_PRESETS))
        preset_row.addWidget(self.archive_preset_button)
        self.header_row = QSpinBox()
        self.header_row.setObjectName("packingHeaderRow")
        self.header_row.setToolTip("The row of the file that holds the column names.")
        self.header_row.setRange(1, max(table.lines[-1][0] if table.lines else 1, 1))
        self.columns: dict[str, QComboBox] = {}
        for key in ("kit_number", "lot_number", "expiry", "quantity"):
            combo = QComboBox()
            combo.setObjectName(f"column_{key}")
            self.columns[key] = combo
        self.date_format = QLineEdit()
        self.date_format.setObjectName("dateFormat")
        self.date_format.setPlaceholderText("only for numeric dates, e.g. %d/%m/%Y")
        self.date_order = QComboBox()
        self.date_order.setObjectName("packingDateOrder")
        for text, order in DATE_ORDERS:
            self.date_order.addItem(text, order)
        self.result_label = QLabel()
        self.result_label.setObjectName("packingResult")
        self.result_label.setWordWrap(True)
        self.errors = QListWidget()
        self.errors.setObjectName("packingErrors")
        self.form.addRow("Product", self.product)
        mapping_label = QLabel("&Mapping")
        mapping_label.setBuddy(self.preset)  # a row of two widgets names its buddy itself
        self.form.addRow(mapping_label, preset_row)
        self.form.addRow("&Header row", self.header_row)
        for title, combo in zip(
            ("Kit number column", "Lot column", "Expiry column", "Quantity column"),
            self.columns.values(),
            strict=True,
        ):
            self.form.addRow(title, combo)
        self.form.addRow("Numeric dates", self.date_order)
        self.form.addRow("Date format", self.date_format)
        self.form.addRow(self.result_label)
        self.form.addRow(self.errors)
        self.table = table
        self._open_file()
        for combo in (self.product, self.date_order, *self.columns.values()):
            combo.currentIndexChanged.connect(lambda _i: self.read())
        self.preset.currentIndexChanged.connect(lambda _i: self.apply_preset())
        self.header_row.valueChanged.connect(self.choose_header_row)
        self.date_format.editingFinished.connect(self.read)
        self.read()

    def _open_file(self) -> None:
        """Map by the newest saved preset whose columns the file has; else take as the
        header the first row naming a lot and an expiry column (depot lists put a title
        above it), and guess the columns from their names."""
        saved = guess_header(
            self.file_table, lambda headers: fitting_preset(self.saved_presets, headers)
        )
        if saved is not None:
            self.preset.setCurrentIndex(max(self.preset.findData(preset_data(saved[1])), 0))
            self._use_table(saved[0])
            self._apply_saved(saved[1])
            return
        found = guess_header(self.file_table, packing_columns)
        self._use_table(found[0] if found else self.file_table)
        self._guess_columns()

    def _use_table(self, table: Table) -> None:
        self.table = table
        self.header_row.blockSignals(True)
        self.header_row.setValue(table.header_line)
        self.header_row.blockSignals(False)
        for combo in self.columns.values():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NO_COLUMN, None)
            for header in table.headers:
                combo.addItem(header, header)
            combo.blockSignals(False)

    def _choose_columns(self, wanted: dict[str, str | None]) -> None:
        for key, combo in self.columns.items():
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(wanted[key]), 0))
            combo.blockSignals(False)

    def _guess_columns(self) -> None:
        headers = self.table.headers
        self._choose_columns({key: guess_column(key, headers) for key in self.columns})

    def _apply_saved(self, preset: PresetRow) -> None:
        headers = self.table.headers
        self._choose_columns(
            {key: spelled_as_in(headers, preset.column(key)) for key in self.columns}
        )
        self.date_order.blockSignals(True)
        choose_order(self.date_order, preset.mapping.date_order)
        self.date_order.blockSignals(False)
        self.date_format.setText(preset.mapping.date_format or "")

    def apply_preset(self) -> None:
        """Map the file as the preset chosen does, its header row included."""
        preset = chosen_preset(self.preset, self.saved_presets)
        if preset is None:
            self._guess_columns()
        else:
            found = guess_header(self.file_table, lambda h: preset if preset.fits(h) else None)
            if found is not None and found[0].header_line != self.table.header_line:
                self._use_table(found[0])
            self._apply_saved(preset)
        self.read()

    def choose_header_row(self, row: int) -> None:
        """Read the file with its header on the row chosen (or the next row with text)."""
        if row == self.table.header_line:
            return
        self.clear_error()
        try:
            table = self.file_table.headed_at(row)
        except TableUnreadable as error:
            self.show_error(str(error))
            return
        self._use_table(table)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(0)
        self.preset.blockSignals(False)
        self._guess_columns()
        self.read()

    def preset_mapping(self) -> PresetMapping | None:
        mapping = self.mapping()
        if not (mapping.lot_number and mapping.expiry):
            return None
        optional = {"kit_number": mapping.kit_number, "quantity": mapping.quantity}
        columns = {"lot_number": mapping.lot_number, "expiry": mapping.expiry}
        columns.update({key: column for key, column in optional.items() if column})
        return PresetMapping(
            columns, self.table.header_line, mapping.date_order, mapping.date_format
        )

    def save_preset(self) -> SavePresetDialog | None:
        mapping = self.preset_mapping()
        if mapping is None:
            return None
        current = chosen_preset(self.preset, self.saved_presets)
        dialog = SavePresetDialog(
            self.ws,
            self.study,
            ImportKind.PACKING_LIST,
            mapping,
            current.name if current else "",
            parent=self,
        )
        dialog.saved.connect(self._preset_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.save_dialog = dialog
        open_dialog(dialog)
        return dialog

    def _preset_saved(self, preset_id: int) -> None:
        self._offer_presets(f"{SAVED}{preset_id}")
        self.read()

    def archive_preset(self) -> ArchivePresetDialog | None:
        """A pharmacist or administrator stops the chosen saved preset being offered."""
        preset = chosen_preset(self.preset, self.saved_presets)
        if preset is None:
            return None
        dialog = ArchivePresetDialog(self.ws, preset, parent=self)
        dialog.archived.connect(lambda _id: self._preset_archived())
        dialog.finished.connect(dialog.deleteLater)
        self.archive_dialog = dialog
        open_dialog(dialog)
        return dialog

    def _preset_archived(self) -> None:
        self._offer_presets("")
        self.apply_preset()

    def _offer_presets(self, chosen: str) -> None:
        """Read the sponsor's presets again and offer them, ``chosen`` selected."""
        try:
            self.saved_presets = read_presets(self.ws, self.study_id, ImportKind.PACKING_LIST)
        except IdsError as error:
            self.show_error(str(error))
            return
        self.preset.blockSignals(True)
        while self.preset.count() > 1:
            self.preset.removeItem(1)
        add_presets(self.preset, self.saved_presets)
        self.preset.setCurrentIndex(max(self.preset.findData(chosen), 0))
        self.preset.blockSignals(False)

    def mapping(self) -> PackingListMapping:
        def column(key: str) -> str | None:
            value = self.columns[key].currentData()
            return value if isinstance(value, str) else None

        return PackingListMapping(
            lot_number=column("lot_number") or "",
            expiry=column("expiry") or "",
            kit_number=column("kit_number"),
            quantity=column("quantity"),
            date_format=self.date_format.text().strip() or None,
            date_order=chosen_order(self.date_order),
        )

    def read(self) -> None:
        chosen = self.preset_mapping() is not None
        self.save_preset_button.setEnabled(chosen)
        saved = chosen_preset(self.preset, self.saved_presets)
        self.archive_preset_button.setEnabled(saved is not None)
        product_id = self.product.currentData()
        if product_id is None:
            return
        if not chosen:
            self.preview = None
            self.errors.clear()
            self.errors.setVisible(False)
            self.accept_button.setEnabled(False)
            self.result_label.setText(
                f"Header found on row {self.table.header_line}. Choose which columns hold "
                "the lot and the expiry."
            )
            return
        mapping = self.mapping()
        study_id, table = self.study_id, self.table

        def run() -> PackingListPreview:
            with self.db.read_session() as session:
                return read_packing_list(
                    session,
                    session.get_one(Study, study_id),
                    session.get_one(Product, product_id),
                    table,
                    mapping,
                )

        self.clear_error()
        preview = attempt(
            self, self.db, "reading the packing list", run, show_refusal=self.show_error
        )
        self.preview = preview
        self.errors.clear()
        if preview is None:
            return
        self.errors.addItems([str(error) for error in preview.errors])
        self.errors.setVisible(bool(preview.errors))
        self.result_label.setText(
            preset_used(chosen_preset(self.preset, self.saved_presets))
            + (f"Header found on row {preview.header_line}. " if preview.header_line else "")
            + f"{len(preview.expected)} lines read"
            + (f"; {len(preview.errors)} problems:" if preview.errors else ".")
        )
        self.accept_button.setEnabled(bool(preview.expected))
        self.accept_button.setText(
            f"Use {len(preview.expected)} lines"
            + (" (the lines with problems are left out)" if preview.errors else "")
        )

    def accept(self) -> None:
        if self.preview is None or not self.preview.expected:
            return
        self.chosen.emit(list(self.preview.expected))
        super().accept()


def guess_column(key: str, headers: list[str]) -> str | None:
    """A column whose name says what it holds (a convenience; the person can change it)."""
    words = {
        "kit_number": ("kit",),
        "lot_number": ("lot", "batch"),
        "expiry": ("exp",),
        "quantity": ("qty", "quantity", "count"),
    }[key]
    for header in headers:
        folded = header.casefold()
        if any(word in folded for word in words):
            return header
    return None


def packing_columns(headers: list[str]) -> tuple[str, str] | None:
    """The lot and expiry columns a row names in two cells, when it reads as a header."""
    lot, expiry = guess_column("lot_number", headers), guess_column("expiry", headers)
    return (lot, expiry) if lot and expiry and lot != expiry else None


class ShipmentNoticeDialog(FormDialog):
    recorded = Signal(str)

    def __init__(
        self, db: Database, user: User, study_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            db,
            title="Shipment notice",
            heading="A shipment on its way",
            intro="As the depot's notice gives it. The shipment waits on My work until a "
            "receipt with the same shipment number is recorded.",
            accept_text="Record notice",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("shipmentNoticeDialog")
        self.user, self.study_id = user, study_id
        self.number = QLineEdit()
        self.number.setObjectName("noticeNumber")
        self.sender_field = QLineEdit()
        self.sender_field.setObjectName("noticeSender")
        self.sender_field.setPlaceholderText("depot")
        self.expected_on = date_field("noticeExpectedOn", today())
        self.tracking = QLineEdit()
        self.tracking.setObjectName("noticeTracking")
        self.tracking.setPlaceholderText("courier's tracking number (optional)")
        self.form.addRow("Shipment &number", self.number)
        self.form.addRow("&Sender", self.sender_field)
        self.form.addRow("&Expected on", self.expected_on)
        self.form.addRow("&Tracking", self.tracking)
        self.number.setFocus()

    def accept(self) -> None:
        self.clear_error()
        number, sender = self.number.text(), self.sender_field.text()
        expected_on, tracking = pydate(self.expected_on.date()), self.tracking.text()

        def record() -> str:
            with self.db.unit_of_work() as session:
                notice = announce_shipment(
                    session,
                    self.user,
                    session.get_one(Study, self.study_id),
                    shipment_number=number,
                    sender=sender,
                    expected_on=expected_on,
                    today=today(),
                    tracking_number=tracking or None,
                )
                return (
                    f"Shipment {notice.shipment_number} from {notice.sender} is expected on "
                    f"{notice.expected_on:%Y-%m-%d}."
                )

        message = attempt(
            self, self.db, "recording the shipment notice", record, show_refusal=self.show_error
        )
        if message is None:
            return
        self.recorded.emit(message)
        super().accept()


class ReceivingTab(StudyTab):
    key = "receiving"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.products: list[ProductRow] = []
        self.expected: list[ExpectedLine] = []
        self.packing_dialog: PackingListDialog | None = None
        editable = ws.can("receive")

        # the shipment ---------------------------------------------------------------------------
        self.number = QLineEdit()
        self.number.setObjectName("shipmentNumber")
        self.sender_field = QLineEdit()
        self.sender_field.setObjectName("shipmentSender")
        self.sender_field.setPlaceholderText("depot")
        self.carrier = QLineEdit()
        self.carrier.setObjectName("shipmentCarrier")
        self.tracking = QLineEdit()
        self.tracking.setObjectName("shipmentTracking")
        self.received_on = date_field("receivedOn", today())
        self.location = QComboBox()
        self.location.setObjectName("receiveLocation")
        self.condition = QComboBox()
        self.condition.setObjectName("shipmentCondition")
        for condition in ShipmentCondition:
            self.condition.addItem(condition.value, condition)
        self.temperature = QComboBox()
        self.temperature.setObjectName("temperatureMonitor")
        for monitor in TemperatureMonitor:
            self.temperature.addItem(monitor.value, monitor)
        self.notes = QLineEdit()
        self.notes.setObjectName("shipmentNotes")
        self.late = LateEntryFields("received")
        header = QGroupBox("Shipment")
        header.setObjectName("shipmentBox")
        self.header_fields = FieldGrid(
            (
                ("Shipment &number", self.number),
                ("&Sender", self.sender_field),
                ("&Carrier", self.carrier),
                ("&Tracking", self.tracking),
                ("&Received on", self.received_on),
                ("Put &away at", self.location),
                ("C&ondition", self.condition),
                ("T&emperature monitor", self.temperature),
                ("Not&es", self.notes),
                ("Time rece&ived", self.late.time),
                ("Late-entry reason", self.late.reason),
            )
        )
        self.notice_button = QPushButton("Shipment notice…")
        self.notice_button.setObjectName("shipmentNoticeButton")
        self.notice_button.setToolTip("Record a shipment the depot has announced")
        self.notice_button.clicked.connect(self.record_notice)
        header_layout = QVBoxLayout(header)
        header_layout.addWidget(self.header_fields)
        header_layout.addWidget(self.notice_button, 0, Qt.AlignmentFlag.AlignRight)
        header_layout.addWidget(self.watch_typed(self.notes))

        # the lines ------------------------------------------------------------------------------
        self.scan = ScanPanel(ws.db)
        self.scan.identified.connect(self._scanned)
        self.product = QComboBox()
        self.product.setObjectName("lineProduct")
        self.lot = QLineEdit()
        self.lot.setObjectName("lineLot")
        self.expiry = date_field("lineExpiry", today())
        self.quantity = QSpinBox()
        self.quantity.setObjectName("lineQuantity")
        self.quantity.setRange(1, 1_000_000)
        self.kit = QLineEdit()
        self.kit.setObjectName("lineKit")
        self.damaged = QCheckBox("&Damaged")
        self.damaged.setObjectName("lineDamaged")
        self.add_button = QPushButton("&Add line")
        self.add_button.setObjectName("addLineButton")
        self.add_button.clicked.connect(self.add_typed_line)
        self.remove_button = QPushButton("Remove line")
        self.remove_button.setObjectName("removeLineButton")
        self.remove_button.clicked.connect(self.remove_line)
        self.lines: RowsModel[LineRow] = RowsModel(
            [
                Column("Kit", lambda r: r.line.kit_number),
                Column("Lot", lambda r: r.line.lot_number),
                Column("Expiry", lambda r: r.line.expiry),
                Column("Quantity", lambda r: r.line.quantity, numeric=True),
                Column("Damaged", lambda r: "damaged" if r.line.damaged else ""),
                Column("Product", lambda r: r.product),
            ],
            status=self._line_status,
            parent=self,
        )
        self.lines_view = table_view(self.lines, name="receivedLines")
        self.lines_view.setMinimumHeight(80)
        self.line_message = InlineMessage("lineMessage")
        typed = QGridLayout()
        typed.setHorizontalSpacing(8)
        for index, (title, field) in enumerate(
            (
                ("Pro&duct", self.product),
                ("&Lot", self.lot),
                ("E&xpiry", self.expiry),
                ("&Quantity", self.quantity),
                ("&Kit", self.kit),
            )
        ):
            caption = QLabel(title)
            caption.setBuddy(field)
            row, column_at = (0, 0) if index == 0 else divmod(index + 1, 2)
            if index == 0:
                typed.addWidget(caption, 0, 0)
                typed.addWidget(field, 0, 1, 1, 3)
                continue
            typed.addWidget(caption, row, column_at * 2)
            typed.addWidget(field, row, column_at * 2 + 1)
        typed.addWidget(self.damaged, 3, 0, 1, 2)
        typed.addWidget(self.add_button, 3, 3, Qt.AlignmentFlag.AlignRight)
        typed.setColumnStretch(1, 1)
        typed.setColumnStretch(3, 1)
        lines_box = QGroupBox("What arrived")
        lines_box.setObjectName("linesBox")
        lines_layout = QVBoxLayout(lines_box)
        lines_layout.addWidget(self.scan)
        lines_layout.addWidget(
            hint_label("Or type a line (a new lot, or a label that will not scan):")
        )
        lines_layout.addLayout(typed)
        lines_layout.addWidget(self.line_message)
        lines_layout.addWidget(self.lines_view)
        lines_layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignLeft)

        # the packing list and reconciliation ------------------------------------------------------
        self.import_button = QPushButton("&Import packing list…")
        self.import_button.setObjectName("importPackingList")
        self.import_button.clicked.connect(self.choose_packing_list)
        self.clear_list_button = QPushButton("Clear packing list")
        self.clear_list_button.setObjectName("clearPackingList")
        self.clear_list_button.clicked.connect(self.clear_packing_list)
        self.packing_label = QLabel("No packing list: the receipt is recorded as counted.")
        self.packing_label.setObjectName("packingLabel")
        self.recon: RowsModel[ReconRow] = RowsModel(
            [
                Column("Kit", lambda r: r.line.kit_number),
                Column("Lot", lambda r: r.line.lot_number),
                Column("Expected", lambda r: r.line.expected, numeric=True),
                Column("Received", lambda r: r.line.received, numeric=True),
                Column("Missing", lambda r: r.line.missing or "", numeric=True),
                Column("Extra", lambda r: r.line.extra or "", numeric=True),
                Column("Damaged", lambda r: r.line.damaged or "", numeric=True),
                Column("Product", lambda r: r.product),
            ],
            status=lambda r: r.status,
            parent=self,
        )
        self.recon_view = table_view(self.recon, name="reconciliationTable")
        self.recon_view.setMinimumHeight(80)
        self.recon_summary = QLabel()
        self.recon_summary.setObjectName("reconciliationSummary")
        self.recon_summary.setWordWrap(True)
        recon_box = QGroupBox("Reconciliation with the packing list")
        recon_box.setObjectName("reconciliationBox")
        recon_layout = QVBoxLayout(recon_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.clear_list_button)
        buttons.addStretch(1)
        recon_layout.addLayout(buttons)
        recon_layout.addWidget(self.packing_label)
        recon_layout.addWidget(self.recon_view)
        recon_layout.addWidget(self.recon_summary)

        self.receive_button = primary_button("Receive shipment", name="receiveButton")
        self.receive_button.setToolTip("Ctrl+Enter")
        self.receive_button.clicked.connect(self.receive)
        self.message = InlineMessage("receiveMessage")
        self.expired_warning = InlineMessage("expiredWarning")
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self)
        shortcut.activated.connect(self.receive)

        self.history: RowsModel[ShipmentRow] = RowsModel(
            [
                Column("Shipment", lambda r: r.number),
                Column("Received", lambda r: r.received_on),
                Column("Sender", lambda r: r.sender),
                Column("Carrier", lambda r: r.carrier),
                Column("Condition", lambda r: r.condition),
                Column("Temperature", lambda r: r.temperature),
                Column("Put away at", lambda r: r.location),
                Column("By", lambda r: r.received_by),
                Column("Packing list", lambda r: r.reconciliation),
                Column("Transit logger", lambda r: self.transit_files.get(r.shipment_id, "—")),
            ],
            parent=self,
        )
        self.transit_files: dict[int, str] = {}
        self.transit_dialog: TransitLogDialog | None = None
        self.history_view = table_view(self.history, name="shipmentsTable")
        self.history_view.setMinimumHeight(60)
        self.transit_button = QPushButton("Attach transit &logger file…")
        self.transit_button.setObjectName("attachTransitLog")
        self.transit_button.setToolTip(
            "The logger that travelled in the shipper: its readings are judged against each "
            "product's range, and an excursion holds the stock it exposed."
        )
        self.transit_button.setEnabled(False)
        self.transit_button.setVisible(ws.can("attach_transit_log"))
        self.transit_button.clicked.connect(self.choose_transit_log)
        self.history_view.selectionModel().selectionChanged.connect(
            lambda *_: self.transit_button.setEnabled(self._chosen_shipment() is not None)
        )
        self.transit_message = InlineMessage("transitMessage")
        history_box = QGroupBox("Shipments received")
        history_layout = QVBoxLayout(history_box)
        history_layout.addWidget(self.history_view)
        history_actions = QHBoxLayout()
        history_actions.addWidget(self.transit_button)
        history_actions.addWidget(self.transit_message, 1)
        history_actions.addStretch(1)
        history_layout.addLayout(history_actions)

        work = QSplitter(Qt.Orientation.Horizontal)
        work.setChildrenCollapsible(False)
        work.addWidget(lines_box)
        work.addWidget(recon_box)
        bottom = QHBoxLayout()
        bottom.addWidget(self.expired_warning, 1)
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.receive_button, 0, Qt.AlignmentFlag.AlignRight)
        upper = QWidget()
        column = QVBoxLayout(upper)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(header)
        column.addWidget(work, 1)
        column.addLayout(bottom)
        # Owned by the tab either way; absent from view for a role that cannot receive.
        upper.setVisible(editable)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(history_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        if not editable:
            layout.addWidget(hint_label("Shipments are received by technicians and pharmacists."))
        layout.addWidget(split)
        self.editable = editable
        self.received_on.dateChanged.connect(lambda _day: self._update_reconciliation())
        self.received_on.dateChanged.connect(lambda day: self.late.set_day(pydate(day)))
        self._update_reconciliation()

    # reading ----------------------------------------------------------------------------------

    def study_changed(self) -> None:
        self.clear_form()

    def reload(self) -> None:
        assert self.study is not None
        study_id = self.study.id
        kinds = [*DISPENSING_KINDS, LocationKind.QUARANTINE]

        def read(
            session: Session,
        ) -> tuple[list[ProductRow], list[Choice], list[ShipmentRow], dict[int, str]]:
            return (
                product_rows(session, study_id),
                location_choices(session, kinds),
                shipment_rows(session, study_id),
                transit_log_files(session, study_id),
            )

        found = self.ws.read(self, "reading the shipments", read)
        if found is None:
            return
        self.products, locations, shipments, self.transit_files = found
        fill_combo(
            self.product,
            [Choice(p.id, p.description) for p in self.products],
            keep=self.product.currentData(),
        )
        fill_combo(self.location, locations, keep=self.location.currentData())
        self.scan.set_study(study_id)
        self.history.set_rows(shipments)
        fit_columns(self.history_view)

    def _product_name(self, product_id: int) -> str:
        return next((p.description for p in self.products if p.id == product_id), "?")

    # lines -------------------------------------------------------------------------------------

    def _scanned(self, item: ScannedItem) -> None:
        if item.kit_number is not None:
            if any(row.line.kit_number == item.kit_number for row in self.lines.rows):
                self.scan.refuse(f"Kit {item.kit_number} is already on this receipt.")
                return
            assert item.lot_number is not None
            assert item.expiry is not None
            self._add(
                ReceivedLine(
                    product_id=item.product_id,
                    lot_number=item.lot_number,
                    expiry=item.expiry,
                    quantity=1,
                    kit_number=item.kit_number,
                    damaged=self.damaged.isChecked(),
                )
            )
            return
        # A lot (bulk product): fill the typed line, the count is typed.
        index = self.product.findData(item.product_id)
        if index >= 0:
            self.product.setCurrentIndex(index)
        self.lot.setText(item.lot_number or "")
        if item.expiry is not None:
            self.expiry.setDate(qdate(item.expiry))
        self.kit.clear()
        self.quantity.setFocus()
        self.quantity.selectAll()

    def add_typed_line(self) -> None:
        product_id = self.product.currentData()
        if product_id is None:
            self.line_message.show_error("This study has no product to receive.")
            return
        self._add(
            ReceivedLine(
                product_id=product_id,
                lot_number=self.lot.text().strip(),
                expiry=pydate(self.expiry.date()),
                quantity=self.quantity.value(),
                kit_number=self.kit.text().strip() or None,
                damaged=self.damaged.isChecked(),
            )
        )
        self.kit.clear()
        self.lot.setFocus()

    def _add(self, line: ReceivedLine) -> None:
        self.lines.set_rows([*self.lines.rows, LineRow(line, self._product_name(line.product_id))])
        fit_columns(self.lines_view)
        self.line_message.clear_message()
        self._update_reconciliation()

    def remove_line(self) -> None:
        row = selected_row(self.lines_view)
        if row is None:
            self.line_message.show_error("Choose the line to remove.")
            return
        rows = self.lines.rows
        rows.remove(row)
        self.lines.set_rows(rows)
        self._update_reconciliation()

    # packing list --------------------------------------------------------------------------

    def choose_packing_list(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Packing list", "", "Packing lists (*.csv *.txt *.tsv *.xlsx *.xlsm)"
        )
        if path:
            self.import_packing_list(Path(path))

    def import_packing_list(self, path: Path) -> PackingListDialog | None:
        """Read the file and open the column mapping with its preview."""
        if self.study is None:
            return None
        table = attempt(
            self,
            self.ws.db,
            "reading the packing list",
            lambda: read_table(path),
            show_refusal=self.message.show_error,
        )
        if table is None:
            return None
        dialog = PackingListDialog(self.ws, self.study, self.products, table, parent=self)
        dialog.chosen.connect(self.set_packing_list)
        self.packing_dialog = dialog
        open_dialog(dialog)
        return dialog

    def _chosen_shipment(self) -> ShipmentRow | None:
        row = selected_row(self.history_view)
        return row if isinstance(row, ShipmentRow) else None

    def choose_transit_log(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Transit logger file", "", "Logger exports (*.csv *.txt *.xlsx);;All files (*)"
        )
        if path:
            self.open_transit_log(Path(path))

    def open_transit_log(self, path: Path) -> TransitLogDialog | None:
        """Read the chosen shipment's logger file and open its mapping with the preview."""
        shipment = self._chosen_shipment()
        if self.study is None or shipment is None:
            return None
        self.transit_message.clear_message()
        export = attempt(
            self,
            self.ws.db,
            "reading the logger file",
            lambda: read_logger_file(path),
            show_refusal=self.transit_message.show_error,
        )
        if export is None:
            return None
        dialog = TransitLogDialog(
            self.ws, self.study, shipment.shipment_id, shipment.number, export, parent=self
        )
        dialog.attached.connect(self._transit_attached)
        self.transit_dialog = dialog
        open_dialog(dialog)
        return dialog

    def _transit_attached(self, said: str) -> None:
        self.ws.changed(said)
        self.transit_message.show_success(said)

    def set_packing_list(self, expected: list[ExpectedLine]) -> None:
        self.expected = list(expected)
        units = sum(line.quantity for line in self.expected)
        self.packing_label.setText(
            f"Packing list: {len(self.expected)} lines, {units} units expected."
        )
        self._update_reconciliation()

    def clear_packing_list(self) -> None:
        self.expected = []
        self.packing_label.setText("No packing list: the receipt is recorded as counted.")
        self._update_reconciliation()

    def _line_status(self, row: LineRow) -> str | None:
        if row.line.damaged:
            return "quarantined"
        return "expired" if arrives_expired(row.line, pydate(self.received_on.date())) else None

    def _warn_expired(self) -> None:
        """Say before receiving that expired stock goes to quarantine, not to the shelf."""
        arrived = pydate(self.received_on.date())
        expired = [row.line for row in self.lines.rows if arrives_expired(row.line, arrived)]
        if not expired:
            self.expired_warning.clear_message()
            return
        lots = sorted({f"{line.lot_number} (expired {line.expiry:%Y-%m-%d})" for line in expired})
        self.expired_warning.show_error(
            f"Lot {', '.join(lots)} is past its expiry: it will be received into quarantine "
            "under an expiry hold, not as available stock."
        )

    def _update_reconciliation(self) -> None:
        self._warn_expired()
        received = [row.line for row in self.lines.rows]
        result = reconcile(self.expected, received)
        self.recon.set_rows(
            [ReconRow(line, self._product_name(line.product_id)) for line in result.lines]
        )
        fit_columns(self.recon_view)
        if not self.expected:
            counted = sum(line.quantity for line in received)
            text = f"{counted} units counted; no packing list to match."
        elif result.matches:
            text = "Everything on the packing list arrived, nothing more, nothing damaged."
        else:
            text = (
                "Does not match the packing list: "
                + reconciliation_summary(
                    sum(line.missing for line in result.lines),
                    sum(line.extra for line in result.lines),
                    sum(line.damaged for line in result.lines),
                )
                + ". Check before receiving; the differences are kept with the receipt."
            )
        self.recon_summary.setText(text)

    # recording --------------------------------------------------------------------------------

    def receipt(self) -> ShipmentReceipt:
        return ShipmentReceipt(
            shipment_number=self.number.text(),
            sender=self.sender_field.text(),
            carrier=self.carrier.text(),
            tracking_number=self.tracking.text() or None,
            received_on=pydate(self.received_on.date()),
            location_id=self.location.currentData() or 0,
            lines=tuple(row.line for row in self.lines.rows),
            packing_list=tuple(self.expected),
            condition=ShipmentCondition(self.condition.currentData()),
            temperature_monitor=TemperatureMonitor(self.temperature.currentData()),
            notes=self.notes.text().strip() or None,
            received_at=self.late.event_time(pydate(self.received_on.date())),
        )

    def receive(self) -> None:
        if self.study is None or not self.editable:
            return
        receipt = self.receipt()
        user, study_id = self.ws.user, self.study.id

        def record() -> str:
            with self.ws.db.unit_of_work() as session:
                shipment = receive_shipment(
                    session, user, session.get_one(Study, study_id), receipt
                )
                return shipment.shipment_number

        self.message.clear_message()
        number = attempt(
            self, self.ws.db, "receiving the shipment", record, show_refusal=self.message.show_error
        )
        if number is None:
            return
        held = (
            receipt.temperature_monitor is TemperatureMonitor.EXCURSION
            or receipt.condition is ShipmentCondition.DAMAGED
            or any(line.damaged for line in receipt.lines)
        )
        expired = bool(expired_on_arrival(receipt))
        lines = len(receipt.lines)
        text = f"Shipment {number} received: {lines} line{'' if lines == 1 else 's'}."
        if held:
            text += " Stock with an excursion or damage is in quarantine until the sponsor decides."
        if expired:
            text += " Expired stock is in quarantine, not dispensable."
        self.clear_form()
        self.ws.changed(text)
        self.message.show_success(text)

    def clear_form(self) -> None:
        for field in (
            self.number,
            self.sender_field,
            self.carrier,
            self.tracking,
            self.notes,
            self.lot,
            self.kit,
        ):
            field.clear()
        self.received_on.setDate(qdate(today()))
        self.late.clear()
        self.condition.setCurrentIndex(0)
        self.temperature.setCurrentIndex(0)
        self.damaged.setChecked(False)
        self.lines.set_rows([])
        self.expected = []
        self.packing_label.setText("No packing list: the receipt is recorded as counted.")
        self.line_message.clear_message()
        self._update_reconciliation()

    def record_notice(self) -> ShipmentNoticeDialog | None:
        if self.study is None:
            return None
        dialog = ShipmentNoticeDialog(self.ws.db, self.ws.user, self.study.id, parent=self)
        dialog.recorded.connect(self._notice_recorded)
        dialog.finished.connect(dialog.deleteLater)
        self.notice_dialog: ShipmentNoticeDialog | None = dialog
        open_dialog(dialog)
        return dialog

    def _notice_recorded(self, message: str) -> None:
        self.message.show_success(message)
        self.ws.changed(message)

    def select_work(self, record: str, record_id: int) -> None:
        """A shipment expected on My work: its notice fills the header, ready to scan."""
        if record != "expected_shipment":
            return
        found = self.ws.read(
            self, "reading the shipment notice", lambda s: notice_row(s, record_id)
        )
        if found is None:
            return
        self.number.setText(found.shipment_number)
        self.sender_field.setText(found.sender)
        self.tracking.setText(found.tracking_number or "")
        self.focus_scan()

    def focus_scan(self) -> bool:
        if not self.editable:
            return False
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
