"""Disposal: only verified returns, condemned or expired stock goes, witnessed and certified."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ids_app.audit.models import AuditEntry
from ids_app.db import Database, simulated_clock
from ids_app.errors import IdsError, InvalidInput, PermissionDenied
from ids_app.inventory.dispensing import create_order, prepare_order, verify_order
from ids_app.inventory.disposal import (
    DisposalItem,
    DisposalRefused,
    destruction_certificate,
    disposable_stock,
    disposals_awaiting_monitor,
    dispose,
    verify_disposal,
)
from ids_app.inventory.late_entries import EventTime, LateEntryRefused
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import (
    DispenseOrder,
    Disposal,
    DisposalKind,
    EntryKind,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import decide_hold, quarantine_stock
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.transfers import transfer_stock
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.services import SignInRefused, deactivate_user
from tests.factories import (
    PASSWORD,
    TODAY,
    Example,
    add_bulk_product,
    make_example,
    prepared_item,
    receive_kits,
    scan_of,
)
from tests.tampering import drop_append_only, raw_sql

RETURNED = StockState.RETURNED


@pytest.fixture
def example(db: Database) -> Example:
    ex = make_example(db)
    receive_kits(db, ex, range(1001, 1011))
    return ex


def _count(db: Database, table: type[object]) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _nothing_written(db: Database, entries_before: int) -> bool:
    return (_count(db, LedgerEntry), _count(db, Disposal)) == (entries_before, 0)


def _kit(db: Database, number: str) -> Kit:
    with db.read_session() as session:
        return session.scalars(select(Kit).where(Kit.kit_number == number)).one()


def _dispense(
    db: Database, example: Example, product: Product, *, kit: str | None = None, lot: str = ""
) -> int:
    """Order, prepare (technician) and verify (pharmacist): the order's id."""
    with db.unit_of_work() as session:
        order = create_order(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, product.id),
            visit="Visit 2",
            assigned_kit_number=kit,
        )
        prepare_order(
            session,
            example.people.tech,
            order,
            password=PASSWORD,
            item=scan_of(kit, lot or None),
            location=session.get_one(Location, example.shelf.id),
        )
        verify_order(
            session,
            example.people.pharm,
            order,
            password=PASSWORD,
            item=prepared_item(session, order),
        )
        return order.id


def _return(
    db: Database,
    example: Example,
    order_id: int,
    quantity: int,
    units: int,
    *,
    verify: bool,
    returned_on: dt.date = TODAY,
) -> SubjectReturn:
    with db.unit_of_work() as session:
        subject_return = record_return(
            session,
            example.people.tech,
            session.get_one(DispenseOrder, order_id),
            returned_on=returned_on,
            quantity=quantity,
            units_counted=units,
            condition="opened",
            location=session.get_one(Location, example.returns.id),
        )
        if verify:
            verify_return(session, example.people.monitor, subject_return, password=PASSWORD)
        return subject_return


def _returned_kit(db: Database, example: Example, number: str, *, verify: bool) -> None:
    order_id = _dispense(db, example, example.product, kit=number)
    _return(db, example, order_id, 1, 3, verify=verify)


def _kit_item(db: Database, number: str, location: Location, state: StockState) -> DisposalItem:
    kit = _kit(db, number)
    return DisposalItem(kit.lot_id, kit.id, location.id, state, 1)


def _dispose(
    db: Database,
    example: Example,
    items: list[DisposalItem],
    *,
    kind: DisposalKind = DisposalKind.DESTROYED_ON_SITE,
    actor: User | None = None,
    number: str = "D-001",
    witness: str = "pharm",
    witness_password: str = PASSWORD,
    performer_password: str = PASSWORD,
    courier: str | None = None,
    tracking: str | None = None,
    performed_on: dt.date = TODAY,
    when: EventTime | None = None,
) -> Disposal:
    with db.unit_of_work() as session:
        return dispose(
            session,
            actor or example.people.tech,
            session.get_one(Study, example.study.id),
            kind=kind,
            disposal_number=number,
            method="incineration in the pharmacy's hazardous waste bin",
            sponsor_authorization="Acme destruction authorization DA-17",
            performed_on=performed_on,
            items=items,
            performer_password=performer_password,
            witness_username=witness,
            witness_password=witness_password,
            courier=courier,
            tracking_number=tracking,
            when=when,
        )


