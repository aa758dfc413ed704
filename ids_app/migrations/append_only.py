"""Triggers that make a table append-only in the database itself, not only in the code.

Ledger, audit and signature rows are never updated or deleted (21 CFR 11.10(e), ALCOA+);
the database refuses it even to someone with a SQL prompt. The statements are kept here
once, so the guard check (``guards.py``) compares a database with exactly what made it.
"""

from __future__ import annotations

from alembic import op


def refusal(table: str) -> str:
    return f"{table} rows are append-only: they cannot be changed or deleted"


def sqlite_triggers(table: str) -> dict[str, str]:
    """Each trigger's name and the statement that creates it, for SQLite."""
    return {
        f"{table}_no_{verb.lower()}": (
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{refusal(table)}'); END"
        )
        for verb in ("UPDATE", "DELETE")
    }


def postgresql_function_body(table: str) -> str:
    return f" BEGIN RAISE EXCEPTION '{refusal(table)}'; END "


def postgresql_statements(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger "
        f"LANGUAGE plpgsql AS $${postgresql_function_body(table)}$$",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()",
    ]


def make_append_only(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements = list(sqlite_triggers(table).values())
    elif dialect == "postgresql":
        statements = postgresql_statements(table)
    else:
        raise RuntimeError(f"no append-only triggers for the {dialect} dialect")
    for statement in statements:
        op.execute(statement)
