"""Late entries: a downtime's paper log typed in afterwards, with its true times."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.audit.views import AuditFilter, audit_page
from ids_app.audit.wording import describe
from ids_app.db import Database, simulated_clock, today
from ids_app.inventory.counts import (
    CountedLine,
    discrepancies_of,
    record_count,
    resolve_discrepancy,
)
from ids_app.inventory.dispensing import (
    DispenseRefused,
    create_order,
    prepare_order,
    verify_order,
)
from ids_app.inventory.late_entries import EventTime, LateEntryRefused, set_late_entry_delay
from ids_app.inventory.ledger import reverse_entry
from ids_app.inventory.models import (
    DiscrepancyState,
    DispenseOrder,
    EntryKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Lot,
    OrderState,
    PhysicalCount,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.inventory.receiving import ShipmentReceipt, receive_shipment
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.transfers import transfer_stock
from ids_app.studies.models import (
    Arm,
    Prescriber,
    Product,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
)
from ids_app.studies.services import (
    add_subject,
    change_study_status,
    set_subject_status,
    withdraw_prescriber,
)
from ids_app.users.models import Signature
from tests.factories import (
    PASSWORD,
    TODAY,
    Example,
    kit_lines,
    make_example,
    prepared_item,
    receive_kits,
    scan_of,
)

DOWNTIME = "downtime 06:00 to 09:30, from the paper log"
EXPIRES = TODAY + dt.timedelta(days=40)  # 28 days' supply: dispensable through day 12


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment ``day`` days from today, on the pharmacy's clock."""
    return dt.datetime.combine(TODAY + dt.timedelta(days=day), dt.time(hour, minute)).astimezone()


@pytest.fixture
def example(db: Database) -> Example:
    """The DOMAIN.md study with kits 1001-1020 of lot L2301, expiring in 40 days."""
    example = make_example(db)
    receive_kits(db, example, expiry=EXPIRES)
    return example


def enter_dispense(
    db: Database, example: Example, kit: str, *times: EventTime | None
) -> DispenseOrder:
    """Order, preparation and verification of ``kit``, each at the time given."""
    ordered, prepared, verified = times if times else (None, None, None)
    with db.unit_of_work() as session:
        order = create_order(
            session,
            example.people.tech,
            session.get_one(Study, example.study.id),
            subject=session.get_one(Subject, example.subject.id),
            prescriber=session.get_one(Prescriber, example.prescriber.id),
            product=session.get_one(Product, example.product.id),
            visit="Visit 2",
            assigned_kit_number=kit,
            when=ordered,
        )
        prepare_order(
            session,
            example.people.tech,
            order,
            password=PASSWORD,
            item=scan_of(kit),
            location=example.shelf,
            when=prepared,
        )
        verify_order(
            session,
            example.people.pharm,
            order,
            password=PASSWORD,
            item=prepared_item(session, order),
            when=verified,
        )
        return order


def paper_morning(day: int) -> tuple[EventTime, EventTime, EventTime]:
    """The paper log's order at 08:30, prepared at 08:45 and verified at 09:00 on ``day``."""
    return (
        EventTime(at(day, 8, 30), DOWNTIME),
        EventTime(at(day, 8, 45), DOWNTIME),
        EventTime(at(day, 9), DOWNTIME),
    )


def test_a_kit_dispensed_on_paper_before_it_expired_is_entered_after_expiry(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(13, 10)):
        # Typed in now, a dispense of this kit is refused: it expires within the supply.
        with pytest.raises(DispenseRefused, match="expires on"):
            enter_dispense(db, example, "1007")
        order = enter_dispense(db, example, "1007", *paper_morning(10))
    with db.read_session() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.dispense_order_id == order.id)
        ).one()
        assert entry.kind is EntryKind.DISPENSE
        assert entry.occurred_at == at(10, 9)
        assert entry.recorded_at == at(13, 10)
        assert entry.late_reason == DOWNTIME
        stored = session.get_one(DispenseOrder, order.id)
        assert (stored.ordered_at, stored.prepared_at, stored.verified_at) == (
            at(10, 8, 30),
            at(10, 8, 45),
            at(10, 9),
        )


