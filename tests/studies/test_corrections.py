"""Correcting setup: a product's details, retiring a product or a location, a staff member
leaving a study, a subject's status with its date. Nothing is deleted; every change has a
reason in the audit trail, and the record still verifies afterwards."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.db import Database, today
from ids_app.errors import InvalidInput, NotFound, PermissionDenied
from ids_app.inventory.dispensing import DispenseRefused
from ids_app.inventory.locations import add_location, get_location, retire_location
from ids_app.inventory.models import Location, LocationKind
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.corrections import (
    Approval,
    ProductDetails,
    correct_product,
    end_staff_role,
    retire_product,
)
from ids_app.studies.models import (
    Product,
    ProductCorrection,
    ProductRole,
    Study,
    StudyStaff,
    Subject,
    SubjectStatus,
    Tracking,
)
from ids_app.studies.services import add_product, is_unblinded, set_subject_status
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.signatures import signature_holds
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit


@pytest.fixture
def example(db: Database) -> Example:
    example = make_example(db)
    receive_kits(db, example)
    return example


def details_of(db: Database, product_id: int, **changes: object) -> ProductDetails:
    with db.read_session() as session:
        current = ProductDetails.of(session.get_one(Product, product_id))
    return dataclasses.replace(current, **changes)  # type: ignore[arg-type]


def correct(
    db: Database,
    by: User,
    product_id: int,
    details: ProductDetails,
    reason: str = "typo in the agent name, per the protocol's pharmacy manual",
    approval: Approval | None = None,
) -> ProductCorrection:
    with db.unit_of_work() as session:
        return correct_product(
            session, by, session.get_one(Product, product_id), details, reason, approval
        )


def assert_record_verifies(db: Database) -> None:
    with db.read_session() as session:
        report = verify_database(session)
    assert report.intact, [finding.line() for finding in report.findings]


def test_pharmacist_corrects_an_undispensed_products_strength_with_a_reason(
    db: Database, example: Example
) -> None:
    product_id = example.product.id
    correction = correct(
        db, example.people.pharm, product_id, details_of(db, product_id, strength="10 mg/placebo")
    )
    with db.read_session() as session:
        assert session.get_one(Product, product_id).strength == "10 mg/placebo"
        kept = session.get_one(ProductCorrection, correction.id)
        assert kept.changes == "strength: 10 mg or placebo → 10 mg/placebo"
        reasons = session.scalars(
            select(AuditEntry.reason).where(AuditEntry.table_name == "product")
        ).all()
    assert "product corrected: typo in the agent name, per the protocol's pharmacy manual" in (
        reasons
    )
    assert_record_verifies(db)


def test_technician_cannot_correct_a_product(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied):
        correct(db, example.people.tech, example.product.id, details_of(db, example.product.id))


def test_a_correction_without_a_reason_or_a_change_is_refused_and_nothing_changes(
    db: Database, example: Example
) -> None:
    product_id = example.product.id
    with pytest.raises(InvalidInput, match="Say why"):
        correct(
            db, example.people.pharm, product_id, details_of(db, product_id, strength="5 mg"), "  "
        )
    with pytest.raises(InvalidInput, match="Nothing was changed"):
        correct(db, example.people.pharm, product_id, details_of(db, product_id))
    with pytest.raises(InvalidInput, match="lowest storage temperature"):
        correct(
            db,
            example.people.pharm,
            product_id,
            details_of(db, product_id, storage_min_c=30.0, storage_max_c=15.0),
        )
    with db.read_session() as session:
        assert session.get_one(Product, product_id).strength == "10 mg or placebo"
        assert session.scalars(select(ProductCorrection)).all() == []


def test_a_dispensed_products_correction_needs_the_pharmacists_own_signature(
    db: Database, example: Example
) -> None:
    product_id = example.product.id
    dispense_kit(db, example, "1007")
    new = details_of(db, product_id, days_supply=30)
    with pytest.raises(InvalidInput, match="sign the correction"):
        correct(db, example.people.pharm, product_id, new)
    with pytest.raises(PermissionDenied, match="only a pharmacist"):
        correct(db, example.people.admin, product_id, new, approval=Approval("admin", PASSWORD))
    with pytest.raises(PermissionDenied, match="must be your own"):
        correct(db, example.people.pharm, product_id, new, approval=Approval("pharm2", PASSWORD))

    correction = correct(
        db, example.people.pharm, product_id, new, approval=Approval(" pharm ", PASSWORD)
    )
    with db.read_session() as session:
        kept = session.get_one(ProductCorrection, correction.id)
        signature = session.scalars(
            select(Signature).where(Signature.record_table == "product_correction")
        ).one()
        assert signature.meaning is SignatureMeaning.APPROVED
        assert signature.printed_name == "Jane Roe"
        assert signature_holds(signature, kept)
        assert kept.changes == "days_supply: 28 → 30"
    # A later correction leaves the earlier signature holding: it binds the correction row.
    correct(
        db,
        example.people.pharm,
        product_id,
        details_of(db, product_id, days_supply=28),
        approval=Approval("pharm", PASSWORD),
    )
    assert_record_verifies(db)


def test_a_product_with_stock_on_hand_is_not_retired(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="still has 20 kits on hand"), db.unit_of_work() as s:
        retire_product(s, example.people.pharm, s.get_one(Product, example.product.id), "withdrawn")


def add_capsule_product(db: Database, example: Example) -> int:
    """A second product of ABC-123 that was set up but never received."""
    with db.unit_of_work() as session:
        return add_product(
            session,
            example.people.pharm,
            session.get_one(Study, example.study.id),
            agent_name="ABC-123 capsules",
            strength="10 mg",
            dosage_form="capsule",
            unit="bottle",
            role=ProductRole.ACTIVE,
            tracking=Tracking.BULK,
            storage_min_c=15,
            storage_max_c=30,
            dispense_quantity=1,
            days_supply=30,
            doses_per_day=1,
        ).id


def test_a_retired_product_is_kept_and_receives_no_new_stock(
    db: Database, example: Example
) -> None:
    product_id = add_capsule_product(db, example)
    with db.unit_of_work() as session:
        retire_product(
            session,
            example.people.pharm,
            session.get_one(Product, product_id),
            "the sponsor withdrew the capsule formulation",
        )
    with pytest.raises(InvalidInput, match="already retired"), db.unit_of_work() as s:
        retire_product(s, example.people.pharm, s.get_one(Product, product_id), "again")

    receipt = ShipmentReceipt(
        "SHP-C1",
        "Acme Depot",
        "World Courier",
        TODAY,
        example.shelf.id,
        (ReceivedLine(product_id, "C1", EXPIRY, quantity=10),),
    )
    with pytest.raises(InvalidInput, match="was retired on"), db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )
    with db.read_session() as session:
        assert session.get_one(Product, product_id).retired_on == today()
    assert_record_verifies(db)


def test_a_location_holding_stock_is_not_retired_and_an_empty_one_leaves_use(
    db: Database, example: Example
) -> None:
    with pytest.raises(InvalidInput, match="still holds stock"), db.unit_of_work() as session:
        retire_location(
            session, example.people.pharm, session.get_one(Location, example.shelf.id), "moved"
        )
    with db.unit_of_work() as session:
        spare = add_location(session, example.people.pharm, "Old fridge", LocationKind.FRIDGE, 2, 8)
    with pytest.raises(PermissionDenied), db.unit_of_work() as session:
        retire_location(session, example.people.tech, session.get_one(Location, spare.id), "old")
    with db.unit_of_work() as session:
        retire_location(
            session, example.people.pharm, session.get_one(Location, spare.id), "replaced"
        )
    with db.read_session() as session:
        assert session.get_one(Location, spare.id).name == "Old fridge"
        with pytest.raises(NotFound, match="no longer in use"):
            get_location(session, spare.id)
    assert_record_verifies(db)


def test_a_pharmacist_leaving_the_study_loses_unblinded_access_and_keeps_their_row(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        staff = session.scalars(
            select(StudyStaff).where(StudyStaff.user_id == example.people.unblinded.id)
        ).one()
        end_staff_role(
            session,
            example.people.pharm,
            staff,
            "left the institution",
            on=today() - dt.timedelta(days=2),
        )
    with db.read_session() as session:
        staff = session.scalars(
            select(StudyStaff).where(StudyStaff.user_id == example.people.unblinded.id)
        ).one()
        assert (staff.active, staff.ended_on) == (False, today() - dt.timedelta(days=2))
        study = session.get_one(Study, example.study.id)
        assert not is_unblinded(session, example.people.unblinded, study)
    with pytest.raises(InvalidInput, match="already ended"), db.unit_of_work() as session:
        staff = session.scalars(
            select(StudyStaff).where(StudyStaff.user_id == example.people.unblinded.id)
        ).one()
        end_staff_role(session, example.people.pharm, staff, "twice")
    assert_record_verifies(db)


def test_a_staff_role_cannot_end_in_the_future_or_by_a_technician(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        staff = session.scalars(
            select(StudyStaff).where(StudyStaff.user_id == example.people.monitor.id)
        ).one()
        with pytest.raises(InvalidInput, match="in the future"):
            end_staff_role(
                session, example.people.pharm, staff, "leaves", on=today() + dt.timedelta(days=1)
            )
        with pytest.raises(PermissionDenied):
            end_staff_role(session, example.people.tech, staff, "leaves")


def test_a_discontinued_subject_keeps_the_day_and_is_dispensed_nothing_more(
    db: Database, example: Example
) -> None:
    discontinued_on = today() - dt.timedelta(days=3)
    with db.unit_of_work() as session:
        set_subject_status(
            session,
            example.people.tech,
            session.get_one(Subject, example.subject.id),
            SubjectStatus.DISCONTINUED,
            "withdrew consent",
            on=discontinued_on,
        )
    with db.read_session() as session:
        subject = session.get_one(Subject, example.subject.id)
        assert (subject.status, subject.status_on) == (SubjectStatus.DISCONTINUED, discontinued_on)
    with pytest.raises(DispenseRefused, match="discontinued, not enrolled"):
        dispense_kit(db, example, "1007")
    with pytest.raises(InvalidInput, match="already discontinued"), db.unit_of_work() as s:
        set_subject_status(
            s,
            example.people.tech,
            s.get_one(Subject, example.subject.id),
            SubjectStatus.DISCONTINUED,
            "again",
        )
    assert_record_verifies(db)


def test_a_status_change_cannot_take_effect_before_the_current_status(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        set_subject_status(
            session,
            example.people.tech,
            session.get_one(Subject, example.subject.id),
            SubjectStatus.DISCONTINUED,
            "withdrew consent",
            on=today() - dt.timedelta(days=3),
        )
    with (
        pytest.raises(InvalidInput, match=r"has been discontinued since .*; a change cannot"),
        db.unit_of_work() as session,
    ):
        set_subject_status(
            session,
            example.people.tech,
            session.get_one(Subject, example.subject.id),
            SubjectStatus.COMPLETED,
            "completed the study",
            on=today() - dt.timedelta(days=5),
        )
    with db.read_session() as session:
        assert session.get_one(Subject, example.subject.id).status is SubjectStatus.DISCONTINUED