@pytest.fixture
def bulk(db: Database, example: Example) -> Product:
    """A bulk-counted rescue medication: 100 tablets of lot R100 on IDS Shelf A."""
    return add_bulk_product(db, example, expiry=TODAY + dt.timedelta(days=400))


def _bulk_lot(db: Database) -> Lot:
    with db.read_session() as session:
        return session.scalars(select(Lot).where(Lot.lot_number == "R100")).one()


def test_a_verified_returned_kit_is_destroyed_with_a_witness(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    disposal = _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    with db.read_session() as session:
        (entry,) = session.scalars(
            select(LedgerEntry).where(LedgerEntry.disposal_id == disposal.id)
        ).all()
        performed, witnessed = session.scalars(
            select(Signature).where(Signature.record_table == "disposal").order_by(Signature.id)
        ).all()
    assert (entry.kind, entry.from_state, entry.to_state, entry.to_location_id) == (
        EntryKind.DESTROY,
        RETURNED,
        StockState.DESTROYED,
        None,
    )
    assert entry.reference == "Acme destruction authorization DA-17"
    # The technician who destroyed it signs, then the witness (21 CFR 11.50).
    assert (performed.meaning, performed.user_id) == (
        SignatureMeaning.PERFORMED,
        example.people.tech.id,
    )
    assert (witnessed.meaning, witnessed.user_id) == (
        SignatureMeaning.WITNESSED,
        example.people.pharm.id,
    )
    assert (disposal.performed_by_id, disposal.witness_id) == (
        example.people.tech.id,
        example.people.pharm.id,
    )


def _on(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour)).astimezone()


def test_a_destruction_entered_late_keeps_its_time_and_reason(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    item = _kit_item(db, "1007", example.returns, RETURNED)
    tomorrow = TODAY + dt.timedelta(days=1)
    paper = EventTime(_on(tomorrow, 7), "downtime 06:00 to 09:30, from the destruction log")
    with simulated_clock(_on(tomorrow, 11)):
        disposal = _dispose(db, example, [item], performed_on=tomorrow, when=paper)
    with db.read_session() as session:
        (entry,) = session.scalars(
            select(LedgerEntry).where(LedgerEntry.disposal_id == disposal.id)
        ).all()
    assert (entry.occurred_at, entry.late_reason) == (_on(tomorrow, 7), paper.late_reason)
    assert entry.recorded_at == _on(tomorrow, 11)


def test_a_late_destruction_cannot_come_before_the_kits_return(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    item = _kit_item(db, "1007", example.returns, RETURNED)
    before = _count(db, LedgerEntry)
    yesterday = TODAY - dt.timedelta(days=1)
    paper = EventTime(_on(yesterday, 7), "downtime, from the destruction log")
    with pytest.raises(LateEntryRefused, match="Kit 1007 already has a later record"):
        _dispose(db, example, [item], performed_on=yesterday, when=paper)
    assert _nothing_written(db, before)


def test_cannot_destroy_unverified_returns(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=False)
    before = _count(db, LedgerEntry)
    with pytest.raises(DisposalRefused, match="monitor has not verified the return"):
        _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    assert _nothing_written(db, before)
    with db.read_session() as session:
        assert not session.scalars(
            select(Signature).where(Signature.record_table == "disposal")
        ).all()


def test_cannot_destroy_available_unexpired_stock(db: Database, example: Example) -> None:
    before = _count(db, LedgerEntry)
    with pytest.raises(DisposalRefused) as refused:
        _dispose(db, example, [_kit_item(db, "1004", example.shelf, StockState.AVAILABLE)])
    assert str(refused.value) == (
        "Kit 1004 is available and not expired; only returned, expired or condemned "
        "stock is destroyed."
    )
    assert _nothing_written(db, before)


def test_expired_stock_may_be_destroyed(db: Database, example: Example) -> None:
    expired = TODAY - dt.timedelta(days=1)
    receive_kits(db, example, range(2001, 2003), shipment_number="S2", lot="OLD", expiry=expired)
    # Expired on arrival, so received into quarantine (receiving.expired_on_arrival).
    items = [
        _kit_item(db, number, example.shelf, StockState.QUARANTINED) for number in ("2001", "2002")
    ]
    _dispose(db, example, items)
    with db.read_session() as session:
        states = {
            row.state
            for row in study_balances(session, example.study.id)
            if row.kit_id in {item.kit_id for item in items}
        }
    assert states == {StockState.DESTROYED}


def test_condemned_stock_may_be_destroyed(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        hold = quarantine_stock(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            reason=HoldReason.DAMAGE,
            details="Kit crushed on the shelf",
            kit=session.get_one(Kit, _kit(db, "1005").id),
        )
        decide_hold(
            session,
            example.people.pharm,
            hold,
            session.get_one(Lot, _kit(db, "1005").lot_id),
            decision=HoldDecisionKind.CONDEMN,
            sponsor_reference="Acme e-mail 2026-03-02",
            password=PASSWORD,
        )
    disposal = _dispose(db, example, [_kit_item(db, "1005", example.shelf, StockState.CONDEMNED)])
    assert disposal.kind is DisposalKind.DESTROYED_ON_SITE


def test_witness_must_be_another_user(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="The witness must be another person"):
        _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)], witness="tech")
    assert _nothing_written(db, before)


