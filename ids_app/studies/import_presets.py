"""Import mappings saved per sponsor: the next file from the same export maps itself.

A sponsor's IWRS, depot or logger export keeps its layout from one study to the next, so
a mapping chosen once (which column holds what, the header row, how numeric dates are
written) is saved under the study's sponsor and offered first when a file of the same
kind is opened for any of that sponsor's studies. Saving again under the same name
updates the preset; the audit trail keeps every earlier value, so a preset has one
current version and a full history. A pharmacist or administrator archives a preset that
is wrong or out of use: it is no longer offered and is never deleted.

A preset never holds a treatment-to-arm mapping. The file's treatment values ("Arm A -
ABC 10 mg") are mapped to arm codes that belong to one study, not to the sponsor, and
they name arms: kept in a sponsor preset they would be offered on the sponsor's other
studies (with other arms) and shown to whoever opens the next file, blinded or not. The
mapping step asks for them again for each study, and only of unblinded staff
(:func:`ids_app.studies.kit_import.treatment_values`). The treatment *column* a preset
names is only a column name; a blinded user's import leaves it out.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ids_app.audit.trail import attribute_changes
from ids_app.db import utc_now
from ids_app.errors import InvalidInput, NotFound
from ids_app.studies.models import ImportKind, ImportPreset, Study
from ids_app.studies.services import is_unblinded
from ids_app.studies.tables import DateOrder
from ids_app.users.models import User
from ids_app.users.permissions import Action, require

# Each kind's fields: those a mapping needs, then those it may leave out.
REQUIRED_FIELDS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.KIT_LIST: ("kit_number", "lot_number", "expiry"),
    ImportKind.PACKING_LIST: ("lot_number", "expiry"),
    ImportKind.LOGGER_FILE: ("time", "temperature"),
}
OPTIONAL_FIELDS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.KIT_LIST: ("arm",),
    ImportKind.PACKING_LIST: ("kit_number", "quantity"),
    ImportKind.LOGGER_FILE: ("date", "device_id"),
}
# Who opens the file: reading a kind's presets needs the right to import that kind.
IMPORTED_BY: dict[ImportKind, Action] = {
    ImportKind.KIT_LIST: Action.IMPORT_KIT_LISTS,
    ImportKind.PACKING_LIST: Action.RECEIVE,
    ImportKind.LOGGER_FILE: Action.ATTACH_TRANSIT_LOG,
}
NAME_LENGTH = 80


@dataclass(frozen=True)
class PresetMapping:
    """A mapping as the import dialogs choose it: field to the file's column name."""

    columns: Mapping[str, str]
    header_line: int | None = None
    date_order: DateOrder | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class PresetRow:
    """A saved preset as the import dialogs offer it."""

    id: int
    kind: ImportKind
    sponsor: str
    name: str
    mapping: PresetMapping
    saved_by: str
    saved_at: dt.datetime

    def column(self, field: str) -> str | None:
        return self.mapping.columns.get(field)

    def fits(self, headers: list[str]) -> bool:
        """Whether a header row holds every column the preset reads (case, spaces and
        underscores aside, as the built-in presets are recognised)."""
        keys = {header_key(name) for name in headers}
        return all(header_key(column) in keys for column in self.mapping.columns.values())


def header_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().casefold()


def spelled_as_in(headers: list[str], column: str | None) -> str | None:
    """``column`` as the file spells it, or None when the file lacks it."""
    if column is None:
        return None
    by_key = {header_key(name): name for name in headers}
    return by_key.get(header_key(column))


def fitting_preset(presets: list[PresetRow], headers: list[str]) -> PresetRow | None:
    """The first preset (newest first) whose columns the header row holds."""
    return next((preset for preset in presets if preset.fits(headers)), None)


def _sponsor(study: Study) -> str:
    return " ".join(study.sponsor.split())


def _of_sponsor(sponsor: str) -> ColumnElement[bool]:
    return func.lower(ImportPreset.sponsor) == sponsor.casefold()


def _checked(kind: ImportKind, name: str, mapping: PresetMapping) -> tuple[str, str]:
    """The preset's name and its columns as stored, or the first thing wrong with them."""
    shown = " ".join(name.split())
    if not shown:
        raise InvalidInput("Give the preset a name, e.g. the sponsor's export it reads.")
    if len(shown) > NAME_LENGTH:
        raise InvalidInput(f"A preset's name is at most {NAME_LENGTH} characters.")
    required, optional = REQUIRED_FIELDS[kind], OPTIONAL_FIELDS[kind]
    unknown = sorted(set(mapping.columns) - set(required) - set(optional))
    if unknown:
        raise InvalidInput(f"A {kind.value} has no field '{unknown[0]}'.")
    columns = {field: column.strip() for field, column in mapping.columns.items()}
    missing = [field.replace("_", " ") for field in required if not columns.get(field)]
    if missing:
        raise InvalidInput(
            f"Choose the {', '.join(missing)} column{'s' if len(missing) > 1 else ''} "
            "before saving the mapping as a preset."
        )
    chosen = [column.casefold() for column in columns.values() if column]
    twice = next(
        (column for column in columns.values() if chosen.count(column.casefold()) > 1), None
    )
    if twice:
        raise InvalidInput(
            f"The column '{twice}' is chosen for two fields; each field reads its own column."
        )
    if mapping.header_line is not None and mapping.header_line < 1:
        raise InvalidInput("The header row is a row of the file, counted from 1.")
    stored = {field: column for field, column in columns.items() if column}
    return shown, json.dumps(stored, ensure_ascii=False, sort_keys=True)


