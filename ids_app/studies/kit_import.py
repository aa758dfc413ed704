"""Loading the sponsor's kit list (the IWRS export) before the kits arrive.

The kit list says which kits exist, in which lot, expiring when, and in which arm.
Receiving later matches every scanned kit against it. A list loads whole or not at all:
half a kit list would make the next shipment look wrong.

Checking and importing a long list take a while, so both report progress every
``ROWS_PER_STEP`` rows and stop there when the person cancels; the import stops inside its
unit of work, which rolls back, so a cancelled import leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.errors import InvalidInput
from ids_app.inventory.models import Kit, Lot
from ids_app.inventory.receiving import find_or_create_lot
from ids_app.reports.progress import CancelCheck, ProgressCallback, ReportCancelled, Steps
from ids_app.studies.identifiers import unprintable_character
from ids_app.studies.models import Arm, Product, Study, StudyStatus
from ids_app.studies.services import is_unblinded
from ids_app.studies.tables import (
    DateOrder,
    LotExpiries,
    RowError,
    Table,
    TableRow,
    UnreadableDate,
    headed_by,
    parse_date,
)
from ids_app.users.models import User
from ids_app.users.permissions import Action, refuse, require

ERRORS_SHOWN = 3
ROWS_PER_STEP = 100  # rows between two progress reports (and two looks at Cancel)
PREVIEW_CANCELLED = "Checking the kit list was cancelled; nothing was imported."
IMPORT_CANCELLED = "The import was cancelled; no kit was imported."


class KitListRejected(InvalidInput):
    """The kit list has wrong rows; none of it was imported."""


class KitListCancelled(ReportCancelled):
    """The person pressed Cancel; nothing of the list was kept."""


@dataclass(frozen=True)
class KitListMapping:
    """Which column holds what; ``arm`` is None for a list without a treatment column.

    ``treatments`` maps the file's treatment values to the study's arm codes, for IWRS
    exports that spell the arm out ("Arm A - ABC 10 mg" is arm A). It names arms, so only
    staff unblinded for the study may set it (:func:`treatment_values`). ``date_order``
    states how the file writes numeric expiry dates (05/31/2027 is month first).
    """

    kit_number: str
    lot_number: str
    expiry: str
    arm: str | None = None
    date_format: str | None = None
    treatments: tuple[tuple[str, str], ...] = ()
    date_order: DateOrder | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        named = (self.kit_number, self.lot_number, self.expiry, self.arm)
        return tuple(column for column in named if column is not None)

    @property
    def names_arms(self) -> bool:
        """Whether the mapping shows arms: a treatment column or a treatment mapping."""
        return self.arm is not None or bool(self.treatments)


KIT_LIST_PRESETS: dict[str, KitListMapping] = {
    "IWRS kit list (Kit Number, Lot Number, Expiry Date, Treatment)": KitListMapping(
        "Kit Number", "Lot Number", "Expiry Date", "Treatment"
    ),
    "IWRS data extract (KIT_NO, LOT, EXP_DATE, ARM)": KitListMapping(
        "KIT_NO", "LOT", "EXP_DATE", "ARM"
    ),
    "RTSM kit report (Kit ID, Batch Number, Expiration Date, Treatment Arm)": KitListMapping(
        "Kit ID", "Batch Number", "Expiration Date", "Treatment Arm"
    ),
}


@dataclass(frozen=True)
class KitDraft:
    """A kit the import will create; ``arm_code`` is the study arm's code."""

    line: int
    kit_number: str
    lot_number: str
    expiry: dt.date
    arm_code: str | None


@dataclass(frozen=True)
class KitListPreview:
    """The kits to create and the rows that stop it; ``header_line`` is the row taken as
    the header (0 when no row holds the mapped columns)."""

    to_create: list[KitDraft]
    errors: list[RowError]
    header_line: int = 0


def _header_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def guess_kit_list_mapping(headers: list[str]) -> KitListMapping | None:
    """The first preset whose columns the file has (ignoring case, spaces and underscores),
    spelled as the file spells them."""
    by_key = {_header_key(name): name for name in headers}
    for preset in KIT_LIST_PRESETS.values():
        kit_number = by_key.get(_header_key(preset.kit_number))
        lot_number = by_key.get(_header_key(preset.lot_number))
        expiry = by_key.get(_header_key(preset.expiry))
        if kit_number and lot_number and expiry:
            arm = by_key.get(_header_key(preset.arm)) if preset.arm else None
            return KitListMapping(kit_number, lot_number, expiry, arm, preset.date_format)
    return None


def _check_product(study: Study, product: Product) -> None:
    if product.study_id != study.id:
        raise InvalidInput(
            f"{product.description} is not a product of study {study.protocol_number}."
        )
    if not product.is_kit_tracked:
        raise InvalidInput(f"{product.description} is counted in bulk; it has no kit list.")


