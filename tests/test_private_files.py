"""The record's files are owner-only on a shared workstation, whatever the umask: the
data folder, the database and its WAL/SHM, backups, the pre-upgrade copy, the error log;
an install left readable by others is tightened when the app opens it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ids_app.config import data_dir, sqlite_url
from ids_app.db import Database, backup_database
from ids_app.migrations.schema import prepare_database

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def careless_umask() -> Iterator[None]:
    """A workstation whose umask lets everyone read what is created (0644, 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_data_folder_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDS_DATA_DIR", str(tmp_path / "fresh" / "ids"))
    assert mode(data_dir()) == 0o700


def test_an_existing_open_data_folder_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ids"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.setenv("IDS_DATA_DIR", str(folder))
    assert mode(data_dir()) == 0o700


def test_a_new_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "ids.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (n INTEGER)"))
        conn.execute(text("INSERT INTO scratch VALUES (1)"))
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(companion.exists() for companion in companions)
        assert [mode(p) for p in [path, *companions]] == [0o600, 0o600, 0o600]
    db.dispose()


def test_an_existing_readable_database_is_tightened_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ids.sqlite"
    prepare_database(Database(sqlite_url(path)))
    path.chmod(0o644)
    Database(sqlite_url(path)).dispose()
    assert mode(path) == 0o600


def test_verifying_leaves_a_readable_file_as_it_was(tmp_path: Path) -> None:
    """Looking never changes a file, not even its permissions (``ids-app verify``)."""
    path = tmp_path / "ids.sqlite"
    prepare_database(Database(sqlite_url(path)))
    path.chmod(0o644)
    Database(sqlite_url(path), read_only=True).dispose()
    assert mode(path) == 0o644


def test_a_backup_is_owner_only(tmp_path: Path) -> None:
    """The copy made before an upgrade is made the same way (backup_database)."""
    db = Database(sqlite_url(tmp_path / "ids.sqlite"))
    prepare_database(db)
    backup = backup_database(db, tmp_path / "backup.sqlite")
    assert mode(backup) == 0o600


def test_the_error_log_is_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ids_app.ui.guard import log_unexpected

    monkeypatch.setenv("IDS_DATA_DIR", str(tmp_path / "data"))
    try:
        raise RuntimeError("a record's details")
    except RuntimeError as error:
        path = log_unexpected(error, "testing")
    assert mode(path) == 0o600
