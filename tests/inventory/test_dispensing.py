"""Dispensing: ordered, prepared by one person, verified by another pharmacist, signed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import attribute_changes
from ids_app.db import Database, simulated_clock, utc_now
from ids_app.errors import IdsError, InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import (
    DispenseRefused,
    ItemCheck,
    Row,
    Scanned,
    Typed,
    can_verify,
    cancel_order,
    check_for_preparing,
    check_for_verifying,
    create_order,
    orders_awaiting_verification,
    prepare_order,
    reject_order,
    subject_history,
    verify_order,
    verify_order_here,
)
from ids_app.inventory.ledger import Place, move, quantity_at
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Identification,
    Kit,
    LedgerEntry,
    Location,
    OrderState,
    StockState,
    TemperatureMonitor,
)
from ids_app.inventory.order_views import order_row
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.studies.models import (
    Blinding,
    Prescriber,
    Product,
    ProductRole,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
    Tracking,
)
from ids_app.studies.services import (
    add_product,
    change_study_status,
    create_study,
    set_subject_status,
    withdraw_prescriber,
)
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.services import SignInRefused
from ids_app.users.signatures import signature_holds, signatures_of
from tests import factories
from tests.factories import (
    EXPIRY,
    PASSWORD,
    TODAY,
    Example,
    make_example,
    prepared_item,
    receive_kits,
    scan_of,
)


@pytest.fixture
def example(db: Database) -> Example:
    """The DOMAIN.md study with its 20 kits (1001-1020) of lot L2301 on IDS Shelf A."""
    example = make_example(db)
    receive_kits(db, example)
    return example


# -- helpers shared with the returns and DOMAIN.md example tests -------------------------


def order_kit(
    db: Database,
    example: Example,
    assigned: str | None = "1007",
    *,
    product_id: int | None = None,
    quantity: int | None = None,
    visit: str = "Visit 2",
) -> int:
    """An order entered by the technician; returns its id."""
    with db.unit_of_work() as session:
        order = create_order(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, product_id or example.product.id),
            visit=visit,
            quantity=quantity,
            assigned_kit_number=assigned,
        )
        return order.id


def prepare(
    db: Database,
    example: Example,
    order_id: int,
    *,
    by: User | None = None,
    kit_number: str | None = "1007",
    lot_number: str | None = None,
    location: Location | None = None,
    password: str = PASSWORD,
) -> DispenseOrder:
    with db.unit_of_work() as session:
        return prepare_order(
            session,
            by or example.people.tech,
            session.get_one(DispenseOrder, order_id),
            password=password,
            item=scan_of(kit_number, lot_number),
            location=location or example.shelf,
        )


def verify(
    db: Database,
    example: Example,
    order_id: int,
    *,
    by: User | None = None,
    password: str = PASSWORD,
) -> DispenseOrder:
    with db.unit_of_work() as session:
        return verify_order(
            session,
            by or example.people.pharm,
            session.get_one(DispenseOrder, order_id),
            password=password,
            item=prepared_item(session, session.get_one(DispenseOrder, order_id)),
        )


def dispense_kit(
    db: Database, example: Example, kit_number: str = "1007", *, visit: str = "Visit 2"
) -> int:
    """Order, prepare (technician) and verify (pharmacist) one kit; returns the order id."""
    order_id = order_kit(db, example, kit_number, visit=visit)
    prepare(db, example, order_id, kit_number=kit_number)
    verify(db, example, order_id)
    return order_id


def count(db: Database, model: type[object] = LedgerEntry) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def refused(
    db: Database,
    error: type[IdsError],
    match: str,
    action: Callable[[], object],
) -> str:
    """Run ``action``, expect it refused, and check it wrote no ledger entry, signature or
    order change. Returns the refusal's message."""
    before = count(db), count(db, Signature), _order_states(db)
    with pytest.raises(error, match=match) as caught:
        action()
    assert (count(db), count(db, Signature), _order_states(db)) == before
    return str(caught.value)


