"""The database's guards (tables, columns, append-only triggers) as the migrations made them."""

from __future__ import annotations

import argparse

import pytest

from ids_app.console import open_database
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations.guards import APPEND_ONLY_TABLES, check_guards, guard_problems
from ids_app.migrations.roles import append_only_tables
from tests.tampering import drop_append_only, raw_sql, restore_append_only


def problems(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [f"{problem.table}: {problem.problem}" for problem in guard_problems(conn)]


def made_append_only(db: Database) -> set[str]:
    if not db.is_sqlite:
        return append_only_tables(db)
    with db.engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_no_update'"
        ).scalars()
        return set(names)


def test_a_freshly_migrated_database_has_every_guard(db: Database) -> None:
    assert made_append_only(db) == set(APPEND_ONLY_TABLES)
    assert problems(db) == []


def test_a_dropped_trigger_put_back_as_it_was_leaves_no_trace_in_the_guards(db: Database) -> None:
    drop_append_only(db, "ledger_entry")
    assert any("ledger_entry" in line and "missing" in line for line in problems(db))
    restore_append_only(db, "ledger_entry")
    assert problems(db) == []


def test_an_altered_or_added_trigger_is_named(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's trigger text; PostgreSQL's is checked by its function body")
    drop_append_only(db, "signature")
    raw_sql(
        db,
        "CREATE TRIGGER signature_no_update BEFORE UPDATE ON signature BEGIN SELECT 1; END",
        "CREATE TRIGGER signature_no_delete BEFORE DELETE ON signature "
        "BEGIN SELECT RAISE(ABORT, 'signature rows are append-only: they cannot be changed "
        "or deleted'); END",
        "CREATE TRIGGER lot_sneaky AFTER INSERT ON lot BEGIN SELECT 1; END",
    )
    found = problems(db)
    assert "signature: its append-only trigger signature_no_update was altered" in found
    assert "lot: a trigger the migrations never made (lot_sneaky) was added" in found


def test_the_app_refuses_to_write_to_a_database_without_its_guards(db: Database) -> None:
    drop_append_only(db, "audit_entry")
    with pytest.raises(DatabaseProblem) as refused:
        check_guards(db)
    sentence = str(refused.value)
    assert "the app will not write to it" in sentence
    assert "administrator" in sentence
    assert "\n" not in sentence


def test_the_app_starts_normally_on_a_guarded_database(db: Database) -> None:
    url = db.url.render_as_string(hide_password=False)
    opened = open_database(argparse.Namespace(database=url))
    opened.dispose()
