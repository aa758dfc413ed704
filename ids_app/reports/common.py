"""Small facts the report sections share: the site's name, initials, product wording,
what a hold put in quarantine."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.config import workstation_setting
from ids_app.inventory.models import LedgerEntry, QuarantineHold, StockState
from ids_app.reports.records import HeldStock, ProductInfo
from ids_app.studies.models import Product
from ids_app.wording import quantity_text

SITE_ENV = "IDS_SITE_NAME"
DEFAULT_SITE = "Investigational Drug Service"


def site_name() -> str:
    """The institution printed on the DARF header and the cover: ``$IDS_SITE_NAME``, else
    the site name kept in the workstation's Settings."""
    return (
        os.environ.get(SITE_ENV, "").strip()
        or workstation_setting("general", "site_name")
        or DEFAULT_SITE
    )


def initials(full_name: str) -> str:
    """ "Jane Roe" → "JR": the recorder's initials the DARF asks for."""
    return "".join(part[0] for part in full_name.replace("-", " ").split() if part[0].isalpha())


def dispense_id(order_id: int) -> str:
    """The number of a dispense without a kit, printed and barcoded on its label and used
    as the DA domain's reference (DAREFID)."""
    return f"DSP-{order_id:06d}"


def rate_text(value: float) -> str:
    """A daily rate as people write it: 1, 0.5, or 2/21 rather than 0.0952380952."""
    if float(value).is_integer():
        return str(int(value))
    fraction = Fraction(value).limit_denominator(1000)
    if abs(float(fraction) - value) < 1e-9 and fraction.denominator not in (2, 4, 5, 10):
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:g}"


def product_info(product: Product) -> ProductInfo:
    kit = (
        f" ({quantity_text(product.units_per_kit, product.dose_unit)} each)"
        if product.units_per_kit is not None
        else ""
    )
    rule = (
        f"{quantity_text(product.dispense_quantity, product.unit)}{kit} per visit, "
        f"{product.days_supply} days' supply, {rate_text(product.doses_per_day)} "
        f"{product.dose_unit} a day"
    )
    return ProductInfo(
        id=product.id,
        agent_name=product.agent_name,
        strength=product.strength,
        dosage_form=product.dosage_form,
        unit=product.unit,
        role=product.role.value,
        tracking=product.tracking.value,
        storage=f"{product.storage_min_c:g} to {product.storage_max_c:g} °C",
        dose_unit=product.dose_unit,
        units_per_kit=product.units_per_kit,
        rule=rule,
        gtin=product.gtin,
    )


def hold_entries(session: Session, hold: QuarantineHold) -> list[LedgerEntry]:
    """Every ledger entry made under a hold, in order."""
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.hold_id == hold.id).order_by(LedgerEntry.id)
        )
    )


def put_on_hold(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """What came into quarantine under a hold (moves inside quarantine carry it too)."""
    return [
        e
        for e in entries
        if e.to_state is StockState.QUARANTINED and e.from_state is not StockState.QUARANTINED
    ]


def held_summary(held: Iterable[HeldStock]) -> str:
    """What a hold took, one phrase per product, lot and place: "6 kits of ABC 10 mg or
    placebo tablet, lot L2301 (kits 1013, 1014, …) at IDS Shelf A", not a line per kit."""
    groups: dict[tuple[str, str, str, str], list[HeldStock]] = {}
    for item in held:
        key = (item.product, item.lot_number, item.location, item.unit)
        groups.setdefault(key, []).append(item)
    phrases = []
    for (product, lot_number, location, unit), items in groups.items():
        kits = [item.kit_number for item in items if item.kit_number]
        listed = f" (kit{'s' if len(kits) > 1 else ''} {', '.join(kits)})" if kits else ""
        count = quantity_text(sum(item.quantity for item in items), unit)
        phrases.append(f"{count} of {product}, lot {lot_number}{listed} at {location}")
    return "; ".join(phrases)
