"""A daily reading typed wrongly is corrected by a reading that names it: the wrong one stays
on record, stops counting, and the corrected values are judged again."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.models import StockState
from ids_app.storage.models import Excursion, ExcursionEvidence, TemperatureReading, in_force
from ids_app.storage.queries import locations_out_of_range_now
from ids_app.storage.readings import ReadingOutcome, correct_daily_reading
from ids_app.users.models import User
from tests.factories import Example, make_example
from tests.storage.support import add_fridge_study, at, import_log, later, record, states, write_log


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def correct(
    db: Database,
    actor: User,
    reading_id: int,
    current: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    reason: str = "typed 58 for 5.8: the thermometer showed 5.8",
) -> ReadingOutcome:
    with later(), db.unit_of_work() as session:
        return correct_daily_reading(
            session,
            actor,
            session.get_one(TemperatureReading, reading_id),
            current=current,
            minimum=minimum,
            maximum=maximum,
            reason=reason,
        )


def counted(db: Database) -> list[tuple[float, int | None]]:
    with db.read_session() as session:
        return [
            (reading.temperature_c, reading.corrects_id)
            for reading in session.scalars(
                select(TemperatureReading).where(in_force()).order_by(TemperatureReading.id)
            )
        ]


def test_a_corrected_reading_stays_on_record_and_the_correction_names_it(
    db: Database, example: Example
) -> None:
    wrong = record(
        db, example.people.tech, example.fridge, 5.0, minimum=3.0, maximum=5.8, minutes=0
    )
    outcome = correct(db, example.people.pharm, wrong.reading.id, 5.0, minimum=3.0, maximum=5.6)
    assert outcome.excursions == []
    with db.read_session() as session:
        readings = session.scalars(select(TemperatureReading).order_by(TemperatureReading.id)).all()
        reasons = session.scalars(
            select(AuditEntry.reason).where(AuditEntry.table_name == "temperature_reading")
        ).all()
        report = verify_database(session)
    assert [(r.max_c, r.corrects_id) for r in readings] == [(5.8, None), (5.6, wrong.reading.id)]
    correction = readings[1]
    assert correction.taken_at == at(0)
    assert correction.note == (
        "Corrects the reading entered as 5 °C (min 3 °C, max 5.8 °C): typed 58 for 5.8: "
        "the thermometer showed 5.8"
    )
    assert "temperature reading corrected: typed 58 for 5.8: the thermometer showed 5.8" in (
        reasons
    )
    assert counted(db) == [(5.0, wrong.reading.id)]
    assert report.intact, [finding.line() for finding in report.findings]


def test_a_corrected_value_out_of_range_is_judged_again_and_opens_its_excursion(
    db: Database, example: Example
) -> None:
    fridge = add_fridge_study(db, example)
    tech = example.people.tech
    record(db, tech, example.fridge, 5.0, minimum=3.0, maximum=6.0, minutes=0)
    typed = record(db, tech, example.fridge, 5.1, minimum=3.2, maximum=6.4, minutes=24 * 60)
    assert typed.excursions == []
    outcome = correct(
        db, tech, typed.reading.id, 5.1, minimum=3.2, maximum=9.4, reason="max was 9.4, not 6.4"
    )
    (excursion,) = outcome.excursions
    assert excursion.evidence is ExcursionEvidence.MIN_MAX
    assert (excursion.max_c, excursion.started_at, excursion.ended_at) == (9.4, at(0), at(24 * 60))
    assert states(db, fridge.study.id) == {(StockState.QUARANTINED, example.fridge.id): 10}


def test_a_wrong_reading_out_of_range_no_longer_alerts_once_corrected_and_its_excursion_stays(
    db: Database, example: Example
) -> None:
    add_fridge_study(db, example)
    tech = example.people.tech
    wrong = record(db, tech, example.fridge, 5.0, minimum=3.0, maximum=58.0, minutes=0)
    assert len(wrong.excursions) == 1
    with later(), db.read_session() as session:
        assert [loc.name for loc, _ in locations_out_of_range_now(session)] == []
    correct(db, example.people.pharm, wrong.reading.id, 5.0, minimum=3.0, maximum=5.8)
    with db.read_session() as session:
        # The excursion the wrong reading opened is decided on as any other.
        assert len(session.scalars(select(Excursion)).all()) == 1


def test_the_latest_reading_out_of_range_alert_reads_the_correction(
    db: Database, example: Example
) -> None:
    tech = example.people.tech
    wrong = record(db, tech, example.fridge, 48.0, minutes=0)
    with later(), db.read_session() as session:
        assert [loc.name for loc, _ in locations_out_of_range_now(session)] == ["IDS Fridge 1"]
    correct(db, tech, wrong.reading.id, 4.8, reason="typed 48 for 4.8")
    with later(), db.read_session() as session:
        assert locations_out_of_range_now(session) == []


def test_a_correction_needs_a_reason_and_cannot_be_corrected_twice(
    db: Database, example: Example
) -> None:
    wrong = record(db, example.people.tech, example.fridge, 5.0, minutes=0)
    with pytest.raises(InvalidInput, match="Say why"):
        correct(db, example.people.tech, wrong.reading.id, 4.0, reason="  ")
    first = correct(db, example.people.tech, wrong.reading.id, 4.0)
    with pytest.raises(InvalidInput, match="already corrected"):
        correct(db, example.people.tech, wrong.reading.id, 4.5)
    with pytest.raises(InvalidInput, match="minimum is above"):
        correct(db, example.people.tech, first.reading.id, 4.0, minimum=6.0)
    assert counted(db) == [(4.0, wrong.reading.id)]
    # The latest correction can itself be corrected; only the newest counts.
    second = correct(db, example.people.tech, first.reading.id, 4.2)
    assert counted(db) == [(4.2, first.reading.id)]
    assert second.reading.taken_at == wrong.reading.taken_at


def test_a_monitor_cannot_correct_a_reading(db: Database, example: Example) -> None:
    wrong = record(db, example.people.tech, example.fridge, 5.0, minutes=0)
    with pytest.raises(PermissionDenied):
        correct(db, example.people.monitor, wrong.reading.id, 4.0)


def test_a_loggers_reading_is_not_corrected_by_hand(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = write_log(tmp_path, "fridge.csv", [(0, 5.0), (15, 5.1)])
    import_log(db, example.people.tech, example.fridge, path)
    with db.read_session() as session:
        first = session.scalars(select(TemperatureReading.id)).first()
    assert first is not None
    with pytest.raises(InvalidInput, match="logger's readings"):
        correct(db, example.people.tech, first, 4.0)
