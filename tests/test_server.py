"""A database server that goes away: one clear sentence, and nothing half-written."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select, text

from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations.schema import prepare_database
from ids_app.studies.models import Blinding, Study
from ids_app.studies.services import create_study
from tests.factories import make_people


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_one_sentence() -> None:
    db = Database(f"postgresql+psycopg://ids@127.0.0.1:{_free_port()}/ids")
    with pytest.raises(DatabaseProblem, match="Cannot reach the database") as refused:
        prepare_database(db)
    assert len(str(refused.value).splitlines()) == 1


def test_a_connection_dropped_mid_action_saves_nothing(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("a SQLite file has no connection to lose; this runs in the PostgreSQL pass")
    people = make_people(db)
    with pytest.raises(DatabaseProblem, match="Lost the connection"), db.unit_of_work() as session:
        create_study(
            session,
            people.tech,
            protocol_number="LOST-1",
            title="t",
            sponsor="s",
            principal_investigator="p",
            blinding=Blinding.OPEN_LABEL,
        )
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.engine.connect() as other:  # the network drops, or the server is restarted
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            other.commit()
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Study)) == 0