def _value_key(value: str) -> str:
    return " ".join(value.split()).casefold()


def _arm_codes(study: Study, mapping: KitListMapping) -> dict[str, str]:
    """Treatment value, case-folded, to the arm's code: the mapping's values first, then
    an arm's code, then its name."""
    codes = {arm.name.casefold(): arm.code for arm in study.arms}
    codes.update({arm.code.casefold(): arm.code for arm in study.arms})
    codes.update({_value_key(value): code for value, code in mapping.treatments})
    return codes


def _unknown_mapped_arm(study: Study, mapping: KitListMapping) -> str | None:
    known = {arm.code for arm in study.arms}
    for value, code in mapping.treatments:
        if code not in known:
            listed = ", ".join(sorted(known))
            return (
                f"The treatment mapping sends '{value}' to arm '{code}', which is not an arm "
                f"of {study.protocol_number} (arms: {listed})."
            )
    return None


def treatment_values(
    session: Session, actor: User, study: Study, table: Table, mapping: KitListMapping
) -> list[str]:
    """The distinct values of the treatment column, in file order, for the mapping step.

    They name arms, so only staff unblinded for the study may read them.
    """
    require(session, actor, Action.IMPORT_KIT_LISTS)
    column = mapping.arm
    if column is None:
        return []
    if not is_unblinded(session, actor, study):
        raise refuse(
            actor,
            _blinded_column(column, study),
            to=Action.IMPORT_KIT_LISTS.value,
            record=study,
        )
    headed = headed_by(table, mapping.columns)
    if isinstance(headed, RowError):
        raise InvalidInput(headed.message)
    values: dict[str, str] = {}
    for row in headed.rows:
        value = row.text(column)
        if value:
            values.setdefault(_value_key(value), value)
    return list(values.values())


