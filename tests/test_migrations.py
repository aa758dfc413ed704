"""Migrations: the head matches the models; older databases upgrade with rows kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations.schema import head_revision, prepare_database, upgrade_to
from ids_app.models import metadata
from tests import databases
from tests.tampering import raw_sql

FIRST_REVISION = "0001"


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Database]:
    db, name = databases.empty_database(tmp_path)
    yield db
    databases.discard(db, name)


def test_empty_database_upgraded_to_head_matches_the_models(empty: Database) -> None:
    outcome = prepare_database(empty)
    assert (outcome.before, outcome.after) == (None, head_revision())
    with empty.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_database_at_first_revision_upgrades_with_rows_kept(empty: Database) -> None:
    upgrade_to(empty, FIRST_REVISION)
    with empty.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO app_user (id, username, full_name, role, password_hash, active, "
                "locked, failed_sign_ins, must_change_password, created_at, password_changed_at) "
                "VALUES (7, 'old', 'Old Timer', 'pharmacist', 'x', :yes, :no, 0, :no, :at, :at)"
            ),
            {"yes": True, "no": False, "at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)},
        )
    outcome = prepare_database(empty)
    assert (outcome.before, outcome.after) == (FIRST_REVISION, head_revision())
    with empty.engine.connect() as conn:
        assert conn.execute(text("SELECT full_name FROM app_user WHERE id = 7")).scalar() == (
            "Old Timer"
        )
    if not empty.is_sqlite:
        assert outcome.backup is None  # a server is backed up on the server
        return
    assert outcome.backup is not None
    with sqlite3.connect(outcome.backup) as backup:
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == (
            FIRST_REVISION,
        )
        assert backup.execute("SELECT username FROM app_user").fetchall() == [("old",)]


def test_database_from_a_newer_version_is_refused_unchanged(db: Database) -> None:
    raw_sql(db, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseProblem, match="newer version"):
        prepare_database(db)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "9999"


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(DatabaseProblem, match="did not make"):
        prepare_database(Database(sqlite_url(path)))


def test_non_database_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the records you are looking for\n" * 100)
    with pytest.raises(DatabaseProblem, match="not a database file"):
        prepare_database(Database(sqlite_url(path)))
    assert path.read_text().startswith("these are not")


def test_unreadable_path_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.sqlite"
    folder.mkdir()
    with pytest.raises(DatabaseProblem, match="Cannot open"):
        prepare_database(Database(sqlite_url(folder)))


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseProblem, match="does not exist"):
        Database(sqlite_url(tmp_path / "nowhere" / "ids.sqlite"))


@pytest.mark.parametrize("url", ["oracle://scott@db/ids", "mongodb://x/y", "not a url at all"])
def test_unknown_database_url_is_refused(url: str) -> None:
    with pytest.raises(DatabaseProblem, match=r"Unknown database type|not a database address"):
        Database(url)


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "ids.sqlite"))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
