"""Triggers that make a table append-only in the database itself, not only in the code.

Ledger, audit and signature rows are never updated or deleted (21 CFR 11.10(e), ALCOA+);
the database refuses it even to someone with a SQL prompt.
"""

from __future__ import annotations

from alembic import op


def make_append_only(table: str) -> None:
    dialect = op.get_bind().dialect.name
    message = f"{table} rows are append-only: they cannot be changed or deleted"
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE OR REPLACE FUNCTION {table}_refuse_change() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()"
        )
    else:
        raise RuntimeError(f"no append-only triggers for the {dialect} dialect")
