"""Attach the logger that travelled with a shipment: its file mapped, previewed, recorded.

The sponsor's depot packs the same logger brand in every shipper, so the mapping chosen
for one file is saved as the sponsor's preset (``studies.import_presets``, kind "logger
file") and offered first for the next. What the file shows is judged against each received
product's range by ``storage.transit``; an excursion holds the stock it exposed.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from ids_app.errors import IdsError
from ids_app.inventory.models import Shipment
from ids_app.storage.models import TemperatureUnit
from ids_app.storage.readings import (
    LOGGER_LAYOUTS,
    LoggerExport,
    LoggerMapping,
    LogPreview,
    guess_logger_mapping,
    preview_logger_file,
)
from ids_app.storage.transit import attach_transit_log
from ids_app.studies.import_presets import (
    PresetMapping,
    PresetRow,
    fitting_preset,
    spelled_as_in,
)
from ids_app.studies.models import ImportKind
from ids_app.studies.tables import guess_header
from ids_app.studies.views import StudyRow
from ids_app.ui.context import Workspace
from ids_app.ui.forms import FormDialog
from ids_app.ui.guard import attempt
from ids_app.ui.preset_dialog import (
    SAVED,
    ArchivePresetDialog,
    SavePresetDialog,
    add_presets,
    chosen_preset,
    preset_data,
    preset_used,
    read_presets,
)
from ids_app.ui.reading_correction import UNITS
from ids_app.ui.temperature_tab import workstation_zone
from ids_app.wording import local_time

GUESSED = ""  # the mapping list's data for the layout guessed from the file
BUILT_IN = "layout:"  # before a built-in logger layout's name


class TransitLogDialog(FormDialog):
    """One shipment's logger file: choose its columns, preview, attach."""

    attached = Signal(str)  # what was recorded, in words

    def __init__(
        self,
        ws: Workspace,
        study: StudyRow,
        shipment_id: int,
        shipment_number: str,
        export: LoggerExport,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ws.db,
            title=f"Transit logger — shipment {shipment_number}",
            heading=f"Attach the logger that travelled with shipment {shipment_number}",
            intro=(
                "The file is kept whole. Its readings are judged against each received "
                "product's storage range; an excursion found puts the stock it exposed on "
                "hold until a pharmacist records the sponsor's decision."
            ),
            accept_text="Attach logger file",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("transitLogDialog")
        self.ws, self.study, self.export = ws, study, export
        self.shipment_id = shipment_id
        self.preview: LogPreview | None = None
        self.saved_presets: list[PresetRow] = []
        found = guess_header(export.table, guess_logger_mapping)
        self.guessed = found[1] if found else None
        self.preset = QComboBox()
        self.preset.setObjectName("transitPreset")
        self.save_preset_button = QPushButton("&Save as preset…")
        self.save_preset_button.setObjectName("saveTransitPreset")
        self.save_preset_button.setAutoDefault(False)
        self.save_preset_button.clicked.connect(self.save_preset)
        self.archive_preset_button = QPushButton("Archi&ve preset…")
        self.archive_preset_button.setObjectName("archiveTransitPreset")
        self.archive_preset_button.setAutoDefault(False)
        self.archive_preset_button.clicked.connect(self.archive_preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(self.save_preset_button)
        preset_row.addWidget(self.archive_preset_button)
        self.time_column = QLineEdit()
        self.time_column.setObjectName("transitTimeColumn")
        self.temperature_column = QLineEdit()
        self.temperature_column.setObjectName("transitTemperatureColumn")
        self.date_column = QLineEdit()
        self.date_column.setObjectName("transitDateColumn")
        self.date_column.setPlaceholderText("only if the date is in its own column")
        self.device_column = QLineEdit()
        self.device_column.setObjectName("transitDeviceColumn")
        self.device_column.setPlaceholderText("the column with the logger's serial, if any")
        self.unit = QComboBox()
        self.unit.setObjectName("transitUnit")
        self.unit.addItem("As the column name says", "")
        for title, unit in UNITS:
            self.unit.addItem(title, unit.value)
        self.time_zone = QLineEdit(workstation_zone())
        self.time_zone.setObjectName("transitTimeZone")
        self.time_format = QLineEdit()
        self.time_format.setObjectName("transitTimeFormat")
        self.time_format.setPlaceholderText("e.g. %d/%m/%Y %H:%M when not ISO 8601")
        self.device = QLineEdit()
        self.device.setObjectName("transitDevice")
        self.device.setPlaceholderText("the logger's serial number, if the file lacks it")
        self.preview_button = QPushButton("&Preview")
        self.preview_button.setObjectName("transitPreview")
        self.preview_button.setAutoDefault(False)
        self.preview_button.clicked.connect(self.read)
        self.result_label = QLabel()
        self.result_label.setObjectName("transitPreviewText")
        self.result_label.setWordWrap(True)
        self.form.addRow("File", QLabel(export.file_name))
        self.form.addRow("Mapping", preset_row)
        self.form.addRow("&Time column", self.time_column)
        self.form.addRow("Te&mperature column", self.temperature_column)
        self.form.addRow("&Date column", self.date_column)
        self.form.addRow("Seria&l column", self.device_column)
        self.form.addRow("&Unit", self.unit)
        self.form.addRow("Time &zone", self.time_zone)
        self.form.addRow("Time &format", self.time_format)
        self.form.addRow("Logger &serial", self.device)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview_button)
        preview_row.addStretch(1)
        self.form.addRow("", preview_row)
        self.form.addRow(self.result_label)
        self.setMinimumWidth(640)
        for field in (
            self.time_column,
            self.temperature_column,
            self.date_column,
            self.device_column,
            self.time_zone,
            self.time_format,
            self.device,
        ):
            field.textEdited.connect(lambda _text: self._edited())
        self.unit.currentIndexChanged.connect(lambda _index: self._edited())
        self._offer_presets(GUESSED)
        # The sponsor's preset whose columns a row near the top names (below device lines).
        fitting = guess_header(
            export.table, lambda names: fitting_preset(self.saved_presets, names)
        )
        if fitting is not None:
            self.preset.setCurrentIndex(self.preset.findData(preset_data(fitting[1])))
        self.apply_preset()
        self.preset.currentIndexChanged.connect(lambda _index: self.apply_preset())

    # the mapping ------------------------------------------------------------------------------

    def _offer_presets(self, chosen: str) -> None:
        """The sponsor's saved presets first, then the guess and the built-in layouts."""
        try:
            self.saved_presets = read_presets(self.ws, self.study.id, ImportKind.LOGGER_FILE)
        except IdsError as error:
            self.show_error(str(error))
            self.saved_presets = []
        self.preset.blockSignals(True)
        self.preset.clear()
        add_presets(self.preset, self.saved_presets)
        self.preset.addItem("As guessed from the file", GUESSED)
        for layout in LOGGER_LAYOUTS:
            self.preset.addItem(layout.layout, BUILT_IN + layout.layout)
        self.preset.setCurrentIndex(max(self.preset.findData(chosen), 0))
        self.preset.blockSignals(False)
        self.archive_preset_button.setEnabled(bool(self.saved_presets))

    def apply_preset(self) -> None:
        """Fill the columns as the mapping chosen reads the file, then preview."""
        saved = chosen_preset(self.preset, self.saved_presets)
        data = str(self.preset.currentData() or "")
        if saved is not None:
            self._fill(self._from_preset(saved))
        elif data.startswith(BUILT_IN):
            name = data.removeprefix(BUILT_IN)
            self._fill(next(layout for layout in LOGGER_LAYOUTS if layout.layout == name))
        else:
            self._fill(self.guessed)
        self.read()

    def _from_preset(self, preset: PresetRow) -> LoggerMapping:
        """The preset's mapping, its columns spelled as this file spells them (a preset
        fits a header whatever its case and spacing)."""
        found = guess_header(
            self.export.table, lambda names: preset if preset.fits(names) else None
        )
        headers = found[0].headers if found else []

        def column(field: str) -> str | None:
            saved = preset.column(field)
            return spelled_as_in(headers, saved) or saved

        return LoggerMapping(
            time=column("time") or "",
            temperature=column("temperature") or "",
            date=column("date"),
            device_id=column("device_id"),
            time_format=preset.mapping.date_format,
            layout=f"{preset.sponsor}'s preset '{preset.name}'",
        )

    def _fill(self, mapping: LoggerMapping | None) -> None:
        self.time_column.setText(mapping.time if mapping else "")
        self.temperature_column.setText(mapping.temperature if mapping else "")
        self.date_column.setText((mapping.date or "") if mapping else "")
        self.device_column.setText((mapping.device_id or "") if mapping else "")
        unit = mapping.unit.value if mapping and mapping.unit else ""
        self.unit.setCurrentIndex(max(self.unit.findData(unit), 0))
        self.time_format.setText((mapping.time_format or "") if mapping else "")

    def _edited(self) -> None:
        """What was previewed is no longer what would be attached: preview again first."""
        self.preview = None
        self.accept_button.setEnabled(False)
        self.result_label.setText("Changed since the preview: press Preview to check the file.")

    def mapping(self) -> LoggerMapping:
        unit = self.unit.currentData()
        mapping = LoggerMapping(
            time=self.time_column.text().strip(),
            temperature=self.temperature_column.text().strip(),
            unit=TemperatureUnit(unit) if unit else None,
            time_zone=self.time_zone.text().strip() or None,
            time_format=self.time_format.text().strip() or None,
            date=self.date_column.text().strip() or None,
            device_id=self.device_column.text().strip() or None,
        )
        saved = chosen_preset(self.preset, self.saved_presets)
        # The file's record names the preset only when its columns were used as saved.
        if saved is None:
            return mapping
        as_saved = self._from_preset(saved)
        if self._same_columns(mapping, as_saved):
            return replace(mapping, layout=as_saved.layout)
        return mapping

    @staticmethod
    def _same_columns(first: LoggerMapping, second: LoggerMapping) -> bool:
        def columns(mapping: LoggerMapping) -> tuple[str | None, ...]:
            return (mapping.time, mapping.temperature, mapping.date, mapping.device_id)

        return columns(first) == columns(second) and first.time_format == second.time_format

    # preview and attach -----------------------------------------------------------------------

    def read(self) -> None:
        """Preview what attaching would record; attaching waits for a clean preview."""
        self.clear_error()
        self.preview = None
        self.accept_button.setEnabled(False)
        export, mapping, device = self.export, self.mapping(), self._device()

        def run() -> LogPreview:
            with self.db.read_session() as session:
                shipment = session.get_one(Shipment, self.shipment_id)
                return preview_logger_file(
                    session, export, mapping, shipment=shipment, device_id=device
                )

        found = attempt(
            self, self.db, "previewing the logger file", run, show_refusal=self.show_error
        )
        if found is None:
            self.result_label.setText("")
            return
        self.preview = found
        saved = chosen_preset(self.preset, self.saved_presets)
        self.result_label.setText(preset_used(saved) + self._said(found))
        self._fit_height()
        if found.ok and found.readings:
            self.accept_button.setEnabled(True)

    @staticmethod
    def _said(preview: LogPreview) -> str:
        lines = []
        if preview.header_line:
            lines.append(f"Header found on row {preview.header_line}.")
        if preview.duplicate_of is not None:
            lines.append(
                f"This file was already recorded as {preview.duplicate_of.file_name}; "
                "a file is recorded once."
            )
        lines.extend(str(error) for error in preview.errors[:5])
        if len(preview.errors) > 5:
            lines.append(f"… and {len(preview.errors) - 5} more lines that stop it.")
        if preview.readings and preview.first and preview.last:
            lines.append(
                f"{len(preview.readings)} readings from {local_time(preview.first)} to "
                f"{local_time(preview.last)}, logger {preview.device_id or '(no serial)'}."
            )
        return " ".join(lines)

    def _device(self) -> str | None:
        return self.device.text().strip() or None

    def accept(self) -> None:
        self.clear_error()
        if self.preview is None or not self.preview.ok:
            self.show_error("Preview the file as it is mapped now before attaching it.")
            return
        export, mapping, device = self.export, self.mapping(), self._device()
        db, user, shipment_id = self.db, self.ws.user, self.shipment_id

        def attach() -> str:
            with db.unit_of_work() as session:
                shipment = session.get_one(Shipment, shipment_id)
                outcome = attach_transit_log(
                    session, user, shipment, export, mapping, device_id=device
                )
                count, held = len(outcome.readings), len(outcome.excursions)
            said = f"Attached {count} transit readings from {export.file_name}."
            if held:
                said += (
                    f" {held} excursion{'' if held == 1 else 's'} found: the stock it exposed "
                    "is on hold for the sponsor's decision."
                )
            else:
                said += " No excursion in transit."
            return said

        said = attempt(self, db, "attaching the logger file", attach, show_refusal=self.show_error)
        if said is not None:
            self.attached.emit(said)
            super().accept()

    # presets ----------------------------------------------------------------------------------

    def preset_mapping(self) -> PresetMapping | None:
        """The columns chosen as a preset holds them (None until time and temperature are)."""
        mapping = self.mapping()
        if not (mapping.time and mapping.temperature):
            return None
        columns = {"time": mapping.time, "temperature": mapping.temperature}
        if mapping.date:
            columns["date"] = mapping.date
        if mapping.device_id:
            columns["device_id"] = mapping.device_id
        header_line = (
            self.preview.header_line if self.preview and self.preview.header_line else None
        )
        return PresetMapping(columns, header_line, None, mapping.time_format)

    def save_preset(self) -> SavePresetDialog | None:
        mapping = self.preset_mapping()
        if mapping is None:
            self.show_error("Name the time and temperature columns before saving a preset.")
            return None
        dialog = SavePresetDialog(
            self.ws, self.study, ImportKind.LOGGER_FILE, mapping, self.export.file_name, self
        )
        dialog.saved.connect(self._preset_saved)
        dialog.open()
        return dialog

    def _preset_saved(self, preset_id: int) -> None:
        self._offer_presets(f"{SAVED}{preset_id}")
        self.read()

    def archive_preset(self) -> ArchivePresetDialog | None:
        saved = chosen_preset(self.preset, self.saved_presets)
        if saved is None:
            self.show_error("Choose the saved preset to archive in the mapping list.")
            return None
        dialog = ArchivePresetDialog(self.ws, saved, self)
        dialog.archived.connect(lambda _id: self._offer_presets(GUESSED))
        dialog.open()
        return dialog