def test_a_late_entry_without_a_reason_is_refused(db: Database, example: Example) -> None:
    with simulated_clock(at(3, 12)), pytest.raises(LateEntryRefused, match="late entry"):
        enter_dispense(db, example, "1007", EventTime(at(3, 8, 30)), None, None)


def test_an_entry_within_the_studys_delay_is_not_late(db: Database, example: Example) -> None:
    with simulated_clock(at(3, 9, 30)):
        order = enter_dispense(
            db, example, "1007", *(EventTime(at(3, 9, m), "not needed") for m in (0, 5, 10))
        )
    with db.read_session() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.dispense_order_id == order.id)
        ).one()
        assert entry.occurred_at == at(3, 9, 10)
        assert entry.late_reason is None


def test_the_delay_is_the_studys_own_when_it_has_one(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        set_late_entry_delay(
            session, example.people.pharm, session.get_one(Study, example.study.id), 15, "SOP 12"
        )
    with simulated_clock(at(3, 9, 30)), pytest.raises(LateEntryRefused, match="15 minutes"):
        enter_dispense(db, example, "1007", EventTime(at(3, 9)), None, None)


def test_an_event_in_the_future_is_refused(db: Database, example: Example) -> None:
    with simulated_clock(at(3, 9)), pytest.raises(LateEntryRefused, match="in the future"):
        enter_dispense(db, example, "1007", EventTime(at(3, 11), DOWNTIME), None, None)


def test_a_late_entry_cannot_come_before_the_kits_last_event(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(5, 10)), db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1007")).one()
        transfer_stock(
            session,
            example.people.pharm,
            lot=session.get_one(Lot, kit.lot_id),
            kit=kit,
            from_location=example.shelf,
            to_location=example.quarantine,
            quantity=1,
        )
        transfer_stock(
            session,
            example.people.pharm,
            lot=session.get_one(Lot, kit.lot_id),
            kit=kit,
            from_location=example.quarantine,
            to_location=example.shelf,
            quantity=1,
        )
    with (
        simulated_clock(at(6, 10)),
        pytest.raises(LateEntryRefused, match="Kit 1007 already has a later record"),
    ):
        enter_dispense(db, example, "1007", *paper_morning(4))
    with db.read_session() as session:
        assert session.scalar(select(DispenseOrder.id)) is None  # nothing of it is written


def test_a_step_cannot_come_before_the_step_recorded_before_it(
    db: Database, example: Example
) -> None:
    ordered = EventTime(at(3, 9), DOWNTIME)
    prepared = EventTime(at(3, 8), DOWNTIME)
    with simulated_clock(at(3, 12)), pytest.raises(LateEntryRefused, match="before the step"):
        enter_dispense(db, example, "1007", ordered, prepared, None)


def test_a_late_entry_says_so_in_the_audit_trail(db: Database, example: Example) -> None:
    with simulated_clock(at(3, 12)):
        enter_dispense(db, example, "1007", *paper_morning(3))
    with db.read_session() as session:
        reasons = set(session.scalars(select(AuditEntry.reason)))
    assert f"dispense verified (late entry: {DOWNTIME})" in reasons
    with db.read_session() as session:
        rows = audit_page(
            session,
            AuditFilter(table_name="ledger_entry"),
            reader=example.people.pharm,
            limit=100,
        )
        sentences = describe(session, rows)
    late = [sentence for sentence in sentences if "late entry" in sentence]
    assert len(late) == 1
    assert late[0].startswith("Kit 1007 dispensed to 01-004")
    assert late[0].endswith(f"): {DOWNTIME}")


def test_a_move_entered_late_keeps_its_time_and_reason(db: Database, example: Example) -> None:
    with simulated_clock(at(2, 12)), db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1003")).one()
        (entry,) = transfer_stock(
            session,
            example.people.pharm,
            lot=session.get_one(Lot, kit.lot_id),
            kit=kit,
            from_location=example.shelf,
            to_location=example.quarantine,
            quantity=1,
            when=EventTime(at(2, 7), DOWNTIME),
        )
        assert (entry.occurred_at, entry.late_reason) == (at(2, 7), DOWNTIME)


def test_a_hold_and_a_return_entered_late_keep_their_times_and_reason(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(3, 12)):
        order = enter_dispense(db, example, "1007", *paper_morning(3))
        with db.unit_of_work() as session:
            study = session.get_one(Study, example.study.id)
            kit = session.scalars(select(Kit).where(Kit.kit_number == "1009")).one()
            hold = quarantine_stock(
                session,
                example.people.pharm,
                study,
                reason=HoldReason.DAMAGE,
                details="carton crushed, from the paper log",
                kit=kit,
                when=EventTime(at(3, 7, 15), DOWNTIME),
            )
            back = record_return(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order.id),
                returned_on=(TODAY + dt.timedelta(days=3)),
                quantity=1,
                units_counted=30,
                condition="sealed, subject changed mind",
                location=example.returns,
                when=EventTime(at(3, 9, 20), DOWNTIME),
            )
            moved = session.scalars(
                select(LedgerEntry).where(
                    (LedgerEntry.hold_id == hold.id) | (LedgerEntry.subject_return_id == back.id)
                )
            ).all()
    assert sorted((entry.occurred_at, entry.late_reason) for entry in moved) == [
        (at(3, 7, 15), DOWNTIME),
        (at(3, 9, 20), DOWNTIME),
    ]


