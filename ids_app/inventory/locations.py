"""Storage locations, and the rule that stock is placed only where its range fits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput, NotFound
from ids_app.inventory.ledger import balances
from ids_app.inventory.models import ON_SITE_STATES, LedgerEntry, Location, LocationKind
from ids_app.studies.models import Product
from ids_app.users.models import User
from ids_app.users.permissions import Action, require

# Physically plausible limits for a storage range: below the coldest pharmacy freezer
# (ultra-low -90 °C) or above a hot shelf, a typed range is a typing mistake.
COLDEST_C, WARMEST_C = -90.0, 50.0


def add_location(
    session: Session,
    actor: User,
    name: str,
    kind: LocationKind,
    storage_min_c: float,
    storage_max_c: float,
) -> Location:
    require(session, actor, Action.ADD_LOCATIONS)
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("The location's name is empty; type a name.")
    if session.scalar(select(Location.id).where(Location.name == cleaned)):
        raise InvalidInput(f"A location named {cleaned} already exists.")
    if storage_min_c >= storage_max_c:
        raise InvalidInput("The lowest storage temperature must be below the highest.")
    if storage_min_c < COLDEST_C or storage_max_c > WARMEST_C:
        raise InvalidInput(
            f"A storage range lies between {COLDEST_C:g} and {WARMEST_C:g} °C; check the numbers."
        )
    attribute_changes(session, actor, reason="location added")
    location = Location(
        name=cleaned, kind=kind, storage_min_c=storage_min_c, storage_max_c=storage_max_c
    )
    session.add(location)
    session.flush()  # stock is placed here next
    return location


def retire_location(session: Session, actor: User, location: Location, reason: str) -> Location:
    """Take a storage location out of use (a fridge replaced); stock records still name it."""
    require(session, actor, Action.CORRECT_SETUP)
    why = reason.strip()
    if not why:
        raise InvalidInput("Say why the location is retired; the audit trail keeps it.")
    if not location.active:
        raise InvalidInput(f"{location.name} is already out of use.")
    here = (LedgerEntry.to_location_id == location.id) | (
        LedgerEntry.from_location_id == location.id
    )
    if any(
        balance.location_id == location.id and balance.state in ON_SITE_STATES
        for balance in balances(session, here, by_kit=False)
    ):
        raise InvalidInput(
            f"{location.name} still holds stock; move it to another location before "
            "retiring this one."
        )
    attribute_changes(session, actor, reason=f"location retired: {why}")
    location.active = False
    return location


def location_names(session: Session) -> dict[int, str]:
    """Every location's name by id: the few rows a screen needs to name where stock is."""
    return dict(session.execute(select(Location.id, Location.name)).all())


def get_location(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None or not location.active:
        raise NotFound("That storage location does not exist or is no longer in use.")
    return location


def find_location(session: Session, name: str) -> Location:
    location = session.scalar(select(Location).where(Location.name == name.strip()))
    if location is None or not location.active:
        raise NotFound(f"There is no storage location named {name.strip()}.")
    return location


def check_storage_fits(location: Location, product: Product) -> None:
    """Stock may be kept only where the location's range lies within the product's.

    A returns location is exempt: returned units are never dispensed again (DOMAIN.md).
    """
    if location.kind is LocationKind.RETURNS:
        return
    if location.storage_min_c < product.storage_min_c or location.storage_max_c > (
        product.storage_max_c
    ):
        raise InvalidInput(
            f"{product.description} must be kept at {product.storage_min_c:g} to "
            f"{product.storage_max_c:g} °C; {location.name} is kept at {location.range_text}."
        )
