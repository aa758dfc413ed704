"""A property-based walk through the ledger: random workflows, refused ones included.

After every step: no balance is negative; each lot reconciles (received = on hand +
dispensed - returned + destroyed + returned to sponsor ± transfers ± adjustments);
returned and condemned units never become dispensable; a refused step changed nothing;
the audit chain verifies.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.audit.verification import verify_chain
from ids_app.errors import IdsError
from ids_app.inventory.counts import (
    CountedLine,
    open_discrepancies,
    record_count,
    resolve_discrepancy,
)
from ids_app.inventory.dispensing import create_order, prepare_order, verify_order
from ids_app.inventory.disposal import (
    DisposalItem,
    _kit_return_verified,
    _verified_bulk,
    disposable_stock,
    dispose,
)
from ids_app.inventory.expiry import SHELF_STATES, is_expired
from ids_app.inventory.kit_register import on_site_kits
from ids_app.inventory.ledger import (
    Balance,
    balances,
    reverse_entry,
    study_balances,
    study_stock,
)
from ids_app.inventory.locations import add_location
from ids_app.inventory.models import (
    ON_SITE_STATES,
    Discrepancy,
    DispenseOrder,
    DisposalKind,
    EntryKind,
    HoldDecisionKind,
    HoldReason,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    OrderState,
    QuarantineHold,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.quarantine import decide_hold, held_stock, quarantine_stock
from ids_app.inventory.receiving import ReceivedLine, ShipmentReceipt, receive_shipment
from ids_app.inventory.returns import record_return, verify_return
from ids_app.inventory.transfers import transfer_stock
from ids_app.studies.models import Prescriber, Product, ProductRole, Study, Subject, Tracking
from ids_app.studies.services import add_product
from ids_app.users.models import Signature
from tests import databases
from tests.factories import EXPIRY, PASSWORD, TODAY, Example, make_example, prepared_item, scan_of

KITS = [str(n) for n in range(1001, 1011)]


@cache
def _template() -> str:
    """One migrated template for all the walks (a file, or a database on the server)."""
    return databases.migrated_template(Path(tempfile.mkdtemp(prefix="ids-ledger-walk-")))


def _effect(entry: LedgerEntry) -> tuple[EntryKind, int]:
    """What an entry adds to its kind's running total; an adjustment counts with its sign."""
    if entry.kind is EntryKind.ADJUST and entry.to_state is None:
        return entry.kind, -entry.quantity
    return entry.kind, entry.quantity


