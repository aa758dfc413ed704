"""Quarantine: stock held until a pharmacist records and signs the sponsor's decision
(release or condemn), and holding stock after an excursion or a recall (DOMAIN.md).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from ids_app.inventory import quarantine as service
from ids_app.inventory.models import (
    HoldDecisionKind,
    HoldReason,
    Kit,
    Location,
    Lot,
    QuarantineHold,
)
from ids_app.inventory.views import (
    DecisionRow,
    HeldRow,
    HoldRow,
    ScannedItem,
    decision_rows,
    held_rows,
    hold_rows,
    location_choices,
    signed_by,
)
from ids_app.studies.models import Study
from ids_app.studies.views import Choice
from ids_app.ui.context import Workspace
from ids_app.ui.dispensing import fill_combo
from ids_app.ui.forms import InlineMessage, hint_label, open_dialog, primary_button
from ids_app.ui.guard import attempt
from ids_app.ui.scan import ScanPanel
from ids_app.ui.signature import SignatureDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.users.models import SignatureMeaning
from ids_app.wording import quantity_text

ANY_LOCATION = "(wherever it is)"


class QuarantineTab(StudyTab):
    key = "quarantine"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.dialog: QWidget | None = None
        self.can_decide = ws.can("decide_hold")
        self.can_hold = ws.can("quarantine")
        self.scanned: ScannedItem | None = None

        self.holds: RowsModel[HoldRow] = RowsModel(
            [
                Column("Hold", lambda r: r.id, numeric=True),
                Column("Reason", lambda r: r.reason),
                Column("Holds", lambda r: r.held),
                Column("Details", lambda r: r.details, tooltip=lambda r: r.details),
                Column("Since", lambda r: r.placed_at),
                Column("By", lambda r: r.placed_by),
                Column("Shipment", lambda r: r.shipment_number),
            ],
            status=lambda _r: "quarantined",
            parent=self,
        )
        self.holds_view = table_view(self.holds, name="holdsTable")
        self.holds_view.selectionModel().selectionChanged.connect(self._hold_chosen)
        self.held: RowsModel[HeldRow] = RowsModel(
            [
                Column("Lot", lambda r: r.lot_number),
                Column("Kit", lambda r: r.kit_number),
                Column("At", lambda r: r.location),
                Column("Quantity", lambda r: quantity_text(r.quantity, r.unit)),
                Column("Expiry", lambda r: r.expiry),
                Column("Product", lambda r: r.product),
            ],
            parent=self,
        )
        self.held_view = table_view(self.held, name="heldTable")

        # the sponsor's decision --------------------------------------------------------------
        self.decision_lot = QComboBox()
        self.decision_lot.setObjectName("decisionLot")
        self.decision = QComboBox()
        self.decision.setObjectName("decisionKind")
        # No ruling is preselected: a pharmacist picks Release or Condemn from the sponsor's
        # letter, never by leaving a default in place.
        self.decision.addItem("Choose the sponsor's ruling…", None)
        self.decision.addItem("Release: the stock may be used", HoldDecisionKind.RELEASE.value)
        self.decision.addItem(
            "Condemn: the stock waits for destruction or return", HoldDecisionKind.CONDEMN.value
        )
        self.reference = QLineEdit()
        self.reference.setObjectName("sponsorReference")
        self.reference.setPlaceholderText("the sponsor's letter, e-mail or form")
        self.decide_button = primary_button("Record decision and sign…", name="decideButton")
        self.decide_button.clicked.connect(self.decide)
        self.decide_message = InlineMessage("decideMessage")
        decide_box = QGroupBox("The sponsor's decision")
        decide_box.setObjectName("decideBox")
        decide_form = QFormLayout(decide_box)
        decide_form.addRow("&Lot", self.decision_lot)
        decide_form.addRow("&Decision", self.decision)
        decide_form.addRow("Sponsor's &reference", self.reference)
        self.warn_as_typed(decide_form, self.reference)
        decide_form.addRow(self.decide_message)
        decide_form.addRow(self.decide_button)
        decide_box.setVisible(self.can_decide)

        # holding stock ------------------------------------------------------------------------
        self.reason = QComboBox()
        self.reason.setObjectName("holdReason")
        for reason in HoldReason:
            self.reason.addItem(reason.value, reason.value)
        self.details = QLineEdit()
        self.details.setObjectName("holdDetails")
        self.details.setPlaceholderText("what happened: the reading, the recall notice…")
        self.scan = ScanPanel(ws.db, "Scan the kit or lot")
        self.scan.identified.connect(self._scanned)
        self.hold_location = QComboBox()
        self.hold_location.setObjectName("holdLocation")
        self.hold_button = primary_button("Hold the stock", name="holdButton")
        self.hold_button.clicked.connect(self.hold)
        self.hold_message = InlineMessage("holdMessage")
        hold_box = QGroupBox("Hold stock")
        hold_box.setObjectName("holdBox")
        hold_form = QFormLayout(hold_box)
        hold_form.addRow("&Reason", self.reason)
        hold_form.addRow("&Details", self.details)
        self.warn_as_typed(hold_form, self.details)
        hold_form.addRow(self.scan)
        hold_form.addRow("&Location", self.hold_location)
        hold_form.addRow(
            hint_label(
                "A scanned kit holds that kit; a scanned lot holds the lot (in the location "
                "chosen, or everywhere); no scan holds all of the study's stock in the location."
            )
        )
        hold_form.addRow(self.hold_message)
        hold_form.addRow(self.hold_button)
        hold_box.setVisible(self.can_hold)

        self.decisions: RowsModel[DecisionRow] = RowsModel(
            [
                Column("Hold", lambda r: r.hold_id, numeric=True),
                Column("Lot", lambda r: r.lot_number),
                Column("Decision", lambda r: r.decision),
                Column("Sponsor's reference", lambda r: r.sponsor_reference),
                Column("Signed", lambda r: r.signed, tooltip=lambda r: r.signed),
            ],
            status=lambda r: "condemned" if r.decision == "condemn" else "ok",
            parent=self,
        )
        self.decisions_view = table_view(self.decisions, name="decisionsTable")
        decisions_box = QGroupBox("Decisions recorded")
        QVBoxLayout(decisions_box).addWidget(self.decisions_view)

        holds_box = QGroupBox("Holds awaiting a decision")
        holds_layout = QVBoxLayout(holds_box)
        holds_layout.addWidget(self.holds_view)
        holds_layout.addWidget(hint_label("Held under the chosen hold:"))
        holds_layout.addWidget(self.held_view)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(decide_box)
        right_layout.addWidget(hold_box)
        if not (self.can_decide or self.can_hold):
            right_layout.addWidget(
                hint_label(
                    "Technicians and pharmacists hold stock; a pharmacist records the "
                    "sponsor's decision with a signature."
                )
            )
        right_layout.addStretch(1)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(holds_box)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(decisions_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(split)

    def study_changed(self) -> None:
        self.scanned = None
        self.decide_message.clear_message()
        self.hold_message.clear_message()

    def reload(self) -> None:
        assert self.study is not None
        study_id, user = self.study.id, self.ws.user

        def read(session: Session) -> tuple[list[HoldRow], list[DecisionRow], list[Choice]]:
            return (
                hold_rows(session, study_id, user),
                decision_rows(session, study_id, user),
                location_choices(session),
            )

        found = self.ws.read(self, "reading the holds", read)
        if found is None:
            return
        holds, decisions, locations = found
        keep = selected_row(self.holds_view)
        self.holds.set_rows(holds)
        fit_columns(self.holds_view)
        self.decisions.set_rows(decisions)
        fit_columns(self.decisions_view)
        fill_combo(
            self.hold_location,
            [Choice(0, ANY_LOCATION), *locations],
            keep=self.hold_location.currentData(),
        )
        self.scan.set_study(study_id)
        if isinstance(keep, HoldRow):
            self.select_record(keep.id)
        elif holds:
            self.holds_view.selectRow(0)
        else:
            self.held.set_rows([])
            self.decision_lot.clear()

    def select_record(self, record_id: int) -> None:
        for number, row in enumerate(self.holds.rows):
            if row.id == record_id:
                self.holds_view.selectRow(number)
                return

    def _hold_chosen(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        row = selected_row(self.holds_view)
        if not isinstance(row, HoldRow):
            return
        hold_id = row.id
        rows = self.ws.read(self, "reading the held stock", lambda s: held_rows(s, hold_id))
        self.held.set_rows(rows or [])
        fit_columns(self.held_view)
        lots: dict[int, str] = {}
        for held in rows or []:
            lots.setdefault(held.lot_id, f"{held.lot_number} — {held.product}")
        fill_combo(self.decision_lot, [Choice(i, t) for i, t in lots.items()])

    def decide(self) -> None:
        hold = selected_row(self.holds_view)
        lot_id = self.decision_lot.currentData()
        if not isinstance(hold, HoldRow) or lot_id is None:
            self.decide_message.show_error("Choose the hold and the lot the decision is about.")
            return
        if self.decision.currentData() is None:
            self.decide_message.show_error("Choose the sponsor's ruling: release or condemn.")
            self.decision.setFocus()
            return
        decision = HoldDecisionKind(self.decision.currentData())
        reference = self.reference.text()
        user, db = self.ws.user, self.ws.db

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                record = service.decide_hold(
                    session,
                    user,
                    session.get_one(QuarantineHold, hold.id),
                    session.get_one(Lot, lot_id),
                    decision=decision,
                    sponsor_reference=reference,
                    password=password,
                )
                return signed_by(session, record)

        lot_text = self.decision_lot.currentText()
        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.APPROVED,
            what=(
                f"Hold {hold.id} ({hold.reason}: {hold.details}). Lot {lot_text}: "
                f"{decision.value}, as the sponsor decided "
                f"({reference.strip() or 'no reference yet'})."
            ),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(lambda text: self._decided(f"Decision recorded: {text}"))
        self.dialog = dialog
        open_dialog(dialog)

    def _decided(self, text: str) -> None:
        self.reference.clear()
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.decide_message.show_success(text)

    def prepare_hold(self, scan: str, reason: HoldReason, details: str) -> None:
        """Fill the hold form for stock chosen elsewhere (an expired kit in Inventory): the
        reason, the details and the kit as if scanned; the cursor waits on Hold."""
        self.reason.setCurrentIndex(self.reason.findData(reason.value))
        self.details.setText(details)
        self.hold_location.setCurrentIndex(0)
        self.scan.handle_scan(scan)

    def _scanned(self, item: ScannedItem) -> None:
        self.scanned = item
        self.hold_button.setFocus()

    def hold(self) -> None:
        if self.study is None:
            return
        study_id = self.study.id
        item = self.scanned
        location_id = self.hold_location.currentData() or None
        reason = HoldReason(self.reason.currentData())
        details = self.details.text()
        user = self.ws.user

        def act() -> int:
            with self.ws.db.unit_of_work() as session:
                kit = session.get_one(Kit, item.kit_id) if item and item.kit_id else None
                lot = (
                    session.get_one(Lot, item.lot_id)
                    if item and item.lot_id and item.kit_id is None
                    else None
                )
                hold = service.quarantine_stock(
                    session,
                    user,
                    session.get_one(Study, study_id),
                    reason=reason,
                    details=details,
                    kit=kit,
                    lot=lot,
                    location=session.get_one(Location, location_id) if location_id else None,
                )
                return hold.id

        self.hold_message.clear_message()
        hold_id = attempt(
            self, self.ws.db, "holding the stock", act, show_refusal=self.hold_message.show_error
        )
        if hold_id is None:
            return
        text = f"Hold {hold_id} placed: the stock is quarantined until the sponsor decides."
        self.details.clear()
        self.scan.reset()
        self.scanned = None
        self.ws.changed(text)
        if not self.isVisible():
            self.refresh()
        self.select_record(hold_id)
        self.hold_message.show_success(text)

    def focus_scan(self) -> bool:
        if not self.can_hold:
            return False
        self.scan.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return True