def test_witness_must_be_an_active_user(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    with db.unit_of_work() as session:
        deactivate_user(session, example.people.admin, "pharm2", "left the hospital")
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="Sam Lee's account is deactivated"):
        _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)], witness="pharm2")
    assert _nothing_written(db, before)


def test_the_performer_signs_with_their_own_password_or_nothing_is_disposed(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    before = _count(db, LedgerEntry)
    with pytest.raises(SignInRefused, match="password is wrong"):
        _dispose(
            db,
            example,
            [_kit_item(db, "1007", example.returns, RETURNED)],
            performer_password="wrong-pass-1",
        )
    assert _nothing_written(db, before)


@pytest.mark.parametrize(("witness", "password"), [("pharm", "wrong-pass-1"), ("nobody", PASSWORD)])
def test_a_failed_witness_signature_is_recorded_and_nothing_is_disposed(
    db: Database, example: Example, witness: str, password: str
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    before = _count(db, LedgerEntry)
    with pytest.raises(SignInRefused, match="password is wrong"):
        _dispose(
            db,
            example,
            [_kit_item(db, "1007", example.returns, RETURNED)],
            witness=witness,
            witness_password=password,
        )
    assert _nothing_written(db, before)
    with db.read_session() as session:
        failed = session.scalars(
            select(AuditEntry.username).where(AuditEntry.action == "signature_failed")
        ).all()
    assert failed == [witness]


def test_return_to_sponsor_needs_courier_and_tracking(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    items = [_kit_item(db, "1007", example.returns, RETURNED)]
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="needs the courier and the tracking number"):
        _dispose(db, example, items, kind=DisposalKind.RETURNED_TO_SPONSOR, courier="FedEx")
    assert _nothing_written(db, before)
    disposal = _dispose(
        db,
        example,
        items,
        kind=DisposalKind.RETURNED_TO_SPONSOR,
        courier="FedEx",
        tracking="7712 3456 9012",
    )
    with db.read_session() as session:
        (entry,) = session.scalars(
            select(LedgerEntry).where(LedgerEntry.disposal_id == disposal.id)
        ).all()
    assert (entry.kind, entry.to_state) == (
        EntryKind.RETURN_TO_SPONSOR,
        StockState.RETURNED_TO_SPONSOR,
    )
    assert (disposal.courier, disposal.tracking_number) == ("FedEx", "7712 3456 9012")


def test_disposal_number_is_unique_per_study(db: Database, example: Example) -> None:
    for number in ("1006", "1007"):
        _returned_kit(db, example, number, verify=True)
    _dispose(db, example, [_kit_item(db, "1006", example.returns, RETURNED)])
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="Disposal D-001 is already on record for ABC-123"):
        _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    assert _count(db, LedgerEntry) == before


def test_a_monitor_does_not_dispose_of_stock(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    before = _count(db, LedgerEntry)
    with pytest.raises(PermissionDenied, match="Only a technician or pharmacist"):
        _dispose(
            db,
            example,
            [_kit_item(db, "1007", example.returns, RETURNED)],
            actor=example.people.monitor,
        )
    assert _nothing_written(db, before)


def test_bulk_returns_go_only_up_to_what_the_monitor_verified(
    db: Database, example: Example, bulk: Product
) -> None:
    verified = _dispense(db, example, bulk, lot="R100")
    unverified = _dispense(db, example, bulk, lot="R100")
    _return(db, example, verified, 10, 10, verify=True)
    late = _return(db, example, unverified, 5, 5, verify=False)
    lot = _bulk_lot(db)

    def item(quantity: int) -> DisposalItem:
        return DisposalItem(lot.id, None, example.returns.id, RETURNED, quantity)

    with db.read_session() as session:
        assert item(10) in disposable_stock(session, example.study.id, TODAY)
    before = _count(db, LedgerEntry)
    with pytest.raises(DisposalRefused, match="Only 10 returned units of lot R100 at Returns"):
        _dispose(db, example, [item(6), item(6)])
    assert _nothing_written(db, before)
    _dispose(db, example, [item(10)])
    before = _count(db, LedgerEntry)
    with pytest.raises(DisposalRefused, match="Only 0 returned units"):
        _dispose(db, example, [item(5)], number="D-002")
    assert _count(db, LedgerEntry) == before
    with db.unit_of_work() as session:
        verify_return(
            session,
            example.people.monitor,
            session.get_one(SubjectReturn, late.id),
            password=PASSWORD,
        )
    _dispose(db, example, [item(5)], number="D-002")


def test_returned_bulk_units_stay_where_they_were_counted(
    db: Database, example: Example, bulk: Product
) -> None:
    order_id = _dispense(db, example, bulk, lot="R100")
    _return(db, example, order_id, 10, 10, verify=True)
    before = _count(db, LedgerEntry)
    with pytest.raises(InvalidInput, match="stay where they were counted back"):
        with db.unit_of_work() as session:
            transfer_stock(
                session,
                example.people.tech,
                lot=_bulk_lot(db),
                kit=None,
                from_location=example.returns,
                to_location=example.quarantine,
                quantity=10,
                state=RETURNED,
            )
    assert _count(db, LedgerEntry) == before


def test_disposable_stock_lists_verified_returns_condemned_and_expired_stock(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    _returned_kit(db, example, "1008", verify=False)
    expiry = TODAY + dt.timedelta(days=10)
    receive_kits(db, example, range(2001, 2002), shipment_number="S2", lot="SHORT", expiry=expiry)
    with db.read_session() as session:
        today = {item.kit_id for item in disposable_stock(session, example.study.id, TODAY)}
        later = disposable_stock(session, example.study.id, expiry + dt.timedelta(days=1))
    assert today == {_kit(db, "1007").id}
    assert {item.kit_id for item in later} == {_kit(db, "1007").id, _kit(db, "2001").id}


def test_destruction_certificate_prints_the_record(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    disposal = _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    with db.read_session() as session:
        certificate = destruction_certificate(
            session, session.get_one(Disposal, disposal.id), ZoneInfo("America/New_York")
        )
    assert (
        certificate.protocol_number,
        certificate.sponsor,
        certificate.principal_investigator,
        certificate.disposal_number,
        certificate.performed_by,
    ) == ("ABC-123", "Acme Pharma", "Dr. Pat Investigator", "D-001", "Terry Tech")
    assert certificate.sponsor_authorization == "Acme destruction authorization DA-17"
    assert certificate.witness_signature.startswith("Jane Roe, Pharmacist — Witnessed — ")
    (line,) = certificate.lines
    assert (line.product, line.lot_number, line.kit_number, line.quantity, line.unit) == (
        "ABC-123 10 mg or placebo tablet",
        "L2301",
        "1007",
        1,
        "kit",
    )


def test_certificate_refuses_a_disposal_changed_after_it_was_signed(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    disposal = _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    forgery = "UPDATE disposal SET method = 'flushed down the sink'"
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(db, forgery)
    # Someone with a SQL prompt drops the trigger: the signature still gives it away.
    drop_append_only(db, "disposal")
    raw_sql(db, forgery)
    with db.read_session() as session, pytest.raises(IdsError, match="no valid witness signature"):
        destruction_certificate(session, session.get_one(Disposal, disposal.id))


def test_monitor_verifies_a_destruction_once_with_a_signature(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    disposal = _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    with db.read_session() as session:
        assert [d.id for d in disposals_awaiting_monitor(session, example.study.id)] == [
            disposal.id
        ]
    with db.unit_of_work() as session:
        signature = verify_disposal(
            session,
            example.people.monitor,
            session.get_one(Disposal, disposal.id),
            password=PASSWORD,
        )
    assert (signature.meaning, signature.printed_name) == (
        SignatureMeaning.VERIFIED,
        "Morgan Monitor",
    )
    with db.read_session() as session:
        assert disposals_awaiting_monitor(session, example.study.id) == []
    with pytest.raises(IdsError, match="already verified"), db.unit_of_work() as session:
        verify_disposal(
            session,
            example.people.monitor,
            session.get_one(Disposal, disposal.id),
            password=PASSWORD,
        )


def test_only_a_monitor_verifies_a_destruction(db: Database, example: Example) -> None:
    _returned_kit(db, example, "1007", verify=True)
    disposal = _dispose(db, example, [_kit_item(db, "1007", example.returns, RETURNED)])
    with pytest.raises(PermissionDenied, match="Only a monitor"), db.unit_of_work() as session:
        verify_disposal(
            session,
            example.people.pharm2,
            session.get_one(Disposal, disposal.id),
            password=PASSWORD,
        )


def test_a_late_destruction_cannot_come_before_the_monitor_verified_the_return(
    db: Database, example: Example
) -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    with simulated_clock(_on(tomorrow, 10)):
        order_id = _dispense(db, example, example.product, kit="1007")
        counted = _return(db, example, order_id, 1, 3, verify=False, returned_on=tomorrow)
    with simulated_clock(_on(tomorrow, 14)), db.unit_of_work() as session:
        verify_return(
            session,
            example.people.monitor,
            session.get_one(SubjectReturn, counted.id),
            password=PASSWORD,
        )
    item = _kit_item(db, "1007", example.returns, RETURNED)
    before = _count(db, LedgerEntry)
    paper = EventTime(_on(tomorrow, 12), "downtime, from the destruction log")
    with (
        simulated_clock(_on(tomorrow, 16)),
        pytest.raises(DisposalRefused, match="verified by the monitor only after"),
    ):
        _dispose(db, example, [item], performed_on=tomorrow, when=paper)
    assert _nothing_written(db, before)


def test_a_destruction_dated_an_earlier_day_needs_the_time_it_was_done(
    db: Database, example: Example
) -> None:
    _returned_kit(db, example, "1007", verify=True)
    item = _kit_item(db, "1007", example.returns, RETURNED)
    before = _count(db, LedgerEntry)
    with (
        simulated_clock(_on(TODAY + dt.timedelta(days=2), 9)),
        pytest.raises(LateEntryRefused, match=r"is dated .*, before today: give the time"),
    ):
        _dispose(db, example, [item], performed_on=TODAY)
    assert _nothing_written(db, before)
