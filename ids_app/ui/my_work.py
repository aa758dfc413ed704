"""My work: what waits for the signed-in user, across every study.

A pharmacist sees the verification queue (with, for each order, whether they may verify
it and if not why, in the service's words), holds awaiting the sponsor's decision and
count discrepancies; a technician the orders to prepare; a monitor the returns to verify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget
from sqlalchemy.orm import Session

from ids_app.inventory.dispensing import can_verify, orders_awaiting_verification
from ids_app.inventory.models import OrderState
from ids_app.inventory.order_views import (
    OrderRow,
    ReturnRow,
    order_row,
    orders_in_state,
    return_rows,
)
from ids_app.inventory.returns import returns_awaiting_monitor
from ids_app.inventory.views import (
    WorkItem,
    holds_needing_decision,
    open_discrepancy_items,
    study_ids_with_returns_awaiting,
)
from ids_app.ui.context import Workspace
from ids_app.ui.forms import heading_label, hint_label
from ids_app.ui.table_models import (
    ROW_ROLE,
    Column,
    RowsModel,
    fit_columns,
    fit_height,
    table_view,
)
from ids_app.users.models import Role, User
from ids_app.wording import quantity_text


@dataclass(frozen=True)
class QueuedOrder:
    order: OrderRow
    why_not: str | None  # can_verify's sentence, or None when the user may verify


@dataclass
class MyWorkData:
    to_verify: list[QueuedOrder] = field(default_factory=list)
    to_prepare: list[OrderRow] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)
    holds: list[WorkItem] = field(default_factory=list)
    discrepancies: list[WorkItem] = field(default_factory=list)


def read_my_work(session: Session, user: User) -> MyWorkData:
    data = MyWorkData()
    if user.role is Role.PHARMACIST:
        # The service's queue (oldest first) and, for each order, the service's answer.
        for order in orders_awaiting_verification(session):
            data.to_verify.append(
                QueuedOrder(order_row(session, order.id, user), can_verify(session, user, order))
            )
        data.holds = holds_needing_decision(session, user)
        data.discrepancies = open_discrepancy_items(session, user)
    if user.role in (Role.TECHNICIAN, Role.PHARMACIST):
        data.to_prepare = orders_in_state(session, OrderState.PENDING, user)
    if user.role is Role.MONITOR:
        waiting = {
            waiting_return.id
            for study_id in study_ids_with_returns_awaiting(session, user)
            for waiting_return in returns_awaiting_monitor(session, study_id)
        }
        data.returns = [
            row
            for row in reversed(return_rows(session, user, awaiting_monitor=True))
            if row.id in waiting
        ]
    return data


class Queue(QGroupBox):
    def __init__(self, title: str, model: RowsModel[Any], name: str, empty: str) -> None:
        super().__init__(title)
        self.base_title = title
        self.setObjectName(name)
        self.model = model
        self.view = table_view(model, name=f"{name}Table")
        self.empty_label = hint_label(empty)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(self.empty_label)

    def show_count(self) -> None:
        count = self.model.rowCount()
        self.setTitle(f"{self.base_title} ({count})")
        self.view.setVisible(count > 0)
        self.empty_label.setVisible(count == 0)
        if count:
            fit_columns(self.view)
            fit_height(self.view, max_rows=8)


class MyWorkPage(QWidget):
    """The landing page after sign-in."""

    open_study = Signal(int, str, int)  # study id, tab key, record id

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.setObjectName("myWorkPage")
        user = ws.user
        self.welcome_label = heading_label(f"Welcome, {user.full_name}", scale=1.5)
        self.role_label = hint_label(self._role_hint(user))
        self.summary_label = QLabel()
        self.summary_label.setObjectName("workSummary")

        self.verify_model: RowsModel[QueuedOrder] = RowsModel(
            [
                Column("Study", lambda q: q.order.protocol_number),
                Column("Order", lambda q: q.order.id, numeric=True),
                Column("Subject", lambda q: q.order.subject_code),
                Column("Visit", lambda q: q.order.visit),
                Column("Prepared", lambda q: q.order.picked),
                Column("By", lambda q: q.order.prepared_by),
                Column("At", lambda q: q.order.prepared_at),
                Column(
                    "You may verify",
                    lambda q: "yes" if q.why_not is None else q.why_not,
                    tooltip=lambda q: q.why_not,
                ),
            ],
            status=lambda q: "waiting" if q.why_not is None else None,
            parent=self,
        )
        self.prepare_model: RowsModel[OrderRow] = RowsModel(
            [
                Column("Study", lambda r: r.protocol_number),
                Column("Order", lambda r: r.id, numeric=True),
                Column("Subject", lambda r: r.subject_code),
                Column("Visit", lambda r: r.visit),
                Column("Ordered", lambda r: r.ordered),
                Column("Product", lambda r: r.product),
                Column("Since", lambda r: r.ordered_at),
            ],
            parent=self,
        )
        self.returns_model: RowsModel[ReturnRow] = RowsModel(
            [
                Column("Study", lambda r: r.protocol_number),
                Column("Subject", lambda r: r.subject_code),
                Column("Visit", lambda r: r.visit),
                Column("What", lambda r: r.picked),
                Column("Returned", lambda r: r.returned_on),
                Column("Counted", lambda r: quantity_text(r.units_counted, r.dose_unit)),
                Column("Compliance", lambda r: r.compliance),
                Column("Counted by", lambda r: r.counted_by),
            ],
            status=lambda _r: "waiting",
            parent=self,
        )
        self.holds_model: RowsModel[WorkItem] = RowsModel(
            [
                Column("Study", lambda w: w.protocol_number),
                Column("Hold", lambda w: w.what, tooltip=lambda w: w.what),
                Column("Since", lambda w: w.since_text),
            ],
            status=lambda _w: "quarantined",
            parent=self,
        )
        self.discrepancy_model: RowsModel[WorkItem] = RowsModel(
            [
                Column("Study", lambda w: w.protocol_number),
                Column("Difference", lambda w: w.what, tooltip=lambda w: w.what),
                Column("Counted", lambda w: w.since_text),
            ],
            parent=self,
        )
        self.verify_queue = Queue(
            "Orders awaiting verification",
            self.verify_model,
            "verifyQueue",
            "No prepared order waits for verification.",
        )
        self.prepare_queue = Queue(
            "Orders to prepare",
            self.prepare_model,
            "prepareQueue",
            "No order waits to be prepared.",
        )
        self.returns_queue = Queue(
            "Returns to verify", self.returns_model, "returnsQueue", "No return waits for you."
        )
        self.holds_queue = Queue(
            "Quarantine holds awaiting the sponsor's decision",
            self.holds_model,
            "holdsQueue",
            "No stock is on hold.",
        )
        self.discrepancy_queue = Queue(
            "Count discrepancies to resolve",
            self.discrepancy_model,
            "discrepancyQueue",
            "No open discrepancy.",
        )
        self.verify_queue.view.activated.connect(self._verify_activated)
        self.prepare_queue.view.activated.connect(self._prepare_activated)
        self.returns_queue.view.activated.connect(self._return_activated)
        self.holds_queue.view.activated.connect(
            lambda index: self._item_activated(self.holds_model, index, "quarantine")
        )
        self.discrepancy_queue.view.activated.connect(
            lambda index: self._item_activated(self.discrepancy_model, index, "counts")
        )

        role = user.role
        self.queues: list[Queue] = []
        if role is Role.PHARMACIST:
            self.queues = [
                self.verify_queue,
                self.prepare_queue,
                self.holds_queue,
                self.discrepancy_queue,
            ]
        elif role is Role.TECHNICIAN:
            self.queues = [self.prepare_queue]
        elif role is Role.MONITOR:
            self.queues = [self.returns_queue]

        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(24, 20, 24, 20)
        column.setSpacing(12)
        column.addWidget(self.welcome_label)
        column.addWidget(self.role_label)
        column.addWidget(self.summary_label)
        for queue in self.queues:
            column.addWidget(queue)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

    @staticmethod
    def _role_hint(user: User) -> str:
        return {
            Role.PHARMACIST: "Pharmacist: you verify dispenses you did not prepare, decide on "
            "held stock with the sponsor's ruling and resolve count discrepancies.",
            Role.TECHNICIAN: "Technician: you enter and prepare orders, receive shipments, take "
            "returns and move stock.",
            Role.MONITOR: "Monitor: you review the records read-only and verify returns with "
            "your signature.",
            Role.ADMINISTRATOR: "Administrator: user accounts are managed with `ids-app users`; "
            "the screens show the records read-only except receiving.",
        }[user.role]

    def reload(self) -> None:
        user = self.ws.user

        def read(session: Session) -> MyWorkData:
            return read_my_work(session, user)

        data = self.ws.read(self, "reading your work", read)
        if data is None:
            return
        self.verify_model.set_rows(data.to_verify)
        self.prepare_model.set_rows(data.to_prepare)
        self.returns_model.set_rows(data.returns)
        self.holds_model.set_rows(data.holds)
        self.discrepancy_model.set_rows(data.discrepancies)
        for queue in self.queues:
            queue.show_count()
        waiting = sum(queue.model.rowCount() for queue in self.queues)
        self.summary_label.setText(
            "Nothing waits for you."
            if waiting == 0
            else f"{waiting} item{'s wait' if waiting != 1 else ' waits'} for you."
        )

    def _verify_activated(self, index: QModelIndex) -> None:
        item = self.verify_model.data(index, ROW_ROLE)
        if isinstance(item, QueuedOrder):
            self.open_study.emit(item.order.study_id, "dispensing", item.order.id)

    def _prepare_activated(self, index: QModelIndex) -> None:
        row = self.prepare_model.data(index, ROW_ROLE)
        if isinstance(row, OrderRow):
            self.open_study.emit(row.study_id, "dispensing", row.id)

    def _return_activated(self, index: QModelIndex) -> None:
        row = self.returns_model.data(index, ROW_ROLE)
        if isinstance(row, ReturnRow):
            self.open_study.emit(row.study_id, "returns", row.id)

    def _item_activated(self, model: RowsModel[WorkItem], index: QModelIndex, tab: str) -> None:
        item = model.data(index, ROW_ROLE)
        if isinstance(item, WorkItem):
            self.open_study.emit(item.study_id, tab, item.record_id)
