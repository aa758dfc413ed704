"""Reading the depot's packing list from a file, to match the receipt against it.

21 CFR 312.57: the site's receipt must be matchable against the sponsor's shipment
record. Reading only: the lines become the receipt's ``packing_list`` when it is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.errors import InvalidInput
from ids_app.inventory.models import Kit, Lot
from ids_app.inventory.receiving import ExpectedLine
from ids_app.studies.models import Product, Study
from ids_app.studies.tables import (
    CellValue,
    DateOrder,
    LotExpiries,
    RowError,
    Table,
    UnreadableDate,
    cell_text,
    headed_by,
    parse_date,
)


@dataclass(frozen=True)
class PackingListMapping:
    """Which column holds what. A kit product needs the kit column; a list without a
    quantity column counts one per line."""

    lot_number: str
    expiry: str
    kit_number: str | None = None
    quantity: str | None = None
    date_format: str | None = None
    date_order: DateOrder | None = None  # how numeric expiry dates are written

    @property
    def columns(self) -> tuple[str, ...]:
        named = (self.kit_number, self.lot_number, self.expiry, self.quantity)
        return tuple(column for column in named if column is not None)


@dataclass(frozen=True)
class PackingListPreview:
    """The expected lines and the lines that cannot be; ``header_line`` is the row taken
    as the header (0 when no row holds the mapped columns)."""

    expected: tuple[ExpectedLine, ...]
    errors: tuple[RowError, ...]
    header_line: int = 0


def _quantity(value: CellValue) -> int:
    text = cell_text(value)
    if not text.isdigit() or int(text) == 0:
        raise InvalidInput(f"Quantity '{text}' is not a whole number above zero.")
    return int(text)


def _shape_error(table: Table, product: Product, mapping: PackingListMapping) -> RowError | None:
    if product.is_kit_tracked and mapping.kit_number is None:
        message = f"{product.description} is tracked by kit; choose the kit number column."
    elif not product.is_kit_tracked and mapping.kit_number is not None:
        message = f"{product.description} is counted in bulk; it has no kit number column."
    elif not table.rows:
        message = "There are no lines under the header row."
    else:
        return None
    return RowError(table.header_line, message)


def _kit_problem(
    kit_number: str,
    product: Product,
    lot_number: str,
    listed: dict[str, tuple[int, str]],
    first_lines: dict[str, int],
) -> str | None:
    if not kit_number:
        return "The kit number is empty."
    if kit_number in first_lines:
        return f"Kit {kit_number} is listed twice (first on line {first_lines[kit_number]})."
    if kit_number not in listed:
        return None
    listed_product, listed_lot = listed[kit_number]
    if listed_product != product.id:
        return (
            f"Kit {kit_number} is a kit of another product on the kit list; "
            "check the packing list against the kit list."
        )
    if lot_number and listed_lot != lot_number:
        return (
            f"Kit {kit_number} is in lot {listed_lot} on the kit list, not {lot_number}; "
            "check the packing list against the kit list."
        )
    return None


def read_packing_list(
    session: Session, study: Study, product: Product, table: Table, mapping: PackingListMapping
) -> PackingListPreview:
    """The expected lines of one product, and every line that cannot be one, with its line."""
    if product.study_id != study.id:
        raise InvalidInput(
            f"{product.description} is not a product of study {study.protocol_number}."
        )
    headed = headed_by(table, mapping.columns)
    if isinstance(headed, RowError):
        return PackingListPreview((), (headed,))
    table = headed
    general = _shape_error(table, product, mapping)
    if general is not None:
        return PackingListPreview((), (general,), table.header_line)
    lots = LotExpiries(
        session.execute(
            select(Lot.lot_number, Lot.expiry).where(Lot.product_id == product.id)
        ).all()
    )
    # A kit already on the sponsor's kit list must arrive as the list describes it.
    listed = {
        number: (product_id, lot_number)
        for number, product_id, lot_number in session.execute(
            select(Kit.kit_number, Kit.product_id, Lot.lot_number)
            .join(Lot, Lot.id == Kit.lot_id)
            .where(Kit.study_id == study.id)
        )
    }
    first_lines: dict[str, int] = {}
    expected: list[ExpectedLine] = []
    errors: list[RowError] = []
    for row in table.rows:
        problems: list[str] = []
        lot_number = row.text(mapping.lot_number)
        if not lot_number:
            problems.append("The lot number is empty.")
        expiry = None
        try:
            expiry = parse_date(
                row.values.get(mapping.expiry, ""), mapping.date_format, mapping.date_order
            )
        except UnreadableDate as error:
            problems.append(str(error))
        if lot_number and expiry is not None:
            conflict = lots.conflict(lot_number, expiry, row.line)
            if conflict:
                problems.append(conflict)
        quantity = 1
        if mapping.quantity is not None:
            try:
                quantity = _quantity(row.values.get(mapping.quantity, ""))
            except InvalidInput as error:
                problems.append(str(error))
        kit_number = None
        if mapping.kit_number is not None:
            kit_number = row.text(mapping.kit_number)
            problem = _kit_problem(kit_number, product, lot_number, listed, first_lines)
            if problem:
                problems.append(problem)
            first_lines.setdefault(kit_number, row.line)
            if quantity != 1:
                problems.append("A kit line counts one kit.")
        if problems or expiry is None:
            errors.extend(RowError(row.line, problem) for problem in problems)
        else:
            expected.append(ExpectedLine(product.id, lot_number, expiry, quantity, kit_number))
    return PackingListPreview(tuple(expected), tuple(errors), table.header_line)
