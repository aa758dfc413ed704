"""Shared fixtures: a real database per test (SQLite, or PostgreSQL when
IDS_TEST_DATABASE names a server), copied from one migrated template."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ids_app.db import Database
from ids_app.users.models import Role, User
from ids_app.users.passwords import set_hashing_cost
from ids_app.users.services import (
    add_user,
    change_password,
    create_first_administrator,
    sign_in,
)
from tests import databases

# argon2 at full cost takes ~100 ms a hash; the suite hashes hundreds of passwords.
set_hashing_cost(time_cost=1, memory_cost_kib=8)

# Tests never assert on time: hypothesis's default 200 ms deadline per example would fail a
# property at random on a loaded machine (the two passes run side by side in CI).
settings.register_profile("ids", deadline=None)
settings.load_profile("ids")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    template = databases.migrated_template(tmp_path_factory.mktemp("template"))
    yield template
    if databases.ON_POSTGRES:
        databases.ServerDatabases(databases.SERVER).drop(template)


@pytest.fixture
def db(migrated_template: str, tmp_path: Path) -> Iterator[Database]:
    database, name = databases.fresh_database(migrated_template, tmp_path)
    yield database
    databases.discard(database, name)


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Beside the test's own folder, not in it: tests that check a refused command left
    # nothing in tmp_path must not meet the data folder (a server's anchor log lives there).
    monkeypatch.setenv("IDS_DATA_DIR", str(tmp_path.with_name(tmp_path.name + "-data")))
    monkeypatch.delenv("IDS_DATABASE_URL", raising=False)


ADMIN_PASSWORD = "admin-pass-1"
USER_PASSWORD = "user-pass-1"


@pytest.fixture
def admin(db: Database) -> User:
    with db.unit_of_work() as session:
        return create_first_administrator(session, "admin", "Alex Admin", ADMIN_PASSWORD)


@pytest.fixture
def make_user(db: Database, admin: User) -> Callable[..., User]:
    """A user who has already changed their temporary password to USER_PASSWORD."""

    def make(username: str, role: Role, full_name: str | None = None) -> User:
        with db.unit_of_work() as session:
            add_user(session, admin, username, full_name or username.title(), role, "temporary-1")
        with db.unit_of_work() as session:
            user = sign_in(session, username, "temporary-1")
            return change_password(session, user, "temporary-1", USER_PASSWORD)

    return make
