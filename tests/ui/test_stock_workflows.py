"""Returns, quarantine, destruction, counts and transfers through the real widgets."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.inventory.models import (
    Discrepancy,
    DiscrepancyState,
    Disposal,
    HoldDecision,
    HoldDecisionKind,
    SubjectReturn,
)
from ids_app.ui.counts import CountsTab
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.main_window import MainWindow
from ids_app.ui.quarantine import QuarantineTab
from ids_app.ui.returns import ReturnsTab
from ids_app.ui.signature import ReasonDialog, SignatureDialog, SignedReasonDialog, WitnessDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.transfers import TransfersTab
from ids_app.users.models import SignatureMeaning
from ids_app.users.signatures import signatures_of
from tests.ui.conftest import PASSWORDS, WindowOpener
from tests.ui.workflows import returned_kit, scanner_types, study_id

pytestmark = pytest.mark.gui


def open_tab(window: MainWindow, protocol: str, key: str) -> StudyTab:
    assert window.open_study(study_id(window.db, protocol))
    window.trigger(f"view.{key}")
    tab = window.workspace.current_tab()
    assert tab is not None
    assert tab.key == key
    return tab


def sign_in_dialog(qtbot: QtBot, dialog: object, password: str) -> None:
    assert isinstance(dialog, SignatureDialog)
    qtbot.keyClicks(dialog.password_field, password)
    qtbot.keyClick(dialog.password_field, Qt.Key.Key_Return)


def choose(combo: object, text: str) -> None:
    from PySide6.QtWidgets import QComboBox

    assert isinstance(combo, QComboBox)
    index = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    assert index >= 0, f"{text} is not in {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def test_return_is_counted_with_compliance_then_verified_by_the_monitor(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "ABC-123", "returns")
    assert isinstance(tab, ReturnsTab)
    scanner_types(qtbot, tab.scan.field, "1012")
    assert tab.scan.refusal_text == ""
    chosen = tab.dispensed.row_at(tab.dispensed_view.currentIndex().row())
    assert chosen is not None
    assert chosen.order.kit_number == "1012"
    assert tech.focusWidget() is tab.units_counted
    tab.units_counted.setValue(3)
    # As returns.compliance_between computes it: 30 tablets dispensed, 3 back.
    assert re.fullmatch(
        # The demo's dates move with today: past 80 % or not, the flag follows the rate.
        r"\d+\.\d % \(27 tablets taken of \d+ expected over \d+ days\)"
        r"( — below 80 %: fewer doses taken than prescribed; ask the subject, tell the "
        r"study team)?",
        tab.compliance_label.text(),
    )
    qtbot.keyClicks(tab.condition, "bottle opened, 3 tablets")
    choose(tab.location, "Returns")
    tab.record_button.click()
    assert tab.record_message.kind == "success", tab.record_message.text()
    row = tab.returns.rows[0]
    assert row.picked == "kit 1012"
    assert re.match(r"\d+\.\d % \(27 of ", row.compliance), row.compliance
    assert row.monitor_verified is None
    assert not tab.verify_button.isVisible()  # a technician does not verify returns

    monitor = open_window("monitor")
    assert [item.what for item in monitor.my_work.items("returns_to_verify")] == [
        "01-004 Visit 4: kit 1012, 3 tablets counted by Terry Tech"
    ]
    qtbot.keyClick(monitor.my_work.view, Qt.Key.Key_Return)
    mtab = monitor.workspace.current_tab()
    assert isinstance(mtab, ReturnsTab)
    assert mtab.returns_view.currentIndex().row() == 0
    mtab.verify_button.click()
    dialog = mtab.dialog
    assert isinstance(dialog, SignatureDialog)
    assert "Morgan Monitor, Monitor — Verified —" in dialog.manifestation_label.text()
    with qtbot.waitSignal(dialog.signed):
        sign_in_dialog(qtbot, dialog, "demo-monitor")
    assert "Morgan Monitor, Monitor — Verified" in (mtab.returns.rows[0].monitor_verified or "")
    with monitor.db.read_session() as session:
        assert session.scalars(select(SubjectReturn.monitor_verified_at)).all()[-1] is not None


def test_hold_and_release_with_the_sponsors_decision(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "XYZ-789", "quarantine")
    assert isinstance(tab, QuarantineTab)
    assert not tab.decide_button.isVisible()
    choose(tab.reason, "excursion")
    qtbot.keyClicks(tab.details, "Fridge 1 read 10.2 °C for 50 min")
    choose(tab.hold_location, "IDS Fridge 1")
    tab.hold_button.click()
    assert tab.hold_message.kind == "success", tab.hold_message.text()
    hold_id = tab.holds.rows[-1].id

    pharm = open_window("pharm")
    assert any(item.record_id == hold_id for item in pharm.my_work.items("holds"))
    ptab = open_tab(pharm, "XYZ-789", "quarantine")
    assert isinstance(ptab, QuarantineTab)
    ptab.select_record(hold_id)
    assert [row.location for row in ptab.held.rows] == ["IDS Fridge 1"]
    choose(ptab.decision, "Release")
    ptab.decide_button.click()
    dialog = ptab.dialog
    sign_in_dialog(qtbot, dialog, "demo-pharm")
    assert isinstance(dialog, SignatureDialog)
    assert dialog.isVisible()
    assert dialog.error_text.startswith("Type the sponsor's reference for this decision")
    dialog.reject()
    qtbot.keyClicks(ptab.reference, "Zenith TE-2026-090")
    ptab.decide_button.click()
    signing = ptab.dialog
    assert isinstance(signing, SignatureDialog)
    with qtbot.waitSignal(signing.signed):
        sign_in_dialog(qtbot, signing, "demo-pharm")
    assert all(row.id != hold_id for row in ptab.holds.rows)
    with pharm.db.read_session() as session:
        decision = session.scalars(
            select(HoldDecision).where(HoldDecision.hold_id == hold_id)
        ).one()
    assert decision.decision is HoldDecisionKind.RELEASE
    assert ptab.decisions.rows[0].signed.startswith("Jane Roe, Pharmacist — Approved")


def test_destruction_is_witnessed_at_the_same_workstation(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    returned_kit(window.db, "1012", verified=True)
    returned_kit(window.db, "1009", verified=False)
    tab = open_tab(window, "ABC-123", "destruction")
    assert isinstance(tab, DestructionTab)
    # Only the verified return may go; the unverified one is not offered.
    assert [c.row.kit_number for c in tab.stock.rows] == ["1012"]
    tab.select_all()
    qtbot.keyClicks(tab.number, "DEST-ABC-0002")
    qtbot.keyClicks(tab.method, "Incineration")
    qtbot.keyClicks(tab.authorization, "Acme letter 2026-ABC-31")
    tab.dispose_button.click()
    witness = tab.dialog
    assert isinstance(witness, WitnessDialog)
    # The technician who performs it signs too, with their own password.
    qtbot.keyClicks(witness.performer_password_field, "demo-tech")
    qtbot.keyClicks(witness.username_field, "pharm2")
    qtbot.keyClicks(witness.password_field, "wrong-password")
    witness.accept_button.click()
    assert witness.isVisible()
    assert witness.error_text == "The password is wrong (4 attempts left before the account locks)."
    qtbot.keyClicks(witness.performer_password_field, "demo-tech")
    qtbot.keyClicks(witness.password_field, "demo-pharm2")
    with qtbot.waitSignal(witness.signed):
        witness.accept_button.click()
    assert tab.history.rows[0].number == "DEST-ABC-0002"
    assert tab.history.rows[0].witness.startswith("Sam Lee, Pharmacist — Witnessed")
    assert tab.stock.rows == []
    with window.db.read_session() as session:
        disposal = session.scalars(
            select(Disposal).where(Disposal.disposal_number == "DEST-ABC-0002")
        ).one()
        meanings = [(s.printed_name, s.meaning) for s in signatures_of(session, disposal)]
    assert meanings == [
        ("Terry Tech", SignatureMeaning.PERFORMED),
        ("Sam Lee", SignatureMeaning.WITNESSED),
    ]


def test_monitor_verifies_a_destruction_with_a_signature(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    technician = open_window("tech")
    ttab = open_tab(technician, "ABC-123", "destruction")
    assert isinstance(ttab, DestructionTab)
    assert not ttab.verify_button.isVisible()  # only the monitor verifies
    monitor = open_window("monitor")
    tab = open_tab(monitor, "ABC-123", "destruction")
    assert isinstance(tab, DestructionTab)
    assert not tab.dispose_button.isVisible()
    assert tab.history.rows[0].monitor == ""  # the demo's destruction awaits the monitor
    tab.history_view.selectRow(0)
    tab.verify_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, SignatureDialog)
    with qtbot.waitSignal(dialog.signed):
        sign_in_dialog(qtbot, dialog, "demo-monitor")
    assert tab.history.rows[0].monitor.startswith("Morgan Monitor, Monitor — Verified")


def test_count_finds_a_missing_kit_and_a_pharmacist_resolves_it(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "ABC-123", "counts")
    assert isinstance(tab, CountsTab)
    assert not tab.resolve_button.isVisible()
    choose(tab.location, "IDS Shelf A")
    tab.start_button.click()
    kits = [line.kit_number for line in tab.lines.rows]
    assert len(kits) == 8
    for kit in kits[:-1]:
        scanner_types(qtbot, tab.scan.field, kit or "")
    assert [line.counted for line in tab.lines.rows] == [1] * 7 + [None]
    tab.record_button.click()
    assert tab.message.text().startswith("Count recorded: 1 difference")
    assert [row.kit_number for row in tab.discrepancies.rows] == [kits[-1]]

    pharm = open_window("pharm")
    assert len(pharm.my_work.items("discrepancies")) == 1
    ptab = open_tab(pharm, "ABC-123", "counts")
    assert isinstance(ptab, CountsTab)
    ptab.discrepancies_view.selectRow(0)
    ptab.resolve_button.click()
    dialog = ptab.dialog
    assert isinstance(dialog, ReasonDialog)
    qtbot.keyClicks(dialog.reason_field, "Kit found broken and discarded by the sponsor's CRA")
    assert isinstance(dialog, SignedReasonDialog)
    qtbot.keyClicks(dialog.password_field, PASSWORDS["pharm"])
    dialog.accept_button.click()
    assert ptab.discrepancies.rows == []
    with pharm.db.read_session() as session:
        assert session.scalars(select(Discrepancy.status)).all() == [DiscrepancyState.RESOLVED]


def test_stock_moves_to_a_location_that_keeps_it_in_range(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = open_tab(window, "XYZ-789", "transfers")
    assert isinstance(tab, TransfersTab)
    assert not tab.study_button.isVisible()  # to another study: pharmacists only
    scanner_types(qtbot, tab.scan.field, "ZB2401")
    assert tab.showing.text() == "Showing lot ZB2401 only."
    row = tab.stock.row_at(tab.stock_view.currentIndex().row())
    assert row is not None
    assert row.lot_number == "ZB2401"
    tab.stock_view.selectRow(
        next(n for n, r in enumerate(tab.stock.rows) if r.location == "IDS Fridge 1")
    )
    tab.quantity.setValue(5)
    choose(tab.to_location, "IDS Shelf A")
    tab.move_button.click()
    assert tab.message.error_text == (
        "Zelumab 100 mg/10 mL vial for infusion must be kept at 2 to 8 °C; IDS Shelf A is kept "
        "at 20 to 25 °C."
    )
    choose(tab.to_location, "Infusion Center Satellite")
    tab.move_button.click()
    assert (
        tab.message.text()
        == "Moved 5 vials of lot ZB2401 from IDS Fridge 1 to Infusion Center Satellite."
    )


def test_returns_list_reads_a_page_at_a_time_and_finds_an_older_return(
    open_window: WindowOpener,
) -> None:
    window = open_window("monitor")
    tab = open_tab(window, "ABC-123", "returns")
    assert isinstance(tab, ReturnsTab)
    with window.db.read_session() as session:
        newest_first = session.scalars(
            select(SubjectReturn.id).order_by(
                SubjectReturn.returned_on.desc(), SubjectReturn.id.desc()
            )
        ).all()
    assert len(newest_first) > 3
    tab.returns.page_size = 3
    tab.reload()
    assert [row.id for row in tab.returns.rows] == newest_first[:3]
    tab.select_record(newest_first[-1])  # the oldest: pages are read until it is found
    assert [row.id for row in tab.returns.rows] == newest_first
    chosen = tab.returns_view.selectionModel().selectedRows()
    assert tab.returns.row_at(chosen[0].row()).id == newest_first[-1]


def test_scanning_a_kit_dispensed_before_the_list_shown_still_finds_its_dispense(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    tech = open_window("tech")
    tab = open_tab(tech, "ABC-123", "returns")
    assert isinstance(tab, ReturnsTab)
    assert any(row.order.kit_number == "1012" for row in tab.dispensed.rows)
    # The list shows the latest dispenses only; 1012's is taken to be older than those.
    tab.dispensed.set_rows([row for row in tab.dispensed.rows if row.order.kit_number != "1012"])
    scanner_types(qtbot, tab.scan.field, "1012")
    assert tab.scan.refusal_text == ""
    chosen = tab.dispensed.row_at(tab.dispensed_view.currentIndex().row())
    assert chosen is not None
    assert chosen.order.kit_number == "1012"
    assert tech.focusWidget() is tab.units_counted


def test_transfer_stock_reads_a_page_at_a_time_and_a_scan_shows_only_that_kit(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = open_tab(window, "ABC-123", "transfers")
    assert isinstance(tab, TransfersTab)
    everything = [row.kit_number for row in tab.stock.rows]
    assert len(everything) > 3
    assert tab.stock.exhausted
    tab.stock.page_size = 3
    tab.reload()
    assert [row.kit_number for row in tab.stock.rows] == everything[:3]
    while not tab.stock.exhausted:
        tab.stock.fetchMore(tab.stock.index(0, 0).parent())
    assert [row.kit_number for row in tab.stock.rows] == everything  # no gap, no repeat

    wanted = everything[-1]
    assert wanted is not None
    scanner_types(qtbot, tab.scan.field, wanted)
    assert [row.kit_number for row in tab.stock.rows] == [wanted]
    assert tab.showing.text() == f"Showing kit {wanted} only."
    assert tab.stock_view.currentIndex().row() == 0
    assert tab.show_all_button.isVisible()
    tab.show_all_button.click()
    assert not tab.show_all_button.isVisible()
    assert [row.kit_number for row in tab.stock.rows] == everything[:3]
