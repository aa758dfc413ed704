"""Least privilege on a server: what the workstations' database role may do.

The schema is owned and migrated by one role; the app connects as another that may read
every table and add rows, may change only the records whose workflow changes them, and
may never delete. Ledger, audit, signature and other append-only tables are insert-only
for it: the database refuses their UPDATE twice over, by privilege and by trigger.
"""

from __future__ import annotations

import re

from sqlalchemy import inspect, text

from ids_app.db import Database
from ids_app.errors import DatabaseProblem, InvalidInput

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def append_only_tables(db: Database) -> set[str]:
    """Tables carrying the append-only trigger, read from the database itself."""
    with db.engine.connect() as conn:
        return set(
            conn.scalars(
                text(
                    "SELECT DISTINCT event_object_table FROM information_schema.triggers "
                    "WHERE trigger_name = event_object_table || '_append_only'"
                )
            )
        )


def grant_statements(db: Database, app_role: str) -> list[str]:
    """The GRANTs that give ``app_role`` exactly what the app needs, for this schema."""
    if db.is_sqlite:
        raise DatabaseProblem("Roles and grants exist on a PostgreSQL server, not in SQLite.")
    if not ROLE_NAME.fullmatch(app_role):
        raise InvalidInput(f"'{app_role}' is not a plain PostgreSQL role name.")
    tables = sorted(inspect(db.engine).get_table_names())
    frozen = append_only_tables(db) | {"alembic_version"}
    changeable = [table for table in tables if table not in frozen]
    return [
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app_role}",
        f"GRANT SELECT, INSERT ON {', '.join(t for t in tables if t != 'alembic_version')} "
        f"TO {app_role}",
        f"GRANT SELECT ON alembic_version TO {app_role}",
        f"GRANT UPDATE ON {', '.join(changeable)} TO {app_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
    ]


def apply_grants(db: Database, app_role: str) -> list[str]:
    statements = grant_statements(db, app_role)
    with db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements
