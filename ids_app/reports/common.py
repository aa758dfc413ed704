"""Small facts the report sections share: the site's name, initials, product wording."""

from __future__ import annotations

import os
from fractions import Fraction

from ids_app.reports.records import ProductInfo
from ids_app.studies.models import Product

SITE_ENV = "IDS_SITE_NAME"
DEFAULT_SITE = "Investigational Drug Service"


def site_name() -> str:
    """The institution printed on the DARF header and the cover (``$IDS_SITE_NAME``)."""
    return os.environ.get(SITE_ENV, "").strip() or DEFAULT_SITE


def initials(full_name: str) -> str:
    """ "Jane Roe" → "JR": the recorder's initials the DARF asks for."""
    return "".join(part[0] for part in full_name.replace("-", " ").split() if part[0].isalpha())


def quantity(count: int, unit: str) -> str:
    """ "1 kit", "30 tablets", "2 vials": a count with its unit, plural when it should be."""
    if count == 1 or unit.endswith("s") or not unit[-1:].isalpha():
        return f"{count} {unit}"
    return f"{count} {unit}s"


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
        f" ({quantity(product.units_per_kit, product.dose_unit)} each)"
        if product.units_per_kit is not None
        else ""
    )
    rule = (
        f"{quantity(product.dispense_quantity, product.unit)}{kit} per visit, "
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
