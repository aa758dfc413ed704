"""Quarantine: stock held, never dispensable, until a pharmacist records the sponsor's decision."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.models import HoldReason, QuarantineHold
from ids_app.users.models import User


def open_hold(
    session: Session,
    actor: User,
    study_id: int,
    reason: HoldReason,
    details: str,
    *,
    shipment_id: int | None = None,
) -> QuarantineHold:
    """A hold record that quarantine movements link to; the services that hold stock call it."""
    if not details.strip():
        raise InvalidInput("Say why the stock is held; the sponsor will ask.")
    attribute_changes(session, actor, reason=f"quarantine: {reason.value}")
    hold = QuarantineHold(
        study_id=study_id,
        reason=reason,
        details=details.strip(),
        placed_by_id=actor.id,
        shipment_id=shipment_id,
    )
    session.add(hold)
    session.flush()  # the quarantine movements link to it
    return hold