def preview_kit_list(
    session: Session,
    actor: User,
    study: Study,
    product: Product,
    table: Table,
    mapping: KitListMapping,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> KitListPreview:
    """What importing ``table`` would create, and every row that stops it, with its line.

    ``progress(done, total)`` hears of the rows checked every ``ROWS_PER_STEP`` rows, and
    the check stops there (raising :class:`KitListCancelled`) once ``cancelled()`` is true.
    For an ``actor`` blinded in the study no arm is named: the kits' arms are left out and
    a wrong treatment is reported without its value.
    """
    require(session, actor, Action.IMPORT_KIT_LISTS)
    pace = Steps(len(table.rows), progress, cancelled, stopped=KitListCancelled(PREVIEW_CANCELLED))
    names_arms = is_unblinded(session, actor, study)
    return _check_rows(session, study, product, table, mapping, names_arms=names_arms, pace=pace)


def _check_rows(
    session: Session,
    study: Study,
    product: Product,
    table: Table,
    mapping: KitListMapping,
    *,
    names_arms: bool,
    pace: Steps,
) -> KitListPreview:
    _check_product(study, product)
    headed = headed_by(table, mapping.columns)
    if isinstance(headed, RowError):
        return KitListPreview([], [headed])
    table = headed
    if not table.rows:
        return KitListPreview(
            [],
            [RowError(table.header_line, "There are no kits under the header row.")],
            table.header_line,
        )
    pace.reach(0)
    known_kits = set(session.scalars(select(Kit.kit_number).where(Kit.study_id == study.id)))
    lots = LotExpiries(
        session.execute(
            select(Lot.lot_number, Lot.expiry).where(Lot.product_id == product.id)
        ).all()
    )
    arm_codes = _arm_codes(study, mapping)
    first_lines: dict[str, int] = {}
    drafts: list[KitDraft] = []
    errors: list[RowError] = []
    if mapping.names_arms and not names_arms:
        errors.append(RowError(table.header_line, _blinded_column(mapping.arm, study)))
    elif mapping.treatments and mapping.arm is None:
        errors.append(RowError(table.header_line, "Choose the treatment column the mapping reads."))
    elif (unknown := _unknown_mapped_arm(study, mapping)) is not None:
        errors.append(RowError(table.header_line, unknown))
    for done, row in enumerate(table.rows, start=1):
        problems: list[str] = []
        kit_number = row.text(mapping.kit_number)
        unprintable = unprintable_character(kit_number) or unprintable_character(
            row.text(mapping.lot_number)
        )
        if unprintable is not None:
            problems.append(
                f"A kit or lot number holds a character that cannot be printed ({unprintable})."
            )
        if not kit_number:
            problems.append("The kit number is empty.")
        elif kit_number in first_lines:
            problems.append(
                f"Kit {kit_number} is listed twice (first on line {first_lines[kit_number]})."
            )
        else:
            first_lines[kit_number] = row.line
            if kit_number in known_kits:
                problems.append(
                    f"Kit {kit_number} is already on record in {study.protocol_number}."
                )
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
        arm_code = None
        if mapping.arm is not None:
            arm_code = _arm_of(row, mapping.arm, arm_codes, study, problems, names_arms=names_arms)
        if problems or expiry is None:
            errors.extend(RowError(row.line, problem) for problem in problems)
        else:
            drafts.append(
                KitDraft(row.line, kit_number, lot_number, expiry, arm_code if names_arms else None)
            )
        if done % ROWS_PER_STEP == 0 or done == len(table.rows):
            pace.reach(done)
    return KitListPreview(drafts, errors, table.header_line)


def _blinded_column(column: str | None, study: Study) -> str:
    shown = f"The '{column}' column shows" if column else "The treatment mapping names"
    return (
        f"{shown} each kit's arm; only staff unblinded for {study.protocol_number} may import it."
    )


def _arm_of(
    row: TableRow,
    column: str,
    arm_codes: dict[str, str],
    study: Study,
    problems: list[str],
    *,
    names_arms: bool,
) -> str | None:
    value = row.text(column)
    if not value:
        problems.append("The treatment is empty; every kit needs its arm.")
        return None
    code = arm_codes.get(value.casefold()) or arm_codes.get(_value_key(value))
    if code is None and not names_arms:
        # The cell may hold an arm's name, and the arms are not for a blinded user to read.
        problems.append(f"The treatment is not an arm of {study.protocol_number}.")
    elif code is None:
        listed = ", ".join(arm.code for arm in study.arms)
        problems.append(
            f"Treatment '{value}' is not an arm of {study.protocol_number} (arms: {listed}); "
            "map it to an arm in the mapping."
        )
    return code


def _rejection(errors: list[RowError]) -> str:
    """One message for an all-or-nothing refusal: how many rows, and the first few."""
    lines = len({error.line for error in errors})
    rows = "1 row of the kit list is" if lines == 1 else f"{lines} rows of the kit list are"
    shown = " ".join(str(error) for error in errors[:ERRORS_SHOWN])
    more = f" …and {len(errors) - ERRORS_SHOWN} more." if len(errors) > ERRORS_SHOWN else ""
    return f"{rows} wrong, so no kit was imported. {shown}{more}"


def import_kit_list(
    session: Session,
    actor: User,
    study: Study,
    product: Product,
    table: Table,
    mapping: KitListMapping,
    *,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> list[Kit]:
    """Create the listed lots and kits, or nothing. Kits get no ledger entry: they are
    received later, when the depot ships them.

    Each row is checked, then its kit created: ``progress(done, total)`` counts both, every
    ``ROWS_PER_STEP`` rows, and :class:`KitListCancelled` is raised there once
    ``cancelled()`` is true, so the caller's unit of work rolls back.
    """
    require(session, actor, Action.IMPORT_KIT_LISTS)
    if mapping.names_arms and not is_unblinded(session, actor, study):
        raise refuse(
            actor,
            _blinded_column(mapping.arm, study),
            to=Action.IMPORT_KIT_LISTS.value,
            record=study,
        )
    if study.status is StudyStatus.CLOSED:
        raise InvalidInput(f"Study {study.protocol_number} is closed; it takes no new kits.")
    headed = headed_by(table, mapping.columns)
    rows = len(table.rows if isinstance(headed, RowError) else headed.rows)
    pace = Steps(2 * rows, progress, cancelled, stopped=KitListCancelled(IMPORT_CANCELLED))
    preview = _check_rows(session, study, product, table, mapping, names_arms=True, pace=pace)
    if preview.errors:
        raise KitListRejected(_rejection(preview.errors))
    attribute_changes(session, actor, reason=f"kit list imported from {table.source}")
    arms: dict[str, Arm] = {arm.code: arm for arm in study.arms}
    lots: dict[str, Lot] = {}
    kits: list[Kit] = []
    drafts = preview.to_create
    for start in range(0, len(drafts), ROWS_PER_STEP):
        for draft in drafts[start : start + ROWS_PER_STEP]:
            lot = lots.get(draft.lot_number)
            if lot is None:
                lot = find_or_create_lot(session, product, draft.lot_number, draft.expiry)
                lots[draft.lot_number] = lot
            kit = Kit(
                study_id=study.id,
                product_id=product.id,
                lot_id=lot.id,
                kit_number=draft.kit_number,
                arm_id=arms[draft.arm_code].id if draft.arm_code else None,
            )
            session.add(kit)
            kits.append(kit)
        session.flush()  # the step's kits are written before it counts as done
        pace.reach(rows + len(kits))
    return kits
