"""Bringing a database to this version's schema, safely.

At start: a new database is created at the head revision; an older one is copied beside
itself and then upgraded; one made by a newer version, or not made by this app, is
refused with a sentence that says what to do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Database, backup_database
from ids_app.errors import DatabaseProblem

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"  # Alembic's default name, which env.py keeps

# The two lines script.py.mako writes at the top of every migration.
_REVISION = re.compile(r"""^revision(?:\s*:[^=\n]*)?\s*=\s*["']([^"'\n]+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?:\s*:[^=\n]*)?\s*=\s*(?:None|["']([^"'\n]+)["'])\s*$""", re.M
)

# Alembic is imported inside the functions below, not here: importing it and reading every
# migration costs a tenth of a second, and a start on a current database needs neither.


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def known_head() -> str | None:
    """The head revision read from the migration files' ``revision`` and ``down_revision``
    lines, without Alembic; None unless every file has both, plainly written, and they make
    one head — Alembic then decides. A test holds it equal to Alembic's own head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        if path.name.startswith(("__init__", ".#")):  # files Alembic skips too
            continue
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _stored_revision(conn: Connection) -> str | None:
    """What :func:`current_revision` answers, asked as Alembic asks but without importing it."""
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        return None
    rows = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars().all()
    if len(rows) > 1:
        return current_revision(conn)  # Alembic's own refusal of a branched database
    return str(rows[0]) if rows else None


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
    from alembic import command

    with db.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _inspect_state(db: Database) -> tuple[str | None, bool]:
    try:
        with db.engine.connect() as conn:
            return _stored_revision(conn), bool(inspect(conn).get_table_names())
    except SaDatabaseError as error:
        raise db.problem(error) from None


def _backup_path(db: Database, revision: str) -> Path:
    original = Path(db.url.database or "").expanduser().resolve()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return original.with_name(f"{original.name}.bak-schema{revision}-{stamp}")


def prepare_database(db: Database, *, allow_upgrade: bool = True) -> SchemaOutcome:
    """Make ``db`` usable by this version, or refuse and change nothing."""
    before, has_tables = _inspect_state(db)
    # The usual start, a database already at the head, is answered without Alembic.
    if before is not None and before == known_head():
        return SchemaOutcome(before, before, None)
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


def open_for_checking(url: str) -> Database:
    """Open a database to look at it only (``ids-app verify``), or say why not.

    Nothing is created, migrated or upgraded: the database is opened read-only, and a
    missing or empty file, a file IDS Accountability did not make, or one from another
    version is refused in one sentence.
    """
    db = Database(url, read_only=True)
    if db.is_sqlite:
        path = Path(db.url.database or "").expanduser().resolve()
        if not path.is_file():
            raise DatabaseProblem(f"There is no database file at {path}; check the path.")
        if path.stat().st_size == 0:
            raise DatabaseProblem(
                f"{db.description} is empty: it is not an IDS Accountability database."
            )
    before, has_tables = _inspect_state(db)
    if before is None:
        holds = "holds tables it did not make" if has_tables else "holds no records"
        raise DatabaseProblem(
            f"{db.description} is not an IDS Accountability database (it {holds}); check the path."
        )
    if before not in _known_revisions():
        raise DatabaseProblem(
            f"{db.description} was made by a newer version of IDS Accountability "
            f"(schema {before}); verify it with that version."
        )
    head = head_revision()
    if before != head:
        raise DatabaseProblem(
            f"{db.description} is at schema {before}, not this version's {head}; verify it "
            "with the version that wrote it, or upgrade a copy with `ids-app migrate` first."
        )
    return db
