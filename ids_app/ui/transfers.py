"""Transfers: stock moved between locations on site (keeping its state), or, with the
sponsor's written approval, to another protocol (DOMAIN.md, NCI audit expectations).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory import transfers as service
from ids_app.inventory.models import Kit, Location, Lot, StockState
from ids_app.inventory.views import BalanceRow, ScannedItem, location_choices, on_site_page
from ids_app.studies.models import Product, Study
from ids_app.studies.views import Choice, other_study_choices, product_choices
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import InlineMessage, hint_label, primary_button
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
from ids_app.wording import quantity_text

# Stock read per page as the list scrolls: a study can hold tens of thousands of kits.
STOCK_PAGE = 200


class TransfersTab(StudyTab):
    key = "transfers"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.can_move = ws.can("transfer")
        self.can_move_study = ws.can("transfer_to_study")

        self.scan = ScanPanel(ws.db, "Scan the kit or lot to move")
        self.scan.identified.connect(self._scanned)
        self.stock: PagedRowsModel[BalanceRow] = PagedRowsModel(
            [
                Column("Kit", lambda r: r.kit_number),
                Column("Lot", lambda r: r.lot_number),
                Column("At", lambda r: r.location),
                Column("State", lambda r: r.state),
                Column("Quantity", lambda r: r.quantity, numeric=True),
                Column("Unit", lambda r: r.unit),
                Column("Expiry", lambda r: r.expiry),
                Column("Product", lambda r: r.product),
            ],
            page_size=STOCK_PAGE,
            status=lambda r: r.status or None,
            parent=self,
        )
        self.stock_view = table_view(self.stock, name="transferStock")
        self.showing = QLabel()
        self.showing.setObjectName("transferShowing")
        self.show_all_button = QPushButton("Show &all stock")
        self.show_all_button.setObjectName("transferShowAll")
        self.show_all_button.clicked.connect(lambda: self._show_stock(None))
        self.scanned: ScannedItem | None = None
        self.stock_view.selectionModel().selectionChanged.connect(self._chosen)

        self.to_location = QComboBox()
        self.to_location.setObjectName("transferTo")
        self.quantity = QSpinBox()
        self.quantity.setObjectName("transferQuantity")
        self.quantity.setRange(1, 1_000_000)
        self.move_button = primary_button("Move", name="moveButton")
        self.move_button.clicked.connect(self.move_stock)
        self.message = InlineMessage("transferMessage")
        move_box = QGroupBox("To another location")
        move_box.setObjectName("moveBox")
        move_form = QFormLayout(move_box)
        move_form.addRow("&To", self.to_location)
        move_form.addRow("&Quantity", self.quantity)
        move_form.addRow(self.message)
        move_form.addRow(self.move_button)

        self.target_study = QComboBox()
        self.target_study.setObjectName("targetStudy")
        self.target_study.currentIndexChanged.connect(lambda _i: self._target_changed())
        self.target_product = QComboBox()
        self.target_product.setObjectName("targetProduct")
        self.approval = QLineEdit()
        self.approval.setObjectName("approvalReference")
        self.approval.setPlaceholderText("the sponsor's written approval")
        self.study_button = primary_button("Transfer to the study", name="transferStudyButton")
        self.study_button.clicked.connect(self.move_to_study)
        self.study_message = InlineMessage("transferStudyMessage")
        study_box = QGroupBox("To another protocol")
        study_box.setObjectName("studyTransferBox")
        study_form = QFormLayout(study_box)
        study_form.addRow("&Study", self.target_study)
        study_form.addRow("&Product", self.target_product)
        study_form.addRow("Sponsor's &approval", self.approval)
        self.warn_as_typed(study_form, self.approval)
        study_form.addRow(self.study_message)
        study_form.addRow(self.study_button)
        study_box.setVisible(self.can_move_study)

        right = QVBoxLayout()
        right.addWidget(move_box)
        right.addWidget(study_box)
        right.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.scan)
        showing = QHBoxLayout()
        showing.addWidget(self.showing, 1)
        showing.addWidget(self.show_all_button)
        left.addLayout(showing)
        left.addWidget(self.stock_view)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        move_box.setVisible(self.can_move)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(
            hint_label(
                "Choose the stock (or scan it), then where it goes. Held stock carries its hold "
                "along; returned units stay where they were counted back."
                if self.can_move
                else "Stock on site, kit by kit. Technicians and pharmacists move stock."
            )
        )
        layout.addLayout(body)
        self.scan.setVisible(self.can_move)

    def study_changed(self) -> None:
        self.message.clear_message()
        self.study_message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id = self.study.id

        def read(session: Session) -> tuple[list[Choice], list[Choice]]:
            return location_choices(session), other_study_choices(session, study_id)

        found = self.ws.read(self, "reading the locations and studies", read)
        if found is None:
            return
        locations, studies = found
        keep = selected_row(self.stock_view)
        self._show_stock(self.scanned)
        if isinstance(keep, BalanceRow):
            place = (keep.lot_id, keep.kit_id, keep.location_id, keep.state)
            self._select(lambda r: (r.lot_id, r.kit_id, r.location_id, r.state) == place)
        fill_combo(self.to_location, locations, keep=self.to_location.currentData())
        fill_combo(self.target_study, studies, keep=self.target_study.currentData())
        self._target_changed()
        self.scan.set_study(study_id)

    def _show_stock(self, scanned: ScannedItem | None) -> None:
        """All the stock on site, read a page at a time, or only what was scanned."""
        assert self.study is not None
        self.scanned = scanned
        study_id = self.study.id
        kit_id = scanned.kit_id if scanned else None
        lot_id = scanned.lot_id if scanned and scanned.kit_id is None else None
        user = self.ws.user

        def fetch(last: BalanceRow | None, limit: int) -> list[BalanceRow]:
            def read(session: Session) -> list[BalanceRow]:
                return on_site_page(
                    session,
                    study_id,
                    today(),
                    reader=user,
                    after=last,
                    limit=limit,
                    kit_id=kit_id,
                    lot_id=lot_id,
                )

            return self.ws.read(self, "reading the stock", read) or []

        self.stock.reset(fetch)
        fit_columns(self.stock_view)
        self.showing.setText(
            f"Showing {_scanned_what(scanned)} only."
            if scanned
            else "All stock on site: units first, then kits by number."
        )
        self.show_all_button.setVisible(scanned is not None)

    def _target_changed(self) -> None:
        target = self.target_study.currentData()
        if target is None:
            self.target_product.clear()
            return
        choices = self.ws.read(self, "reading the products", lambda s: product_choices(s, target))
        fill_combo(self.target_product, choices or [])

    def _select(self, wanted: Callable[[BalanceRow], bool]) -> bool:
        for number, row in enumerate(self.stock.rows):
            if wanted(row):
                self.stock_view.selectRow(number)
                self.stock_view.scrollTo(self.stock.index(number, 0))
                return True
        return False

    def _scanned(self, item: ScannedItem) -> None:
        self._show_stock(item)
        found = self._select(lambda r: r.state is StockState.AVAILABLE) or self._select(
            lambda r: True
        )
        if not found:
            self.scan.refuse(f"{item.summary.split(' — ')[0]} is not on site in this study.")
            self._show_stock(None)
            return
        self.to_location.setFocus()

    def _chosen(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = selected_row(self.stock_view)
        if isinstance(row, BalanceRow):
            self.quantity.setValue(row.quantity)

    def move_stock(self) -> None:
        row = selected_row(self.stock_view)
        if not isinstance(row, BalanceRow):
            self.message.show_error("Choose the stock to move.")
            return
        to_id = self.to_location.currentData()
        quantity = self.quantity.value()
        user = self.ws.user

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                target = session.get_one(Location, to_id)
                service.transfer_stock(
                    session,
                    user,
                    lot=session.get_one(Lot, row.lot_id),
                    kit=session.get_one(Kit, row.kit_id) if row.kit_id else None,
                    from_location=session.get_one(Location, row.location_id),
                    to_location=target,
                    quantity=quantity,
                    state=row.state,
                )
                what = (
                    f"kit {row.kit_number}"
                    if row.kit_number
                    else f"{quantity_text(quantity, row.unit)} of lot {row.lot_number}"
                )
                return f"Moved {what} from {row.location} to {target.name}."

        self.message.clear_message()
        text = attempt(
            self, self.ws.db, "moving the stock", act, show_refusal=self.message.show_error
        )
        if text is None:
            return
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.message.show_success(text)

    def move_to_study(self) -> None:
        row = selected_row(self.stock_view)
        if not isinstance(row, BalanceRow) or self.study is None:
            self.study_message.show_error("Choose the stock to transfer.")
            return
        target_id = self.target_study.currentData()
        product_id = self.target_product.currentData()
        if target_id is None or product_id is None:
            self.study_message.show_error("Choose the study and product that receive the stock.")
            return
        quantity, approval = self.quantity.value(), self.approval.text()
        user, source_id = self.ws.user, self.study.id

        def act() -> str:
            with self.ws.db.unit_of_work() as session:
                target = session.get_one(Study, target_id)
                service.transfer_to_study(
                    session,
                    user,
                    source_study=session.get_one(Study, source_id),
                    lot=session.get_one(Lot, row.lot_id),
                    kit=session.get_one(Kit, row.kit_id) if row.kit_id else None,
                    location=session.get_one(Location, row.location_id),
                    quantity=quantity,
                    target_study=target,
                    target_product=session.get_one(Product, product_id),
                    sponsor_approval_reference=approval,
                )
                return (
                    f"Transferred {quantity_text(quantity, row.unit)} of lot {row.lot_number} to "
                    f"{target.protocol_number}."
                )

        self.study_message.clear_message()
        text = attempt(
            self,
            self.ws.db,
            "transferring to another study",
            act,
            show_refusal=self.study_message.show_error,
        )
        if text is None:
            return
        self.approval.clear()
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.study_message.show_success(text)

    def focus_scan(self) -> bool:
        if not self.can_move:
            return False
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True


def _scanned_what(item: ScannedItem) -> str:
    """The scanned kit or lot as its label writes it ("kit 1013", "lot ZB2401")."""
    return f"kit {item.kit_number}" if item.kit_number else f"lot {item.lot_number}"
