"""The sponsor's kit list: choose the file, check which column holds what, see the kits
that would be created and every wrong row with its line, then import all or nothing.

What is wrong with a row is decided by ``kit_import.preview_kit_list``; the import
(``kit_import.import_kit_list``) checks again and refuses a list with any wrong row. A user
blinded for the study maps no treatment column, so no arm is read, shown or named.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)

from ids_app.studies.kit_import import (
    KIT_LIST_PRESETS,
    KitDraft,
    KitListMapping,
    KitListPreview,
    guess_kit_list_mapping,
    import_kit_list,
    preview_kit_list,
)
from ids_app.studies.models import Product, Study
from ids_app.studies.tables import Table, read_table
from ids_app.ui.context import Workspace
from ids_app.ui.forms import FormDialog, subheading_label
from ids_app.ui.guard import attempt
from ids_app.ui.queries import ProductRow, StudyRow
from ids_app.ui.table_models import Column, RowsModel, fit_columns, table_view

NO_COLUMN = "(none)"
GUESSED = "As the file's header suggests"
FIELDS = (
    ("kit_number", "&Kit number column"),
    ("lot_number", "&Lot column"),
    ("expiry", "&Expiry column"),
    ("arm", "&Treatment column"),
)
FILE_FILTER = "Kit lists (*.csv *.txt *.tsv *.xlsx *.xlsm)"


class KitListDialog(FormDialog):
    imported = Signal(str)

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
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("kitListDialog")
        self.setMinimumWidth(760)
        self.ws = ws
        self.study_id = study.id
        self.show_arms = show_arms
        self.table: Table | None = None
        self.preview: KitListPreview | None = None
        self.result_message = ""

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
        self.preset = QComboBox()
        self.preset.setObjectName("kitListPreset")
        self.preset.addItem(GUESSED, "")
        for name, preset in KIT_LIST_PRESETS.items():
            # A blinded user is not shown the treatment column's name either.
            shown = f"{name.split(' (')[0]} ({preset.kit_number}, {preset.lot_number}, " + (
                f"{preset.expiry})"
            )
            self.preset.addItem(name if show_arms else shown, name)
        self.columns: dict[str, QComboBox] = {}
        for key, _title in FIELDS:
            combo = QComboBox()
            combo.setObjectName(f"kitColumn_{key}")
            combo.addItem(NO_COLUMN, None)
            self.columns[key] = combo
        self.date_format = QLineEdit()
        self.date_format.setObjectName("kitListDateFormat")
        self.date_format.setPlaceholderText("only for numeric dates, e.g. %d/%m/%Y")

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

        self.form.addRow("File", file_row)
        self.form.addRow("&Product", self.product)
        self.form.addRow("&Mapping", self.preset)
        for key, title in FIELDS:
            if key == "arm" and not show_arms:
                continue
            self.form.addRow(title, self.columns[key])
        self.form.addRow("&Date format", self.date_format)
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
        self.accept_button.setEnabled(False)
        self._show_errors([])
        self.summary.setText("Choose the kit list file.")
        self.file_button.setFocus()

    # the file ----------------------------------------------------------------------------

    def choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Kit list", "", FILE_FILTER)
        if path:
            self.load(Path(path))

    def load(self, path: Path) -> bool:
        """Read the file, fill the mapping from the presets, and show the preview."""
        self.clear_error()
        table = attempt(
            self,
            self.db,
            "reading the kit list",
            lambda: read_table(path),
            show_refusal=self._refused,
        )
        if table is None:
            return False
        self.table = table
        self.file_label.setText(f"{path.name}: {len(table.rows)} rows under the header.")
        for combo in self.columns.values():
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(NO_COLUMN, None)
            for header in table.headers:
                combo.addItem(header, header)
            combo.blockSignals(False)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(0)
        self.preset.blockSignals(False)
        self.apply_preset()
        return True

    def _refused(self, message: str) -> None:
        self.show_error(message)
        self.accept_button.setEnabled(False)

    def apply_preset(self) -> None:
        if self.table is None:
            return
        name = self.preset.currentData()
        headers = self.table.headers
        mapping = KIT_LIST_PRESETS[name] if name else guess_kit_list_mapping(headers)
        if mapping is not None:
            wanted = {
                "kit_number": mapping.kit_number,
                "lot_number": mapping.lot_number,
                "expiry": mapping.expiry,
                "arm": mapping.arm,
            }
            for key, combo in self.columns.items():
                combo.blockSignals(True)
                combo.setCurrentIndex(max(combo.findData(wanted[key]), 0))
                combo.blockSignals(False)
            if mapping.date_format:
                self.date_format.setText(mapping.date_format)
        self.refresh_preview()

    # the preview ------------------------------------------------------------------------

    def mapping(self) -> KitListMapping | None:
        """The mapping chosen, or None while a needed column is not chosen."""
        chosen = {key: combo.currentData() for key, combo in self.columns.items()}
        kit, lot, expiry = chosen["kit_number"], chosen["lot_number"], chosen["expiry"]
        if not (isinstance(kit, str) and isinstance(lot, str) and isinstance(expiry, str)):
            return None
        arm = chosen["arm"] if self.show_arms and isinstance(chosen["arm"], str) else None
        return KitListMapping(kit, lot, expiry, arm, self.date_format.text().strip() or None)

    def refresh_preview(self) -> None:
        self.clear_error()
        self.preview = None
        self.accept_button.setEnabled(False)
        self.kits.set_rows([])
        self._show_errors([])
        table, mapping, product_id = self.table, self.mapping(), self.product.currentData()
        if table is None:
            self.summary.setText("Choose the kit list file.")
            return
        if product_id is None:
            self.summary.setText("This study has no kit-tracked product to list kits for.")
            return
        if mapping is None:
            self.summary.setText("Choose which columns hold the kit number, lot and expiry.")
            return
        study_id = self.study_id

        def run() -> KitListPreview:
            with self.db.read_session() as session:
                return preview_kit_list(
                    session,
                    session.get_one(Study, study_id),
                    session.get_one(Product, product_id),
                    table,
                    mapping,
                )

        preview = attempt(self, self.db, "checking the kit list", run, show_refusal=self._refused)
        if preview is None:
            return
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
        self.accept_button.setEnabled(not preview.errors and kits > 0)
        self.accept_button.setText(f"Import {kits} kit{'' if kits == 1 else 's'}")

    def _show_errors(self, errors: list[str]) -> None:
        self.errors.clear()
        self.errors.addItems(errors)
        self.errors.setVisible(bool(errors))
        self.errors_heading.setVisible(bool(errors))

    # importing ---------------------------------------------------------------------------

    def accept(self) -> None:
        table, mapping, product_id = self.table, self.mapping(), self.product.currentData()
        if table is None or mapping is None or product_id is None:
            return
        user, study_id = self.ws.user, self.study_id

        def record() -> str:
            with self.db.unit_of_work() as session:
                study = session.get_one(Study, study_id)
                kits = import_kit_list(
                    session, user, study, session.get_one(Product, product_id), table, mapping
                )
                return (
                    f"{len(kits)} kit{'' if len(kits) == 1 else 's'} of {study.protocol_number} "
                    f"imported from {table.source}."
                )

        self.clear_error()
        message = attempt(
            self, self.db, "importing the kit list", record, show_refusal=self.show_error
        )
        if message is None:
            return
        self.result_message = message
        self.imported.emit(message)
        super().accept()