def save_import_preset(
    session: Session,
    actor: User,
    study: Study,
    kind: ImportKind,
    name: str,
    mapping: PresetMapping,
) -> ImportPreset:
    """Save ``mapping`` for the next files of ``kind`` from the study's sponsor.

    A preset of the same name (any case) is updated, not duplicated; an archived one is
    not brought back by a save, since someone decided it was wrong: the name is refused.
    """
    require(session, actor, Action.SAVE_IMPORT_PRESETS, study=study)
    shown, columns = _checked(kind, name, mapping)
    sponsor = _sponsor(study)
    if not sponsor:
        raise InvalidInput(f"Study {study.protocol_number} names no sponsor to save it for.")
    existing = session.scalar(
        select(ImportPreset).where(
            ImportPreset.kind == kind,
            _of_sponsor(sponsor),
            func.lower(ImportPreset.name) == shown.casefold(),
        )
    )
    if existing is not None and existing.archived_at is not None:
        raise InvalidInput(
            f"{existing.sponsor}'s {kind.value} preset '{existing.name}' was archived; "
            "save the mapping under another name."
        )
    columns = _keep_unseen_arm(session, actor, study, existing, columns)
    values = {
        "columns": columns,
        "header_line": mapping.header_line,
        "date_order": mapping.date_order.value if mapping.date_order else None,
        "date_format": (mapping.date_format or "").strip() or None,
    }
    if existing is None:
        attribute_changes(session, actor, reason=f"{kind.value} mapping saved as a preset")
        preset = ImportPreset(
            kind=kind, sponsor=sponsor, name=shown, saved_by_id=actor.id, **values
        )
        session.add(preset)
    else:
        attribute_changes(session, actor, reason=f"{kind.value} preset replaced")
        preset = existing
        for field, value in values.items():
            setattr(preset, field, value)
        preset.saved_by_id = actor.id
        preset.saved_at = utc_now()
    session.flush()
    return preset


def _keep_unseen_arm(
    session: Session, actor: User, study: Study, existing: ImportPreset | None, columns: str
) -> str:
    """A blinded user never sees or chooses the treatment column, so their save keeps the
    one the preset had: replacing it without would import the next list with no arms."""
    if existing is None or existing.kind is not ImportKind.KIT_LIST:
        return columns
    if is_unblinded(session, actor, study):
        return columns
    kept = json.loads(existing.columns).get("arm")
    chosen = json.loads(columns)
    if kept is None or "arm" in chosen:
        return columns
    return json.dumps({**chosen, "arm": kept}, ensure_ascii=False, sort_keys=True)


def archive_import_preset(session: Session, actor: User, preset_id: int, reason: str) -> None:
    """Stop offering a preset; it stays on record with who archived it, when and why."""
    require(session, actor, Action.ARCHIVE_IMPORT_PRESETS)
    why = reason.strip()
    if not why:
        raise InvalidInput("Say why the preset is archived.")
    preset = session.get(ImportPreset, preset_id)
    if preset is None:
        raise NotFound("That import preset does not exist.")
    if preset.archived_at is not None:
        raise InvalidInput(f"Preset '{preset.name}' is already archived.")
    attribute_changes(session, actor, reason=why)
    preset.archived_by_id = actor.id
    preset.archived_at = utc_now()
    session.flush()


def import_presets(
    session: Session, actor: User, study: Study, kind: ImportKind
) -> list[PresetRow]:
    """The study's sponsor's presets for ``kind`` that are in use, newest first."""
    require(session, actor, IMPORTED_BY[kind], study=study)
    rows = session.execute(
        select(ImportPreset, User.full_name)
        .join(User, User.id == ImportPreset.saved_by_id)
        .where(
            ImportPreset.kind == kind,
            _of_sponsor(_sponsor(study)),
            ImportPreset.archived_at.is_(None),
        )
        .order_by(ImportPreset.saved_at.desc(), ImportPreset.id.desc())
    ).all()
    return [
        PresetRow(
            id=preset.id,
            kind=preset.kind,
            sponsor=preset.sponsor,
            name=preset.name,
            mapping=PresetMapping(
                columns=json.loads(preset.columns),
                header_line=preset.header_line,
                date_order=DateOrder(preset.date_order) if preset.date_order else None,
                date_format=preset.date_format,
            ),
            saved_by=saved_by,
            saved_at=preset.saved_at,
        )
        for preset, saved_by in rows
    ]