def test_a_return_cannot_be_entered_before_its_dispense(db: Database, example: Example) -> None:
    with simulated_clock(at(3, 12)):
        order = enter_dispense(db, example, "1007", *paper_morning(3))
        with db.unit_of_work() as session, pytest.raises(LateEntryRefused, match="later record"):
            record_return(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order.id),
                returned_on=(TODAY + dt.timedelta(days=3)),
                quantity=1,
                units_counted=30,
                condition="sealed",
                location=example.returns,
                when=EventTime(at(3, 8), DOWNTIME),
            )


def test_a_monitors_check_cannot_come_before_the_return_was_counted(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(3, 12)):
        order = enter_dispense(db, example, "1007", *paper_morning(3))
        with db.unit_of_work() as session:
            back = record_return(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order.id),
                returned_on=(TODAY + dt.timedelta(days=3)),
                quantity=1,
                units_counted=30,
                condition="sealed",
                location=example.returns,
                when=EventTime(at(3, 10), DOWNTIME),
            )
            back_id = back.id
        with db.unit_of_work() as session, pytest.raises(LateEntryRefused, match="before the step"):
            verify_return(
                session,
                example.people.monitor,
                session.get_one(SubjectReturn, back_id),
                password=PASSWORD,
                when=EventTime(at(3, 9, 30), DOWNTIME),
            )


def _paper_receipt(example: Example, day: int, when: EventTime | None) -> ShipmentReceipt:
    """Shipment SHP-0002 (kits 1021-1024) as the paper receiving log has it, on ``day``."""
    return ShipmentReceipt(
        shipment_number="SHP-0002",
        sender="Acme Depot",
        carrier="World Courier",
        received_on=TODAY + dt.timedelta(days=day),
        location_id=example.shelf.id,
        lines=kit_lines(example, range(1021, 1025), expiry=EXPIRES),
        received_at=when,
    )


def _receive(db: Database, example: Example, receipt: ShipmentReceipt) -> None:
    with db.unit_of_work() as session:
        receive_shipment(
            session, example.people.tech, session.get_one(Study, example.study.id), receipt
        )


def test_a_shipment_received_during_a_downtime_keeps_its_time_and_reason(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)):
        _receive(db, example, _paper_receipt(example, 1, EventTime(at(1, 7, 15), DOWNTIME)))
    with db.read_session() as session:
        entries = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == EntryKind.RECEIVE)
            .order_by(LedgerEntry.id)
        ).all()[-4:]
    assert {(e.occurred_at, e.late_reason) for e in entries} == {(at(1, 7, 15), DOWNTIME)}
    assert all(e.recorded_at == at(1, 10) for e in entries)


def test_a_receipt_entered_late_without_a_reason_is_refused_and_nothing_is_received(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)), pytest.raises(LateEntryRefused, match="late entry"):
        _receive(db, example, _paper_receipt(example, 1, EventTime(at(1, 7, 15))))
    with db.read_session() as session:
        assert session.scalar(select(Kit.id).where(Kit.kit_number == "1021")) is None