def _order_states(db: Database) -> list[tuple[int, OrderState]]:
    with db.read_session() as session:
        rows = session.execute(select(DispenseOrder.id, DispenseOrder.state))
        return [(row.id, row.state) for row in rows]


def _order(db: Database, order_id: int) -> DispenseOrder:
    with db.read_session() as session:
        return session.get_one(DispenseOrder, order_id)


def kit_named(db: Database, number: str) -> Kit:
    with db.read_session() as session:
        return session.scalars(select(Kit).where(Kit.kit_number == number)).one()


def add_bulk_product(
    db: Database, example: Example, quantity: int = 500, state: TemperatureMonitor | None = None
) -> int:
    """The rescue tablet at 60 a visit, 2 a day; lot B100 on the shelf."""
    return factories.add_bulk_product(
        db,
        example,
        lot="B100",
        quantity=quantity,
        dispense_quantity=60,
        doses_per_day=2,
        temperature_monitor=state or TemperatureMonitor.IN_RANGE,
    ).id


def _with_session(db: Database, work: Callable[[Session], object]) -> Callable[[], object]:
    def run() -> object:
        with db.unit_of_work() as session:
            return work(session)

    return run


# -- the happy path ------------------------------------------------------------------------


def test_prepared_order_is_signed_and_the_stock_stays_on_the_shelf(
    db: Database, example: Example
) -> None:
    order_id = order_kit(db, example)
    order = prepare(db, example, order_id)
    assert order.state is OrderState.PREPARED
    assert order.prepared_by_id == example.people.tech.id
    kit = kit_named(db, "1007")
    assert (order.kit_id, order.lot_id, order.location_id) == (
        kit.id,
        kit.lot_id,
        example.shelf.id,
    )
    with db.read_session() as session:
        (signature,) = signatures_of(session, session.get_one(DispenseOrder, order_id))
        assert signature.meaning is SignatureMeaning.PREPARED
        assert signature.printed_name == "Terry Tech"
        place = Place(StockState.AVAILABLE, example.shelf.id)
        assert quantity_at(session, kit.lot_id, place, kit.id) == 1
    assert count(db) == 20


def test_verified_order_moves_the_kit_to_the_subject_and_both_signatures_hold(
    db: Database, example: Example
) -> None:
    order_id = dispense_kit(db, example)
    kit = kit_named(db, "1007")
    with db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        assert order.state is OrderState.DISPENSED
        assert order.verified_by_id == example.people.pharm.id
        prepared, verified = signatures_of(session, order)
        assert (prepared.meaning, verified.meaning) == (
            SignatureMeaning.PREPARED,
            SignatureMeaning.VERIFIED,
        )
        assert (prepared.printed_name, verified.printed_name) == ("Terry Tech", "Jane Roe")
        # The verification changed only workflow fields: what was prepared is still signed.
        assert signature_holds(prepared, order)
        assert signature_holds(verified, order)
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.dispense_order_id == order_id)
        ).one()
        assert (entry.kind, entry.kit_id, entry.quantity) == (EntryKind.DISPENSE, kit.id, 1)
        assert (entry.from_state, entry.from_location_id) == (
            StockState.AVAILABLE,
            example.shelf.id,
        )
        assert (entry.to_state, entry.to_location_id) == (StockState.DISPENSED, None)
        assert entry.occurred_at == order.verified_at
        assert quantity_at(session, kit.lot_id, Place(StockState.DISPENSED), kit.id) == 1


def test_bulk_order_dispenses_the_rule_quantity_from_the_scanned_lot(
    db: Database, example: Example
) -> None:
    product_id = add_bulk_product(db, example)
    order_id = order_kit(db, example, None, product_id=product_id)
    assert _order(db, order_id).quantity == 60
    prepare(db, example, order_id, kit_number=None, lot_number="B100")
    verify(db, example, order_id)
    with db.read_session() as session:
        lot_id = session.get_one(DispenseOrder, order_id).lot_id
        assert lot_id is not None
        assert quantity_at(session, lot_id, Place(StockState.AVAILABLE, example.shelf.id)) == 440
        assert quantity_at(session, lot_id, Place(StockState.DISPENSED)) == 60


