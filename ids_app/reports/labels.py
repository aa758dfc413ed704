"""The dispensing label (PDF sized for a label printer, 4 by 2 inches by default).

It carries the investigational-use caution statement of 21 CFR 312.6 and a Code 128
barcode of the kit number (or, for stock without kits, the dispense number), drawn by
python-barcode, never by hand. The label shows no arm: the subject is blinded too.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from sqlalchemy.orm import Session

from ids_app.config import workstation_setting
from ids_app.errors import InvalidInput, NotFound
from ids_app.inventory.dispensing import dispensed_on
from ids_app.inventory.models import DispenseOrder, Kit, Lot, OrderState
from ids_app.reports.common import dispense_id, rate_text
from ids_app.reports.records import Printing
from ids_app.reports.rendering import render_html, write_pdf
from ids_app.studies.blinding import arm_mask_of
from ids_app.studies.models import Prescriber, Product, Study, Subject
from ids_app.users.models import User
from ids_app.users.permissions import PERMISSIONS, Action, require
from ids_app.wording import quantity_text, unit_text

CAUTION = "Caution: New Drug—Limited by Federal (or United States) law to investigational use."
PHARMACY_ENV = "IDS_PHARMACY_NAME"
PHONE_ENV = "IDS_PHARMACY_PHONE"
LABEL_ROLES = PERMISSIONS[Action.PRINT_LABELS].roles
SMALLEST_IN, LARGEST_IN = 1.0, 8.5


@dataclass(frozen=True)
class LabelSettings:
    """The label stock and the pharmacy printed on it."""

    pharmacy: str
    phone: str
    width_in: float = 4.0
    height_in: float = 2.0
    directions: str | None = None
    beyond_use: dt.date | None = None

    @classmethod
    def from_environment(
        cls,
        pharmacy: str | None = None,
        phone: str | None = None,
        size: str | None = None,
        directions: str | None = None,
        beyond_use: dt.date | None = None,
    ) -> LabelSettings:
        """Settings from the options given, else ``$IDS_PHARMACY_NAME``/``$IDS_PHARMACY_PHONE``,
        else the site name and phone kept in the workstation's Settings."""
        name = (
            pharmacy
            or os.environ.get(PHARMACY_ENV, "")
            or workstation_setting("general", "site_name")
            or ""
        ).strip()
        number = (
            phone
            or os.environ.get(PHONE_ENV, "")
            or workstation_setting("general", "pharmacy_phone")
            or ""
        ).strip()
        if not name or not number:
            raise InvalidInput(
                "A dispensing label needs the pharmacy's name and phone number: give --pharmacy "
                f"and --phone, set ${PHARMACY_ENV} and ${PHONE_ENV}, or fill them in Settings."
            )
        width, height = parse_size(size) if size else (4.0, 2.0)
        return cls(name, number, width, height, (directions or "").strip() or None, beyond_use)


def parse_size(text: str) -> tuple[float, float]:
    """ "4x2" or "4x2in" → (4.0, 2.0) inches."""
    cleaned = text.lower().replace("in", "").replace(" ", "").replace("\u00d7", "x")
    try:
        width, height = (float(part) for part in cleaned.split("x"))
    except ValueError:
        raise InvalidInput(
            f"The label size '{text}' is not WIDTHxHEIGHT in inches, like 4x2."
        ) from None
    if not (SMALLEST_IN <= height <= width <= LARGEST_IN):
        raise InvalidInput(
            f"A label is between {SMALLEST_IN:g} and {LARGEST_IN:g} inches on each side, "
            "wider than tall, like 4x2."
        )
    return width, height


@dataclass(frozen=True)
class LabelData:
    protocol_number: str
    sponsor: str
    subject_code: str
    subject_initials: str
    visit: str
    kit_number: str | None
    dispense_number: str
    lot_number: str
    product: str
    directions: str
    quantity: str
    dispensed: dt.date
    prescriber: str
    storage: str
    expiry_label: str
    expiry: dt.date
    barcode_value: str
    caution: str = CAUTION