def test_a_receipt_whose_time_is_not_on_its_date_is_refused(db: Database, example: Example) -> None:
    with (
        simulated_clock(at(2, 10)),
        pytest.raises(LateEntryRefused, match="on different days"),
    ):
        _receive(db, example, _paper_receipt(example, 2, EventTime(at(1, 7, 15), DOWNTIME)))


def count_on_paper(
    db: Database, example: Example, when: EventTime, missing: str = "1020"
) -> PhysicalCount:
    """The shelf counted from the paper count sheet: every kit found but ``missing``."""
    with db.unit_of_work() as session:
        kits = session.scalars(select(Kit).where(Kit.kit_number != missing)).all()
        return record_count(
            session,
            example.people.monitor,
            session.get_one(Study, example.study.id),
            example.shelf,
            [CountedLine(kit.lot_id, kit.id, StockState.AVAILABLE, 1) for kit in kits],
            when=when,
        )


def test_a_count_from_the_paper_sheet_keeps_its_time_and_reason(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)):
        count = count_on_paper(db, example, EventTime(at(1, 7), DOWNTIME))
    with db.read_session() as session:
        stored = session.get_one(PhysicalCount, count.id)
        (missing,) = discrepancies_of(session, stored)
        rows = audit_page(
            session, AuditFilter(table_name="physical_count"), reader=example.people.pharm, limit=9
        )
        (sentence,) = describe(session, rows)
    assert (stored.counted_at, stored.recorded_at, stored.late_reason) == (
        at(1, 7),
        at(1, 10),
        DOWNTIME,
    )
    assert (missing.ledger_quantity, missing.counted_quantity) == (1, 0)
    assert sentence.startswith(f"Count {count.id} recorded, a late entry (happened ")
    assert sentence.endswith(f"): {DOWNTIME}")


def test_a_late_count_cannot_go_before_a_movement_at_its_location(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)):
        enter_dispense(db, example, "1007", *paper_morning(1))
        with pytest.raises(LateEntryRefused, match="IDS Shelf A already has a later record"):
            count_on_paper(db, example, EventTime(at(1, 7), DOWNTIME))
    with db.read_session() as session:
        assert session.scalar(select(PhysicalCount.id)) is None


def test_a_count_entered_late_without_a_reason_is_refused(db: Database, example: Example) -> None:
    with simulated_clock(at(1, 10)), pytest.raises(LateEntryRefused, match="late entry"):
        count_on_paper(db, example, EventTime(at(1, 7)))


def test_a_discrepancy_cannot_be_resolved_before_it_was_counted(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)):
        count = count_on_paper(db, example, EventTime(at(1, 7), DOWNTIME))
        with db.unit_of_work() as session:
            (missing,) = discrepancies_of(session, session.get_one(PhysicalCount, count.id))
            with pytest.raises(LateEntryRefused, match="before the step recorded before it"):
                resolve_discrepancy(
                    session,
                    example.people.pharm,
                    missing,
                    "found broken in the bin",
                    PASSWORD,
                    when=EventTime(at(1, 6), DOWNTIME),
                )


def _subject_status(db: Database, example: Example, subject_id: int, status: SubjectStatus) -> None:
    with db.unit_of_work() as session:
        set_subject_status(
            session,
            example.people.pharm,
            session.get_one(Subject, subject_id),
            status,
            "per the investigator's note",
            on=today(),
        )


def test_a_dispense_on_paper_before_the_subject_was_discontinued_is_entered(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(3, 12)):
        _subject_status(db, example, example.subject.id, SubjectStatus.DISCONTINUED)
        with pytest.raises(DispenseRefused, match="01-004 is discontinued, not enrolled"):
            enter_dispense(db, example, "1007")
        order = enter_dispense(db, example, "1007", *paper_morning(2))
    assert order.state is OrderState.DISPENSED