def test_an_order_is_for_one_kit(db: Database, example: Example) -> None:
    refused(
        db,
        InvalidInput,
        "one order for each kit",
        lambda: order_kit(db, example, None, quantity=2),
    )


def test_a_bulk_product_has_no_kit_to_assign(db: Database, example: Example) -> None:
    product_id = add_bulk_product(db, example)
    refused(
        db,
        InvalidInput,
        "counted in bulk",
        lambda: order_kit(db, example, "1007", product_id=product_id),
    )


def test_closed_to_accrual_still_dispenses_to_enrolled_subjects(
    db: Database, example: Example
) -> None:
    order_id = order_kit(db, example)
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(
            session, example.people.pharm, study, StudyStatus.CLOSED_TO_ACCRUAL, "target met"
        )
    prepare(db, example, order_id)
    assert verify(db, example, order_id).state is OrderState.DISPENSED


# -- what may not be dispensed -------------------------------------------------------------


def test_cannot_dispense_quarantined_kit(db: Database) -> None:
    example = make_example(db)
    receive_kits(db, example, temperature_monitor=TemperatureMonitor.EXCURSION)
    order_id = order_kit(db, example)
    message = refused(db, DispenseRefused, "quarantined", lambda: prepare(db, example, order_id))
    assert message == ("Kit 1007 is quarantined at IDS Shelf A; only available stock is dispensed.")


def test_cannot_dispense_expired_kit(db: Database, example: Example) -> None:
    expired = TODAY - dt.timedelta(days=1)
    receive_kits(db, example, range(2001, 2002), shipment_number="SHP-2", lot="L0", expiry=expired)
    order_id = order_kit(db, example, "2001")
    refused(
        db,
        DispenseRefused,
        f"Kit 2001 \\(lot L0\\) expired on {expired:%Y-%m-%d}",
        lambda: prepare(db, example, order_id, kit_number="2001"),
    )


def test_cannot_dispense_kit_expiring_within_days_supply(db: Database, example: Example) -> None:
    soon = TODAY + dt.timedelta(days=27)  # the supply lasts 28 days
    receive_kits(db, example, range(2001, 2002), shipment_number="SHP-2", lot="L1", expiry=soon)
    order_id = order_kit(db, example, "2001")
    refused(
        db,
        DispenseRefused,
        f"expires on {soon:%Y-%m-%d}, before the end of the 28 days' supply",
        lambda: prepare(db, example, order_id, kit_number="2001"),
    )


def test_an_expired_bulk_lot_is_named_once(db: Database, example: Example) -> None:
    expired = TODAY - dt.timedelta(days=1)
    product = factories.add_bulk_product(
        db, example, lot="V102", dispense_quantity=60, expiry=expired
    )
    order_id = order_kit(db, example, None, product_id=product.id)
    message = refused(
        db,
        DispenseRefused,
        "expired",
        lambda: prepare(db, example, order_id, kit_number=None, lot_number="V102"),
    )
    assert message == f"Lot V102 expired on {expired:%Y-%m-%d}; it cannot be dispensed."


def test_a_kit_expiring_the_day_after_the_supply_ends_is_dispensed(
    db: Database, example: Example
) -> None:
    last = TODAY + dt.timedelta(days=28)
    receive_kits(db, example, range(2001, 2002), shipment_number="SHP-2", lot="L1", expiry=last)
    order_id = order_kit(db, example, "2001")
    assert prepare(db, example, order_id, kit_number="2001").state is OrderState.PREPARED


