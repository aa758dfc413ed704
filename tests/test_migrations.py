"""Migrations: the head matches the models; older databases upgrade with rows kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, text, update

from ids_app.audit.models import GENESIS_HASH, AuditChainHead, AuditEntry
from ids_app.audit.verification import verify_chain
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations import schema
from ids_app.migrations.schema import head_revision, known_head, prepare_database, upgrade_to
from ids_app.models import metadata
from tests import databases
from tests.audit.test_study_entries import OLD_ENTRY, pre_0006_hash
from tests.factories import make_example
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


def test_current_database_is_left_as_it_is(db: Database) -> None:
    head = head_revision()
    outcome = prepare_database(db, allow_upgrade=False)
    assert (outcome.before, outcome.after, outcome.backup) == (head, head, None)
    assert outcome.summary() == f"Database schema {head} is current."


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


def test_head_read_from_the_migration_files_is_alembics_head() -> None:
    # Start-up trusts it to skip Alembic on a current database: a wrong one would skip an upgrade.
    assert known_head() == head_revision()


PLAIN = 'revision: str = "{rev}"\ndown_revision: str | None = {down}\n'


@pytest.mark.parametrize(
    ("files", "head"),
    [
        (
            {
                "a.py": PLAIN.format(rev="0001", down=None),
                "b.py": PLAIN.format(rev="0002", down='"0001"'),
            },
            "0002",
        ),
        (
            {
                "a.py": PLAIN.format(rev="0001", down=None),
                "b.py": PLAIN.format(rev="0002", down=None),
            },
            None,
        ),
        (
            {
                "a.py": PLAIN.format(rev="0001", down=None),
                "b.py": PLAIN.format(rev="0002", down='"0001"'),
                "c.py": PLAIN.format(rev="0003", down='"0001"'),
                "d.py": PLAIN.format(rev="0004", down='("0002", "0003")'),
            },
            None,
        ),
        ({"a.py": PLAIN.format(rev="0001", down=None), "b.py": "revision = make_id()\n"}, None),
    ],
    ids=["one line", "two heads", "a merge", "a revision not written plainly"],
)
def test_migration_files_not_in_one_plain_line_leave_the_head_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], head: str | None
) -> None:
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    monkeypatch.setattr(schema, "VERSIONS", tmp_path)
    assert known_head() == head


def test_upgrade_from_0005_names_studies_and_older_entries_still_verify(empty: Database) -> None:
    upgrade_to(empty, "0005")
    prev, rows = GENESIS_HASH, []
    for entry_id in (1, 2, 3):  # written by 0005's code: no study, hashed without one
        row = {**OLD_ENTRY, "id": entry_id, "user_id": None, "prev_hash": prev}
        row["hash"] = prev = pre_0006_hash(prev, row)
        rows.append(row)
    with empty.engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__), rows)
        conn.execute(update(AuditChainHead).values(last_id=3, last_hash=prev))

    prepare_database(empty)
    with empty.engine.connect() as conn:
        columns = {column["name"]: column for column in inspect(conn).get_columns("audit_entry")}
        indexes = {index["name"] for index in inspect(conn).get_indexes("audit_entry")}
        assert columns["study_id"]["nullable"]
        assert (
            conn.execute(text("SELECT COUNT(*) FROM audit_entry WHERE study_id IS NULL")).scalar()
            == 3
        )
    assert {"ix_audit_entry_study_id", "ix_audit_entry_study_username"} <= indexes
    with empty.read_session() as session:
        report = verify_chain(session)
    assert report.intact, report.summary()
    assert report.entries_checked == 3

    example = make_example(empty)  # the chain goes on, now naming studies
    with empty.read_session() as session:
        report = verify_chain(session)
        named = session.scalar(
            text("SELECT COUNT(*) FROM audit_entry WHERE study_id = :sid"),
            {"sid": example.study.id},
        )
    assert report.intact, report.summary()
    assert report.entries_checked > 3
    assert named


def test_upgrade_from_0006_keeps_studies_with_no_irb_approval_recorded(empty: Database) -> None:
    upgrade_to(empty, "0006")
    with empty.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO study (id, protocol_number, title, sponsor, principal_investigator, "
                "status, blinding, created_at) VALUES (4, 'OLD-1', 'An older study', 'Acme', "
                "'Dr. P', 'open', 'open-label', :at)"
            ),
            {"at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)},
        )
    prepare_database(empty)
    with empty.engine.connect() as conn:
        columns = {column["name"]: column for column in inspect(conn).get_columns("study")}
        kept = conn.execute(
            text(
                "SELECT protocol_number, irb_approved_on, irb_expires_on, protocol_version "
                "FROM study WHERE id = 4"
            )
        ).one()
    assert all(columns[name]["nullable"] for name in ("irb_approved_on", "irb_expires_on"))
    assert tuple(kept) == ("OLD-1", None, None, None)
