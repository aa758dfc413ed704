"""The database's own guards, checked: tables, columns and append-only triggers.

The triggers are what make the record tamper-resistant at a SQL prompt; someone who drops
them (and perhaps restores them after an edit) leaves a database that looks normal. The
guards' fingerprint is compared with what the migrations make, by ``ids-app verify`` and
by every start of the app, which refuses to write to a database whose guards are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import DatabaseError as SaDatabaseError

from ids_app.db import Base, Database
from ids_app.errors import DatabaseProblem
from ids_app.migrations.append_only import (
    PostgresqlTrigger,
    postgresql_function_body,
    postgresql_triggers,
    sqlite_triggers,
)
from ids_app.migrations.schema import VERSION_TABLE

# Every table a migration made append-only (make_append_only), in the migrations' order.
# A migration that adds one adds it here too; test_guards holds the two equal.
APPEND_ONLY_TABLES = (
    "audit_entry",
    "signature",
    "ledger_entry",
    "lot",
    "shipment",
    "packing_list_line",
    "quarantine_hold",
    "hold_decision",
    "disposal",
    "temperature_reading",
    "temperature_log_file",
    "excursion_hold",
    "destruction_authorization",
    "visit_review",
    "visit_note",
    "query_message",
    "product_correction",
)
GUARD_TABLE = "schema guards"
# PostgreSQL's pg_trigger.tgenabled: fires on origin, or always.
ENABLED = ("O", "A")
# PostgreSQL's pg_trigger.tgtype, bit by bit (its catalog/pg_trigger.h).
TGTYPE_ROW, TGTYPE_BEFORE, TGTYPE_INSTEAD = 1, 2, 64
TGTYPE_EVENTS = {"INSERT": 4, "DELETE": 8, "UPDATE": 16, "TRUNCATE": 32}


@dataclass(frozen=True)
class GuardProblem:
    """One way the database's structure differs from what the migrations made."""

    table: str
    problem: str


def guard_problems(conn: Connection) -> list[GuardProblem]:
    """Tables, columns and triggers that are missing, altered or were added."""
    problems = _table_problems(conn)
    if conn.dialect.name == "sqlite":
        problems += _sqlite_trigger_problems(conn)
    else:
        problems += _postgresql_trigger_problems(conn)
    return problems


def _table_problems(conn: Connection) -> list[GuardProblem]:
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    expected = set(Base.metadata.tables) | {VERSION_TABLE}
    problems = [GuardProblem(name, "the table is missing") for name in sorted(expected - present)]
    problems += [
        GuardProblem(name, "a table the migrations never made was added")
        for name in sorted(present - expected)
    ]
    # One query on a server (get_multi_columns), however many tables there are.
    found = inspector.get_multi_columns(filter_names=sorted(present & set(Base.metadata.tables)))
    for (_schema, name), described in sorted(found.items()):
        columns = {column["name"] for column in described}
        wanted = set(Base.metadata.tables[name].c.keys())
        problems += [
            GuardProblem(name, f"its column {column} is missing")
            for column in sorted(wanted - columns)
        ]
        problems += [
            GuardProblem(name, f"it has a column the migrations never made ({column})")
            for column in sorted(columns - wanted)
        ]
    return problems


def _sqlite_trigger_problems(conn: Connection) -> list[GuardProblem]:
    present = {
        name: (table, sql)
        for name, table, sql in conn.execute(
            text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        )
    }
    problems = []
    for table in APPEND_ONLY_TABLES:
        for name, statement in sqlite_triggers(table).items():
            found = present.pop(name, None)
            if found is None:
                problems.append(GuardProblem(table, f"its append-only trigger {name} is missing"))
            elif found != (table, statement):
                problems.append(GuardProblem(table, f"its append-only trigger {name} was altered"))
    problems += [
        GuardProblem(table, f"a trigger the migrations never made ({name}) was added")
        for name, (table, _sql) in sorted(present.items())
    ]
    return problems


def _postgresql_trigger_problems(conn: Connection) -> list[GuardProblem]:
    """Each trigger's table, function, events and state (enabled or not), as the catalog
    holds them: a trigger re-created for other events, for some columns only, on a
    condition, or disabled (``ALTER TABLE … DISABLE TRIGGER``) guards nothing it should."""
    present = {
        name: (table, enabled, function, body, tgtype, narrowed)
        for name, table, enabled, function, body, tgtype, narrowed in conn.execute(
            text(
                "SELECT t.tgname, c.relname, t.tgenabled, p.proname, p.prosrc, t.tgtype, "
                "t.tgqual IS NOT NULL OR t.tgnargs > 0 OR cardinality(t.tgattr::int2[]) > 0 "
                "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
            )
        )
    }
    problems = []
    for table in APPEND_ONLY_TABLES:
        expected = (table, f"{table}_refuse_change", postgresql_function_body(table))
        for trigger in postgresql_triggers(table):
            name = trigger.name
            found = present.pop(name, None)
            if found is None:
                problems.append(GuardProblem(table, f"its append-only trigger {name} is missing"))
            elif found[1] not in ENABLED:
                problems.append(GuardProblem(table, f"its append-only trigger {name} is disabled"))
            elif (found[0], found[2], found[3]) != expected:
                problems.append(GuardProblem(table, f"its append-only trigger {name} was altered"))
            elif found[4] != _tgtype(trigger):
                problems.append(
                    GuardProblem(
                        table,
                        f"its append-only trigger {name} was altered: it fires "
                        f"{_fires(found[4])}, not {_fires(_tgtype(trigger))}",
                    )
                )
            elif found[5]:
                problems.append(
                    GuardProblem(
                        table,
                        f"its append-only trigger {name} was altered: it fires only for some "
                        "columns or on a condition",
                    )
                )
    problems += [
        GuardProblem(found[0], f"a trigger the migrations never made ({name}) was added")
        for name, found in sorted(present.items())
    ]
    return problems


def _tgtype(trigger: PostgresqlTrigger) -> int:
    """The catalog's tgtype of a trigger made as ``trigger`` says."""
    timing = {"BEFORE": TGTYPE_BEFORE, "AFTER": 0, "INSTEAD OF": TGTYPE_INSTEAD}[trigger.timing]
    each = TGTYPE_ROW if trigger.each == "ROW" else 0
    events = sum(TGTYPE_EVENTS[event] for event in set(trigger.events))
    return timing | each | events


def _fires(tgtype: int) -> str:
    """When a trigger fires, in CREATE TRIGGER's words: BEFORE DELETE OR UPDATE FOR EACH ROW."""
    if tgtype & TGTYPE_INSTEAD:
        timing = "INSTEAD OF"
    else:
        timing = "BEFORE" if tgtype & TGTYPE_BEFORE else "AFTER"
    events = " OR ".join(event for event, bit in TGTYPE_EVENTS.items() if tgtype & bit)
    each = "ROW" if tgtype & TGTYPE_ROW else "STATEMENT"
    return f"{timing} {events} FOR EACH {each}"


def check_guards(db: Database) -> None:
    """Refuse, in one sentence, a database whose guards are missing or altered."""
    try:
        with db.engine.connect() as conn:
            problems = guard_problems(conn)
    except SaDatabaseError as error:
        raise db.problem(error) from None
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DatabaseProblem(
            f"The safeguards of {db.description} were removed or altered ({first.table}: "
            f"{first.problem}{more}), so the app will not write to it; run `ids-app verify` "
            "and call your IDS Accountability administrator."
        )
