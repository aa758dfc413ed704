"""The database's guards (tables, columns, append-only triggers) as the migrations made them."""

from __future__ import annotations

import argparse

import pytest

from ids_app.console import open_database
from ids_app.db import Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations.append_only import sqlite_triggers
from ids_app.migrations.guards import APPEND_ONLY_TABLES, check_guards, guard_problems
from ids_app.migrations.roles import append_only_tables
from tests.databases import ON_POSTGRES
from tests.tampering import drop_append_only, raw_sql, restore_append_only

on_postgresql = pytest.mark.skipif(
    not ON_POSTGRES, reason="PostgreSQL's catalog; set IDS_TEST_DATABASE to a server"
)


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
        pytest.skip("SQLite's trigger text; PostgreSQL's catalog is checked below")
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


def test_a_trigger_re_created_for_inserts_only_is_named(db: Database) -> None:
    drop_append_only(db, "ledger_entry")
    if db.is_sqlite:
        raw_sql(
            db,
            "CREATE TRIGGER ledger_entry_no_update BEFORE INSERT ON ledger_entry "
            "BEGIN SELECT RAISE(ABORT, 'ledger_entry rows are append-only: they cannot be "
            "changed or deleted'); END",
            sqlite_triggers("ledger_entry")["ledger_entry_no_delete"],
        )
        assert "ledger_entry: its append-only trigger ledger_entry_no_update was altered" in (
            problems(db)
        )
        return
    raw_sql(
        db,
        "CREATE TRIGGER ledger_entry_append_only BEFORE INSERT ON ledger_entry "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entry_refuse_change()",
    )
    assert problems(db) == [
        "ledger_entry: its append-only trigger ledger_entry_append_only was altered: it fires "
        "BEFORE INSERT FOR EACH ROW, not BEFORE DELETE OR UPDATE FOR EACH ROW"
    ]


@on_postgresql
def test_a_postgresql_trigger_narrowed_to_some_columns_or_a_condition_is_named(
    db: Database,
) -> None:
    drop_append_only(db, "ledger_entry")
    drop_append_only(db, "signature")
    raw_sql(
        db,
        "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OF kit_id OR DELETE "
        "ON ledger_entry FOR EACH ROW EXECUTE FUNCTION ledger_entry_refuse_change()",
        "CREATE TRIGGER signature_append_only BEFORE UPDATE OR DELETE ON signature "
        "FOR EACH ROW WHEN (OLD.id < 0) EXECUTE FUNCTION signature_refuse_change()",
    )
    narrowed = "was altered: it fires only for some columns or on a condition"
    assert problems(db) == [
        f"signature: its append-only trigger signature_append_only {narrowed}",
        f"ledger_entry: its append-only trigger ledger_entry_append_only {narrowed}",
    ]


@on_postgresql
def test_a_disabled_postgresql_trigger_is_named_and_the_app_refuses_to_write(
    db: Database,
) -> None:
    raw_sql(
        db,
        "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only",
        "ALTER TABLE lot DISABLE TRIGGER USER",
        # Replica-only triggers never fire for the app's own sessions.
        "ALTER TABLE disposal ENABLE REPLICA TRIGGER disposal_no_truncate",
    )
    assert problems(db) == [
        "audit_entry: its append-only trigger audit_entry_append_only is disabled",
        "lot: its append-only trigger lot_append_only is disabled",
        "lot: its append-only trigger lot_no_truncate is disabled",
        "disposal: its append-only trigger disposal_no_truncate is disabled",
    ]
    with pytest.raises(DatabaseProblem, match="the app will not write to it"):
        check_guards(db)
    raw_sql(db, "ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")
    raw_sql(db, "ALTER TABLE lot ENABLE TRIGGER USER")
    raw_sql(db, "ALTER TABLE disposal ENABLE TRIGGER disposal_no_truncate")
    assert problems(db) == []
