"""A study's overview: status, products, stock by lot and location with expiry, and alerts
(quarantine holds, expiring stock, orders awaiting verification, returns awaiting the monitor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory.dispensing import orders_awaiting_verification
from ids_app.inventory.order_views import OrderRow, ReturnRow, order_row, return_rows
from ids_app.inventory.returns import returns_awaiting_monitor
from ids_app.inventory.views import (
    ExpiringRow,
    HoldRow,
    StockRow,
    expiring_rows,
    hold_rows,
    stock_rows,
)
from ids_app.monitoring.views import open_query_count
from ids_app.studies.irb import approval_lapsed, approval_text, approval_warning
from ids_app.studies.models import Study
from ids_app.studies.views import ProductRow, product_rows
from ids_app.ui.context import Workspace
from ids_app.ui.forms import heading_label, hint_label
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.style import set_status
from ids_app.ui.table_models import (
    ROW_ROLE,
    Column,
    RowsModel,
    fit_columns,
    fit_height,
    table_view,
)
from ids_app.ui.temperature_alerts import storage_alert_text
from ids_app.users.models import User
from ids_app.wording import quantity_text


@dataclass(frozen=True)
class OverviewData:
    products: list[ProductRow]
    stock: list[StockRow]
    holds: list[HoldRow]
    expiring: list[ExpiringRow]
    awaiting_verification: list[OrderRow]
    awaiting_monitor: list[ReturnRow]
    irb_approval: str
    irb_warning: str | None
    irb_lapsed: bool
    # The monitor's queries awaiting the site's answer, and awaiting the monitor.
    open_queries: tuple[int, int]


def read_overview(
    session: Session, study_id: int, expiring_days: int, reader: User
) -> OverviewData:
    day = today()
    waiting_ids = {r.id for r in returns_awaiting_monitor(session, study_id)}
    study = session.get_one(Study, study_id)
    return OverviewData(
        products=product_rows(session, study_id),
        stock=stock_rows(session, study_id, day, expiring_days, reader=reader),
        holds=hold_rows(session, study_id, reader),
        expiring=expiring_rows(session, study_id, expiring_days, day),
        awaiting_verification=[
            order_row(session, order.id, reader)
            for order in orders_awaiting_verification(session, study_id)
        ],
        awaiting_monitor=[
            row
            for row in return_rows(session, reader, study_id=study_id, awaiting_monitor=True)
            if row.id in waiting_ids
        ],
        irb_approval=approval_text(study),
        irb_warning=approval_warning(study, day),
        irb_lapsed=approval_lapsed(study, day) is not None,
        open_queries=open_query_count(session, study_id),
    )


STATUS_TEXT = {
    "open": "ok",
    "on hold": "quarantined",
    "closed": "expired",
    "closed to accrual": "expiring",
}


class AlertBox(QGroupBox):
    """One alert: a title with its count and a short table (or "None")."""

    def __init__(self, title: str, model: RowsModel[Any], name: str) -> None:
        super().__init__(title)
        self.base_title = title
        self.setObjectName(name)
        self.model = model
        self.view = table_view(model, name=f"{name}Table")
        self.none_label = hint_label("None.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view)
        layout.addWidget(self.none_label)

    def show_count(self) -> None:
        count = self.model.rowCount()
        self.setTitle(f"{self.base_title} ({count})")
        self.view.setVisible(count > 0)
        self.none_label.setVisible(count == 0)
        if count:
            fit_columns(self.view)
            fit_height(self.view, max_rows=4)


class OverviewTab(StudyTab):
    key = "overview"
    open_order = Signal(int)
    open_tab = Signal(str)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.title_label = heading_label("")
        self.title_label.setObjectName("heading")
        self.title_label.setWordWrap(True)
        self.status_label = QLabel()
        self.status_label.setObjectName("studyStatus")
        self.blinding_label = QLabel()
        self.blinding_label.setObjectName("blindingNote")
        self.blinding_label.setWordWrap(True)
        self.details = QFormLayout()
        self.sponsor_label = QLabel()
        self.pi_label = QLabel()
        self.ind_label = QLabel()
        self.irb_label = QLabel()
        self.irb_label.setObjectName("irbApproval")
        self.irb_label.setWordWrap(True)
        self.details.addRow("Sponsor", self.sponsor_label)
        self.details.addRow("Principal investigator", self.pi_label)
        self.details.addRow("IND", self.ind_label)
        self.details.addRow("IRB approval", self.irb_label)

        self.products: RowsModel[ProductRow] = RowsModel(
            [
                Column("Product", lambda r: r.description),
                Column("Role", lambda r: r.role),
                Column("Counted by", lambda r: r.unit),
                Column("Storage", lambda r: r.storage),
                Column("Dispensing rule", lambda r: r.rule),
            ],
            parent=self,
        )
        self.products_view = table_view(self.products, name="productsTable")

        self.stock: RowsModel[StockRow] = RowsModel(
            [
                Column("Product", lambda r: r.product),
                Column("Lot", lambda r: r.lot_number),
                Column(
                    "Expiry",
                    lambda r: r.expiry,
                    tooltip=lambda r: {"expired": "Expired", "expiring": "Expires soon"}.get(
                        r.status
                    ),
                ),
                Column("Location", lambda r: r.location),
                Column("State", lambda r: r.state),
                Column("Quantity", lambda r: r.quantity, numeric=True),
                Column("Unit", lambda r: r.unit),
            ],
            status=lambda r: r.status or None,
            parent=self,
        )
        self.stock_view = table_view(self.stock, name="stockTable")
        self.stock_view.setSortingEnabled(False)

        self.holds: RowsModel[HoldRow] = RowsModel(
            [
                Column("Hold", lambda r: r.id, numeric=True),
                Column("Reason", lambda r: r.reason),
                Column("Holds", lambda r: r.held),
                Column("Since", lambda r: r.placed_at),
                Column("Details", lambda r: r.details, tooltip=lambda r: r.details),
            ],
            status=lambda _r: "quarantined",
            parent=self,
        )
        self.expiring: RowsModel[ExpiringRow] = RowsModel(
            [
                Column("Lot", lambda r: r.lot_number),
                Column("Kit", lambda r: r.kit_number),
                Column("Expiry", lambda r: r.expiry),
                Column("Location", lambda r: r.location),
                Column("State", lambda r: r.state),
                Column("Qty", lambda r: r.quantity, numeric=True),
            ],
            status=lambda r: r.status,
            parent=self,
        )
        self.verifications: RowsModel[OrderRow] = RowsModel(
            [
                Column("Order", lambda r: r.id, numeric=True),
                Column("Subject", lambda r: r.subject_code),
                Column("Visit", lambda r: r.visit),
                Column("Prepared", lambda r: r.picked),
                Column("By", lambda r: r.prepared_by),
                Column("At", lambda r: r.prepared_at),
            ],
            status=lambda _r: "waiting",
            parent=self,
        )
        self.monitor_returns: RowsModel[ReturnRow] = RowsModel(
            [
                Column("Subject", lambda r: r.subject_code),
                Column("Returned", lambda r: r.returned_on),
                Column("What", lambda r: r.picked),
                Column("Counted", lambda r: quantity_text(r.units_counted, r.dose_unit)),
            ],
            status=lambda _r: "waiting",
            parent=self,
        )
        self.holds_box = AlertBox("Quarantine holds", self.holds, "holdsAlert")
        self.expiring_box = AlertBox("Expired or expiring soon", self.expiring, "expiringAlert")
        self.verify_box = AlertBox(
            "Orders awaiting verification", self.verifications, "verificationAlert"
        )
        self.monitor_box = AlertBox(
            "Returns awaiting the monitor", self.monitor_returns, "monitorAlert"
        )
        self.verify_box.view.activated.connect(self._open_order)
        self.verify_box.view.doubleClicked.connect(self._open_order)
        self.holds_box.view.activated.connect(lambda _i: self.open_tab.emit("quarantine"))
        self.monitor_box.view.activated.connect(lambda _i: self.open_tab.emit("returns"))

        header = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(self.title_label, 1)
        top.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(top)
        header.addWidget(self.blinding_label)
        summary = QHBoxLayout()
        summary.addLayout(self.details, 1)
        summary.addWidget(self.products_view, 2)
        header.addLayout(summary)

        alerts = QGridLayout()
        alerts.addWidget(self.holds_box, 0, 0)
        alerts.addWidget(self.expiring_box, 0, 1)
        alerts.addWidget(self.verify_box, 1, 0)
        alerts.addWidget(self.monitor_box, 1, 1)
        alerts_widget = QWidget()
        alerts_widget.setLayout(alerts)

        stock_box = QGroupBox("Stock on site by product, lot, location and state")
        stock_box.setObjectName("stockBox")
        stock_layout = QVBoxLayout(stock_box)
        stock_layout.addWidget(self.stock_view)
        self.legend = hint_label(
            "Colours: quarantined (amber), expired (red), expiring within the alert window "
            "(yellow); returned (grey) and condemned (purple) stock is never dispensed again."
        )
        stock_layout.addWidget(self.legend)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(header)
        self.storage_alert = QLabel()
        self.storage_alert.setObjectName("storageAlert")
        self.storage_alert.setWordWrap(True)
        self.irb_alert = QLabel()
        self.irb_alert.setObjectName("irbAlert")
        self.irb_alert.setWordWrap(True)
        layout.addWidget(self.irb_alert)
        self.queries_alert = QLabel()
        self.queries_alert.setObjectName("queriesAlert")
        self.queries_alert.linkActivated.connect(lambda _link: self.open_tab.emit("monitoring"))
        layout.addWidget(self.queries_alert)
        layout.addWidget(alerts_widget)
        layout.addWidget(self.storage_alert)
        layout.addWidget(stock_box, 1)

    def reload(self) -> None:
        assert self.study is not None
        study = self.study
        days, user = self.ws.settings.expiring_days, self.ws.user

        def read(session: Session) -> OverviewData:
            return read_overview(session, study.id, days, user)

        data = self.ws.read(self, "reading the study overview", read)
        if data is None:
            return
        self.title_label.setText(f"{study.protocol_number} — {study.title}")
        self.status_label.setText(study.status.value.capitalize())
        set_status(self.status_label, STATUS_TEXT.get(study.status.value, "waiting"))
        if not study.is_blinded:
            note = "Open-label study."
        elif self.show_arms:
            note = f"{study.blinding.value.capitalize()} study. You are unblinded for it."
        else:
            note = (
                f"{study.blinding.value.capitalize()} study. You are blinded: treatment arms "
                "are not shown to you."
            )
        self.blinding_label.setText(note)
        self.sponsor_label.setText(study.sponsor)
        self.pi_label.setText(study.principal_investigator)
        self.ind_label.setText(study.ind_number or "—")
        self.irb_label.setText(data.irb_approval)
        self.irb_alert.setText(data.irb_warning or "")
        self.irb_alert.setVisible(data.irb_warning is not None)
        warned = "expired" if data.irb_lapsed else "expiring"
        set_status(self.irb_alert, warned if data.irb_warning else None)
        site, monitor = data.open_queries
        self.queries_alert.setText(
            f"Open queries of the monitor: {site} awaiting the site's answer, {monitor} "
            "awaiting the monitor. <a href='monitoring'>Open Monitoring</a>"
        )
        self.queries_alert.setVisible(bool(site or monitor))
        set_status(self.queries_alert, "waiting" if site or monitor else None)
        self.products.set_rows(data.products)
        fit_columns(self.products_view)
        fit_height(self.products_view, max_rows=3)
        self.stock.set_rows(data.stock)
        fit_columns(self.stock_view)
        self.expiring_box.base_title = f"Expired or expiring within {days} days"
        for box, rows in (
            (self.holds_box, data.holds),
            (self.expiring_box, data.expiring),
            (self.verify_box, data.awaiting_verification),
            (self.monitor_box, data.awaiting_monitor),
        ):
            box.model.set_rows(rows)
            box.show_count()
        storage = self.ws.read(self, "reading the storage alerts", storage_alert_text) or ""
        self.storage_alert.setText(storage)
        self.storage_alert.setVisible(bool(storage))
        set_status(self.storage_alert, "quarantined" if storage else None)

    def _open_order(self, index: QModelIndex) -> None:
        row = self.verifications.data(index, ROW_ROLE)
        if isinstance(row, OrderRow):
            self.open_order.emit(row.id)