def test_a_dispense_on_paper_before_the_subject_was_enrolled_is_refused(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        newcomer = add_subject(
            session,
            example.people.unblinded,
            session.get_one(Study, example.study.id),
            "01-009",
            "KL",
            arm=session.get_one(Arm, example.drug_arm.id),
        )
    with simulated_clock(at(3, 12)):
        _subject_status(db, example, newcomer.id, SubjectStatus.ENROLLED)
        late = dataclasses.replace(example, subject=newcomer)
        with pytest.raises(
            DispenseRefused,
            match=f"01-009 was screening on {TODAY + dt.timedelta(days=2):%Y-%m-%d}, not enrolled",
        ):
            enter_dispense(db, late, "1007", *paper_morning(2))
        assert enter_dispense(db, late, "1007").state is OrderState.DISPENSED


def test_a_receipt_dated_an_earlier_day_without_its_time_is_refused(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(2, 10)), pytest.raises(LateEntryRefused, match="before today: give"):
        _receive(db, example, _paper_receipt(example, 1, None))
    with db.read_session() as session:
        assert session.scalar(select(Kit.id).where(Kit.kit_number == "1021")) is None


def test_a_late_receipt_of_a_kit_cannot_go_before_its_reversed_receipt(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(1, 10)):
        _receive(db, example, _paper_receipt(example, 1, None))
    with simulated_clock(at(1, 11)), db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1021")).one()
        received = session.scalars(select(LedgerEntry).where(LedgerEntry.kit_id == kit.id)).one()
        reverse_entry(session, example.people.pharm, received.id, "wrong shipper", PASSWORD)
    again = dataclasses.replace(
        _paper_receipt(example, 1, EventTime(at(1, 9), DOWNTIME)),
        shipment_number="SHP-0003",
        lines=kit_lines(example, range(1021, 1022), expiry=EXPIRES),
    )
    with (
        simulated_clock(at(1, 12)),
        pytest.raises(LateEntryRefused, match="Kit 1021 already has a later record"),
    ):
        _receive(db, example, again)


def test_a_discrepancy_a_late_dispense_explains_is_resolved_without_an_adjustment(
    db: Database, example: Example
) -> None:
    # 10:00 the count finds kit 1007 missing; 11:30 the paper log says it went at 09:00.
    with simulated_clock(at(1, 10)):
        count = count_on_paper(db, example, EventTime(at(1, 10)), missing="1007")
    with simulated_clock(at(1, 11, 30)):
        enter_dispense(db, example, "1007", *paper_morning(1))
    with simulated_clock(at(1, 12)), db.unit_of_work() as session:
        (missing,) = discrepancies_of(session, session.get_one(PhysicalCount, count.id))
        resolve_discrepancy(
            session, example.people.pharm, missing, "dispensed at 09:00 on paper", PASSWORD
        )
    with db.read_session() as session:
        (resolved,) = discrepancies_of(session, session.get_one(PhysicalCount, count.id))
        adjustments = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.ADJUST)
        ).all()
        signed = session.scalars(
            select(Signature).where(Signature.record_table == "discrepancy")
        ).all()
    assert resolved.status is DiscrepancyState.RESOLVED
    assert adjustments == []
    assert [(s.record_id, s.user_id) for s in signed] == [
        (str(resolved.id), example.people.pharm.id)
    ]


def test_a_paper_dispense_before_the_prescriber_was_withdrawn_is_entered(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(2, 12)):
        with db.unit_of_work() as session:
            withdraw_prescriber(
                session,
                example.people.pharm,
                session.get_one(Prescriber, example.prescriber.id),
                "left the site",
            )
        with pytest.raises(DispenseRefused, match="no longer authorized"):
            enter_dispense(db, example, "1007")
        order = enter_dispense(db, example, "1007", *paper_morning(2))
    assert order.state is OrderState.DISPENSED


def test_a_paper_dispense_before_the_study_was_put_on_hold_is_entered(
    db: Database, example: Example
) -> None:
    with simulated_clock(at(2, 10)), db.unit_of_work() as session:
        change_study_status(
            session,
            example.people.pharm,
            session.get_one(Study, example.study.id),
            StudyStatus.ON_HOLD,
            "sponsor's safety hold",
        )
    with simulated_clock(at(2, 12)):
        with pytest.raises(DispenseRefused, match="is on hold"):
            enter_dispense(db, example, "1007")
        order = enter_dispense(db, example, "1007", *paper_morning(2))
        # A paper dispense after the hold began is refused, as it would have been then.
        after_hold = [EventTime(at(2, 10, minute), DOWNTIME) for minute in (30, 40, 50)]
        with pytest.raises(DispenseRefused, match="is on hold"):
            enter_dispense(db, example, "1008", *after_hold)
    assert order.state is OrderState.DISPENSED
