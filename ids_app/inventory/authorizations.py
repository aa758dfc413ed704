"""The sponsor's rule that the monitor authorizes destruction, and the authorizations.

Some sponsors have their monitor authorize each destruction before the site destroys
anything (21 CFR 312.59: disposed of as the sponsor directs). Where a study is set that
way, :func:`authorization_refusal` is a precondition of ``disposal.dispose``: the
reference typed on the destruction must be a monitor's signed authorization that covers
what is destroyed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ids_app.db import Base, utc_now
from ids_app.inventory.models import Disposal, Kit, LedgerEntry, Lot
from ids_app.studies.models import Study
from ids_app.users.models import Role, SignatureMeaning
from ids_app.users.signatures import signature_holds, signatures_of

if TYPE_CHECKING:
    from ids_app.inventory.disposal import DisposalItem


class DestructionRule(Base):
    """Whether the study's sponsor requires the monitor's authorization for destruction."""

    __tablename__ = "destruction_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), unique=True)
    monitor_authorizes: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class DestructionAuthorization(Base):
    """A monitor's signed authorization to destroy: its reference and what it covers
    (one lot, some kits, at most a quantity; any of them may be left open)."""

    __tablename__ = "destruction_authorization"
    __table_args__ = (UniqueConstraint("study_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    reference: Mapped[str]
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    # Kit numbers, comma-separated in order; None covers any kit (of the lot).
    kit_numbers: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int | None]
    authorized_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    authorized_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    @property
    def kits(self) -> frozenset[str]:
        return frozenset(filter(None, (self.kit_numbers or "").split(",")))


def monitor_authorizes(session: Session, study_id: int) -> bool:
    """True when the study's sponsor requires the monitor's authorization to destroy."""
    return bool(
        session.scalar(
            select(DestructionRule.monitor_authorizes).where(DestructionRule.study_id == study_id)
        )
    )


def authorization_holds(session: Session, authorization: DestructionAuthorization) -> bool:
    """True when a monitor signed the authorization as approved and it is unchanged."""
    return any(
        signature.role is Role.MONITOR
        and signature.meaning is SignatureMeaning.APPROVED
        and signature.user_id == authorization.authorized_by_id
        and signature_holds(signature, authorization)
        for signature in signatures_of(session, authorization)
    )


def authorization_refusal(
    session: Session,
    study: Study,
    reference: str,
    items: Iterable[DisposalItem],
) -> str | None:
    """Why a destruction under ``reference`` may not go ahead on a study whose sponsor
    requires the monitor's authorization, or None when it may (or none is required)."""
    if not monitor_authorizes(session, study.id):
        return None
    ask = "Ask the monitor to authorize it, then type the reference of their authorization."
    authorization = session.scalar(
        select(DestructionAuthorization).where(
            DestructionAuthorization.study_id == study.id,
            DestructionAuthorization.reference == reference,
        )
    )
    if authorization is None:
        return (
            f"The sponsor of {study.protocol_number} requires the monitor's authorization "
            f"before destruction, and no authorization {reference} is on record. {ask}"
        )
    if not authorization_holds(session, authorization):
        return (
            f"Authorization {reference} has no valid monitor signature: it was changed "
            "after it was signed. Ask an administrator to check the audit trail."
        )
    listed = list(items)
    for item in listed:
        lot = session.get_one(Lot, item.lot_id).lot_number
        if authorization.lot_id is not None and item.lot_id != authorization.lot_id:
            return f"Authorization {reference} does not cover lot {lot}. {ask}"
        kit = session.get_one(Kit, item.kit_id).kit_number if item.kit_id is not None else None
        if authorization.kits and kit not in authorization.kits:
            what = f"kit {kit}" if kit else f"lot {lot} in bulk"
            return f"Authorization {reference} does not cover {what}. {ask}"
    if authorization.quantity is not None:
        used = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.quantity), 0))
            .join(Disposal, Disposal.id == LedgerEntry.disposal_id)
            .where(Disposal.study_id == study.id, Disposal.sponsor_authorization == reference)
        )
        wanted = sum(item.quantity for item in listed)
        left = authorization.quantity - int(used or 0)
        if wanted > left:
            return (
                f"Authorization {reference} covers {authorization.quantity} units and "
                f"{authorization.quantity - left} are already destroyed under it; {wanted} "
                f"cannot be destroyed. {ask}"
            )
    return None
