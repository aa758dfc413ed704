"""What a barcode scanner types into a field, turned into the kit or lot it names.

Scanners act as keyboards: a GS1 DataMatrix arrives as its element string, maybe after
the symbology prefix ]d2 and with GS separators, then Enter; a sponsor's kit label often
carries only the kit number (DOMAIN.md, "Barcodes on packs"). Errors never name an arm:
the person scanning may be blinded.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

import biip
from biip.symbology import GS1Symbology, SymbologyIdentifier
from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.errors import IdsError
from ids_app.inventory.models import Kit, Lot
from ids_app.studies.models import Product, Study

GS = "\x1d"
# Without a symbology prefix, a GS1 string from a pack starts with its GTIN, (01).
BARE_GTIN = re.compile(r"01\d{14}")
SYMBOLOGY_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")
UNREADABLE = (
    "The scanner sent a GS1 code that could not be read; scan again or type the kit number."
)


class UnknownScan(IdsError):
    """A scan that names no kit or lot of the study, or that cannot be read."""


class ScanDisagrees(UnknownScan):
    """The barcode names a kit or lot, but its GTIN, lot or expiry is not the recorded one."""


class ScanKind(enum.StrEnum):
    KIT = "kit"
    LOT = "lot"


@dataclass(frozen=True)
class ScanResult:
    """The kit or lot a scan named; ``gtin``, ``expiry`` and ``serial`` are what the
    barcode itself said (None for a plain kit or lot number)."""

    kind: ScanKind
    kit: Kit | None
    lot: Lot | None
    product: Product
    gtin: str | None
    expiry: dt.date | None
    serial: str | None
    raw: str


@dataclass(frozen=True)
class _Gs1Fields:
    gtin: str | None = None
    expiry: dt.date | None = None
    lot: str | None = None
    serial: str | None = None


def identify_scan(session: Session, study: Study, text: str) -> ScanResult:
    """The kit or lot of ``study`` that a scan (or a typed number) names."""
    read = _read(text.strip())  # the scanner's Enter, and a GS the scanner may send last
    if not read:
        raise UnknownScan("The scan was empty; scan the label again.")
    if isinstance(read, str):
        return _identify_plain(session, study, read, text)
    return _identify_gs1(session, study, read, text)


def _read(code: str) -> _Gs1Fields | str:
    """A GS1 element string's fields, or the plain text a 1D code or the keyboard gave."""
    if SYMBOLOGY_PREFIX.match(code):
        try:
            symbology = SymbologyIdentifier.extract(code)
        except biip.ParseError:  # not a prefix after all: look it up as typed
            return code
        if symbology.gs1_symbology not in GS1Symbology.with_gs1_messages():
            return code[len(symbology.value) :].strip()
    elif not code or (GS not in code and not BARE_GTIN.match(code)):
        return code
    message = biip.parse(code).gs1_message
    if message is None or not message.element_strings:
        raise UnknownScan(UNREADABLE)
    gtin = message.element_strings.get(ai="01")
    expiry = message.element_strings.get(ai="17")
    lot = message.element_strings.get(ai="10")
    serial = message.element_strings.get(ai="21")
    if gtin and gtin.gtin is None:
        raise UnknownScan(_gtin_refusal(gtin.value, gtin.gtin_error or ""))
    if expiry and expiry.date is None:
        raise UnknownScan(UNREADABLE)  # a day that does not exist
    return _Gs1Fields(
        gtin=gtin.gtin.as_gtin_14() if gtin and gtin.gtin else None,
        expiry=expiry.date if expiry else None,
        lot=lot.value if lot else None,
        serial=serial.value if serial else None,
    )


def _gtin_refusal(digits: str, error: str) -> str:
    """A GTIN whose last digit does not check is a misread, said as such ("check digit
    wrong"), so the technician scans again rather than doubting the label."""
    if "check digit" not in error.lower():
        return UNREADABLE
    return (
        f"Check digit wrong in the scanned GTIN {digits}: the scanner misread the label. "
        "Scan it again or type the kit number."
    )


def _identify_plain(session: Session, study: Study, number: str, raw: str) -> ScanResult:
    kit = _kit_in_study(session, study, number)
    if kit is not None:
        return _kit_result(session, kit, _Gs1Fields(), raw)
    found = _lot_in_study(session, study, number, gtin=None)
    if found is not None:
        lot, product = found
        return ScanResult(ScanKind.LOT, None, lot, product, None, None, None, raw)
    _refuse_kit_of_other_study(session, study, number)
    raise UnknownScan(f"Code {number} is not a kit or lot of study {study.protocol_number}.")