def test_cannot_dispense_to_subject_not_enrolled(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    with db.unit_of_work() as session:
        subject = session.get_one(Subject, example.subject.id)
        set_subject_status(
            session, example.people.tech, subject, SubjectStatus.DISCONTINUED, "withdrew consent"
        )
    refused(
        db,
        DispenseRefused,
        "Subject 01-004 is discontinued, not enrolled",
        lambda: prepare(db, example, order_id),
    )
    refused(db, DispenseRefused, "not enrolled", lambda: order_kit(db, example))


def test_cannot_dispense_for_unauthorized_prescriber(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    with db.unit_of_work() as session:
        prescriber = session.get_one(Prescriber, example.prescriber.id)
        withdraw_prescriber(session, example.people.pharm, prescriber, "left the site")
    refused(
        db,
        DispenseRefused,
        "Dr. Pat Investigator is no longer authorized to prescribe",
        lambda: prepare(db, example, order_id),
    )


@pytest.mark.parametrize("status", [StudyStatus.ON_HOLD, StudyStatus.CLOSED_TO_ACCRUAL])
def test_cannot_dispense_while_study_is_on_hold_or_closed(
    db: Database, example: Example, status: StudyStatus
) -> None:
    order_id = order_kit(db, example)
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(session, example.people.pharm, study, status, "DSMB")
        if status is StudyStatus.CLOSED_TO_ACCRUAL:
            change_study_status(session, example.people.pharm, study, StudyStatus.CLOSED, "end")
    refused(
        db,
        DispenseRefused,
        "Study ABC-123 is (on hold|closed); study drug is dispensed only while it is open",
        lambda: prepare(db, example, order_id),
    )


def test_cannot_dispense_kit_of_other_arm_and_error_hides_the_arm(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        attribute_changes(session, example.people.admin, reason="sponsor kit list")
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        kit.arm_id = example.placebo_arm.id
    order_id = order_kit(db, example)
    message = refused(db, DispenseRefused, "arm", lambda: prepare(db, example, order_id))
    assert message == (
        "Kit 1007 is not for this subject's treatment arm; check the IWRS assignment."
    )
    assert "Placebo" not in message
    assert "ABC 10 mg" not in message


def test_a_kit_of_the_subjects_arm_is_dispensed(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        attribute_changes(session, example.people.admin, reason="sponsor kit list")
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        kit.arm_id = example.drug_arm.id
    order_id = order_kit(db, example)
    assert prepare(db, example, order_id).state is OrderState.PREPARED


def test_cannot_dispense_from_returns_location(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    refused(
        db,
        DispenseRefused,
        "Returns is a returns location; study drug is dispensed only from",
        lambda: prepare(db, example, order_id, location=example.returns),
    )


def test_cannot_dispense_kit_kept_at_another_location(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    refused(
        db,
        DispenseRefused,
        "Kit 1007 is at IDS Shelf A, not IDS Fridge 1",
        lambda: prepare(db, example, order_id, location=example.fridge),
    )


def test_cannot_dispense_a_kit_the_iwrs_did_not_assign(db: Database, example: Example) -> None:
    order_id = order_kit(db, example, "1007")
    refused(
        db,
        DispenseRefused,
        "The IWRS assigned kit 1007 to this order; kit 1008 was scanned",
        lambda: prepare(db, example, order_id, kit_number="1008"),
    )


def test_cannot_dispense_a_kit_of_another_study(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        tech = example.people.tech
        other = create_study(
            session,
            tech,
            protocol_number="XYZ-9",
            title="Another study",
            sponsor="Other Pharma",
            principal_investigator="Dr. Other",
            blinding=Blinding.OPEN_LABEL,
        )
        product = add_product(
            session,
            tech,
            other,
            agent_name="XYZ",
            strength="5 mg",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.ACTIVE,
            tracking=Tracking.KIT,
            storage_min_c=15,
            storage_max_c=30,
            dose_unit="tablet",
            units_per_kit=30,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )
        change_study_status(session, example.people.pharm, other, StudyStatus.OPEN, "activated")
        line = ReceivedLine(product.id, "X1", EXPIRY, kit_number="2001")
        receipt = ShipmentReceipt("X-1", "Depot", "Courier", TODAY, example.shelf.id, (line,))
        receive_shipment(session, tech, other, receipt)
    order_id = order_kit(db, example, None)
    refused(
        db,
        DispenseRefused,
        "Kit 2001 belongs to study XYZ-9, not ABC-123",
        lambda: prepare(db, example, order_id, kit_number="2001"),
    )
    refused(db, DispenseRefused, "another study", lambda: order_kit(db, example, "2001"))


def test_a_kit_is_dispensed_only_once(db: Database, example: Example) -> None:
    dispense_kit(db, example, "1007")
    order_id = order_kit(db, example, None)
    refused(
        db,
        DispenseRefused,
        "Kit 1007 is dispensed; only available stock is dispensed",
        lambda: prepare(db, example, order_id),
    )


def test_bulk_order_cannot_take_more_than_is_available(db: Database, example: Example) -> None:
    product_id = add_bulk_product(db, example, quantity=50)
    order_id = order_kit(db, example, None, product_id=product_id)
    refused(
        db,
        DispenseRefused,
        "Lot B100 has 50 available at IDS Shelf A, and 60 are needed",
        lambda: prepare(db, example, order_id, kit_number=None, lot_number="B100"),
    )


def test_bulk_stock_held_in_quarantine_is_named(db: Database, example: Example) -> None:
    product_id = add_bulk_product(db, example, state=TemperatureMonitor.EXCURSION)
    order_id = order_kit(db, example, None, product_id=product_id)
    refused(
        db,
        DispenseRefused,
        "Lot B100 has 0 available at IDS Shelf A, and 60 are needed; 500 quarantined there",
        lambda: prepare(db, example, order_id, kit_number=None, lot_number="B100"),
    )


def test_only_a_pending_order_is_prepared(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    refused(
        db,
        DispenseRefused,
        f"Order {order_id} is prepared; only a pending order is prepared",
        lambda: prepare(db, example, order_id),
    )


def test_wrong_password_at_prepare_leaves_the_order_pending_and_is_recorded(
    db: Database, example: Example
) -> None:
    order_id = order_kit(db, example)
    refused(
        db,
        SignInRefused,
        "password is wrong",
        lambda: prepare(db, example, order_id, password="not-my-password"),
    )
    assert _order(db, order_id).prepared_by_id is None
    with db.read_session() as session:
        failures = session.scalars(
            select(AuditEntry.username).where(AuditEntry.action == "signature_failed")
        ).all()
    assert failures == ["tech"]


# -- verification: a second person ---------------------------------------------------------


def test_pharmacist_cannot_verify_own_dispense(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id, by=example.people.pharm)
    refused(
        db,
        DispenseRefused,
        "^Jane Roe prepared this order; another pharmacist must verify it.$",
        lambda: verify(db, example, order_id, by=example.people.pharm),
    )
    assert verify(db, example, order_id, by=example.people.pharm2).state is OrderState.DISPENSED


def test_technician_cannot_verify(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    refused(
        db,
        PermissionDenied,
        "Only a pharmacist may verify a dispense; you are signed in as a technician",
        lambda: verify(db, example, order_id, by=example.people.tech),
    )


def test_wrong_password_at_verify_changes_nothing_but_is_recorded(
    db: Database, example: Example
) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    refused(
        db,
        SignInRefused,
        "password is wrong",
        lambda: verify(db, example, order_id, password="not-my-password"),
    )
    order = _order(db, order_id)
    assert (order.state, order.verified_by_id, order.verified_at) == (
        OrderState.PREPARED,
        None,
        None,
    )
    with db.read_session() as session:
        failures = session.scalars(
            select(AuditEntry.username).where(AuditEntry.action == "signature_failed")
        ).all()
        pharm = session.get_one(User, example.people.pharm.id)
    assert failures == ["pharm"]
    assert pharm.failed_sign_ins == 1
    assert verify(db, example, order_id).state is OrderState.DISPENSED


def test_verification_rechecks_quarantine_since_preparation(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)
    kit = kit_named(db, "1007")
    with db.unit_of_work() as session:
        move(
            session,
            example.people.pharm,
            kind=EntryKind.QUARANTINE,
            study_id=example.study.id,
            lot_id=kit.lot_id,
            kit_id=kit.id,
            quantity=1,
            source=Place(StockState.AVAILABLE, example.shelf.id),
            target=Place(StockState.QUARANTINED, example.shelf.id),
            reason="shelf excursion",
        )
    refused(
        db,
        DispenseRefused,
        "Kit 1007 is quarantined at IDS Shelf A",
        lambda: verify(db, example, order_id),
    )


def test_verification_rechecks_expiry_since_preparation(db: Database, example: Example) -> None:
    expiry = TODAY + dt.timedelta(days=35)
    receive_kits(db, example, range(2001, 2002), shipment_number="SHP-2", lot="L1", expiry=expiry)
    order_id = order_kit(db, example, "2001")
    prepare(db, example, order_id, kit_number="2001")
    with simulated_clock(utc_now() + dt.timedelta(days=10)):
        refused(
            db,
            DispenseRefused,
            f"expires on {expiry:%Y-%m-%d}, before the end of the 28 days' supply",
            lambda: verify(db, example, order_id),
        )


def test_can_verify_says_why_the_verify_button_is_disabled(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)

    def why(user: User) -> str | None:
        with db.read_session() as session:
            return can_verify(session, user, session.get_one(DispenseOrder, order_id))

    people = example.people
    assert why(people.pharm) == f"Order {order_id} is pending; only a prepared order is verified."
    prepare(db, example, order_id, by=people.pharm)
    assert why(people.tech) == (
        "Only a pharmacist may verify a dispense; you are signed in as a technician."
    )
    assert why(people.pharm) == "Jane Roe prepared this order; another pharmacist must verify it."
    assert why(people.pharm2) is None
    verify(db, example, order_id, by=people.pharm2)
    assert why(people.pharm2) == (
        f"Order {order_id} is dispensed; only a prepared order is verified."
    )


# -- rejecting and cancelling --------------------------------------------------------------


def test_rejected_order_needs_a_reason_and_moves_no_stock(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)

    def reject(reason: str) -> Callable[[Session], object]:
        def run(session: Session) -> object:
            order = session.get_one(DispenseOrder, order_id)
            return reject_order(session, example.people.pharm, order, reason)

        return run

    refused(db, InvalidInput, "Give a reason", _with_session(db, reject("  ")))
    _with_session(db, reject("label torn"))()
    order = _order(db, order_id)
    assert (order.state, order.closed_by_id, order.closed_reason) == (
        OrderState.REJECTED,
        example.people.pharm.id,
        "label torn",
    )
    assert order.closed_at is not None
    assert count(db) == 20


def test_only_a_pharmacist_rejects_a_prepared_order(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)

    def reject(session: Session) -> object:
        order = session.get_one(DispenseOrder, order_id)
        return reject_order(session, example.people.tech, order, "mine")

    refused(db, PermissionDenied, "Only a pharmacist", _with_session(db, reject))


@pytest.mark.parametrize("prepared", [False, True])
def test_a_pending_or_prepared_order_can_be_cancelled(
    db: Database, example: Example, prepared: bool
) -> None:
    order_id = order_kit(db, example)
    if prepared:
        prepare(db, example, order_id)
    with db.unit_of_work() as session:
        order = session.get_one(DispenseOrder, order_id)
        cancel_order(session, example.people.tech, order, "visit rescheduled")
    order = _order(db, order_id)
    assert (order.state, order.closed_reason) == (OrderState.CANCELLED, "visit rescheduled")


def test_a_dispensed_order_cannot_be_cancelled(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)

    def cancel(session: Session) -> object:
        order = session.get_one(DispenseOrder, order_id)
        return cancel_order(session, example.people.pharm, order, "oops")

    refused(
        db,
        DispenseRefused,
        "is dispensed; only a pending or prepared order",
        _with_session(db, cancel),
    )


# -- queries for the screens ---------------------------------------------------------------


def test_orders_awaiting_verification_are_the_prepared_ones_oldest_first(
    db: Database, example: Example
) -> None:
    first = order_kit(db, example, "1001")
    second = order_kit(db, example, "1002")
    order_kit(db, example, "1003")
    prepare(db, example, second, kit_number="1002")
    prepare(db, example, first, kit_number="1001")
    with db.read_session() as session:
        assert [o.id for o in orders_awaiting_verification(session)] == [second, first]
        assert [o.id for o in orders_awaiting_verification(session, example.study.id)] == [
            second,
            first,
        ]
        assert orders_awaiting_verification(session, example.study.id + 1) == []


def test_subject_history_lists_orders_newest_first_with_their_movements(
    db: Database, example: Example
) -> None:
    first = dispense_kit(db, example, "1007")
    second = order_kit(db, example, "1008")
    with db.read_session() as session:
        history = subject_history(session, example.subject.id)
    assert [item.order.id for item in history] == [second, first]
    assert history[0].entries == ()
    assert [entry.kind for entry in history[1].entries] == [EntryKind.DISPENSE]


# -- identified by a scan, checked at the scan (issue 14) ----------------------------------


def checked(db: Database, example: Example, order_id: int, code: str) -> ItemCheck:
    """What the Dispensing screen asks the moment the technician scans ``code``."""
    with db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        return check_for_preparing(session, example.people.tech, order, Scanned(code), None)


def test_a_typed_kit_number_without_a_reason_is_refused(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)

    def typed(reason: str) -> DispenseOrder:
        with db.unit_of_work() as session:
            return prepare_order(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order_id),
                password=PASSWORD,
                item=Typed("1007", reason),
                location=example.shelf,
            )

    refused(
        db,
        InvalidInput,
        "^1007 was typed, not scanned: scan the label, or say why",
        lambda: typed("  "),
    )
    typed("label torn")
    order = _order(db, order_id)
    assert order.prepared_identified is Identification.TYPED
    assert order.prepared_typed_reason == "label torn"
    with db.read_session() as session:
        row = order_row(session, order_id, example.people.pharm)
    assert row.prepared_how == "typed, not scanned: label torn"


def test_a_scanned_kit_is_recorded_as_scanned_by_both(db: Database, example: Example) -> None:
    order_id = dispense_kit(db, example)
    order = _order(db, order_id)
    assert order.prepared_identified is Identification.SCANNED
    assert order.verified_identified is Identification.SCANNED
    assert order.prepared_typed_reason is None


def test_the_scan_check_marks_the_row_that_breaks_a_rule(db: Database, example: Example) -> None:
    soon = TODAY + dt.timedelta(days=27)  # the supply lasts 28 days
    expired = TODAY - dt.timedelta(days=1)
    receive_kits(db, example, range(2001, 2002), shipment_number="SHP-2", lot="L1", expiry=soon)
    receive_kits(db, example, range(2002, 2003), shipment_number="SHP-3", lot="L0", expiry=expired)
    assigned = order_kit(db, example, "1007")
    any_kit = order_kit(db, example, None, visit="Visit 3")

    good = checked(db, example, assigned, "1007")
    assert good.problems == ()
    assert (good.kit_number, good.lot_number, good.location_id) == (
        "1007",
        "L2301",
        example.shelf.id,
    )

    wrong = checked(db, example, assigned, "1008")
    assert wrong.refusal == "The IWRS assigned kit 1007 to this order; kit 1008 was scanned."
    assert not wrong.matches(Row.KIT)
    assert wrong.matches(Row.EXPIRY)

    short = checked(db, example, any_kit, "2001")
    assert short.refusal is not None
    assert "before the end of the 28 days' supply" in short.refusal
    assert not short.matches(Row.EXPIRY)
    assert short.matches(Row.KIT)

    old = checked(db, example, any_kit, "2002")
    assert (
        old.refusal == f"Kit 2002 (lot L0) expired on {expired:%Y-%m-%d}; it cannot be dispensed."
    )

    # The same rules refuse the prepare itself.
    refused(
        db,
        DispenseRefused,
        "before the end of the 28 days' supply",
        lambda: prepare(db, example, any_kit, kit_number="2001"),
    )


def test_a_kit_held_for_another_prepared_order_is_refused_at_the_scan(
    db: Database, example: Example
) -> None:
    first = order_kit(db, example, None)
    second = order_kit(db, example, None, visit="Visit 3")
    prepare(db, example, first, kit_number="1007")
    check = checked(db, example, second, "1007")
    assert check.refusal == f"Kit 1007 is held for order {first}, already prepared; scan another."
    assert not check.matches(Row.KIT)
    refused(
        db,
        DispenseRefused,
        f"held for order {first}",
        lambda: prepare(db, example, second, kit_number="1007"),
    )


def test_the_scan_check_hides_the_arm_from_the_blinded(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        attribute_changes(session, example.people.admin, reason="sponsor kit list")
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        kit.arm_id = example.placebo_arm.id
    check = checked(db, example, order_kit(db, example), "1007")
    assert check.refusal == (
        "Kit 1007 is not for this subject's treatment arm; check the IWRS assignment."
    )


def test_a_quarantined_kit_is_refused_at_the_scan(db: Database) -> None:
    example = make_example(db)
    receive_kits(db, example, temperature_monitor=TemperatureMonitor.EXCURSION)
    check = checked(db, example, order_kit(db, example), "1007")
    assert check.refusal is not None
    assert "quarantined" in check.refusal


def test_the_verifier_must_scan_the_item_that_was_prepared(db: Database, example: Example) -> None:
    order_id = order_kit(db, example, None)
    prepare(db, example, order_id, kit_number="1007")
    with db.read_session() as session:
        order = session.get_one(DispenseOrder, order_id)
        assert check_for_verifying(session, order, Scanned("1007")).problems == ()
        wrong = check_for_verifying(session, order, Scanned("1008"))
    assert wrong.refusal == "Kit 1007 was prepared; kit 1008 was scanned. Check the item in hand."

    def verify_with(code: str) -> DispenseOrder:
        with db.unit_of_work() as session:
            return verify_order(
                session,
                example.people.pharm,
                session.get_one(DispenseOrder, order_id),
                password=PASSWORD,
                item=Scanned(code),
            )

    refused(
        db,
        DispenseRefused,
        "^Kit 1007 was prepared; kit 1008 was scanned",
        lambda: verify_with("1008"),
    )
    assert verify_with("1007").state is OrderState.DISPENSED


def test_a_pharmacist_verifies_with_their_own_name_at_anothers_workstation(
    db: Database, example: Example
) -> None:
    order_id = order_kit(db, example)
    prepare(db, example, order_id)

    def here(username: str, password: str = PASSWORD) -> DispenseOrder:
        with db.unit_of_work() as session:
            return verify_order_here(
                session,
                session.get_one(DispenseOrder, order_id),
                username=username,
                password=password,
                item=Scanned("1007"),
            )

    refused(
        db,
        SignInRefused,
        "^The pharmacist's user name or password is wrong.$",
        lambda: here("nobody"),
    )
    refused(
        db,
        PermissionDenied,
        "^Terry Tech is a technician; only a pharmacist verifies a dispense. Ask a pharmacist",
        lambda: here("tech"),
    )
    order = here("pharm")
    assert order.state is OrderState.DISPENSED
    with db.read_session() as session:
        signatures = signatures_of(session, session.get_one(DispenseOrder, order_id))
    assert [s.printed_name for s in signatures][-1] == "Jane Roe"


def test_a_study_on_hold_is_refused_at_the_scan(db: Database, example: Example) -> None:
    order_id = order_kit(db, example)
    with db.unit_of_work() as session:
        change_study_status(
            session,
            example.people.admin,
            session.get_one(Study, example.study.id),
            StudyStatus.ON_HOLD,
            "sponsor hold",
        )
    check = checked(db, example, order_id, "1007")
    assert check.refusal is not None
    assert check.refusal.startswith("Study ABC-123 is on hold")