class LedgerWalk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ids-walk-"))
        self.db, self.db_name = databases.fresh_database(_template(), self.folder)
        self.example: Example = make_example(self.db)
        people = self.example.people
        with self.db.unit_of_work() as session:
            study = session.get_one(Study, self.example.study.id)
            self.bulk_id = add_product(
                session,
                people.tech,
                study,
                agent_name="Rescue",
                strength="5 mg",
                dosage_form="tablet",
                unit="tablet",
                role=ProductRole.ACTIVE,
                tracking=Tracking.BULK,
                storage_min_c=15,
                storage_max_c=30,
                dispense_quantity=20,
                days_supply=10,
                doses_per_day=2,
            ).id
            self.shelf_b_id = add_location(
                session, people.pharm, "IDS Shelf B", LocationKind.SHELF, 20, 25
            ).id
            # Start with stock on the shelf; the walk receives the remaining kits itself.
            opening = ShipmentReceipt(
                "SHP-OPENING",
                "Acme Depot",
                "Courier",
                TODAY,
                self.example.shelf.id,
                (
                    *(
                        ReceivedLine(self.example.product.id, "L2301", EXPIRY, kit_number=n)
                        for n in KITS[:6]
                    ),
                    ReceivedLine(self.bulk_id, "B100", EXPIRY, quantity=100),
                ),
            )
            receive_shipment(session, people.tech, study, opening)
        self.disposals = 0

    def teardown(self) -> None:
        # After every run, the whole record verifies: no false finding from any workflow.
        try:
            with self.db.read_session() as session:
                report = verify_database(session)
            assert report.intact, [finding.line() for finding in report.findings]
        finally:
            databases.discard(self.db, self.db_name)
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------

    def _snapshot(self) -> tuple[int, ...]:
        with self.db.read_session() as session:
            counts = tuple(
                session.scalar(select(func.count()).select_from(model)) or 0
                for model in (LedgerEntry, AuditEntry, Signature, DispenseOrder, SubjectReturn)
            )
            states = tuple(
                state.value
                for state in session.scalars(select(DispenseOrder.state).order_by(DispenseOrder.id))
            )
        return (*counts, hash(states))

    def _attempt(self, work: Callable[[Session], object]) -> bool:
        """Run one user action; a refusal must leave the database exactly as it was."""
        before = self._snapshot()
        try:
            with self.db.unit_of_work() as session:
                work(session)
        except IdsError:
            assert self._snapshot() == before, "a refused action changed the database"
            return False
        return True

    def _kit(self, session: Session, number: str) -> Kit | None:
        return session.scalar(select(Kit).where(Kit.kit_number == number))

    def _location(self, session: Session, location_id: int) -> Location:
        return session.get_one(Location, location_id)

    # -- rules -------------------------------------------------------------------------

    @rule(numbers=st.lists(st.sampled_from(KITS), min_size=1, max_size=4, unique=True))
    def receive_kits(self, numbers: list[str]) -> None:
        example = self.example

        def work(session: Session) -> None:
            lines = tuple(
                ReceivedLine(example.product.id, "L2301", EXPIRY, kit_number=n) for n in numbers
            )
            shipments = session.scalar(select(func.count(LedgerEntry.shipment_id.distinct())))
            receipt = ShipmentReceipt(
                f"SHP-{shipments}-{'-'.join(numbers)}",
                "Acme Depot",
                "Courier",
                TODAY,
                example.shelf.id,
                lines,
            )
            receive_shipment(
                session, example.people.tech, session.get_one(Study, example.study.id), receipt
            )

        self._attempt(work)

    @rule(quantity=st.integers(min_value=1, max_value=80))
    def receive_bulk(self, quantity: int) -> None:
        example = self.example

        def work(session: Session) -> None:
            shipments = session.scalar(select(func.count()).select_from(LedgerEntry))
            receipt = ShipmentReceipt(
                f"BULK-{shipments}",
                "Acme Depot",
                "Courier",
                TODAY,
                example.shelf.id,
                (ReceivedLine(self.bulk_id, "B100", EXPIRY, quantity=quantity),),
            )
            receive_shipment(
                session, example.people.tech, session.get_one(Study, example.study.id), receipt
            )

        self._attempt(work)

    @rule(number=st.sampled_from(KITS))
    def dispense_kit(self, number: str) -> None:
        example = self.example
        order_ids: list[int] = []

        def order(session: Session) -> None:
            order_ids.append(
                create_order(
                    session,
                    example.people.tech,
                    session.get_one(Study, example.study.id),
                    subject=session.get_one(Subject, example.subject.id),
                    prescriber=session.get_one(Prescriber, example.prescriber.id),
                    product=session.get_one(Product, example.product.id),
                    visit="Visit 2",
                    assigned_kit_number=number if self._kit(session, number) else None,
                ).id
            )

        if not self._attempt(order):
            return

        def prepare(session: Session) -> None:
            prepare_order(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order_ids[0]),
                password=PASSWORD,
                item=scan_of(number),
                location=self._location(session, example.shelf.id),
            )

        def verify(session: Session) -> None:
            verify_order(
                session,
                example.people.pharm,
                session.get_one(DispenseOrder, order_ids[0]),
                password=PASSWORD,
                item=prepared_item(session, session.get_one(DispenseOrder, order_ids[0])),
            )

        if self._attempt(prepare):
            self._attempt(verify)

    @rule(quantity=st.integers(min_value=1, max_value=60))
    def dispense_bulk(self, quantity: int) -> None:
        example = self.example
        order_ids: list[int] = []

        def order(session: Session) -> None:
            order_ids.append(
                create_order(
                    session,
                    example.people.tech,
                    session.get_one(Study, example.study.id),
                    subject=session.get_one(Subject, example.subject.id),
                    prescriber=session.get_one(Prescriber, example.prescriber.id),
                    product=session.get_one(Product, self.bulk_id),
                    visit="Visit 2",
                    quantity=quantity,
                ).id
            )

        def prepare(session: Session) -> None:
            prepare_order(
                session,
                example.people.tech,
                session.get_one(DispenseOrder, order_ids[0]),
                password=PASSWORD,
                item=scan_of(None, "B100"),
                location=self._location(session, example.shelf.id),
            )

        def verify(session: Session) -> None:
            verify_order(
                session,
                example.people.pharm,
                session.get_one(DispenseOrder, order_ids[0]),
                password=PASSWORD,
                item=prepared_item(session, session.get_one(DispenseOrder, order_ids[0])),
            )

        if self._attempt(order) and self._attempt(prepare):
            self._attempt(verify)

    @rule(pick=st.integers(min_value=0), quantity=st.integers(min_value=1, max_value=30))
    def take_return(self, pick: int, quantity: int) -> None:
        example = self.example
        with self.db.read_session() as session:
            dispensed = session.scalars(
                select(DispenseOrder.id)
                .where(DispenseOrder.state == OrderState.DISPENSED)
                .order_by(DispenseOrder.id)
            ).all()
        if not dispensed:
            return
        order_id = dispensed[pick % len(dispensed)]

        def work(session: Session) -> None:
            order = session.get_one(DispenseOrder, order_id)
            kit = order.kit_id is not None
            record_return(
                session,
                example.people.tech,
                order,
                returned_on=TODAY,
                quantity=1 if kit else quantity,
                units_counted=min(quantity, 30),
                condition="opened",
                location=self._location(session, example.returns.id),
            )

        self._attempt(work)

    @rule(pick=st.integers(min_value=0))
    def monitor_verifies_a_return(self, pick: int) -> None:
        with self.db.read_session() as session:
            waiting = session.scalars(
                select(SubjectReturn.id).where(SubjectReturn.monitor_verified_at.is_(None))
            ).all()
        if not waiting:
            return
        return_id = waiting[pick % len(waiting)]
        self._attempt(
            lambda session: verify_return(
                session,
                self.example.people.monitor,
                session.get_one(SubjectReturn, return_id),
                password=PASSWORD,
            )
        )

    @rule(number=st.sampled_from(KITS), reason=st.sampled_from(list(HoldReason)))
    def quarantine_a_kit(self, number: str, reason: HoldReason) -> None:
        def work(session: Session) -> None:
            quarantine_stock(
                session,
                self.example.people.tech,
                session.get_one(Study, self.example.study.id),
                reason=reason,
                details="found during the walk",
                kit=self._kit(session, number) or None,
                lot=None if self._kit(session, number) else self._bulk_lot(session),
            )

        self._attempt(work)

    def _bulk_lot(self, session: Session) -> Lot | None:
        return session.scalar(select(Lot).where(Lot.lot_number == "B100"))

    @rule(pick=st.integers(min_value=0), decision=st.sampled_from(list(HoldDecisionKind)))
    def decide_a_hold(self, pick: int, decision: HoldDecisionKind) -> None:
        with self.db.read_session() as session:
            holds = session.scalars(select(QuarantineHold).order_by(QuarantineHold.id)).all()
            candidates = [
                (hold.id, row.lot_id) for hold in holds for row in held_stock(session, hold)
            ]
        if not candidates:
            return
        hold_id, lot_id = candidates[pick % len(candidates)]
        self._attempt(
            lambda session: decide_hold(
                session,
                self.example.people.pharm,
                session.get_one(QuarantineHold, hold_id),
                session.get_one(Lot, lot_id),
                decision=decision,
                sponsor_reference="SP-1",
                password=PASSWORD,
            )
        )

    @rule(pick=st.integers(min_value=0), to_sponsor=st.booleans(), only_waste=st.booleans())
    def dispose_of_something(self, pick: int, to_sponsor: bool, only_waste: bool) -> None:
        wanted = {StockState.RETURNED, StockState.CONDEMNED}
        if not only_waste:
            wanted.add(StockState.AVAILABLE)  # refused: not expired
        with self.db.read_session() as session:
            rows = [
                row
                for row in study_balances(session, self.example.study.id)
                if row.location_id is not None and row.state in wanted
            ]
        if not rows:
            return
        row = rows[pick % len(rows)]
        self.disposals += 1
        number = f"D-{self.disposals}"

        def work(session: Session) -> None:
            dispose(
                session,
                self.example.people.tech,
                session.get_one(Study, self.example.study.id),
                kind=DisposalKind.RETURNED_TO_SPONSOR
                if to_sponsor
                else DisposalKind.DESTROYED_ON_SITE,
                disposal_number=number,
                method="incineration",
                sponsor_authorization="AUTH-1",
                performed_on=TODAY,
                items=[
                    DisposalItem(
                        row.lot_id, row.kit_id, row.location_id or 0, row.state, row.quantity
                    )
                ],
                performer_password=PASSWORD,
                witness_username="pharm2",
                witness_password=PASSWORD,
                courier="World Courier" if to_sponsor else None,
                tracking_number="TRK-1" if to_sponsor else None,
            )

        self._attempt(work)

    @rule(number=st.sampled_from(KITS), to_fridge=st.booleans())
    def transfer_a_kit(self, number: str, to_fridge: bool) -> None:
        example = self.example
        target = example.fridge.id if to_fridge else self.shelf_b_id

        def work(session: Session) -> None:
            kit = self._kit(session, number)
            if kit is None:
                raise IdsError("no such kit yet")
            balances_here = [
                row
                for row in balances(session, LedgerEntry.kit_id == kit.id)
                if row.location_id is not None
            ]
            if not balances_here:
                raise IdsError("kit not on site")
            row = balances_here[0]
            transfer_stock(
                session,
                example.people.tech,
                lot=session.get_one(Lot, kit.lot_id),
                kit=kit,
                from_location=self._location(session, row.location_id or 0),
                to_location=self._location(session, target),
                quantity=1,
                state=row.state,
            )

        self._attempt(work)

    @rule(change=st.integers(min_value=-5, max_value=5))
    def count_the_shelf_and_resolve(self, change: int) -> None:
        example = self.example

        def count(session: Session) -> None:
            lot = self._bulk_lot(session)
            if lot is None:
                raise IdsError("no bulk stock yet")
            on_shelf = sum(
                row.quantity
                for row in study_balances(session, example.study.id)
                if row.lot_id == lot.id
                and row.location_id == example.shelf.id
                and row.state is StockState.AVAILABLE
            )
            lines = [
                CountedLine(row.lot_id, row.kit_id, row.state, row.quantity)
                for row in study_balances(session, example.study.id)
                if row.location_id == example.shelf.id and row.lot_id != lot.id
            ]
            lines.append(CountedLine(lot.id, None, StockState.AVAILABLE, max(on_shelf + change, 0)))
            record_count(
                session,
                example.people.tech,
                session.get_one(Study, example.study.id),
                self._location(session, example.shelf.id),
                lines,
            )

        if not self._attempt(count):
            return
        with self.db.read_session() as session:
            open_ids = [d.id for d in open_discrepancies(session, example.study.id)]
        for discrepancy_id in open_ids:

            def resolve(session: Session, d: int = discrepancy_id) -> object:
                return resolve_discrepancy(
                    session,
                    example.people.pharm,
                    session.get_one(Discrepancy, d),
                    "recounted",
                    PASSWORD,
                )

            self._attempt(resolve)

    @rule(pick=st.integers(min_value=0))
    def reverse_an_entry(self, pick: int) -> None:
        with self.db.read_session() as session:
            ids = session.scalars(select(LedgerEntry.id).order_by(LedgerEntry.id)).all()
        if not ids:
            return
        entry_id = ids[pick % len(ids)]
        self._attempt(
            lambda session: reverse_entry(
                session, self.example.people.pharm, entry_id, "walk", PASSWORD
            )
        )

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def no_balance_is_negative(self) -> None:
        with self.db.read_session() as session:
            for row in study_balances(session, self.example.study.id):
                assert row.quantity > 0, row

    @invariant()
    def shelf_view_is_the_kits_summed(self) -> None:
        """The overview's per-lot stock (summed apart) equals the kit-by-kit balances added up."""
        with self.db.read_session() as session:
            kit_by_kit = study_balances(session, self.example.study.id)
            shelf = study_stock(session, self.example.study.id)
        summed: dict[tuple[int, int, int | None, StockState], int] = {}
        for row in kit_by_kit:
            key = (row.product_id, row.lot_id, row.location_id, row.state)
            summed[key] = summed.get(key, 0) + row.quantity
        assert {(r.product_id, r.lot_id, r.location_id, r.state): r.quantity for r in shelf} == {
            key: quantity for key, quantity in summed.items() if quantity
        }
        assert all(row.kit_id is None and row.quantity for row in shelf)

    @invariant()
    def disposable_stock_follows_the_rule_written_plainly(self) -> None:
        """The fast reading of what may be destroyed equals the rule applied to every balance:
        condemned, verified returns, and shelf stock of expired lots (a day past expiry)."""
        later = EXPIRY + dt.timedelta(days=1)
        for on in (TODAY, later):
            with self.db.read_session() as session:
                fast = disposable_stock(session, self.example.study.id, on)
                plain = [
                    DisposalItem(row.lot_id, row.kit_id, row.location_id, row.state, quantity)
                    for row in study_balances(session, self.example.study.id)
                    if row.location_id is not None
                    and (quantity := _plainly_disposable(session, row, on)) > 0
                ]
            assert sorted(fast, key=_item_order) == sorted(plain, key=_item_order)

    @invariant()
    def kits_on_site_are_the_kits_with_an_on_site_balance(self) -> None:
        study_id = self.example.study.id
        with self.db.read_session() as session:
            kit_by_kit = study_balances(session, study_id)
            for location_id in (None, self.example.shelf.id, self.example.fridge.id):
                expected = {
                    row.kit_id
                    for row in kit_by_kit
                    if row.kit_id is not None
                    and row.state in ON_SITE_STATES
                    and (location_id is None or row.location_id == location_id)
                }
                found = set(session.scalars(on_site_kits(study_id, location_id)))
                assert found == expected, location_id

    @invariant()
    def every_lot_reconciles(self) -> None:
        with self.db.read_session() as session:
            entries = session.scalars(select(LedgerEntry)).all()
            by_id = {entry.id: entry for entry in entries}
            on_hand: dict[int, int] = {}
            off_site: dict[tuple[int, StockState], int] = {}
            for row in study_balances(session, self.example.study.id):
                if row.location_id is not None:
                    assert row.state in ON_SITE_STATES, row
                    on_hand[row.lot_id] = on_hand.get(row.lot_id, 0) + row.quantity
                else:
                    assert row.state not in ON_SITE_STATES, row
                    key = (row.lot_id, row.state)
                    off_site[key] = off_site.get(key, 0) + row.quantity
        totals: dict[int, dict[EntryKind, int]] = {}
        for entry in entries:
            original = by_id[entry.reverses_id] if entry.reverses_id is not None else None
            kind, amount = _effect(original or entry)
            lot = totals.setdefault(entry.lot_id, {})
            lot[kind] = lot.get(kind, 0) + (-amount if original else amount)
        for lot_id, kinds in totals.items():
            received = kinds.get(EntryKind.RECEIVE, 0)
            adjustments = kinds.get(EntryKind.ADJUST, 0)
            transfers = kinds.get(EntryKind.TRANSFER_IN, 0) - kinds.get(EntryKind.TRANSFER_OUT, 0)
            accounted = (
                on_hand.get(lot_id, 0)
                + kinds.get(EntryKind.DISPENSE, 0)
                - kinds.get(EntryKind.RETURN, 0)
                + kinds.get(EntryKind.DESTROY, 0)
                + kinds.get(EntryKind.RETURN_TO_SPONSOR, 0)
            )
            assert received + adjustments + transfers == accounted, (lot_id, kinds, on_hand)
            # What left the shelf stands where its kind says: with subjects, destroyed, sent back.
            with_subjects = kinds.get(EntryKind.DISPENSE, 0) - kinds.get(EntryKind.RETURN, 0)
            assert off_site.get((lot_id, StockState.DISPENSED), 0) == with_subjects
            for kind, state in (
                (EntryKind.DESTROY, StockState.DESTROYED),
                (EntryKind.RETURN_TO_SPONSOR, StockState.RETURNED_TO_SPONSOR),
                (EntryKind.TRANSFER_OUT, StockState.TRANSFERRED_OUT),
            ):
                assert off_site.get((lot_id, state), 0) == kinds.get(kind, 0), (kind, off_site)

    @invariant()
    def returned_and_condemned_units_never_become_dispensable(self) -> None:
        with self.db.read_session() as session:
            leaks = session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(
                    LedgerEntry.from_state.in_([StockState.RETURNED, StockState.CONDEMNED]),
                    LedgerEntry.to_state == StockState.AVAILABLE,
                )
            )
            wrong_dispenses = session.scalar(
                select(func.count())
                .select_from(LedgerEntry)
                .where(
                    LedgerEntry.kind == EntryKind.DISPENSE,
                    LedgerEntry.from_state != StockState.AVAILABLE,
                )
            )
        assert leaks == 0
        assert wrong_dispenses == 0

    @invariant()
    def audit_chain_verifies(self) -> None:
        with self.db.read_session() as session:
            report = verify_chain(session)
        assert report.intact, report.summary()


def _item_order(item: DisposalItem) -> tuple[int, int, int, str]:
    return (item.lot_id, item.kit_id or 0, item.location_id, item.state.value)


def _plainly_disposable(session: Session, row: Balance, on: dt.date) -> int:
    if row.state is StockState.CONDEMNED:
        return row.quantity
    if row.state is StockState.RETURNED and row.kit_id is not None:
        return row.quantity if _kit_return_verified(session, row.kit_id) else 0
    if row.state is StockState.RETURNED:
        assert row.location_id is not None
        return min(row.quantity, _verified_bulk(session, row.lot_id, row.location_id))
    if row.state in SHELF_STATES and is_expired(session.get_one(Lot, row.lot_id), on):
        return row.quantity
    return 0


LedgerWalk.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_walk = LedgerWalk.TestCase
