"""Correcting setup on screen: a dispensed product corrected with the pharmacist's signature,
a staff member leaving, a location retired, a subject's status with its date."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from ids_app.db import today
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import Location, LocationKind
from ids_app.studies.models import Product, ProductCorrection, StudyStaff, Subject, SubjectStatus
from ids_app.ui.receiving import qdate
from ids_app.ui.setup_corrections import (
    CorrectProductDialog,
    EndStaffRoleDialog,
    RetireLocationDialog,
)
from ids_app.ui.setup_dialogs import SubjectStatusDialog
from ids_app.users.models import Signature, SignatureMeaning
from ids_app.users.services import get_user
from tests.ui.conftest import PASSWORDS, WindowOpener
from tests.ui.test_setup import open_setup

pytestmark = pytest.mark.gui


def test_pharmacist_corrects_a_dispensed_product_and_signs_the_correction(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    tab.products_view.selectRow(0)
    tab.correct_product_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, CorrectProductDialog)
    assert dialog.strength.text() == "10 mg or placebo"
    # The demo has dispensed ABC-123: the correction is signed, so the password is asked.
    assert dialog.password.isVisibleTo(dialog)
    dialog.strength.setText("10 mg / placebo")
    qtbot.keyClicks(dialog.reason, "strength as the pharmacy manual writes it")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert "password" in dialog.error_text.lower()
    qtbot.keyClicks(dialog.password, PASSWORDS["pharm"])
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert "corrected and signed: strength: 10 mg or placebo → 10 mg / placebo" in (
        tab.message.text()
    )
    assert tab.products.rows[0].description == "ABC 10 mg / placebo tablet"
    with window.db.read_session() as session:
        correction = session.scalars(select(ProductCorrection)).one()
        signature = session.scalars(
            select(Signature).where(Signature.record_table == "product_correction")
        ).one()
        assert signature.record_id == str(correction.id)
        assert signature.meaning is SignatureMeaning.APPROVED


def test_a_technician_is_offered_no_correcting_of_products_or_staff(
    open_window: WindowOpener,
) -> None:
    tab = open_setup(open_window("tech"), "ABC-123")
    for button in (
        tab.correct_product_button,
        tab.retire_product_button,
        tab.end_role_button,
        tab.retire_location_button,
    ):
        assert not button.isVisible()


def test_pharmacist_ends_a_monitors_role_with_its_date(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    tab = open_setup(window, "ABC-123")
    row = next(i for i, r in enumerate(tab.staff.rows) if r.study_role.startswith("Sponsor"))
    tab.staff_view.selectRow(row)
    tab.end_role_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, EndStaffRoleDialog)
    left = today() - dt.timedelta(days=1)
    dialog.on.setDate(qdate(left))
    qtbot.keyClicks(dialog.reason, "CRA reassigned by the sponsor")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert tab.staff.rows[row].ended == f"ended {left:%Y-%m-%d}"
    with window.db.read_session() as session:
        monitor = get_user(session, "monitor")
        staff = session.scalars(
            select(StudyStaff).where(StudyStaff.user_id == monitor.id, StudyStaff.study_id == 1)
        ).one()
        assert (staff.active, staff.ended_on) == (False, left)


def test_pharmacist_retires_an_empty_location_but_not_one_holding_stock(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("pharm")
    with window.db.unit_of_work() as session:
        add_location(session, window.ws.user, "Old fridge", LocationKind.FRIDGE, 2, 8)
    tab = open_setup(window, "ABC-123")
    tab.retire_location_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, RetireLocationDialog)
    dialog.location.setCurrentIndex(
        dialog.location.findText("IDS Shelf A", Qt.MatchFlag.MatchStartsWith)
    )
    qtbot.keyClicks(dialog.reason, "shelf moved")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert "still holds stock" in dialog.error_text
    dialog.location.setCurrentIndex(
        dialog.location.findText("Old fridge", Qt.MatchFlag.MatchStartsWith)
    )
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    assert tab.message.text() == "Old fridge is no longer in use."
    with window.db.read_session() as session:
        assert (
            not session.scalars(select(Location).where(Location.name == "Old fridge")).one().active
        )


def test_technician_discontinues_a_subject_as_of_the_day_it_happened(
    qtbot: QtBot, open_window: WindowOpener
) -> None:
    window = open_window("tech")
    tab = open_setup(window, "XYZ-789")
    row = next(i for i, r in enumerate(tab.subjects.rows) if r.status == "enrolled")
    code = tab.subjects.rows[row].code
    tab.subjects_view.selectRow(row)
    tab.subject_status_button.click()
    dialog = tab.dialog
    assert isinstance(dialog, SubjectStatusDialog)
    dialog.status.setCurrentIndex(dialog.status.findText("discontinued"))
    stopped = today() - dt.timedelta(days=4)
    dialog.since.setDate(qdate(stopped))
    qtbot.keyClicks(dialog.reason, "withdrew consent")
    with qtbot.waitSignal(dialog.succeeded):
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    shown = next(r for r in tab.subjects.rows if r.code == code)
    assert shown.status_text == f"discontinued since {stopped:%Y-%m-%d}"
    with window.db.read_session() as session:
        subject = session.scalars(select(Subject).where(Subject.subject_code == code)).one()
        assert (subject.status, subject.status_on) == (SubjectStatus.DISCONTINUED, stopped)
        assert session.get_one(Product, 1).retired_on is None
