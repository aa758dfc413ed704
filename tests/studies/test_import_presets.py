"""Import mappings saved per sponsor: saved, replaced, archived, offered to the sponsor's
next file only, audited, and never holding a study's treatment values."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.studies.import_presets import (
    PresetMapping,
    PresetRow,
    archive_import_preset,
    fitting_preset,
    import_presets,
    save_import_preset,
)
from ids_app.studies.models import Blinding, ImportKind, ImportPreset, Study
from ids_app.studies.services import create_study
from ids_app.studies.tables import DateOrder, guess_header, read_table
from ids_app.users.models import User
from tests.factories import Example, make_example

IWRS = PresetMapping(
    {"kit_number": "Kit #", "lot_number": "Batch", "expiry": "Use By", "arm": "Randomised To"},
    header_line=4,
    date_order=DateOrder.MONTH_FIRST,
)


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def _save(
    db: Database,
    actor: User,
    study_id: int,
    name: str = "Acme IWRS kit report",
    mapping: PresetMapping = IWRS,
    kind: ImportKind = ImportKind.KIT_LIST,
) -> int:
    with db.unit_of_work() as session:
        study = session.get_one(Study, study_id)
        return save_import_preset(session, actor, study, kind, name, mapping).id


def _presets(
    db: Database, actor: User, study_id: int, kind: ImportKind = ImportKind.KIT_LIST
) -> list[PresetRow]:
    with db.read_session() as session:
        return import_presets(session, actor, session.get_one(Study, study_id), kind)


def _other_study(db: Database, example: Example, sponsor: str) -> int:
    with db.unit_of_work() as session:
        return create_study(
            session,
            example.people.tech,
            protocol_number="XYZ-9",
            title="Another study",
            sponsor=sponsor,
            principal_investigator="Dr. Lee",
            blinding=Blinding.OPEN_LABEL,
        ).id


def test_a_saved_preset_maps_the_next_file_from_that_sponsor(
    db: Database, example: Example, tmp_path: Path
) -> None:
    _save(db, example.people.tech, example.study.id)
    next_study = _other_study(db, example, "ACME  pharma")  # the sponsor as typed elsewhere
    path = tmp_path / "kits.csv"
    path.write_text(
        "Acme IWRS\nKit report\n\nkit #,Batch,Use By,Randomised To\n1001,L1,05/31/2027,A\n",
        encoding="utf-8",
    )
    presets = _presets(db, example.people.tech, next_study)
    found = guess_header(read_table(path), lambda headers: fitting_preset(presets, headers))
    assert found is not None
    table, preset = found
    assert (table.header_line, preset.name, preset.saved_by) == (
        4,
        "Acme IWRS kit report",
        "Terry Tech",
    )
    assert preset.mapping == IWRS


def test_a_preset_from_another_sponsor_is_not_offered(db: Database, example: Example) -> None:
    _save(db, example.people.tech, example.study.id)
    other = _other_study(db, example, "Globex Biologics")
    assert _presets(db, example.people.tech, other) == []
    assert _presets(db, example.people.tech, example.study.id, ImportKind.PACKING_LIST) == []


def test_saving_under_the_same_name_replaces_the_preset_and_the_trail_keeps_the_old(
    db: Database, example: Example
) -> None:
    first = _save(db, example.people.tech, example.study.id)
    changed = PresetMapping({**IWRS.columns, "expiry": "Expiry"}, date_order=DateOrder.DAY_FIRST)
    again = _save(db, example.people.pharm, example.study.id, "ACME iwrs KIT report", changed)
    assert again == first
    (preset,) = _presets(db, example.people.tech, example.study.id)
    assert (preset.column("expiry"), preset.saved_by) == ("Expiry", "Jane Roe")
    assert preset.mapping.date_order is DateOrder.DAY_FIRST
    with db.read_session() as session:
        entries = session.scalars(
            select(AuditEntry).where(
                AuditEntry.table_name == "import_preset", AuditEntry.field == "columns"
            )
        ).all()
        assert [entry.reason for entry in entries] == ["kit list preset replaced"]
        assert '"expiry": "Use By"' in (entries[0].old_value or "")
        assert verify_database(session).intact


def test_a_preset_never_holds_treatment_values(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="A kit list has no field 'treatments'"):
        _save(
            db,
            example.people.unblinded,
            example.study.id,
            mapping=PresetMapping({**IWRS.columns, "treatments": "Arm A - ABC 10 mg=A"}),
        )
    _save(db, example.people.unblinded, example.study.id)
    with db.read_session() as session:
        stored = session.scalars(select(ImportPreset.columns)).one()
    assert "ABC 10 mg" not in stored
    assert "Placebo" not in stored


def test_a_pharmacist_archives_a_preset_and_it_is_no_longer_offered(
    db: Database, example: Example
) -> None:
    preset = _save(db, example.people.tech, example.study.id)
    with db.unit_of_work() as session:
        archive_import_preset(
            session, example.people.pharm, preset, "Acme moved to a new IWRS vendor"
        )
    assert _presets(db, example.people.tech, example.study.id) == []
    with db.read_session() as session:
        kept = session.get_one(ImportPreset, preset)
        assert (kept.archived_by_id, kept.name) == (example.people.pharm.id, "Acme IWRS kit report")
        assert verify_database(session).intact
    with pytest.raises(InvalidInput, match="was archived; save the mapping under another name"):
        _save(db, example.people.tech, example.study.id)


def test_a_technician_may_not_archive_a_preset(db: Database, example: Example) -> None:
    preset = _save(db, example.people.tech, example.study.id)
    with pytest.raises(PermissionDenied, match="Only a pharmacist or administrator may archive"):
        with db.unit_of_work() as session:
            archive_import_preset(session, example.people.tech, preset, "not used")
    assert len(_presets(db, example.people.tech, example.study.id)) == 1


def test_archiving_needs_a_reason(db: Database, example: Example) -> None:
    preset = _save(db, example.people.tech, example.study.id)
    with pytest.raises(InvalidInput, match="Say why the preset is archived"):
        with db.unit_of_work() as session:
            archive_import_preset(session, example.people.pharm, preset, "  ")


def test_a_monitor_may_neither_save_nor_read_presets(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied):
        _save(db, example.people.monitor, example.study.id)
    with pytest.raises(PermissionDenied):
        _presets(db, example.people.monitor, example.study.id)


@pytest.mark.parametrize(
    ("name", "mapping", "message"),
    [
        ("  ", IWRS, "Give the preset a name"),
        ("Depot", PresetMapping({"kit_number": "Kit", "lot_number": "Lot"}), "Choose the expiry"),
        ("Depot", PresetMapping({**IWRS.columns}, header_line=0), "counted from 1"),
    ],
)
def test_a_preset_without_its_name_or_needed_columns_is_refused(
    db: Database, example: Example, name: str, mapping: PresetMapping, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _save(db, example.people.tech, example.study.id, name, mapping)


def test_a_blinded_technicians_save_keeps_the_treatment_column_they_cannot_see(
    db: Database, example: Example
) -> None:
    _save(db, example.people.unblinded, example.study.id)
    without_arm = PresetMapping({k: v for k, v in IWRS.columns.items() if k != "arm"})
    _save(db, example.people.tech, example.study.id, mapping=without_arm)
    (preset,) = _presets(db, example.people.tech, example.study.id)
    assert preset.column("arm") == "Randomised To"
    _save(db, example.people.unblinded, example.study.id, mapping=without_arm)
    (preset,) = _presets(db, example.people.tech, example.study.id)
    assert preset.column("arm") is None  # the unblinded may take it out


def test_a_shipments_logger_layout_is_saved_for_the_sponsor_with_its_own_columns(
    db: Database, example: Example
) -> None:
    logger = PresetMapping({"time": "Date/Time", "temperature": "Probe °C"}, header_line=3)
    _save(db, example.people.tech, example.study.id, "Acme shipper", logger, ImportKind.LOGGER_FILE)
    (preset,) = _presets(db, example.people.tech, example.study.id, ImportKind.LOGGER_FILE)
    assert preset.fits(["Date / Time", "probe °c"]) is False
    assert preset.fits(["date/time", "Probe  °C", "Serial"]) is True
    with pytest.raises(InvalidInput, match="A logger file has no field 'kit_number'"):
        _save(
            db,
            example.people.tech,
            example.study.id,
            "Acme shipper",
            PresetMapping({**logger.columns, "kit_number": "Kit"}),
            ImportKind.LOGGER_FILE,
        )


def test_a_preset_reading_one_column_for_two_fields_is_refused(
    db: Database, example: Example
) -> None:
    same = PresetMapping({"time": "Probe (°C)", "temperature": "probe (°C)"})
    with pytest.raises(InvalidInput, match=r"'Probe \(°C\)' is chosen for two fields"):
        _save(db, example.people.tech, example.study.id, "Bad", same, ImportKind.LOGGER_FILE)
    assert _presets(db, example.people.tech, example.study.id, ImportKind.LOGGER_FILE) == []
