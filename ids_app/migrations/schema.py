"""Bringing a database to this version's schema, safely.

At start: a new database is created at the head revision; an older one is copied beside
itself and then upgraded; one made by a newer version, or not made by this app, is
refused with a sentence that says what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Database, backup_database
from ids_app.errors import DatabaseProblem

MIGRATIONS = Path(__file__).resolve().parent


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _known_revisions() -> set[str]:
    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class SchemaOutcome:
    """What start-up did to the schema, for a line in the log or the console."""

    before: str | None
    after: str
    backup: Path | None

    def summary(self) -> str:
        if self.before is None:
            return f"Created a new database at schema {self.after}."
        if self.before == self.after:
            return f"Database schema {self.after} is current."
        saved = f"; the old file was kept as {self.backup}" if self.backup else ""
        return f"Upgraded the database from schema {self.before} to {self.after}{saved}."


def upgrade_to(db: Database, revision: str) -> None:
    with db.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _inspect_state(db: Database) -> tuple[str | None, bool]:
    try:
        with db.engine.connect() as conn:
            return current_revision(conn), bool(inspect(conn).get_table_names())
    except SaDatabaseError as error:
        raise db.problem(error) from None


def _backup_path(db: Database, revision: str) -> Path:
    original = Path(db.url.database or "").expanduser().resolve()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return original.with_name(f"{original.name}.bak-schema{revision}-{stamp}")


def prepare_database(db: Database, *, allow_upgrade: bool = True) -> SchemaOutcome:
    """Make ``db`` usable by this version, or refuse and change nothing."""
    before, has_tables = _inspect_state(db)
    head = head_revision()
    if before is None and has_tables:
        raise DatabaseProblem(
            f"{db.description} holds tables that IDS Accountability did not make; "
            "choose another database."
        )
    if before is not None and before not in _known_revisions():
        raise DatabaseProblem(
            f"{db.description} was made by a newer version of IDS Accountability "
            f"(schema {before}); install that version to open it."
        )
    if before == head:
        return SchemaOutcome(before, head, None)
    if before is not None and not allow_upgrade:
        raise DatabaseProblem(
            f"{db.description} is at schema {before} and needs an upgrade to {head}; "
            "run `ids-app migrate` first."
        )
    backup = None
    if before is not None and db.is_sqlite:
        backup = backup_database(db, _backup_path(db, before))
    upgrade_to(db, "head")
    return SchemaOutcome(before, head, backup)
