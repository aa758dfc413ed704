"""A generated benchmark study carries the trail and signatures the services would write,
so what the benchmarks print and verify is a real study's record."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bench.generate import generate
from bench.run import _people
from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.migrations.schema import prepare_database
from ids_app.users.models import Signature, SignatureMeaning
from ids_app.users.passwords import set_hashing_cost


def test_a_generated_study_passes_verify_with_its_trail_and_signatures(tmp_path: Path) -> None:
    set_hashing_cost(time_cost=1, memory_cost_kib=8)
    db = Database(sqlite_url(tmp_path / "generated.sqlite"))
    prepare_database(db)
    tech, pharm = _people(db)
    made = generate(
        db, studies=1, rows_per_study=300, user_id=tech.id, verifier_id=pharm.id, trail=True
    )
    with db.read_session() as session:
        report = verify_database(session)
        meanings = dict(
            session.execute(
                select(Signature.meaning, func.count()).group_by(Signature.meaning)
            ).all()
        )
        study_entries = session.scalar(
            select(func.count()).where(AuditEntry.study_id == made.studies[0].study_id)
        )
    db.dispose()
    assert report.intact, report.findings[:5]
    assert meanings[SignatureMeaning.PREPARED] == meanings[SignatureMeaning.VERIFIED] > 0
    assert report.signatures_checked == 2 * meanings[SignatureMeaning.PREPARED]
    assert study_entries is not None
    assert study_entries > made.ledger_rows