def _identify_gs1(session: Session, study: Study, fields: _Gs1Fields, raw: str) -> ScanResult:
    """The serial (21) as a kit number first, else the lot (10)."""
    if fields.serial:
        kit = _kit_in_study(session, study, fields.serial)
        if kit is not None:
            return _kit_result(session, kit, fields, raw)
    if fields.lot:
        found = _lot_in_study(session, study, fields.lot, fields.gtin)
        if found is not None:
            lot, product = found
            _check_expiry(lot, fields.expiry)
            return ScanResult(
                ScanKind.LOT, None, lot, product, fields.gtin, fields.expiry, fields.serial, raw
            )
    if fields.serial:
        _refuse_kit_of_other_study(session, study, fields.serial)
    named = fields.lot or fields.serial
    if named is None:
        raise UnknownScan(
            "The barcode carries no lot or serial number; scan the kit label or type the "
            "kit number."
        )
    raise UnknownScan(f"Code {named} is not a kit or lot of study {study.protocol_number}.")


def _kit_in_study(session: Session, study: Study, number: str) -> Kit | None:
    return session.scalar(select(Kit).where(Kit.study_id == study.id, Kit.kit_number == number))


def _kit_result(session: Session, kit: Kit, fields: _Gs1Fields, raw: str) -> ScanResult:
    lot = session.get_one(Lot, kit.lot_id)
    product = session.get_one(Product, kit.product_id)
    if fields.lot and fields.lot != lot.lot_number:
        raise ScanDisagrees(
            f"The barcode of kit {kit.kit_number} names lot {fields.lot}, but the kit is on "
            f"record in lot {lot.lot_number}; check the label against the kit list."
        )
    _check_gtin(product, fields.gtin)
    _check_expiry(lot, fields.expiry)
    return ScanResult(
        ScanKind.KIT, kit, lot, product, fields.gtin, fields.expiry, fields.serial, raw
    )


def _lot_in_study(
    session: Session, study: Study, number: str, gtin: str | None
) -> tuple[Lot, Product] | None:
    """The study's lot of that number; a scanned GTIN picks the product when several have it."""
    rows = session.execute(
        select(Lot, Product)
        .join(Product, Product.id == Lot.product_id)
        .where(Product.study_id == study.id, Lot.lot_number == number)
        .order_by(Product.id)
    )
    found = [(lot, product) for lot, product in rows]
    if gtin is not None and found:
        same = [(lot, product) for lot, product in found if _recorded_gtin(product) == gtin]
        unrecorded = [(lot, product) for lot, product in found if product.gtin is None]
        if not (same or unrecorded):
            _check_gtin(found[0][1], gtin)
        found = same or unrecorded
    if len(found) > 1:
        raise UnknownScan(
            f"Lot {number} belongs to {len(found)} products of study {study.protocol_number}; "
            "pick the product and lot from the list instead."
        )
    return found[0] if found else None


def _recorded_gtin(product: Product) -> str | None:
    """The product's GTIN as GTIN-14, however it was typed (12, 13 or 14 digits)."""
    if product.gtin is None:
        return None
    return re.sub(r"\D", "", product.gtin).zfill(14)


def _check_gtin(product: Product, gtin: str | None) -> None:
    recorded = _recorded_gtin(product)
    if gtin is not None and recorded is not None and gtin != recorded:
        raise ScanDisagrees(
            f"The barcode's GTIN {gtin} is not the GTIN on record for {product.description} "
            f"({recorded}); check that the pack belongs to this study."
        )


def _check_expiry(lot: Lot, expiry: dt.date | None) -> None:
    if expiry is not None and expiry != lot.expiry:
        raise ScanDisagrees(
            f"The barcode says lot {lot.lot_number} expires {expiry:%Y-%m-%d}, but the lot is "
            f"on record as expiring {lot.expiry:%Y-%m-%d}; set the pack aside and check it."
        )


def _refuse_kit_of_other_study(session: Session, study: Study, number: str) -> None:
    other = session.scalar(
        select(Study.protocol_number)
        .join(Kit, Kit.study_id == Study.id)
        .where(Kit.kit_number == number, Study.id != study.id)
        .order_by(Study.protocol_number)
        .limit(1)
    )
    if other is not None:
        raise UnknownScan(f"Kit {number} belongs to study {other}, not {study.protocol_number}.")
