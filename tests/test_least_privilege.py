"""On a server, the workstations' role may read and add records but never rewrite the record."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import DBAPIError

from ids_app.cli import main
from ids_app.db import Database
from tests import databases
from tests.factories import make_example, receive_kits
from tests.inventory.test_dispensing import dispense_kit
from tests.tampering import raw_sql

pytestmark = pytest.mark.skipif(
    not databases.ON_POSTGRES,
    reason="database roles exist on a PostgreSQL server; this runs in the PostgreSQL pass",
)


@pytest.fixture
def app_database() -> Iterator[Database]:
    """A database owned and migrated by an owner role, used through a separate app role."""
    server = databases.ServerDatabases(databases.SERVER)
    suffix = os.getpid()
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


def test_app_role_works_the_ledger_but_cannot_rewrite_it(app_database: Database) -> None:
    example = make_example(app_database)
    receive_kits(app_database, example, range(1001, 1011))
    dispense_kit(app_database, example, "1007")
    for forgery in (
        "UPDATE ledger_entry SET quantity = 2",
        "DELETE FROM ledger_entry",
        "UPDATE audit_entry SET username = 'nobody'",
        "DELETE FROM audit_entry",
        "UPDATE signature SET meaning = 'approved'",
        "DROP TRIGGER ledger_entry_append_only ON ledger_entry",
    ):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
            raw_sql(app_database, forgery)
