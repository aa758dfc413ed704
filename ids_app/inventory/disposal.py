"""Disposal: destruction and return to the sponsor, authorized, witnessed and certified.

Unused supplies go back to the sponsor or are disposed of as the sponsor directs
(21 CFR 312.59), and the record keeps what went, when and how (312.62(a)). Only returned
units the monitor has verified, condemned stock and expired stock may go (DOMAIN.md);
a second person witnesses and signs (21 CFR 11.50).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import today
from ids_app.errors import IdsError, InvalidInput
from ids_app.inventory.authorizations import authorization_refusal
from ids_app.inventory.expiry import SHELF_STATES, is_expired
from ids_app.inventory.late_entries import EventTime, after_last_record, happened_on
from ids_app.inventory.ledger import Links, Place, balances, move, product_of
from ids_app.inventory.models import (
    Disposal,
    DisposalKind,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    Lot,
    StockState,
    SubjectReturn,
)
from ids_app.studies.models import Product, Study
from ids_app.users.models import Role, Signature, SignatureMeaning, User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.users.services import SignInRefused, find_user
from ids_app.users.signatures import manifestation, sign_record, signature_holds, signatures_of
from ids_app.wording import local_time

DISPOSAL_ROLES = PERMISSIONS[Action.DESTROY].roles
DISPOSABLE_STATES = SHELF_STATES | {StockState.RETURNED, StockState.CONDEMNED}


class DisposalRefused(IdsError):
    """Stock that may not be destroyed or returned to the sponsor (yet)."""


@dataclass(frozen=True)
class DisposalItem:
    """One lot (and kit) in one place-and-state, and how much of it goes."""

    lot_id: int
    kit_id: int | None
    location_id: int
    state: StockState
    quantity: int


@dataclass(frozen=True)
class CertificateLine:
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    quantity: int
    unit: str


@dataclass(frozen=True)
class DestructionCertificate:
    """What a certificate of destruction (or of return to the sponsor) prints."""

    protocol_number: str
    study_title: str
    sponsor: str
    principal_investigator: str
    disposal_number: str
    kind: DisposalKind
    method: str
    sponsor_authorization: str
    performed_on: dt.date
    courier: str | None
    tracking_number: str | None
    performed_by: str
    # None for a disposal recorded before the performer signed electronically: its
    # certificate keeps a line to sign on paper.
    performer_signature: str | None
    witness_signature: str
    lines: tuple[CertificateLine, ...]


def _kit_return_verified(session: Session, kit_id: int, by: dt.datetime | None = None) -> bool:
    """A returned kit goes only once the monitor has verified its latest return (by the
    time it goes, for a disposal entered late)."""
    latest = session.scalar(
        select(SubjectReturn)
        .join(LedgerEntry, LedgerEntry.subject_return_id == SubjectReturn.id)
        .where(LedgerEntry.kit_id == kit_id, LedgerEntry.to_state == StockState.RETURNED)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    verified = latest.monitor_verified_at if latest is not None else None
    return verified is not None and (by is None or verified <= by)


def _verified_bulk(
    session: Session, lot_id: int, location_id: int, by: dt.datetime | None = None
) -> int:
    """Returned units of a bulk lot at one location that may go: verified and still there.

    Returned units are not told apart once they share a shelf, so this counts the units
    the monitor verified coming in (returns whose entries put them here) minus every unit
    that has left since (destroyed, sent back, or taken off by a count correction), as if
    each unit that left had been a verified one. That never lets an unverified unit go,
    and lets them all go once every return here is verified. Returned bulk units are not
    moved between locations (transfers.py), so they arrive here only from subjects.
    """
    e = LedgerEntry
    verified_in = session.scalar(
        select(func.coalesce(func.sum(e.quantity), 0))
        .join(SubjectReturn, SubjectReturn.id == e.subject_return_id)
        .where(
            e.lot_id == lot_id,
            e.kit_id.is_(None),
            e.to_state == StockState.RETURNED,
            e.to_location_id == location_id,
            SubjectReturn.monitor_verified_at.is_not(None),
            SubjectReturn.monitor_verified_at <= by if by is not None else true(),
        )
    )
    gone = session.scalar(
        select(func.coalesce(func.sum(e.quantity), 0)).where(
            e.lot_id == lot_id,
            e.kit_id.is_(None),
            e.from_state == StockState.RETURNED,
            e.from_location_id == location_id,
        )
    )
    return max(int(verified_in or 0) - int(gone or 0), 0)


def _refusal(
    session: Session,
    study: Study,
    item: DisposalItem,
    on: dt.date,
    verb: str,
    at: dt.datetime | None = None,
) -> str | None:
    """Why this item may not go (at ``at``, for a disposal entered late), or None when it may."""
    lot = session.get(Lot, item.lot_id)
    product = product_of(session, lot.id) if lot is not None else None
    if lot is None or product is None or product.study_id != study.id:
        return f"A listed lot is not part of study {study.protocol_number}."
    kit = session.get(Kit, item.kit_id) if item.kit_id is not None else None
    if (item.kit_id is None) == product.is_kit_tracked or (
        item.kit_id is not None and (kit is None or kit.lot_id != lot.id)
    ):
        return f"List {product.description} of lot {lot.lot_number} " + (
            "by kit number." if product.is_kit_tracked else "without kit numbers."
        )
    location = session.get(Location, item.location_id)
    if location is None:
        return "A listed location does not exist."
    what = f"Kit {kit.kit_number}" if kit else f"Lot {lot.lot_number} at {location.name}"
    rule = f"only returned, expired or condemned stock is {verb}."
    if item.state is StockState.CONDEMNED:
        return None
    if item.state is StockState.RETURNED and kit is not None:
        if _kit_return_verified(session, kit.id, at):
            return None
        if at is not None and _kit_return_verified(session, kit.id):
            return (
                f"{what}'s return was verified by the monitor only after {local_time(at)}; "
                f"a return is {verb} only once verified. Check the time on the paper record."
            )
        return (
            f"{what} was returned by the subject, but the monitor has not verified the "
            f"return yet; unverified returns are not {verb}."
        )
    if item.state is StockState.RETURNED:
        verified = _verified_bulk(session, lot.id, location.id, at)
        if item.quantity <= verified:
            return None
        return (
            f"Only {verified} returned units of lot {lot.lot_number} at "
            f"{location.name} are verified by the monitor and not yet disposed of; "
            f"{item.quantity} cannot be {verb}."
        )
    if item.state in SHELF_STATES:
        if is_expired(lot, on):
            return None
        return f"{what} is {item.state.value} and not expired; {rule}"
    return f"{what} is listed as {item.state.value}, not stock on site; {rule}"


def _required(value: str | None, what: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise InvalidInput(f"The {what} is empty; type the {what}.")
    return cleaned


def _merged(items: list[DisposalItem]) -> list[DisposalItem]:
    """One item per place-and-state, so a bulk lot listed twice is checked as a whole."""
    total: Counter[tuple[int, int | None, int, StockState]] = Counter()
    for item in items:
        given = item.quantity
        if isinstance(given, bool) or not isinstance(given, int) or given <= 0:
            raise InvalidInput("A quantity is a whole number greater than zero.")
        total[(item.lot_id, item.kit_id, item.location_id, item.state)] += given
    return [DisposalItem(*key, quantity) for key, quantity in total.items()]


def dispose(
    session: Session,
    actor: User,
    study: Study,
    *,
    kind: DisposalKind,
    disposal_number: str,
    method: str,
    sponsor_authorization: str,
    performed_on: dt.date,
    items: list[DisposalItem],
    performer_password: str,
    witness_username: str,
    witness_password: str,
    courier: str | None = None,
    tracking_number: str | None = None,
    when: EventTime | None = None,
) -> Disposal:
    """Destroy stock or send it back to the sponsor, as the sponsor authorized (312.59).

    ``when`` is the time it was done, on ``performed_on``, for a destruction typed in later
    from its paper record: the movements are recorded then, marked late with its reason.

    The person who performs it signs with their password, and the witness, another active
    user, signs at the same workstation with theirs: both are electronic signatures on the
    certificate (21 CFR 11.50). A wrong password is refused and kept on record, and nothing
    is disposed.
    """
    require(session, actor, Action.DESTROY, study=study)
    number = _required(disposal_number, "disposal number")
    how = _required(method, "method")
    authorization = _required(sponsor_authorization, "sponsor's authorization")
    to_sponsor = kind is DisposalKind.RETURNED_TO_SPONSOR
    if to_sponsor and not ((courier or "").strip() and (tracking_number or "").strip()):
        raise InvalidInput(
            "A return to the sponsor needs the courier and the tracking number; the sponsor "
            "matches what arrives against them."
        )
    if performed_on > today():
        raise InvalidInput(f"The date {performed_on:%Y-%m-%d} is in the future.")
    if not items:
        raise InvalidInput("List what is destroyed or returned; the list is empty.")
    if session.scalar(
        select(Disposal.id).where(Disposal.study_id == study.id, Disposal.disposal_number == number)
    ):
        raise InvalidInput(f"Disposal {number} is already on record for {study.protocol_number}.")
    merged = _merged(items)
    judged = happened_on(session, study, performed_on, when, what="the disposal")
    for item in merged:
        after_last_record(
            session,
            judged,
            kit=session.get(Kit, item.kit_id) if item.kit_id is not None else None,
            lot=session.get(Lot, item.lot_id) if item.kit_id is None else None,
        )
    verb = "returned to the sponsor" if to_sponsor else "destroyed"
    for item in merged:
        # A time given is held against the monitor's verification; today's, as now.
        refusal = _refusal(session, study, item, performed_on, verb, judged.given_at)
        if refusal is not None:
            raise DisposalRefused(refusal)
    if not to_sponsor:
        refusal = authorization_refusal(session, study, authorization, merged)
        if refusal is not None:
            raise DisposalRefused(refusal)
    witness = find_user(session, witness_username)
    if witness is None:
        # Like any signing attempt with a wrong user name: refused and kept (21 CFR 11.300).
        raise SignInRefused(
            "The witness's user name or password is wrong.",
            attempted_name=witness_username.strip(),
            user_id=None,
            when="signature",
        )
    if witness.id == actor.id:
        raise InvalidInput("The witness must be another person; ask a colleague to witness.")
    if not witness.active:
        raise InvalidInput(
            f"{witness.full_name}'s account is deactivated; another person must witness."
        )
    attribute_changes(session, actor, reason=f"{kind.value}: {number}")
    disposal = Disposal(
        study_id=study.id,
        disposal_number=number,
        kind=kind,
        method=how,
        sponsor_authorization=authorization,
        performed_on=performed_on,
        performed_by_id=actor.id,
        witness_id=witness.id,
        courier=(courier or "").strip() or None,
        tracking_number=(tracking_number or "").strip() or None,
    )
    session.add(disposal)
    sign_record(session, actor.username, performer_password, SignatureMeaning.PERFORMED, disposal)
    sign_record(session, witness.username, witness_password, SignatureMeaning.WITNESSED, disposal)
    entry_kind, end = (
        (EntryKind.RETURN_TO_SPONSOR, Place(StockState.RETURNED_TO_SPONSOR))
        if to_sponsor
        else (EntryKind.DESTROY, Place(StockState.DESTROYED))
    )
    for item in merged:
        move(
            session,
            actor,
            kind=entry_kind,
            study_id=study.id,
            lot_id=item.lot_id,
            kit_id=item.kit_id,
            quantity=item.quantity,
            source=Place(item.state, item.location_id),
            target=end,
            occurred_at=judged.occurred_at,
            late_reason=judged.late_reason,
            reason=f"{kind.value}, disposal {number}",
            reference=authorization,
            links=Links(disposal_id=disposal.id),
        )
    return disposal


def disposable_stock(session: Session, study_id: int, on: dt.date) -> list[DisposalItem]:
    """What may be destroyed or returned to the sponsor on ``on``, as ready-made items:
    condemned stock, verified returns, and available or held stock of expired lots.

    Only movements that can make stock disposable are summed (into or out of returned or
    condemned, and the expired lots' own), and the latest return of every returned kit is
    read in one query: a study's whole history need not be summed to find what may go.
    """
    e = LedgerEntry
    of_study = e.study_id == study_id
    set_aside = (StockState.RETURNED, StockState.CONDEMNED)
    verified = _kits_with_verified_return(study_id)
    returned = or_(e.to_state == StockState.RETURNED, e.from_state == StockState.RETURNED)
    condemned = or_(e.to_state == StockState.CONDEMNED, e.from_state == StockState.CONDEMNED)
    # Returned kits not yet verified cannot go: their movements are not even summed.
    may_go = or_(condemned, and_(returned, or_(e.kit_id.is_(None), e.kit_id.in_(verified))))
    rows = [row for row in balances(session, of_study, may_go) if row.state in set_aside]
    expired = [
        lot.id
        for lot in session.scalars(
            select(Lot)
            .join(Product, Product.id == Lot.product_id)
            .where(Product.study_id == study_id)
        )
        if is_expired(lot, on)
    ]
    if expired:
        rows += [
            row
            for row in balances(session, of_study, e.lot_id.in_(expired))
            if row.state in SHELF_STATES
        ]
    verified_kits = set(session.scalars(verified))
    items = []
    for row in rows:
        if row.location_id is None:  # on-site stock always has a location
            continue
        if row.state is StockState.CONDEMNED:
            quantity = row.quantity
        elif row.state is StockState.RETURNED and row.kit_id is not None:
            quantity = row.quantity if row.kit_id in verified_kits else 0
        elif row.state is StockState.RETURNED:
            quantity = min(row.quantity, _verified_bulk(session, row.lot_id, row.location_id))
        else:
            quantity = row.quantity
        if quantity > 0:
            items.append(DisposalItem(row.lot_id, row.kit_id, row.location_id, row.state, quantity))
    return items


def _kits_with_verified_return(study_id: int) -> Select[int | None]:
    """The study's kits whose latest return the monitor has verified, as one query (the
    rule of :func:`_kit_return_verified` for every kit at once)."""
    e = LedgerEntry
    latest = (
        select(func.max(e.id).label("entry_id"))
        .where(
            e.study_id == study_id,
            e.kit_id.is_not(None),
            e.to_state == StockState.RETURNED,
            e.subject_return_id.is_not(None),
        )
        .group_by(e.kit_id)
        .subquery()
    )
    return (
        select(e.kit_id)
        .join(latest, latest.c.entry_id == e.id)
        .join(SubjectReturn, SubjectReturn.id == e.subject_return_id)
        .where(SubjectReturn.monitor_verified_at.is_not(None))
    )


def destruction_certificate(
    session: Session, disposal: Disposal, tz: dt.tzinfo | None = None
) -> DestructionCertificate:
    """The certificate's content; the signatures are shown only while they hold for the
    disposal as recorded (21 CFR 11.70)."""
    signatures = signatures_of(session, disposal)

    def signed(meaning: SignatureMeaning, user_id: int) -> Signature | None:
        return next(
            (
                signature
                for signature in signatures
                if signature.meaning is meaning
                and signature.user_id == user_id
                and signature_holds(signature, disposal)
            ),
            None,
        )

    signature = signed(SignatureMeaning.WITNESSED, disposal.witness_id)
    performer = signed(SignatureMeaning.PERFORMED, disposal.performed_by_id)
    if signature is None:
        raise IdsError(
            f"Disposal {disposal.disposal_number} has no valid witness signature: the record "
            "was changed after it was signed. Ask an administrator to check the audit trail."
        )
    study = session.get_one(Study, disposal.study_id)
    rows = session.execute(
        select(LedgerEntry, Lot, Product, Kit)
        .join(Lot, Lot.id == LedgerEntry.lot_id)
        .join(Product, Product.id == LedgerEntry.product_id)
        .outerjoin(Kit, Kit.id == LedgerEntry.kit_id)
        .where(LedgerEntry.disposal_id == disposal.id)
        .order_by(Lot.lot_number, Kit.kit_number, LedgerEntry.id)
    )
    return DestructionCertificate(
        protocol_number=study.protocol_number,
        study_title=study.title,
        sponsor=study.sponsor,
        principal_investigator=study.principal_investigator,
        disposal_number=disposal.disposal_number,
        kind=disposal.kind,
        method=disposal.method,
        sponsor_authorization=disposal.sponsor_authorization,
        performed_on=disposal.performed_on,
        courier=disposal.courier,
        tracking_number=disposal.tracking_number,
        performed_by=session.get_one(User, disposal.performed_by_id).full_name,
        performer_signature=manifestation(performer, tz) if performer is not None else None,
        witness_signature=manifestation(signature, tz),
        lines=tuple(
            CertificateLine(
                product=product.description,
                lot_number=lot.lot_number,
                expiry=lot.expiry,
                kit_number=kit.kit_number if kit else None,
                quantity=entry.quantity,
                unit=product.unit,
            )
            for entry, lot, product, kit in rows
        ),
    )


class DisposalAlreadyVerified(IdsError):
    """A monitor verifies a destruction once; a second review is a new visit's count."""


