"""The sponsor's kit list: choose the file, check which column holds what, see the kits
that would be created and every wrong row with its line, then import all or nothing.

What is wrong with a row is decided by ``kit_import.preview_kit_list``; the import
(``kit_import.import_kit_list``) checks again and refuses a list with any wrong row. A user
blinded for the study maps no treatment column, so no arm is read, shown or named (and the
service words its errors without arms for them too).

Reading, checking and importing run off the GUI thread (ui/tasks.py; the desktop issue's
item 10): a
progress bar counts the rows, Cancel stops the work at its next step, and the inputs that
would change the work are disabled meanwhile. A cancelled import rolls back whole.

The sponsor's saved presets (``studies.import_presets``) come first in the mapping list:
when a file is opened, the newest one whose columns the file has maps it, the summary
names it, and "Save as preset…" keeps the mapping chosen for the sponsor's next file. A
preset holds no treatment-to-arm choices, so a blinded user loads none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ids_app.errors import IdsError
from ids_app.reports.progress import CancelCheck, ProgressCallback
from ids_app.studies.import_presets import (
    PresetMapping,
    PresetRow,
    fitting_preset,
    spelled_as_in,
)
from ids_app.studies.kit_import import (
    KIT_LIST_PRESETS,
    PREVIEW_CANCELLED,
    KitDraft,
    KitListCancelled,
    KitListMapping,
    KitListPreview,
    guess_kit_list_mapping,
    import_kit_list,
    preview_kit_list,
    treatment_values,
)
from ids_app.studies.models import ImportKind, Product, Study
from ids_app.studies.tables import (
    DateOrder,
    Table,
    TableUnreadable,
    guess_header,
    headed_by,
    read_table,
)
from ids_app.studies.views import ProductRow, StudyRow
from ids_app.ui.context import Workspace
from ids_app.ui.forms import FormDialog, open_dialog, subheading_label
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
from ids_app.ui.table_models import Column, RowsModel, fit_columns, table_view
from ids_app.ui.tasks import RunningJob, run_job
from ids_app.users.permissions import Action, may

NO_COLUMN = "(none)"
GUESSED = "As the file's header suggests"
FIELDS = (
    ("kit_number", "&Kit number column"),
    ("lot_number", "&Lot column"),
    ("expiry", "&Expiry column"),
    ("arm", "&Treatment column"),
)
FILE_FILTER = "Kit lists (*.csv *.txt *.tsv *.xlsx *.xlsm)"
DATE_ORDERS = (
    ("Dates in words or 2028-01-31 only", None),
    ("Day first: 31/05/2027", DateOrder.DAY_FIRST),
    ("Month first: 05/31/2027", DateOrder.MONTH_FIRST),
)
AS_WRITTEN = "(as written: an arm's code or name)"


def chosen_order(combo: QComboBox) -> DateOrder | None:
    """The day/month order chosen; Qt hands an enum member back as its plain value."""
    data = combo.currentData()
    return DateOrder(data) if data else None


class KitListDialog(FormDialog):
    imported = Signal(str)
    checked = Signal(bool)  # reading and checking ended; True when a preview is shown
    import_finished = Signal(bool)  # True when the kits were imported

    def __init__(
        self,
        ws: Workspace,
        study: StudyRow,
        products: list[ProductRow],
        *,
        show_arms: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ws.db,
            title=f"Kit list — {study.protocol_number}",
            heading="Import the sponsor's kit list",
            intro=(
                "Choose the IWRS export (CSV or Excel) and check which column holds what. "
                "The list is imported whole or not at all: fix every row listed below first."
                + (
                    ""
                    if show_arms
                    else " The treatment column is not read: you are blinded for this study."
                )
            ),
            accept_text="Import kits",
            reject_text="Close",
            parent=parent,
        )
        self.setObjectName("kitListDialog")
        self.setMinimumWidth(760)
        self.ws = ws
        self.study = study
        self.study_id = study.id
        self.show_arms = show_arms
        self.saved_presets: list[PresetRow] = []
        self.save_dialog: SavePresetDialog | None = None
        self.archive_dialog: ArchivePresetDialog | None = None
        self.table: Table | None = None
        self.file_table: Table | None = None  # as read, before the header row was found
        self.treatment_combos: dict[str, QComboBox] = {}
        self.preview: KitListPreview | None = None
        self.result_message = ""
        self.job: RunningJob | None = None
        self._done: Callable[[object], None] = self._checked
        self._refused_by_job: Callable[[str], None] = self._check_refused
        self._writes = False
        self._stopping = False  # Cancel was pressed for the work now running
        self._stale = False  # the mapping changed while the list was being checked

        self.file_label = QLabel("No file chosen.")
        self.file_label.setObjectName("kitListFile")
        self.file_button = QPushButton("C&hoose file…")
        self.file_button.setObjectName("chooseKitListFile")
        self.file_button.setAutoDefault(False)
        self.file_button.clicked.connect(self.choose_file)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_label, 1)
        file_row.addWidget(self.file_button)

        self.product = QComboBox()
        self.product.setObjectName("kitListProduct")
        for product in products:
            if product.is_kit_tracked:
                self.product.addItem(product.description, product.id)
        self.header_row = QSpinBox()
        self.header_row.setObjectName("kitListHeaderRow")
        self.header_row.setRange(1, 1)
        self.header_row.setToolTip("The row of the file that holds the column names.")
        self.preset = QComboBox()
        self.preset.setObjectName("kitListPreset")
        self.save_preset_button = QPushButton("&Save as preset…")
        self.save_preset_button.setObjectName("saveKitListPreset")
        self.save_preset_button.setAutoDefault(False)
        self.save_preset_button.setEnabled(False)
        self.save_preset_button.clicked.connect(self.save_preset)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset, 1)
        preset_row.addWidget(self.save_preset_button)
        self.archive_preset_button = QPushButton("Archi&ve preset…")
        self.archive_preset_button.setObjectName("archiveKitListPreset")
        self.archive_preset_button.setAutoDefault(False)
        self.archive_preset_button.clicked.connect(self.archive_preset)
        self.archive_preset_button.setVisible(may(ws.user.role, Action.ARCHIVE_IMPORT_PRESETS))
        preset_row.addWidget(self.archive_preset_button)
        self.preset.currentIndexChanged.connect(lambda _i: self._preset_chosen())
        self.fill_presets()
        self.columns: dict[str, QComboBox] = {}
        for key, _title in FIELDS:
            combo = QComboBox()
            combo.setObjectName(f"kitColumn_{key}")
            combo.addItem(NO_COLUMN, None)
            self.columns[key] = combo
        self.date_format = QLineEdit()
        self.date_format.setObjectName("kitListDateFormat")
        self.date_format.setPlaceholderText("only for numeric dates, e.g. %d/%m/%Y")
        self.date_order = QComboBox()
        self.date_order.setObjectName("kitListDateOrder")
        for text, order in DATE_ORDERS:
            self.date_order.addItem(text, order)
        # The file's treatment values to the study's arms: built for the unblinded only.
        self.treatments = QWidget()
        self.treatments.setObjectName("kitListTreatments")
        self.treatments_form = QFormLayout(self.treatments)
        self.treatments_form.setContentsMargins(0, 0, 0, 0)

        self.summary = QLabel()
        self.summary.setObjectName("kitListSummary")
        self.summary.setWordWrap(True)
        columns: list[Column[KitDraft]] = [
            Column("Line", lambda d: d.line, numeric=True),
            Column("Kit", lambda d: d.kit_number),
            Column("Lot", lambda d: d.lot_number),
            Column("Expiry", lambda d: d.expiry),
        ]
        if show_arms:
            columns.append(Column("Arm", lambda d: d.arm_code or ""))
        self.kits: RowsModel[KitDraft] = RowsModel(columns, parent=self)
        self.kits_view = table_view(self.kits, name="kitListPreview")
        self.kits_view.setMinimumHeight(140)
        self.errors = QListWidget()
        self.errors.setObjectName("kitListErrors")
        self.errors.setMinimumHeight(80)

        self.progress = QProgressBar()
        self.progress.setObjectName("kitListProgress")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelKitListWork")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel_work)
        self.status = QLabel()
        self.status.setObjectName("kitListStatus")
        self.progress_row = QWidget()
        bar_row = QHBoxLayout(self.progress_row)
        bar_row.setContentsMargins(0, 0, 0, 0)
        bar_row.addWidget(self.status)
        bar_row.addWidget(self.progress, 1)
        bar_row.addWidget(self.cancel_button)

        self.form.addRow("File", file_row)
        self.form.addRow("&Product", self.product)
        mapping_label = QLabel("&Mapping")
        mapping_label.setBuddy(self.preset)  # a row of two widgets names its buddy itself
        self.form.addRow(mapping_label, preset_row)
        self.form.addRow("&Header row", self.header_row)
        for key, title in FIELDS:
            if key == "arm" and not show_arms:
                continue
            self.form.addRow(title, self.columns[key])
        self.form.addRow("&Numeric dates", self.date_order)
        self.form.addRow("&Date format", self.date_format)
        self.treatments_heading = subheading_label("Treatments in the file → study arms")
        self.form.addRow(self.treatments_heading)
        self.form.addRow(self.treatments)
        self.form.addRow(self.progress_row)
        self.form.addRow(self.summary)
        self.form.addRow(subheading_label("Kits to be created"))
        self.form.addRow(self.kits_view)
        self.errors_heading = subheading_label("Rows to fix")
        self.form.addRow(self.errors_heading)
        self.form.addRow(self.errors)
        self.file_label.setBuddy(self.file_button)

        self.product.currentIndexChanged.connect(lambda _i: self.refresh_preview())
        self.preset.currentIndexChanged.connect(lambda _i: self.apply_preset())
        for combo in self.columns.values():
            combo.currentIndexChanged.connect(lambda _i: self.refresh_preview())
        self.date_format.editingFinished.connect(self.refresh_preview)
        self.date_order.currentIndexChanged.connect(lambda _i: self.refresh_preview())
        self.header_row.valueChanged.connect(self.choose_header_row)
        self.columns["arm"].currentIndexChanged.connect(lambda _i: self.fill_treatments())
        self.accept_button.setEnabled(False)
        self._show_treatments(False)
        self.form.setRowVisible(self.progress_row, False)
        self._show_errors([])
        self.summary.setText("Choose the kit list file.")
        self.file_button.setFocus()

    # the presets ---------------------------------------------------------------------------

    def fill_presets(self, chosen: str = "") -> None:
        """The sponsor's saved presets first (newest first), then the built-in ones."""
        try:
            self.saved_presets = read_presets(self.ws, self.study_id, ImportKind.KIT_LIST)
        except IdsError as error:
            self.show_error(str(error))
            self.saved_presets = []
        self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItem(GUESSED, "")
        add_presets(self.preset, self.saved_presets)
        for name, preset in KIT_LIST_PRESETS.items():
            # A blinded user is not shown the treatment column's name either.
            shown = f"{name.split(' (')[0]} ({preset.kit_number}, {preset.lot_number}, " + (
                f"{preset.expiry})"
            )
            self.preset.addItem(name if self.show_arms else shown, name)
        self.preset.setCurrentIndex(max(self.preset.findData(chosen), 0))
        self.preset.blockSignals(False)
        self._preset_chosen()

    def _preset_chosen(self) -> None:
        self.archive_preset_button.setEnabled(self.saved_preset() is not None)

    def archive_preset(self) -> ArchivePresetDialog | None:
        """A pharmacist or administrator stops the chosen saved preset being offered."""
        preset = self.saved_preset()
        if preset is None or self.job is not None:
            return None
        dialog = ArchivePresetDialog(self.ws, preset, parent=self)
        dialog.archived.connect(lambda _id: self._preset_archived())
        dialog.finished.connect(dialog.deleteLater)
        self.archive_dialog = dialog
        open_dialog(dialog)
        return dialog

    def _preset_archived(self) -> None:
        self.fill_presets()
        self.apply_preset()

    def saved_preset(self) -> PresetRow | None:
        """The sponsor's preset chosen in the mapping list, if one is."""
        return chosen_preset(self.preset, self.saved_presets)

    def preset_mapping(self) -> PresetMapping | None:
        """The mapping chosen, as a preset keeps it: no treatment values, ever."""
        mapping = self.mapping()
        if mapping is None or self.table is None:
            return None
        columns = {"kit_number": mapping.kit_number, "lot_number": mapping.lot_number}
        columns["expiry"] = mapping.expiry
        if mapping.arm is not None:
            columns["arm"] = mapping.arm
        return PresetMapping(
            columns, self.table.header_line, mapping.date_order, mapping.date_format
        )

    def save_preset(self) -> SavePresetDialog | None:
        mapping = self.preset_mapping()
        if mapping is None or self.job is not None:
            return None
        current = self.saved_preset()
        dialog = SavePresetDialog(
            self.ws,
            self.study,
            ImportKind.KIT_LIST,
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
        self.fill_presets(f"{SAVED}{preset_id}")
        self.refresh_preview()  # the summary names the preset now chosen

    # the file ----------------------------------------------------------------------------

    def choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Kit list", "", FILE_FILTER)
        if path:
            self.load(Path(path))

    def load(self, path: Path) -> None:
        """Read the file off the GUI thread, then fill the mapping from the presets and check
        it; ``checked`` tells when that has ended."""
        if self.job is not None:
            return
        self.clear_error()

        def read(progress: ProgressCallback, cancelled: CancelCheck) -> Table:
            del progress  # one file read: nothing to count until the rows are checked
            table = read_table(path)
            if cancelled():
                raise KitListCancelled(PREVIEW_CANCELLED)
            return table

        self._start("reading the kit list", read, self._read, self._check_refused)

    def _read(self, result: object) -> None:
        """Take as the header the first row holding a saved preset's columns, else one whose
        names a built-in preset recognises (title lines above it are skipped), else the
        first row with text."""
        assert isinstance(result, Table)
        self.file_table = result
        self.fill_presets()  # read again: one may have been saved since the dialog opened
        chosen = ""
        saved = guess_header(result, lambda headers: fitting_preset(self.saved_presets, headers))
        if saved is not None:
            self._use_table(saved[0])
            chosen = preset_data(saved[1])
        else:
            found = guess_header(result, guess_kit_list_mapping)
            self._use_table(found[0] if found else result)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(max(self.preset.findData(chosen), 0))
        self.preset.blockSignals(False)
        self.apply_preset()

    def choose_header_row(self, row: int) -> None:
        """Read the file with its header on the row the person chose (or the next row with
        text), then map its columns as a preset or the guess suggests."""
        if self.file_table is None or self.table is None or row == self.table.header_line:
            return
        self.clear_error()
        try:
            table = self.file_table.headed_at(row)
        except TableUnreadable as error:
            self.show_error(str(error))
            return
        self._use_table(table)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(0)  # a preset would find its own header row again
        self.preset.blockSignals(False)
        self.apply_preset()

    def _use_table(self, table: Table) -> None:
        self.table = table
        if self.file_table is not None and self.file_table.lines:
            self.header_row.blockSignals(True)
            self.header_row.setRange(1, self.file_table.lines[-1][0])
            self.header_row.setValue(table.header_line)
            self.header_row.blockSignals(False)
        self.file_label.setText(
            f"{table.source}: {len(table.rows)} rows under the header. {table.header_found}"
        )
        for combo in self.columns.values():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NO_COLUMN, None)
            for header in table.headers:
                combo.addItem(header, header)
            combo.blockSignals(False)

    def apply_preset(self) -> None:
        if self.table is None or self.file_table is None:
            return
        saved = self.saved_preset()
        if saved is not None:
            self._apply_saved(saved)
            return
        name = self.preset.currentData()
        if name:
            headed = headed_by(self.file_table, KIT_LIST_PRESETS[name].columns)
            if isinstance(headed, Table) and headed.header_line != self.table.header_line:
                self._use_table(headed)
        headers = self.table.headers
        mapping = KIT_LIST_PRESETS[name] if name else guess_kit_list_mapping(headers)
        if mapping is not None:
            wanted = {
                "kit_number": mapping.kit_number,
                "lot_number": mapping.lot_number,
                "expiry": mapping.expiry,
                "arm": mapping.arm,
            }
            self._choose_columns(wanted)
            if mapping.date_format:
                self.date_format.setText(mapping.date_format)
        self.fill_treatments()
        self.refresh_preview()

    def _apply_saved(self, preset: PresetRow) -> None:
        """Map the file as ``preset`` does: its header row when that row holds its columns,
        else the first row that does; its columns, date order and format."""
        assert self.file_table is not None
        assert self.table is not None
        table: Table | None = None
        line = preset.mapping.header_line
        if line is not None and any(number == line for number, _ in self.file_table.lines):
            at_line = self.file_table.headed_at(line)
            table = at_line if preset.fits(at_line.headers) else None
        if table is None:
            found = guess_header(self.file_table, lambda h: preset if preset.fits(h) else None)
            table = found[0] if found else None
        if table is not None and table.header_line != self.table.header_line:
            self._use_table(table)
        headers = self.table.headers
        wanted = {key: spelled_as_in(headers, preset.column(key)) for key in self.columns}
        if not self.show_arms:
            wanted["arm"] = None
        self._choose_columns(wanted)
        self.date_order.blockSignals(True)
        choose_order(self.date_order, preset.mapping.date_order)
        self.date_order.blockSignals(False)
        self.date_format.setText(preset.mapping.date_format or "")
        self.fill_treatments()
        self.refresh_preview()

    def _choose_columns(self, wanted: dict[str, str | None]) -> None:
        for key, combo in self.columns.items():
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(wanted[key]), 0))
            combo.blockSignals(False)

    def fill_treatments(self) -> None:
        """One choice of arm per treatment value in the file, for the unblinded only: the
        values are read through the service, which refuses the blinded."""
        while self.treatments_form.rowCount():
            self.treatments_form.removeRow(0)
        self.treatment_combos = {}
        mapping = self.mapping()
        if not self.show_arms or self.table is None or mapping is None or mapping.arm is None:
            self._show_treatments(False)
            return
        try:
            with self.db.read_session() as session:
                study = session.get_one(Study, self.study_id)
                values = treatment_values(session, self.ws.user, study, self.table, mapping)
                arms = [(arm.code, arm.name) for arm in study.arms]
        except IdsError as error:
            self.show_error(str(error))
            self._show_treatments(False)
            return
        for value in values:
            combo = QComboBox()
            combo.setObjectName(f"kitTreatment_{len(self.treatment_combos)}")
            combo.addItem(AS_WRITTEN, None)
            for code, name in arms:
                combo.addItem(f"Arm {code} — {name}", code)
            combo.currentIndexChanged.connect(lambda _i: self.refresh_preview())
            self.treatment_combos[value] = combo
            self.treatments_form.addRow(value, combo)
        self._show_treatments(bool(values))

    def _show_treatments(self, shown: bool) -> None:
        self.treatments.setVisible(shown)
        self.treatments_heading.setVisible(shown)

    # the preview ------------------------------------------------------------------------

    def mapping(self) -> KitListMapping | None:
        """The mapping chosen, or None while a needed column is not chosen."""
        chosen = {key: combo.currentData() for key, combo in self.columns.items()}
        kit, lot, expiry = chosen["kit_number"], chosen["lot_number"], chosen["expiry"]
        if not (isinstance(kit, str) and isinstance(lot, str) and isinstance(expiry, str)):
            return None
        arm = chosen["arm"] if self.show_arms and isinstance(chosen["arm"], str) else None
        treatments = tuple(
            (value, combo.currentData())
            for value, combo in self.treatment_combos.items()
            if arm is not None and isinstance(combo.currentData(), str)
        )
        return KitListMapping(
            kit,
            lot,
            expiry,
            arm,
            self.date_format.text().strip() or None,
            treatments,
            chosen_order(self.date_order),
        )

    def refresh_preview(self) -> None:
        """Check the list with the mapping chosen, off the GUI thread; ``checked`` tells when
        the check has ended."""
        if self.job is not None:
            self._stale = True  # checked again once the work now running has ended
            return
        self.clear_error()
        self.preview = None
        self.accept_button.setEnabled(False)
        self.save_preset_button.setEnabled(self.preset_mapping() is not None)
        self.kits.set_rows([])
        self._show_errors([])
        table, mapping, product_id = self.table, self.mapping(), self.product.currentData()
        if table is None:
            self.summary.setText("Choose the kit list file.")
        elif product_id is None:
            self.summary.setText("This study has no kit-tracked product to list kits for.")
        elif mapping is None:
            self.summary.setText("Choose which columns hold the kit number, lot and expiry.")
        else:
            self.summary.clear()
            self._check(table, mapping, product_id)
            return
        self.checked.emit(False)

    def _check(self, table: Table, mapping: KitListMapping, product_id: int) -> None:
        db, user, study_id = self.db, self.ws.user, self.study_id

        def check(progress: ProgressCallback, cancelled: CancelCheck) -> KitListPreview:
            with db.read_session() as session:
                return preview_kit_list(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    session.get_one(Product, product_id),
                    table,
                    mapping,
                    progress=progress,
                    cancelled=cancelled,
                )

        self.progress.setFormat("%v of %m rows checked")
        self._start("checking the kit list", check, self._checked, self._check_refused)

    def _checked(self, result: object) -> None:
        assert isinstance(result, KitListPreview)
        if self._recheck():
            return
        preview = result
        self.preview = preview
        self.kits.set_rows(preview.to_create)
        fit_columns(self.kits_view)
        self._show_errors([str(error) for error in preview.errors])
        kits = len(preview.to_create)
        if preview.errors:
            rows = len({error.line for error in preview.errors})
            self.summary.setText(
                f"{rows} row{'' if rows == 1 else 's'} to fix; nothing can be imported until "
                f"the file is corrected ({kits} rows are ready)."
            )
        else:
            self.summary.setText(f"{kits} kit{'' if kits == 1 else 's'} will be created.")
        if preview.header_line:
            self.summary.setText(
                f"Header found on row {preview.header_line}. {self.summary.text()}"
            )
        self.summary.setText(preset_used(self.saved_preset()) + self.summary.text())
        self.accept_button.setEnabled(self._ready())
        self.accept_button.setText(f"Import {kits} kit{'' if kits == 1 else 's'}")
        self.checked.emit(True)

    def _check_refused(self, message: str) -> None:
        if self._recheck():
            return
        self.show_error(message)
        self.accept_button.setEnabled(False)
        if self.table is not None and self.preview is None:
            self.summary.setText("Not checked: change the mapping or choose the file again.")
        self.checked.emit(False)

    def _recheck(self) -> bool:
        """Check again when the mapping changed meanwhile; True when that has started."""
        if not self._stale:
            return False
        self._stale = False
        self.refresh_preview()
        return True

    def _ready(self) -> bool:
        return self.preview is not None and not self.preview.errors and bool(self.preview.to_create)

    def _show_errors(self, errors: list[str]) -> None:
        self.errors.clear()
        self.errors.addItems(errors)
        self.errors.setVisible(bool(errors))
        self.errors_heading.setVisible(bool(errors))

    # importing ---------------------------------------------------------------------------

    def accept(self) -> None:
        table, mapping, product_id = self.table, self.mapping(), self.product.currentData()
        if self.job is not None or table is None or mapping is None or product_id is None:
            return
        db, user, study_id = self.db, self.ws.user, self.study_id

        def record(progress: ProgressCallback, cancelled: CancelCheck) -> str:
            # One unit of work: a cancel raises inside it, so nothing of the list is kept.
            with db.unit_of_work() as session:
                study = session.get_one(Study, study_id)
                kits = import_kit_list(
                    session,
                    user,
                    study,
                    session.get_one(Product, product_id),
                    table,
                    mapping,
                    progress=progress,
                    cancelled=cancelled,
                )
                return (
                    f"{len(kits)} kit{'' if len(kits) == 1 else 's'} of {study.protocol_number} "
                    f"imported from {table.source}."
                )

        self.clear_error()
        self.progress.setFormat("%p%")
        self._start(
            "importing the kit list", record, self._imported, self._import_refused, writes=True
        )

    def _imported(self, result: object) -> None:
        message = str(result)
        self.result_message = message
        self.imported.emit(message)
        self.import_finished.emit(True)
        super().accept()

    def _import_refused(self, message: str) -> None:
        self.show_error(message)
        if not self._recheck():
            self.accept_button.setEnabled(self._ready())
        self.import_finished.emit(False)

    # the work off the GUI thread --------------------------------------------------------

    def _start(
        self,
        doing: str,
        job: Callable[[ProgressCallback, CancelCheck], Any],
        done: Callable[[object], None],
        refused: Callable[[str], None],
        *,
        writes: bool = False,
    ) -> None:
        """Run ``job`` off the GUI thread; ``done`` gets its result, ``refused`` the words of a
        refusal, failure or cancellation. ``doing`` completes "Something went wrong while …".
        A job that ``writes`` has committed when it succeeds, so a Cancel pressed too late
        does not undo it; a reading or check is dropped instead."""
        self._done, self._refused_by_job, self._writes = done, refused, writes
        self._stopping = False
        self.status.setText(f"{doing[0].upper()}{doing[1:]}…")
        self.progress.setRange(0, 0)  # busy until the first step reports
        self.cancel_button.setEnabled(True)
        self._set_inputs_enabled(False)
        self.form.setRowVisible(self.progress_row, True)
        self.cancel_button.setFocus()
        self.job = run_job(
            self,
            self.db,
            doing,
            job,
            succeeded=self._succeeded,
            failed=self._ended,
            progressed=self._progressed,
        )

    def _succeeded(self, result: object) -> None:
        stopped, done, refused = self._stopping, self._done, self._refused_by_job
        self._idle()
        if stopped and not self._writes:
            refused(PREVIEW_CANCELLED)  # Cancel was pressed as the answer came
        else:
            done(result)
        self._settle_focus()

    def _ended(self, message: str) -> None:
        refused = self._refused_by_job
        self._idle()
        refused(message)
        self._settle_focus()

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _idle(self) -> None:
        self.job = None
        self._stopping = False
        self.form.setRowVisible(self.progress_row, False)
        self.status.clear()
        self._set_inputs_enabled(True)

    def _set_inputs_enabled(self, enabled: bool) -> None:
        inputs: list[QWidget] = [
            self.file_button,
            self.product,
            self.preset,
            self.date_format,
            self.date_order,
            self.header_row,
            *self.treatment_combos.values(),
            self.reject_button,  # Esc still works: it cancels, as the Cancel button does
            *self.columns.values(),
        ]
        for widget in inputs:
            widget.setEnabled(enabled)
        self.accept_button.setEnabled(enabled and self._ready())
        self.save_preset_button.setEnabled(enabled and self.preset_mapping() is not None)
        self.archive_preset_button.setEnabled(enabled and self.saved_preset() is not None)

    def _settle_focus(self) -> None:
        if self.job is None and self.isVisible():
            button = self.accept_button if self.accept_button.isEnabled() else self.file_button
            button.setFocus()

    def cancel_work(self) -> None:
        """Stop the reading, check or import at its next step; an import keeps nothing."""
        if self.job is None:
            return
        self.job.cancel()
        self._stopping = True
        self.status.setText("Cancelling…")
        self.cancel_button.setEnabled(False)

    def reject(self) -> None:
        # Esc or Close while the list is being worked on stops the work; the dialog stays
        # open to say how it ended.
        if self.job is not None:
            self.cancel_work()
            return
        super().reject()
