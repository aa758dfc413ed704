"""Changing records behind the app's back, as someone with a SQL prompt could."""

from __future__ import annotations

from ids_app.db import Database
from ids_app.migrations.append_only import postgresql_statements, sqlite_triggers


def raw_sql(db: Database, *statements: str) -> None:
    """Run SQL on a connection of its own, outside any unit of work."""
    with db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def drop_append_only(db: Database, table: str) -> None:
    """Remove the triggers that make ``table`` append-only (the first step of a forgery)."""
    if db.is_sqlite:
        raw_sql(db, f"DROP TRIGGER {table}_no_update", f"DROP TRIGGER {table}_no_delete")
    else:
        raw_sql(db, f"DROP TRIGGER {table}_append_only ON {table}")


def restore_append_only(db: Database, table: str) -> None:
    """Put the triggers back exactly as the migration made them (covering the forgery)."""
    if db.is_sqlite:
        raw_sql(db, *sqlite_triggers(table).values())
    else:
        raw_sql(db, postgresql_statements(table)[1])