def monitor_verifications(session: Session, disposal: Disposal) -> list[Signature]:
    """The monitors' signed reviews of a disposal, oldest first."""
    return [
        signature
        for signature in signatures_of(session, disposal)
        if signature.role is Role.MONITOR and signature.meaning is SignatureMeaning.VERIFIED
    ]


def verify_disposal(
    session: Session, monitor: User, disposal: Disposal, *, password: str
) -> Signature:
    """The sponsor's monitor reviews a destruction or return to sponsor and signs it.

    Only a signature is added: the disposal itself is written once and never changed,
    and the signature is bound to its content (21 CFR 11.50, 11.70).
    """
    study = session.get_one(Study, disposal.study_id)
    require(session, monitor, Action.VERIFY_DESTRUCTIONS, disposal, study=study)
    earlier = monitor_verifications(session, disposal)
    if earlier:
        raise DisposalAlreadyVerified(
            f"{disposal.disposal_number} was already verified: {manifestation(earlier[0])}."
        )
    return sign_record(session, monitor.username, password, SignatureMeaning.VERIFIED, disposal)


def disposals_awaiting_monitor(session: Session, study_id: int) -> list[Disposal]:
    """Destructions and returns to sponsor no monitor has verified yet."""
    disposals = session.scalars(
        select(Disposal).where(Disposal.study_id == study_id).order_by(Disposal.performed_on)
    ).all()
    return [d for d in disposals if not monitor_verifications(session, d)]
