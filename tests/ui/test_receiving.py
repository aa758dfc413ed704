"""Receiving through the real widgets: GS1 scans, a packing list, reconciliation, quarantine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt, QTime
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import Kit, LedgerEntry, Shipment, StockState, TemperatureMonitor
from ids_app.ui.main_window import MainWindow
from ids_app.ui.overview import OverviewTab
from ids_app.ui.receiving import PackingListDialog, ReceivingTab
from tests.ui.conftest import WindowOpener
from tests.ui.workflows import (
    gs1_kit_scan,
    gtin14,
    import_kits,
    lot_expiry,
    scanner_types,
    study_id,
)

pytestmark = pytest.mark.gui


def receiving_tab(window: MainWindow, protocol: str) -> ReceivingTab:
    assert window.open_study(study_id(window.db, protocol))
    window.trigger("view.receiving")
    tab = window.workspace.current_tab()
    assert isinstance(tab, ReceivingTab)
    return tab


def fill_header(qtbot: QtBot, tab: ReceivingTab, number: str) -> None:
    qtbot.keyClicks(tab.number, number)
    qtbot.keyClicks(tab.sender_field, "Acme Depot (Memphis)")
    qtbot.keyClicks(tab.carrier, "World Courier")


def test_technician_receives_a_shipment_by_scanning_gs1_strings(
    qtbot: QtBot, open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    import_kits(window.db, "ABC-123", ["1021", "1022", "1023", "1024"], "L2301")
    expiry = lot_expiry(window.db, "L2301")
    packing = tmp_path / "packing-list.csv"
    packing.write_text(
        "Kit,Lot,Expiry\n" + "".join(f"{kit},L2301,{expiry}\n" for kit in range(1021, 1026)),
        encoding="utf-8",
    )
    tab = receiving_tab(window, "ABC-123")
    dialog = tab.import_packing_list(packing)
    assert isinstance(dialog, PackingListDialog)
    assert dialog.result_label.text() == "Header found on row 1. 5 lines read."
    dialog.accept_button.click()
    assert len(tab.expected) == 5

    window.trigger("work.scan")
    for kit in ("1021", "1022", "1023", "1024"):
        scanner_types(qtbot, tab.scan.field, gs1_kit_scan(kit, "L2301", expiry))
        assert tab.scan.refusal_text == ""
    scanner_types(qtbot, tab.scan.field, gs1_kit_scan("1021", "L2301", expiry))
    assert tab.scan.refusal_text == "Kit 1021 is already on this receipt."
    assert [row.line.kit_number for row in tab.lines.rows] == ["1021", "1022", "1023", "1024"]

    # The reconciliation shows the missing kit before anything is recorded.
    missing = [row for row in tab.recon.rows if row.line.missing]
    assert [row.line.kit_number for row in missing] == ["1025"]
    assert tab.recon_summary.text().startswith(
        "Does not match the packing list: 1 missing, 0 extra, 0 damaged."
    )
    tab.receive_button.click()
    assert tab.message.error_text == "The shipment number is empty; type it from the packing slip."
    assert len(tab.lines.rows) == 4  # the form keeps what was scanned

    fill_header(qtbot, tab, "ACME-SHP-0002")
    tab.location.setCurrentIndex(tab.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith))
    qtbot.keyClick(tab.number, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert tab.message.kind == "success", tab.message.text()
    assert tab.lines.rows == []
    assert tab.history.rows[0].number == "ACME-SHP-0002"
    assert tab.history.rows[0].reconciliation == "1 missing, 0 extra, 0 damaged"
    with window.db.read_session() as session:
        kits = set(session.scalars(select(Kit.id).where(Kit.kit_number.in_(["1021", "1024"]))))
        available = [
            b
            for b in study_balances(session, study_id(window.db, "ABC-123"))
            if b.kit_id in kits and b.state is StockState.AVAILABLE
        ]
    assert len(available) == 2


def test_wrong_scan_adds_no_line(qtbot: QtBot, open_window: WindowOpener) -> None:
    window = open_window("tech")
    tab = receiving_tab(window, "ABC-123")
    scanner_types(qtbot, tab.scan.field, "7777")
    assert tab.scan.refusal_text == "Code 7777 is not a kit or lot of study ABC-123."
    assert tab.scan.field.property("scan") == "bad"
    assert tab.lines.rows == []
    # A kit of another study is named as such, and is not added either.
    other = receiving_tab(window, "XYZ-789")
    scanner_types(qtbot, other.scan.field, "1001")
    assert other.scan.refusal_text == "Kit 1001 belongs to study ABC-123, not XYZ-789."
    assert other.lines.rows == []


def test_excursion_in_transit_puts_the_shipment_in_quarantine(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = receiving_tab(window, "XYZ-789")
    expiry = lot_expiry(window.db, "ZB2401")
    lot_scan = f"]d201{gtin14('0031234567891')}17{expiry:%y%m%d}10ZB2401"
    scanner_types(qtbot, tab.scan.field, lot_scan)
    assert tab.lot.text() == "ZB2401"
    assert tab.expiry.date().toPython() == expiry
    assert window.focusWidget() is tab.quantity
    tab.quantity.setValue(6)
    tab.add_button.click()
    assert [row.line.quantity for row in tab.lines.rows] == [6]
    fill_header(qtbot, tab, "ZB-0003")
    tab.location.setCurrentIndex(tab.location.findText("Quarantine", Qt.MatchFlag.MatchStartsWith))
    tab.temperature.setCurrentIndex(tab.temperature.findData(TemperatureMonitor.EXCURSION))
    tab.receive_button.click()
    assert "in quarantine until the sponsor decides" in tab.message.text()
    with window.db.read_session() as session:
        shipment = session.scalars(
            select(Shipment).where(Shipment.shipment_number == "ZB-0003")
        ).one()
        held = session.scalar(
            select(func.sum(LedgerEntry.quantity)).where(
                LedgerEntry.shipment_id == shipment.id,
                LedgerEntry.to_state == StockState.QUARANTINED,
            )
        )
    assert held == 6
    window.trigger("view.overview")
    overview = window.workspace.current_tab()
    assert isinstance(overview, OverviewTab)
    assert any("ZB-0003" in row.details for row in overview.holds.rows)


def test_a_packing_list_with_a_depot_title_is_read_from_its_header_row(
    open_window: WindowOpener, tmp_path: Path
) -> None:
    window = open_window("tech")
    import_kits(window.db, "ABC-123", ["1031", "1032"], "L2301")
    expiry = lot_expiry(window.db, "L2301")
    packing = tmp_path / "packing-list.csv"
    packing.write_text(
        "Acme Depot - Shipment ACME-SHP-0042\n"
        "Ship to: Site 101\n"
        "\n"
        "Kit,Lot,Expiry\n"
        f"1031,L2301,{expiry:%d-%b-%Y}\n"
        f"1032,L2301,{expiry:%d/%m/%Y}\n",
        encoding="utf-8",
    )
    tab = receiving_tab(window, "ABC-123")
    dialog = tab.import_packing_list(packing)
    assert isinstance(dialog, PackingListDialog)
    assert dialog.columns["lot_number"].currentData() == "Lot"
    assert dialog.result_label.text() == "Header found on row 4. 1 lines read; 1 problems:"
    dialog.date_order.setCurrentIndex(dialog.date_order.findText("Day first: 31/05/2027"))
    problems = [dialog.errors.item(n).text() for n in range(dialog.errors.count())]
    assert dialog.result_label.text() == "Header found on row 4. 2 lines read.", problems
    dialog.accept_button.click()
    assert [line.kit_number for line in tab.expected] == ["1031", "1032"]


def test_a_shipment_dated_yesterday_is_entered_with_its_time_and_reason(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    import_kits(window.db, "ABC-123", ["1031"], "L2301")
    expiry = lot_expiry(window.db, "L2301")
    tab = receiving_tab(window, "ABC-123")
    assert not tab.late.time.isEnabled()  # today's receipt asks for nothing more
    window.trigger("work.scan")
    scanner_types(qtbot, tab.scan.field, gs1_kit_scan("1031", "L2301", expiry))
    fill_header(qtbot, tab, "ACME-SHP-0031")
    tab.location.setCurrentIndex(tab.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith))
    yesterday = dt.date.today() - dt.timedelta(days=1)
    tab.received_on.setDate(QDate(yesterday.year, yesterday.month, yesterday.day))
    assert tab.late.time.isEnabled()
    assert tab.late.reason.isEnabled()
    tab.late.time.setTime(QTime(16, 40))
    tab.receive_button.click()
    assert "Give the reason it is entered late" in tab.message.error_text
    qtbot.keyClicks(tab.late.reason, "received during the downtime, from the paper log")
    tab.receive_button.click()
    assert tab.message.kind == "success", tab.message.text()
    with window.db.read_session() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1031")).one()
        entry = session.scalars(select(LedgerEntry).where(LedgerEntry.kit_id == kit.id)).one()
    assert entry.occurred_at == dt.datetime.combine(yesterday, dt.time(16, 40)).astimezone()
    assert entry.late_reason == "received during the downtime, from the paper log"
    assert not tab.late.time.isEnabled()  # the form is back to today
