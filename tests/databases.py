"""Fresh, migrated databases for tests: SQLite files, or databases on a PostgreSQL server.

``IDS_TEST_DATABASE`` chooses: unset or ``sqlite`` for SQLite files; a PostgreSQL URL
(``postgresql+psycopg://postgres@127.0.0.1:55432/postgres``, as ``scripts/test`` starts
one) for the same tests against a real server. Each test gets its own database, copied
from one migrated template (a file copy, or ``CREATE DATABASE … TEMPLATE``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import make_url
from sqlalchemy.engine import URL

from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.migrations.schema import prepare_database

SERVER = os.environ.get("IDS_TEST_DATABASE", "sqlite")
ON_POSTGRES = SERVER.startswith("postgresql")


def _admin_conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ServerDatabases:
    """Creates and drops databases on the test server."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        self.prefix = f"ids_test_{os.getpid()}"

    def _execute(self, sql: str) -> None:
        with psycopg.connect(_admin_conninfo(self.server), autocommit=True) as conn:
            conn.execute(sql)

    def url(self, name: str) -> URL:
        return self.server.set(database=name)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        clause = f" TEMPLATE {template}" if template else ""
        self._execute(f"CREATE DATABASE {name}{clause}")
        return name

    def drop(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrated_template(folder: Path) -> str:
    """A migrated, empty database to copy: a file path or a server database name."""
    if ON_POSTGRES:
        server = ServerDatabases(SERVER)
        name = server.create()
        db = Database(server.url(name))
        prepare_database(db)
        db.dispose()
        return name
    path = folder / "template.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    db.dispose()
    return str(path)


def fresh_database(template: str, folder: Path) -> tuple[Database, str]:
    """A new database copied from ``template``; returns it and what to drop afterwards."""
    if ON_POSTGRES:
        server = ServerDatabases(SERVER)
        name = server.create(template=template)
        return Database(server.url(name)), name
    path = folder / "ids.sqlite"
    shutil.copyfile(template, path)
    return Database(sqlite_url(path)), str(path)


def discard(database: Database, name: str) -> None:
    database.dispose()
    if ON_POSTGRES:
        ServerDatabases(SERVER).drop(name)


def empty_database(folder: Path) -> tuple[Database, str]:
    """A database with no schema at all (for migration tests)."""
    if ON_POSTGRES:
        server = ServerDatabases(SERVER)
        name = server.create()
        return Database(server.url(name)), name
    path = folder / "empty.sqlite"
    return Database(sqlite_url(path)), str(path)
