"""Physical counts: the shelf against the record, and a pharmacist's resolution of each
difference with its reason (NCI audit checklist: the log equals the shelf; ALCOA+).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.db import today
from ids_app.inventory import counts as service
from ids_app.inventory.kit_register import state_text
from ids_app.inventory.models import Discrepancy, Location, StockState
from ids_app.inventory.views import (
    BalanceRow,
    DiscrepancyRow,
    ScannedItem,
    count_discrepancy_rows,
    discrepancy_rows,
    location_choices,
    on_site_balances,
)
from ids_app.studies.models import Study
from ids_app.studies.views import Choice
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import InlineMessage, hint_label, open_dialog, primary_button
from ids_app.ui.guard import attempt
from ids_app.ui.scan import ScanPanel
from ids_app.ui.signature import SignedReasonDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view

COUNTED_COLUMN = 4


@dataclass(frozen=True)
class CountLine:
    lot_id: int
    kit_id: int | None
    state: StockState
    product: str
    lot_number: str
    kit_number: str | None
    on_record: int
    counted: int | None
    held_for_order: int | None = None

    @property
    def state_text(self) -> str:
        return state_text(self.state, self.held_for_order)


def _counted_edit(line: CountLine, value: Any) -> CountLine | None:
    text = str(value).strip()
    if text == "":
        return replace(line, counted=None)
    try:
        return replace(line, counted=int(text))
    except ValueError:
        return None


def _line(row: BalanceRow) -> CountLine:
    return CountLine(
        row.lot_id,
        row.kit_id,
        row.state,
        row.product,
        row.lot_number,
        row.kit_number,
        row.quantity,
        None,
        row.held_for_order,
    )


class CountsTab(StudyTab):
    key = "counts"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.dialog: QWidget | None = None
        self.can_count = ws.can("count")
        self.can_resolve = ws.can("resolve_discrepancy")
        self.counting_location: int | None = None

        self.location = QComboBox()
        self.location.setObjectName("countLocation")
        self.start_button = QPushButton("&Start count here")
        self.start_button.setObjectName("startCountButton")
        self.start_button.clicked.connect(self.start_count)
        self.scan = ScanPanel(ws.db, "Scan what you find")
        self.scan.identified.connect(self._scanned)
        self.lines: RowsModel[CountLine] = RowsModel(
            [
                Column("Kit", lambda c: c.kit_number),
                Column("Lot", lambda c: c.lot_number),
                Column("State", lambda c: c.state_text),
                Column("On record", lambda c: c.on_record, numeric=True),
                Column("Counted", lambda c: c.counted, numeric=True, edit=_counted_edit),
                Column("Product", lambda c: c.product),
            ],
            status=lambda c: (
                None if c.counted is None else ("ok" if c.counted == c.on_record else "expiring")
            ),
            parent=self,
        )
        self.lines_view = table_view(self.lines, name="countLines")
        self.record_button = primary_button("Record count", name="recordCountButton")
        self.record_button.clicked.connect(self.record)
        self.message = InlineMessage("countMessage")
        count_box = QGroupBox("Count one location")
        count_box.setObjectName("countBox")
        count_layout = QVBoxLayout(count_box)
        where = QHBoxLayout()
        caption = QLabel("&Location")
        caption.setBuddy(self.location)
        where.addWidget(caption)
        where.addWidget(self.location, 1)
        where.addWidget(self.start_button)
        count_layout.addLayout(where)
        count_layout.addWidget(self.scan)
        count_layout.addWidget(self.lines_view)
        count_layout.addWidget(
            hint_label(
                "Type what is on the shelf in Counted (a kit is 1 or 0), or scan each kit. "
                "A line left blank counts as none found."
            )
        )
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.record_button, 0, Qt.AlignmentFlag.AlignRight)
        count_layout.addLayout(bottom)

        self.discrepancies: RowsModel[DiscrepancyRow] = RowsModel(
            [
                Column("Location", lambda r: r.location),
                Column("Product", lambda r: r.product),
                Column("Lot", lambda r: r.lot_number),
                Column("Kit", lambda r: r.kit_number),
                Column("State", lambda r: r.state),
                Column("Record", lambda r: r.ledger_quantity, numeric=True),
                Column("Counted", lambda r: r.counted_quantity, numeric=True),
                Column("Difference", lambda r: f"{r.difference:+d}", numeric=True),
                Column("Counted at", lambda r: r.counted_at),
                Column("By", lambda r: r.counted_by),
            ],
            status=lambda _r: "expiring",
            parent=self,
        )
        self.discrepancies_view = table_view(self.discrepancies, name="discrepanciesTable")
        self.resolve_button = QPushButton("Resolve…")
        self.resolve_button.setObjectName("resolveButton")
        self.resolve_button.clicked.connect(self.resolve)
        self.resolve_button.setVisible(self.can_resolve)
        self.resolve_message = InlineMessage("resolveMessage")
        open_box = QGroupBox("Open discrepancies")
        open_box.setObjectName("discrepancyBox")
        open_layout = QVBoxLayout(open_box)
        open_layout.addWidget(self.discrepancies_view)
        row = QHBoxLayout()
        row.addWidget(self.resolve_message, 1)
        row.addWidget(self.resolve_button, 0, Qt.AlignmentFlag.AlignRight)
        open_layout.addLayout(row)

        split = QSplitter(Qt.Orientation.Vertical)
        # Kept in the layout (owned by the tab) but absent from view when the role cannot count.
        split.addWidget(count_box)
        count_box.setVisible(self.can_count)
        split.addWidget(open_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        if not self.can_count:
            layout.addWidget(
                hint_label(
                    "Counts are recorded by technicians and pharmacists; a pharmacist resolves "
                    "each difference with its reason."
                )
            )
        layout.addWidget(split)

    def study_changed(self) -> None:
        self.lines.set_rows([])
        self.counting_location = None
        self.message.clear_message()
        self.resolve_message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(session: Session) -> tuple[list[Choice], list[DiscrepancyRow]]:
            return location_choices(session), discrepancy_rows(session, study_id, user)

        found = self.ws.read(self, "reading the counts", read)
        if found is None:
            return
        locations, discrepancies = found
        fill_combo(self.location, locations, keep=self.location.currentData())
        self.discrepancies.set_rows(discrepancies)
        fit_columns(self.discrepancies_view)
        self.scan.set_study(study_id)

    def select_record(self, record_id: int) -> None:
        for number, row in enumerate(self.discrepancies.rows):
            if row.id == record_id:
                self.discrepancies_view.selectRow(number)
                return

    def start_count(self) -> None:
        if self.study is None:
            return
        study_id = self.study.id
        location_id = self.location.currentData()

        def read(session: Session) -> list[BalanceRow]:
            return on_site_balances(session, study_id, today(), location_id=location_id)

        rows = self.ws.read(self, "reading the record of the location", read)
        self.lines.set_rows([_line(row) for row in rows or []])
        fit_columns(self.lines_view)
        self.counting_location = location_id
        self.message.clear_message()
        self.scan.field.setFocus()

    def _scanned(self, item: ScannedItem) -> None:
        lines = self.lines.rows
        for number, line in enumerate(lines):
            if item.kit_id is not None and line.kit_id == item.kit_id:
                self.lines.setData(self.lines.index(number, COUNTED_COLUMN), 1)
                return
            if item.kit_id is None and line.lot_id == item.lot_id and line.kit_id is None:
                index = self.lines.index(number, COUNTED_COLUMN)
                self.lines_view.setCurrentIndex(index)
                self.lines_view.edit(index)
                return
        if item.lot_id is None:
            return
        # Found on the shelf but not on the record here: a line of its own (a surplus).
        self.lines.set_rows(
            [
                *lines,
                CountLine(
                    item.lot_id,
                    item.kit_id,
                    StockState.AVAILABLE,
                    item.product,
                    item.lot_number or "",
                    item.kit_number,
                    0,
                    1 if item.kit_id is not None else None,
                ),
            ]
        )

    def record(self) -> None:
        if self.study is None:
            return
        location_id = self.counting_location or self.location.currentData()
        if location_id is None:
            self.message.show_error("Choose the location counted.")
            return
        counted = [
            service.CountedLine(line.lot_id, line.kit_id, line.state, line.counted)
            for line in self.lines.rows
            if line.counted is not None
        ]
        user, study_id = self.ws.user, self.study.id

        def act() -> tuple[int, list[DiscrepancyRow]]:
            with self.ws.db.unit_of_work() as session:
                count = service.record_count(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    session.get_one(Location, location_id),
                    counted,
                )
                session.flush()  # the discrepancies are read back for the message
                return count.id, count_discrepancy_rows(session, count.id, user)

        self.message.clear_message()
        result = attempt(
            self, self.ws.db, "recording the count", act, show_refusal=self.message.show_error
        )
        if result is None:
            return
        _count_id, found = result
        if found:
            text = (
                f"Count recorded: {len(found)} difference{'s' if len(found) != 1 else ''} "
                "with the record, listed below for a pharmacist to resolve."
            )
        else:
            text = "Count recorded: the shelf matches the record."
        self.lines.set_rows([])
        self.counting_location = None
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.message.show_success(text)

    def resolve(self) -> None:
        row = selected_row(self.discrepancies_view)
        if not isinstance(row, DiscrepancyRow):
            self.resolve_message.show_error("Choose the discrepancy to resolve.")
            return
        user = self.ws.user

        def act(reason: str, password: str) -> int:
            with self.ws.db.unit_of_work() as session:
                service.resolve_discrepancy(
                    session, user, session.get_one(Discrepancy, row.id), reason, password
                )
            return row.id

        kit = f" kit {row.kit_number}" if row.kit_number else ""
        dialog = SignedReasonDialog(
            self.ws.db,
            user,
            title="Resolve a count discrepancy",
            intro=(
                f"{row.location}: lot {row.lot_number}{kit} ({row.state.value}) is "
                f"{row.ledger_quantity} on the record and {row.counted_quantity} on the shelf. "
                "The record is adjusted to the count, with your reason and signature beside it."
            ),
            accept_text="Adjust the record",
            act=act,
            mask=self.arm_mask,
            parent=self,
        )
        dialog.completed.connect(lambda _r: self._resolved())
        self.dialog = dialog
        open_dialog(dialog)

    def _resolved(self) -> None:
        text = "Discrepancy resolved; the record now matches the count."
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.resolve_message.show_success(text)

    def focus_scan(self) -> bool:
        if not self.can_count:
            return False
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
