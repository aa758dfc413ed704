"""Inventory: the study's kit register, kit by kit, where each stands now.

Scanning a kit finds it in the register; the filters (which kits, where, a kit or lot
number) are applied in SQL and the table reads 200 kits a page as it scrolls
(inventory.kit_register). Stock counted by the unit, not the kit, is on the Overview.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ids_app.db import today
from ids_app.inventory.kit_register import (
    KitFilter,
    KitOrder,
    KitPlace,
    KitsShown,
    kit_register_page,
)
from ids_app.inventory.models import ON_SITE_STATES, Lot, StockState
from ids_app.inventory.views import ScannedItem, is_expired_on, location_choices, stock_status
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import hint_label
from ids_app.ui.guard import attempt
from ids_app.ui.scan import ScanPanel
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import (
    Column,
    PagedRowsModel,
    fit_columns,
    selected_row,
    table_view,
)

PAGE_SIZE = 200
ANY_LOCATION = "(any location)"
SORT_TITLES = {KitOrder.KIT: "Kit", KitOrder.LOT: "Lot", KitOrder.EXPIRY: "Expiry"}
SORTABLE = {title: order for order, title in SORT_TITLES.items()}


class InventoryTab(StudyTab):
    key = "inventory"

    # Expired stock is acted on where it is done: the main window opens Quarantine or
    # Destruction with the kit already chosen (kit number; the hold's details).
    hold_requested = Signal(str, str)
    destroy_requested = Signal(str)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.scan = ScanPanel(ws.db, "Scan a kit to find it")
        self.scan.identified.connect(self._scanned)
        self.shown = QComboBox()
        self.shown.setObjectName("inventoryShown")
        for choice in KitsShown:
            self.shown.addItem(choice.value, choice.value)  # Qt keeps a StrEnum as str
        self.location = QComboBox()
        self.location.setObjectName("inventoryLocation")
        self.number_filter = QLineEdit()
        self.number_filter.setObjectName("inventoryFind")
        self.number_filter.setPlaceholderText("start of a kit or lot number")
        self.number_filter.setClearButtonEnabled(True)
        self.number_filter.returnPressed.connect(self.reload)
        self.apply_button = QPushButton("&Apply")
        self.apply_button.setObjectName("inventoryApply")
        self.apply_button.clicked.connect(self.reload)
        self.shown.currentIndexChanged.connect(lambda _index: self.reload())
        self.location.currentIndexChanged.connect(lambda _index: self._location_chosen())
        self.model: PagedRowsModel[KitPlace] = PagedRowsModel(
            self._columns(show_arms=False), page_size=PAGE_SIZE, status=self._status, parent=self
        )
        self.view = table_view(self.model, name="inventoryTable")
        self.order = KitOrder.KIT
        self.descending = False
        header = self.view.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sectionClicked.connect(self._sort_by)
        self.view.selectionModel().selectionChanged.connect(lambda _s, _d: self._row_chosen())
        self.hold_button = QPushButton("&Quarantine expired kit…")
        self.hold_button.setObjectName("inventoryHold")
        self.hold_button.clicked.connect(self._hold)
        self.hold_button.setVisible(ws.can("quarantine"))
        self.destroy_button = QPushButton("&Destroy or return…")
        self.destroy_button.setObjectName("inventoryDestroy")
        self.destroy_button.clicked.connect(self._destroy)
        self.destroy_button.setVisible(ws.can("dispose"))
        self.count_label = QLabel()
        self.count_label.setObjectName("inventoryCount")
        self.model.page_read = self._show_count
        self._filling = False

        filters = QHBoxLayout()
        for caption, field in (
            ("&Show", self.shown),
            ("&Where", self.location),
            ("&Kit or lot", self.number_filter),
        ):
            label = QLabel(caption)
            label.setBuddy(field)
            filters.addWidget(label)
            filters.addWidget(field, 1 if field is self.number_filter else 0)
        filters.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.scan)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        below = QHBoxLayout()
        below.addWidget(self.count_label, 1)
        below.addWidget(self.hold_button)
        below.addWidget(self.destroy_button)
        layout.addLayout(below)
        layout.addWidget(
            hint_label(
                "Every kit of the study in kit-number order; scroll to read more. Colours: "
                "quarantined (amber), expired (red), expiring (yellow), returned (grey), "
                'condemned (purple). A kit prepared for an order reads "held for order N" '
                "until it is verified. An expired kit is quarantined, then destroyed or "
                "returned, from here. Stock counted by the unit is on the Overview."
            )
        )

    def _columns(self, *, show_arms: bool) -> list[Column[KitPlace]]:
        columns: list[Column[KitPlace]] = [
            Column("Kit", lambda r: r.kit_number),
            Column("Product", lambda r: r.product),
            Column("Lot", lambda r: r.lot_number),
            Column("Expiry", lambda r: r.expiry),
        ]
        if show_arms:
            columns.append(Column("Arm", lambda r: r.arm))
        columns += [
            Column("Where", lambda r: r.where),
            Column("State", lambda r: r.state_text),
            Column("Quantity", lambda r: r.quantity if r.state else "", numeric=True),
            Column("Unit", lambda r: r.unit if r.state else ""),
        ]
        return columns

    def _status(self, row: KitPlace) -> str | None:
        if row.state not in ON_SITE_STATES:
            return None  # a dispensed or destroyed kit's expiry no longer matters
        colour = stock_status(row.state, row.expiry, today(), self.ws.settings.expiring_days)
        if not colour and row.held_for_order is not None:
            return "waiting"
        return colour or None

    def _expired_row(self) -> KitPlace | None:
        """The chosen kit when it is on site and past its expiry."""
        row = selected_row(self.view)
        if not isinstance(row, KitPlace) or row.state not in ON_SITE_STATES:
            return None
        return row if is_expired_on(row.expiry, today()) else None

    def _row_chosen(self) -> None:
        row = self._expired_row()
        self.hold_button.setEnabled(row is not None and row.state is StockState.AVAILABLE)
        self.destroy_button.setEnabled(
            row is not None and row.state in (StockState.AVAILABLE, StockState.QUARANTINED)
        )

    def _hold(self) -> None:
        row = self._expired_row()
        if row is not None:
            details = f"Kit {row.kit_number} of lot {row.lot_number} expired {row.expiry:%Y-%m-%d}"
            self.hold_requested.emit(row.kit_number, details)

    def _destroy(self) -> None:
        row = self._expired_row()
        if row is not None:
            self.destroy_requested.emit(row.kit_number)

    def study_changed(self) -> None:
        assert self.study is not None
        self.scan.set_study(self.study.id)
        self.model.columns = self._columns(show_arms=self.show_arms)
        self.number_filter.clear()
        self.model.reset(None)

    def _sort_by(self, section: int) -> None:
        """A click on Kit, Lot or Expiry sorts by it (again: the other way), in the
        database; the other columns are where a kit stands now, which is not stored."""
        order = SORTABLE.get(self.model.columns[section].title)
        if order is None:
            self.count_label.setText("The register sorts by kit, lot or expiry.")
        else:
            self.descending = not self.descending if order is self.order else False
            self.order = order
            self.reload()
        header = self.view.horizontalHeader()
        titles = [column.title for column in self.model.columns]
        header.setSortIndicator(
            titles.index(SORT_TITLES[self.order]),
            Qt.SortOrder.DescendingOrder if self.descending else Qt.SortOrder.AscendingOrder,
        )

    def kit_filter(self) -> KitFilter:
        return KitFilter(
            order=self.order,
            descending=self.descending,
            shown=KitsShown(self.shown.currentData() or KitsShown.ON_SITE),
            text=self.number_filter.text(),
            location_id=self.location.currentData() or None,
        )

    def reload(self) -> None:
        if self.study is None or self._filling:
            return
        study_id, user, kits = self.study.id, self.ws.user, self.kit_filter()
        self._filling = True
        try:
            choices = self.ws.read(self, "reading the locations", location_choices) or []
            fill_combo(self.location, choices, keep=self.location.currentData())
            self.location.insertItem(0, ANY_LOCATION, None)
            if kits.location_id is None:
                self.location.setCurrentIndex(0)
        finally:
            self._filling = False

        def fetch(last: KitPlace | None, limit: int) -> list[KitPlace]:
            with self.ws.db.read_session() as session:
                return kit_register_page(
                    session,
                    user,
                    study_id,
                    kits,
                    after=last,
                    limit=limit,
                )

        def safe_fetch(last: KitPlace | None, limit: int) -> list[KitPlace]:
            reading = "reading the kit register"
            return attempt(self, self.ws.db, reading, lambda: fetch(last, limit)) or []

        self.model.reset(safe_fetch)
        fit_columns(self.view)
        self._row_chosen()

    def _location_chosen(self) -> None:
        if not self._filling:
            self.reload()

    def _show_count(self) -> None:
        kits = len({row.kit_id for row in self.model.rows})
        more = "" if self.model.exhausted else " so far; scroll for more"
        self.count_label.setText(f"{kits} kit{'s' if kits != 1 else ''} shown{more}.")

    def _scanned(self, item: ScannedItem) -> None:
        """Find the scanned kit (or lot) wherever it stands."""
        self._filling = True
        try:
            self.shown.setCurrentIndex(self.shown.findData(KitsShown.ALL.value))
            self.location.setCurrentIndex(0)
            self.number_filter.setText(item.kit_number or item.lot_number or "")
        finally:
            self._filling = False
        self.reload()
        if self.model.rowCount():
            self.view.selectRow(0)

    def select_record(self, record_id: int) -> None:
        """Show one lot's kits on site (stock to pull, from My work)."""
        number = self.ws.read(
            self, "reading the lot", lambda session: session.get_one(Lot, record_id).lot_number
        )
        if number is None:
            return
        self._filling = True
        try:
            self.shown.setCurrentIndex(self.shown.findData(KitsShown.ON_SITE.value))
            self.location.setCurrentIndex(0)
            self.number_filter.setText(number)
        finally:
            self._filling = False
        self.reload()
        if self.model.rowCount():
            self.view.selectRow(0)
            self.view.setFocus()

    def focus_scan(self) -> bool:
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
