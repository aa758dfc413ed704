"""States no service could have left: ``verify``'s workflow and ledger checks.

Each check names a rule the services enforce when a record is written, then looks for a
record that breaks it now: a dispensed order without its two signers, a destruction
without its witness, stock below zero. Such a record was made or changed behind the
app's back. Only signatures that still hold (re-hashed by ``verify``) are counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.audit.verification import Finding
from ids_app.inventory.models import (
    DispenseOrder,
    Disposal,
    EntryKind,
    HoldDecision,
    LedgerEntry,
    OrderState,
    SubjectReturn,
)
from ids_app.users.models import SignatureMeaning

Signers = dict[tuple[str, str], set[tuple[SignatureMeaning, int]]]


@dataclass(frozen=True)
class SignedBy:
    """A signature that holds: which record it signs, what it means, who signed."""

    record_table: str
    record_id: str
    meaning: SignatureMeaning
    user_id: int


def workflow_findings(session: Session, signatures: Iterable[SignedBy]) -> list[Finding]:
    signers: Signers = defaultdict(set)
    for signature in signatures:
        signers[(signature.record_table, signature.record_id)].add(
            (signature.meaning, signature.user_id)
        )
    return [
        *_order_findings(session, signers),
        *_disposal_findings(session, signers),
        *_return_findings(session, signers),
        *_decision_findings(session, signers),
        *_balance_findings(session),
    ]


def _signed(
    signers: Signers, table: str, record: int, meaning: SignatureMeaning, user: object
) -> bool:
    return (meaning, user) in signers.get((table, str(record)), set())


def _order_findings(session: Session, signers: Signers) -> Iterator[Finding]:
    """A dispensed order was prepared and verified by two people, each signing as such
    (the signature binds the workflow field: ``verified_by_id`` must be the verifier who
    signed), and the ledger moved exactly its quantity; an order not dispensed moved none."""
    table = DispenseOrder.__tablename__
    dispensed: dict[int | None, int] = {
        order: int(total)
        for order, total in session.execute(
            select(LedgerEntry.dispense_order_id, func.sum(LedgerEntry.quantity))
            .where(LedgerEntry.kind == EntryKind.DISPENSE)
            .group_by(LedgerEntry.dispense_order_id)
        )
    }
    orders = select(
        DispenseOrder.id,
        DispenseOrder.state,
        DispenseOrder.quantity,
        DispenseOrder.prepared_by_id,
        DispenseOrder.verified_by_id,
    ).order_by(DispenseOrder.id)
    for order, state, quantity, preparer, verifier in session.execute(orders):
        moved = dispensed.get(order, 0)
        expected = quantity if state is OrderState.DISPENSED else 0
        if moved != expected:
            yield Finding(
                "workflow",
                table,
                str(order),
                f"the order is {state.value} but the ledger dispensed {moved} for it",
            )
        if state in (OrderState.PREPARED, OrderState.DISPENSED) and not _signed(
            signers, table, order, SignatureMeaning.PREPARED, preparer
        ):
            yield Finding(
                "workflow",
                table,
                str(order),
                "the order was prepared but its preparer's signature is missing or does not hold",
            )
        if state is not OrderState.DISPENSED:
            continue
        if verifier is None or verifier == preparer:
            yield Finding(
                "workflow",
                table,
                str(order),
                "a dispensed order must be verified by a second person, not its preparer",
            )
        elif not _signed(signers, table, order, SignatureMeaning.VERIFIED, verifier):
            yield Finding(
                "workflow",
                table,
                str(order),
                "the order is dispensed but the verifier it names never signed it as verified",
            )


def _disposal_findings(session: Session, signers: Signers) -> Iterator[Finding]:
    table = Disposal.__tablename__
    rows = select(Disposal.id, Disposal.performed_by_id, Disposal.witness_id)
    for disposal, performer, witness in session.execute(rows):
        if performer == witness:
            yield Finding(
                "workflow",
                table,
                str(disposal),
                "the person who performed it is named as its own witness",
            )
        elif not _signed(signers, table, disposal, SignatureMeaning.WITNESSED, witness):
            yield Finding(
                "workflow",
                table,
                str(disposal),
                "the witness it names never signed it as witnessed",
            )


def _return_findings(session: Session, signers: Signers) -> Iterator[Finding]:
    table = SubjectReturn.__tablename__
    rows = select(
        SubjectReturn.id, SubjectReturn.monitor_verified_by_id, SubjectReturn.monitor_verified_at
    )
    for returned, monitor, verified_at in session.execute(rows):
        if monitor is None and verified_at is None:
            continue
        if not _signed(signers, table, returned, SignatureMeaning.VERIFIED, monitor):
            yield Finding(
                "workflow",
                table,
                str(returned),
                "the return reads as verified but the monitor it names never signed it",
            )


def _decision_findings(session: Session, signers: Signers) -> Iterator[Finding]:
    table = HoldDecision.__tablename__
    for decision, pharmacist in session.execute(
        select(HoldDecision.id, HoldDecision.decided_by_id)
    ):
        if not _signed(signers, table, decision, SignatureMeaning.APPROVED, pharmacist):
            yield Finding(
                "workflow",
                table,
                str(decision),
                "the quarantine decision lacks the signature of the pharmacist it names",
            )


def _balance_findings(session: Session) -> Iterator[Finding]:
    """Every lot reconciles: no place-and-state of it, on site or gone (dispensed,
    destroyed), ever holds less than nothing once every movement is summed."""
    balance: defaultdict[tuple[int, int | None, int | None, str], int] = defaultdict(int)
    entry = LedgerEntry
    for side, sign in (
        ((entry.to_location_id, entry.to_state), 1),
        ((entry.from_location_id, entry.from_state), -1),
    ):
        location, state = side
        for lot, kit, place, held, total in session.execute(
            select(entry.lot_id, entry.kit_id, location, state, func.sum(entry.quantity))
            .where(state.is_not(None))
            .group_by(entry.lot_id, entry.kit_id, location, state)
        ):
            if held is not None:
                balance[(lot, kit, place, held.value)] += sign * int(total)
    for (lot, kit, place, held_in), quantity in sorted(balance.items(), key=str):
        if quantity < 0:
            where = f" at location {place}" if place is not None else ""
            kit_text = f", kit {kit}" if kit is not None else ""
            yield Finding(
                "ledger",
                "lot",
                str(lot),
                f"the ledger leaves {quantity} {held_in}{where}{kit_text}: "
                "a balance can never fall below zero",
            )
