"""On a server, the workstations' role records temperatures and quarantines an excursion's
stock, but cannot rewrite a reading."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from ids_app.cli import main
from ids_app.db import Database
from ids_app.inventory.models import StockState
from tests import databases
from tests.factories import make_example
from tests.storage.support import add_fridge_study, import_log, states, write_log
from tests.tampering import raw_sql

pytestmark = pytest.mark.skipif(
    not databases.ON_POSTGRES,
    reason="database roles exist on a PostgreSQL server; this runs in the PostgreSQL pass",
)


@pytest.fixture
def app_database() -> Iterator[Database]:
    """A database migrated by an owner role, used through the app's role with its grants."""
    server = databases.ServerDatabases(databases.SERVER)
    suffix = f"{os.getpid()}_storage"
    owner, app, name = f"ids_owner_{suffix}", f"ids_app_{suffix}", f"ids_roles_{suffix}"
    for role in (owner, app):
        server._execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} LOGIN; END IF; END $$"
        )
    server._execute(f"CREATE DATABASE {name} OWNER {owner}")
    owner_url = server.url(name).set(username=owner).render_as_string(hide_password=False)
    assert main(["migrate", "--database", owner_url]) == 0
    assert main(["grants", "--app-role", app, "--apply", "--database", owner_url]) == 0
    db = Database(server.url(name).set(username=app))
    yield db
    db.dispose()
    server.drop(name)


def test_app_role_records_an_excursion_but_cannot_rewrite_a_reading(
    app_database: Database, tmp_path: Path
) -> None:
    example = make_example(app_database)
    fridge = add_fridge_study(app_database, example)
    path = write_log(tmp_path, "fridge.csv", [(0, 5.0), (10, 12.0), (60, 5.0)])
    (excursion,) = import_log(app_database, example.people.tech, example.fridge, path).excursions
    assert states(app_database, fridge.study.id) == {
        (StockState.QUARANTINED, example.fridge.id): 10
    }
    for forgery in (
        "UPDATE temperature_reading SET temperature_c = 5",
        "DELETE FROM temperature_reading",
        "UPDATE temperature_log_file SET sha256 = 'x'",
        f"DELETE FROM excursion WHERE id = {excursion.id}",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied"):
            raw_sql(app_database, forgery)