def _directions(product: Product, amount: int) -> str:
    """Directions from the dispensing rule, unless the prescriber's are typed in."""
    per_day = product.doses_per_day
    if per_day >= 1 and float(per_day).is_integer():
        count = int(per_day)
        times = "once" if count == 1 else f"{count} times"
        return f"Take 1 {product.dose_unit} {times} a day, as directed by the study team."
    if per_day < 1:
        # "2 vials every 21 days", as a pharmacist writes a cycle, never "2/21 vial a day".
        rate = Fraction(per_day).limit_denominator(1000)
        dose = quantity_text(rate.numerator, product.dose_unit)
        every = "every day" if rate.denominator == 1 else f"every {rate.denominator} days"
        if "infusion" in product.dosage_form.lower():
            return f"For infusion by the study team: {dose} {every}."
        return f"Take {dose} {every}, as directed by the study team."
    return (
        f"{quantity_text(amount, product.unit)} for {product.days_supply} days "
        f"({rate_text(per_day)} {unit_text(per_day, product.dose_unit)} a day), as directed by "
        "the study team."
    )


def gather_label(
    session: Session, actor: User, order_id: int, settings: LabelSettings
) -> tuple[Study, LabelData]:
    """What the label of a verified dispense prints."""
    require(session, actor, Action.PRINT_LABELS)
    order = session.get(DispenseOrder, order_id)
    if order is None:
        raise NotFound(f"There is no dispense order {order_id}.")
    if order.state is not OrderState.DISPENSED or order.lot_id is None:
        raise InvalidInput(
            f"Order {order.id} is {order.state.value}; a label is printed once the dispense "
            "is verified."
        )
    study = session.get_one(Study, order.study_id)
    product = session.get_one(Product, order.product_id)
    subject = session.get_one(Subject, order.subject_id)
    prescriber = session.get_one(Prescriber, order.prescriber_id)
    lot = session.get_one(Lot, order.lot_id)
    kit_number = session.get_one(Kit, order.kit_id).kit_number if order.kit_id else None
    amount = quantity_text(order.quantity, product.unit)
    if product.units_per_kit is not None:
        amount += f" ({quantity_text(order.quantity * product.units_per_kit, product.dose_unit)})"
    number = dispense_id(order.id)
    # The subject who takes the label home is blinded whoever prints it.
    mask = arm_mask_of(session, study.id)
    return study, LabelData(
        protocol_number=study.protocol_number,
        sponsor=study.sponsor,
        subject_code=subject.subject_code,
        subject_initials=subject.initials,
        visit=mask.required_text(order.visit),
        kit_number=kit_number,
        dispense_number=number,
        lot_number=lot.lot_number,
        product=mask.required_text(product.description),
        directions=mask.required_text(settings.directions or _directions(product, order.quantity)),
        quantity=amount,
        dispensed=dispensed_on(order),
        prescriber=prescriber.name
        + (f", {prescriber.credentials}" if prescriber.credentials else ""),
        storage=f"Store at {product.storage_min_c:g} to {product.storage_max_c:g} °C",
        expiry_label="Beyond use" if settings.beyond_use else "Expires",
        expiry=settings.beyond_use or lot.expiry,
        barcode_value=kit_number or number,
    )


def code128_svg(value: str) -> bytes:
    """A Code 128 symbol of ``value`` as SVG, from python-barcode (human text printed apart)."""
    import barcode
    from barcode.writer import SVGWriter

    symbol = barcode.get("code128", value, writer=SVGWriter())
    buffer = io.BytesIO()
    symbol.write(
        buffer,
        options={
            "write_text": False,
            "module_width": 0.25,
            "module_height": 8.0,
            "quiet_zone": 2.5,
        },
    )
    return buffer.getvalue()


def write_label(label: LabelData, settings: LabelSettings, printing: Printing, target: Path) -> int:
    svg = base64.b64encode(code128_svg(label.barcode_value)).decode("ascii")
    html = render_html(
        "label.html",
        label=label,
        settings=settings,
        printing=printing,
        barcode_src=f"data:image/svg+xml;base64,{svg}",
    )
    return write_pdf(html, target)
