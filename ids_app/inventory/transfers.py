"""Transfers: stock moved between locations on site, or to another protocol.

A transfer keeps the stock's state: available stock goes to a satellite, held stock into
the Quarantine room. Moving stock between protocols needs the sponsor's written approval,
kept on file (DOMAIN.md, NCI audit expectations); it is two entries, one in each study's
record, the second naming the first.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.late_entries import EventTime, when_it_happened
from ids_app.inventory.ledger import (
    Links,
    NotEnoughStock,
    Place,
    move,
    product_of,
    quantity_at,
)
from ids_app.inventory.locations import check_storage_fits, get_location
from ids_app.inventory.models import (
    ON_SITE_STATES,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    StockState,
)
from ids_app.inventory.quarantine import held_portions
from ids_app.inventory.receiving import find_or_create_lot
from ids_app.studies.models import Product, Study, StudyStatus
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require

TRANSFER_ROLES = PERMISSIONS[Action.MOVE_STOCK].roles

# A returns location's temperature is not controlled (locations.check_storage_fits), so
# only stock that will never be dispensed again may be kept there.
NEVER_DISPENSED = frozenset({StockState.RETURNED, StockState.CONDEMNED})


def _check_kit(kit: Kit | None, lot: Lot, product: Product) -> None:
    if product.is_kit_tracked and kit is None:
        raise InvalidInput(f"{product.description} is tracked by kit: scan the kit to move.")
    if kit is not None and kit.lot_id != lot.id:
        raise InvalidInput(f"Kit {kit.kit_number} is not of lot {lot.lot_number}.")


def _check_on_hand(
    session: Session, lot: Lot, kit: Kit | None, place: Place, location: Location, wanted: int
) -> None:
    on_hand = quantity_at(session, lot.id, place, kit.id if kit else None)
    if wanted > on_hand:
        if kit is not None:
            raise NotEnoughStock(
                f"Kit {kit.kit_number} is not {place.state.value} at {location.name}."
            )
        raise NotEnoughStock(
            f"Not enough stock: lot {lot.lot_number} at {location.name} has {on_hand} "
            f"{place.state.value}, and {wanted} were asked for."
        )


def transfer_stock(
    session: Session,
    actor: User,
    *,
    lot: Lot,
    kit: Kit | None,
    from_location: Location,
    to_location: Location,
    quantity: int,
    state: StockState = StockState.AVAILABLE,
    when: EventTime | None = None,
) -> list[LedgerEntry]:
    """Move stock to another location on site, keeping its state.

    ``when`` is the time it was moved, for a move entered late from a paper log.

    The target must keep the product within its storage range (USP <659>; ICH E6: stored
    as the sponsor specifies). Held stock carries its hold along, split by hold when two
    holds hold the same lot there, so the sponsor's decision finds it where it went.
    """
    require(session, actor, Action.MOVE_STOCK)
    if state not in ON_SITE_STATES:
        raise InvalidInput(f"Only stock on site moves between locations, not {state.value} stock.")
    if from_location.id == to_location.id:
        raise InvalidInput(f"The stock is already at {to_location.name}; choose another location.")
    target = get_location(session, to_location.id)
    product = product_of(session, lot.id)
    _check_kit(kit, lot, product)
    check_storage_fits(target, product)
    if target.kind is LocationKind.RETURNS and state not in NEVER_DISPENSED:
        raise InvalidInput(
            f"{target.name} keeps returned and condemned stock only; {state.value} stock may "
            "still be dispensed and must stay where its temperature is controlled."
        )
    if state is StockState.RETURNED and kit is None:
        # The monitor's verification of bulk returns is checked per location (disposal.py):
        # moved units could not be told apart from unverified ones at their new place.
        raise InvalidInput(
            f"Returned units of lot {lot.lot_number} stay where they were counted back "
            "until they are destroyed or returned to the sponsor."
        )
    study = session.get_one(Study, product.study_id)
    judged = when_it_happened(session, study, when, kit=kit, lot=lot, what="the move")
    source = Place(state, from_location.id)
    # Checked whole here: the movement below may be split by hold.
    _check_on_hand(session, lot, kit, source, from_location, quantity)
    portions = (
        held_portions(session, lot.id, kit.id if kit else None, from_location.id)
        if state is StockState.QUARANTINED
        else []
    )
    entries = []
    left = quantity
    # Each hold's share first, then whatever is quarantined under no hold (a count surplus).
    for hold_id, held in [*portions, (None, left)]:
        share = min(held, left)
        if share == 0:
            continue
        entries.append(
            move(
                session,
                actor,
                kind=EntryKind.TRANSFER,
                study_id=product.study_id,
                lot_id=lot.id,
                kit_id=kit.id if kit else None,
                quantity=share,
                source=source,
                target=Place(state, target.id),
                reason=f"moved to {target.name}",
                links=Links(hold_id=hold_id),
                occurred_at=judged.occurred_at,
                late_reason=judged.late_reason,
            )
        )
        left -= share
    return entries


def _same_drug(source: Product, target: Product) -> bool:
    def key(product: Product) -> tuple[str, str, str, bool]:
        return (
            product.agent_name.strip().casefold(),
            product.strength.strip().casefold(),
            product.unit.strip().casefold(),
            product.is_kit_tracked,
        )

    return key(source) == key(target)


def _kit_in_target(session: Session, study: Study, product: Product, lot: Lot, kit: Kit) -> Kit:
    """The kit's row in the target study, same number; its arm is the target's to record."""
    if session.scalar(
        select(Kit.id).where(Kit.study_id == study.id, Kit.kit_number == kit.kit_number)
    ):
        raise InvalidInput(
            f"Study {study.protocol_number} already has a kit {kit.kit_number}; a kit number "
            "is used once in a study."
        )
    moved = Kit(study_id=study.id, product_id=product.id, lot_id=lot.id, kit_number=kit.kit_number)
    session.add(moved)
    session.flush()  # the transfer-in entry names the kit
    return moved


def transfer_to_study(
    session: Session,
    actor: User,
    *,
    source_study: Study,
    lot: Lot,
    kit: Kit | None,
    location: Location,
    quantity: int,
    target_study: Study,
    target_product: Product,
    sponsor_approval_reference: str,
    when: EventTime | None = None,
) -> tuple[LedgerEntry, LedgerEntry]:
    """Move available stock to another protocol's record, with the sponsor's approval.

    Only the same agent and strength may move; the stock stays on the same shelf and
    keeps its lot number and expiry under the target product. ``when`` is the time it
    moved, for a transfer entered late; both entries carry it.
    """
    require(session, actor, Action.TRANSFER_TO_STUDY)
    approval = sponsor_approval_reference.strip()
    if not approval:
        raise InvalidInput(
            "Moving stock to another protocol needs the sponsor's written approval; "
            "type its reference (it is kept on file)."
        )
    if target_study.id == source_study.id:
        raise InvalidInput("The stock is already in this study; choose another study.")
    if target_study.status is StudyStatus.CLOSED:
        raise InvalidInput(f"Study {target_study.protocol_number} is closed; it receives no stock.")
    product = product_of(session, lot.id)
    if product.study_id != source_study.id:
        raise InvalidInput(
            f"Lot {lot.lot_number} is not part of study {source_study.protocol_number}."
        )
    if target_product.study_id != target_study.id:
        raise InvalidInput(
            f"{target_product.description} is not a product of study "
            f"{target_study.protocol_number}."
        )
    if not _same_drug(product, target_product):
        raise InvalidInput(
            f"Only the same agent and strength, counted the same way, moves between studies: "
            f"this is {product.description} counted by {product.unit}, the target is "
            f"{target_product.description} counted by {target_product.unit}."
        )
    _check_kit(kit, lot, product)
    place = get_location(session, location.id)
    check_storage_fits(place, target_product)
    judged = when_it_happened(session, source_study, when, kit=kit, lot=lot, what="the transfer")
    attribute_changes(session, actor, reason=f"transfer to {target_study.protocol_number}")
    target_lot = find_or_create_lot(session, target_product, lot.lot_number, lot.expiry)
    target_kit = (
        _kit_in_target(session, target_study, target_product, target_lot, kit) if kit else None
    )
    out = move(
        session,
        actor,
        kind=EntryKind.TRANSFER_OUT,
        study_id=source_study.id,
        lot_id=lot.id,
        kit_id=kit.id if kit else None,
        quantity=quantity,
        source=Place(StockState.AVAILABLE, place.id),
        target=Place(StockState.TRANSFERRED_OUT),
        reason=f"transferred to study {target_study.protocol_number}",
        reference=approval,
        occurred_at=judged.occurred_at,
        late_reason=judged.late_reason,
    )
    received = move(
        session,
        actor,
        kind=EntryKind.TRANSFER_IN,
        study_id=target_study.id,
        lot_id=target_lot.id,
        kit_id=target_kit.id if target_kit else None,
        quantity=quantity,
        source=None,
        target=Place(StockState.AVAILABLE, place.id),
        reason=f"transferred from study {source_study.protocol_number}",
        reference=approval,
        links=Links(transfer_of_id=out.id),
        occurred_at=judged.occurred_at,
        late_reason=judged.late_reason,
    )
    return out, received
