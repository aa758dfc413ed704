"""Triggers that make a table append-only in the database itself, not only in the code.

Ledger, audit and signature rows are never updated or deleted (21 CFR 11.10(e), ALCOA+);
the database refuses it even to someone with a SQL prompt. The statements are kept here
once, so the guard check (``guards.py``) compares a database with exactly what made it.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class PostgresqlTrigger:
    """A PostgreSQL trigger as its CREATE TRIGGER says: when it fires, on which events, and
    once per row or per statement (the guard check compares a database's with these)."""

    name: str
    timing: str
    events: tuple[str, ...]
    each: str

    def statement(self, table: str) -> str:
        return (
            f"CREATE TRIGGER {self.name} {self.timing} {' OR '.join(self.events)} ON {table} "
            f"FOR EACH {self.each} EXECUTE FUNCTION {table}_refuse_change()"
        )


def postgresql_triggers(table: str) -> tuple[PostgresqlTrigger, ...]:
    return (
        PostgresqlTrigger(f"{table}_append_only", "BEFORE", ("UPDATE", "DELETE"), "ROW"),
        PostgresqlTrigger(f"{table}_no_truncate", "BEFORE", ("TRUNCATE",), "STATEMENT"),
    )


def postgresql_statements(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger "
        f"LANGUAGE plpgsql AS $${postgresql_function_body(table)}$$",
        *(trigger.statement(table) for trigger in postgresql_triggers(table)),
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
