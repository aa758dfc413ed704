"""`ids-app copy`: a workstation's records moved whole into an empty database, and checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.audit.integrity import verify_database
from ids_app.audit.models import AuditEntry
from ids_app.audit.verification import verify_chain
from ids_app.cli import main
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import LedgerEntry
from ids_app.migrations.copy import copy_database
from ids_app.studies.models import Blinding, Study
from ids_app.studies.services import create_study
from ids_app.users.services import sign_in
from tests import databases
from tests.factories import make_example, receive_kits


@pytest.fixture(scope="module")
def workstation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workstation's SQLite file with the demo's months of history."""
    path = tmp_path_factory.mktemp("workstation") / "ids.sqlite"
    assert main(["demo", "--database", sqlite_url(path)]) == 0
    return path


@pytest.fixture
def empty_target(tmp_path: Path) -> Iterator[Database]:
    db, name = databases.empty_database(tmp_path)
    yield db
    databases.discard(db, name)


def test_copy_moves_every_record_and_the_chain_verifies(
    workstation: Path, empty_target: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    url = empty_target.url.render_as_string(hide_password=False)
    assert main(["copy", "--from", sqlite_url(workstation), "--to", url]) == 0
    assert "match the source" in capsys.readouterr().out
    source = Database(sqlite_url(workstation))
    with source.read_session() as there, empty_target.read_session() as here:
        for study_id in there.scalars(select(Study.id)):
            assert study_balances(here, study_id) == study_balances(there, study_id)
        assert here.scalar(select(func.count()).select_from(LedgerEntry)) == there.scalar(
            select(func.count()).select_from(LedgerEntry)
        )
        assert verify_chain(here).intact
        report = verify_database(here)
        assert report.intact, [finding.line() for finding in report.findings]
        copied_in = here.scalars(select(AuditEntry).where(AuditEntry.action == "copied_in")).one()
        assert "match the source" in (copied_in.new_value or "")


def test_work_goes_on_in_the_copy(workstation: Path, empty_target: Database) -> None:
    copy_database(Database(sqlite_url(workstation)), empty_target)
    with empty_target.read_session() as session:
        last_study = session.scalar(select(func.max(Study.id))) or 0
    with empty_target.unit_of_work() as session:
        tech = sign_in(session, "tech", "demo-tech")
        study = create_study(
            session,
            tech,
            protocol_number="NEW-1",
            title="After the move",
            sponsor="Acme",
            principal_investigator="Dr. New",
            blinding=Blinding.OPEN_LABEL,
        )
    assert study.id > last_study  # the server's ids continue after the copied ones
    with empty_target.read_session() as session:
        assert verify_chain(session).intact


def test_copy_refuses_a_target_that_has_records(db: Database, tmp_path: Path) -> None:
    example = make_example(db)
    receive_kits(db, example, range(1001, 1003))
    source = Database(sqlite_url(tmp_path / "other.sqlite"))
    from ids_app.migrations.schema import prepare_database

    prepare_database(source)
    with pytest.raises(DatabaseProblem, match="already holds records"):
        copy_database(source, db)
