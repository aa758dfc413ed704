"""`verify` proves the whole record: each kind of tampering behind the app's back is named.

Every test edits a copy of the demo database with raw SQL, as someone with the file and a
SQL prompt could, and checks that `verify` names the table and record that was touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from ids_app.audit.anchors import (
    ANCHOR_DIR_ENV,
    anchor_log_path,
    anchor_once_a_day,
    read_anchors,
    sign_in_anchoring_the_day,
)
from ids_app.audit.integrity import IntegrityReport, verify_database
from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import display_value, entry_hash, insert_text
from ids_app.audit.verification import Anchor, stored_text
from ids_app.cli import main
from ids_app.config import sqlite_url
from ids_app.console import open_database
from ids_app.db import Database
from ids_app.inventory.models import DispenseOrder, EntryKind, LedgerEntry
from ids_app.reports.exports import export_sponsor_workbook
from ids_app.storage.models import TemperatureReading
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.services import sign_in
from tests import databases
from tests.tampering import drop_append_only, raw_sql, restore_append_only


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo, built once through the command; each test tampers with its own copy."""
    empty, name = databases.empty_database(tmp_path_factory.mktemp("demo"))
    url = empty.url.render_as_string(hide_password=False)
    empty.dispose()
    assert main(["demo", "--database", url]) == 0
    yield name
    if databases.ON_POSTGRES:
        databases.ServerDatabases(databases.SERVER).drop(name)


@pytest.fixture
def demo(demo_template: str, tmp_path: Path) -> Iterator[Database]:
    database, name = databases.fresh_database(demo_template, tmp_path)
    yield database
    databases.discard(database, name)


def verify(db: Database, *anchors: Anchor) -> IntegrityReport:
    with db.read_session() as session:
        return verify_database(session, anchors)


def named(report: IntegrityReport, check: str, table: str, record: object) -> list[str]:
    """The findings of one check about one record, as `verify` prints them."""
    return [
        finding.line()
        for finding in report.findings
        if (finding.check, finding.table, finding.record)
        == (check, table, None if record is None else str(record))
    ]


def first_dispensed_order(db: Database) -> DispenseOrder:
    with db.read_session() as session:
        return session.scalars(select(DispenseOrder).order_by(DispenseOrder.id)).first()  # type: ignore[return-value]


def signature_of(db: Database, order_id: int, meaning: SignatureMeaning) -> Signature:
    with db.read_session() as session:
        return session.scalars(
            select(Signature).where(
                Signature.record_table == "dispense_order",
                Signature.record_id == str(order_id),
                Signature.meaning == meaning,
            )
        ).one()


def test_the_demo_database_verifies_clean(demo: Database) -> None:
    report = verify(demo)
    assert report.intact, [finding.line() for finding in report.findings]
    assert report.signatures_checked > 0
    assert report.chain.head is not None


def test_a_changed_ledger_quantity_is_named_even_with_the_triggers_put_back(
    demo: Database,
) -> None:
    drop_append_only(demo, "ledger_entry")
    raw_sql(demo, "UPDATE ledger_entry SET quantity = quantity + 1 WHERE id = 1")
    restore_append_only(demo, "ledger_entry")
    report = verify(demo)
    (line,) = named(report, "records", "ledger_entry", 1)
    assert "field quantity" in line
    assert not [f for f in report.findings if f.check == "guards"]


def test_a_deleted_ledger_row_is_named_and_its_order_no_longer_agrees(demo: Database) -> None:
    with demo.read_session() as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.DISPENSE)
        ).first()
        assert entry is not None
        order_id = entry.dispense_order_id
    drop_append_only(demo, "ledger_entry")
    raw_sql(demo, f"DELETE FROM ledger_entry WHERE id = {entry.id}")
    report = verify(demo)
    assert "deleted" in named(report, "records", "ledger_entry", entry.id)[0]
    assert "the ledger dispensed 0" in named(report, "workflow", "dispense_order", order_id)[0]


def test_a_verifier_re_pointed_to_the_preparer_is_named(demo: Database) -> None:
    order = first_dispensed_order(demo)
    raw_sql(
        demo,
        f"UPDATE dispense_order SET verified_by_id = prepared_by_id WHERE id = {order.id}",
    )
    report = verify(demo)
    lines = named(report, "records", "dispense_order", order.id)
    assert any("field verified_by_id" in line for line in lines)
    assert any(
        "second person" in line for line in named(report, "workflow", "dispense_order", order.id)
    )


def test_a_scan_rewritten_as_typed_is_named(demo: Database) -> None:
    """How the item was identified is left out of the signature's hash (orders signed
    before it was recorded must still verify), so the trail's replay is what proves it."""
    order = first_dispensed_order(demo)
    raw_sql(
        demo,
        "UPDATE dispense_order SET prepared_identified = 'typed', "
        f"prepared_typed_reason = 'label torn' WHERE id = {order.id}",
    )
    lines = named(verify(demo), "records", "dispense_order", order.id)
    assert any("field prepared_identified" in line for line in lines)
    assert any("field prepared_typed_reason" in line for line in lines)


@pytest.mark.parametrize(
    ("column", "value"), [("printed_name", "'Someone Else'"), ("meaning", "'reviewed'")]
)
def test_an_edited_signature_manifestation_is_named(
    demo: Database, column: str, value: str
) -> None:
    signature = signature_of(demo, first_dispensed_order(demo).id, SignatureMeaning.VERIFIED)
    drop_append_only(demo, "signature")
    raw_sql(demo, f"UPDATE signature SET {column} = {value} WHERE id = {signature.id}")
    (line,) = named(verify(demo), "records", "signature", signature.id)
    assert f"field {column}" in line


def test_a_deleted_signature_is_named_and_its_order_lacks_a_verifier(demo: Database) -> None:
    order = first_dispensed_order(demo)
    signature = signature_of(demo, order.id, SignatureMeaning.VERIFIED)
    drop_append_only(demo, "signature")
    raw_sql(demo, f"DELETE FROM signature WHERE id = {signature.id}")
    report = verify(demo)
    assert "deleted" in named(report, "records", "signature", signature.id)[0]
    assert "never signed it as verified" in named(report, "workflow", "dispense_order", order.id)[0]


def test_a_signature_moved_to_another_order_no_longer_holds(demo: Database) -> None:
    order = first_dispensed_order(demo)
    signature = signature_of(demo, order.id, SignatureMeaning.VERIFIED)
    drop_append_only(demo, "signature")
    raw_sql(demo, f"UPDATE signature SET record_id = '{order.id + 1}' WHERE id = {signature.id}")
    report = verify(demo)
    assert "no longer matches" in named(report, "signatures", "signature", signature.id)[0]
    assert named(report, "workflow", "dispense_order", order.id)


def test_an_orders_changed_subject_breaks_its_signatures(demo: Database) -> None:
    order = first_dispensed_order(demo)
    raw_sql(demo, f"UPDATE dispense_order SET subject_id = subject_id + 1 WHERE id = {order.id}")
    report = verify(demo)
    assert "field subject_id" in named(report, "records", "dispense_order", order.id)[0]
    for meaning in (SignatureMeaning.PREPARED, SignatureMeaning.VERIFIED):
        signature = signature_of(demo, order.id, meaning)
        assert named(report, "signatures", "signature", signature.id)


@pytest.mark.parametrize(
    ("table", "wanted"),
    [
        ("hold_decision", "lacks the signature of the pharmacist"),
        ("disposal", "never signed it as witnessed"),
        ("subject_return", "the monitor it names never signed it"),
    ],
)
def test_a_signed_state_whose_signature_was_deleted_is_named(
    demo: Database, table: str, wanted: str
) -> None:
    with demo.read_session() as session:
        # A disposal is signed by its performer, then its witness: the witness's is deleted.
        signature = session.scalars(
            select(Signature)
            .where(Signature.record_table == table)
            .where(Signature.meaning != SignatureMeaning.PERFORMED)
            .order_by(Signature.id)
        ).first()
        assert signature is not None
    drop_append_only(demo, "signature")
    raw_sql(demo, f"DELETE FROM signature WHERE id = {signature.id}")
    report = verify(demo)
    assert named(report, "records", "signature", signature.id)
    assert wanted in named(report, "workflow", table, signature.record_id)[0]


def test_a_destruction_witnessed_by_its_own_performer_is_named(demo: Database) -> None:
    drop_append_only(demo, "disposal")
    raw_sql(demo, "UPDATE disposal SET witness_id = performed_by_id WHERE id = 1")
    report = verify(demo)
    assert "field witness_id" in named(report, "records", "disposal", 1)[0]
    assert "its own witness" in named(report, "workflow", "disposal", 1)[0]


def _user_id(db: Database, username: str) -> int:
    with db.read_session() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def test_a_monitor_made_administrator_is_named(demo: Database) -> None:
    monitor = _user_id(demo, "monitor")
    raw_sql(demo, f"UPDATE app_user SET role = 'administrator' WHERE id = {monitor}")
    (line,) = named(verify(demo), "records", "app_user", monitor)
    assert "field role" in line


def test_a_swapped_password_hash_is_named_without_showing_it(demo: Database) -> None:
    admin, tech = _user_id(demo, "admin"), _user_id(demo, "tech")
    raw_sql(
        demo,
        "UPDATE app_user SET password_hash = "
        f"(SELECT password_hash FROM app_user WHERE id = {tech}) WHERE id = {admin}",
    )
    (line,) = named(verify(demo), "records", "app_user", admin)
    assert "field password_hash" in line
    assert "$argon2" not in line


def test_a_swapped_kit_arm_is_named(demo: Database) -> None:
    raw_sql(demo, "UPDATE kit SET arm_id = CASE WHEN arm_id = 1 THEN 2 ELSE 1 END WHERE id = 1")
    (line,) = named(verify(demo), "records", "kit", 1)
    assert "field arm_id" in line


def test_a_row_written_behind_the_apps_back_is_named(demo: Database) -> None:
    raw_sql(
        demo,
        "INSERT INTO ledger_entry (id, study_id, product_id, lot_id, kit_id, kind, quantity, "
        "from_location_id, from_state, occurred_at, recorded_at, user_id) "
        "SELECT 100000, study_id, product_id, lot_id, kit_id, 'adjust', 1000, "
        "to_location_id, to_state, occurred_at, recorded_at, user_id "
        "FROM ledger_entry WHERE id = 1",
    )
    report = verify(demo)
    assert "never recorded this row" in named(report, "records", "ledger_entry", 100000)[0]
    assert [f for f in report.findings if f.check == "ledger" and "below zero" in f.problem]


def test_dropped_triggers_are_named_and_the_app_refuses_to_start(demo: Database) -> None:
    drop_append_only(demo, "audit_entry")
    report = verify(demo)
    assert any(
        "audit_entry_" in line and "missing" in line
        for line in named(report, "guards", "audit_entry", None)
    )
    url = demo.url.render_as_string(hide_password=False)
    assert main(["users", "list", "--database", url]) == 2


def _rewrite_chain(db: Database, entry_id: int, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit one entry and recompute every later hash with the app's own function."""
    with db.read_session() as session:
        rows = [
            dict(row)
            for row in session.execute(
                select(AuditEntry.__table__)
                .where(AuditEntry.id >= entry_id)
                .order_by(AuditEntry.id)
            ).mappings()
        ]
    edit(rows[0])
    prev = rows[0]["prev_hash"]
    drop_append_only(db, "audit_entry")
    with db.engine.begin() as conn:
        for row in rows:
            row["prev_hash"] = prev
            row["hash"] = prev = entry_hash(prev, row)
            conn.execute(
                text(
                    "UPDATE audit_entry SET username = :username, new_value = :new_value, "
                    "prev_hash = :prev_hash, hash = :hash WHERE id = :id"
                ),
                {key: row[key] for key in ("username", "new_value", "prev_hash", "hash", "id")},
            )
        conn.execute(text("UPDATE audit_chain_head SET last_hash = :hash"), {"hash": prev})
    restore_append_only(db, "audit_entry")


def _reforge_chain(db: Database, entry_id: int, username: str) -> None:
    _rewrite_chain(db, entry_id, lambda row: row.update(username=username))


def _insert_entry_id(db: Database, table: str, record: str) -> int:
    with db.read_session() as session:
        return session.scalars(
            select(AuditEntry.id).where(
                AuditEntry.table_name == table,
                AuditEntry.record_id == record,
                AuditEntry.action == "insert",
            )
        ).one()


def test_a_row_written_before_a_migration_added_a_column_still_verifies(
    demo: Database,
) -> None:
    """A site upgrading keeps rows recorded without the columns later versions added
    (retired_on came with 0009): empty, they are what the migration made them; a value
    put there behind the app's back is still named."""

    def written_before_0009(row: dict[str, Any]) -> None:
        values = json.loads(row["new_value"])
        del values["retired_on"]
        row["new_value"] = insert_text(values)

    _rewrite_chain(demo, _insert_entry_id(demo, "product", "1"), written_before_0009)
    report = verify(demo)
    assert report.intact, [finding.line() for finding in report.findings]

    raw_sql(demo, "UPDATE product SET retired_on = '2026-01-01' WHERE id = 1")
    (finding,) = named(verify(demo), "records", "product", 1)
    assert "retired_on" in finding
    assert "never recorded" in finding


def test_a_re_forged_chain_is_caught_by_an_anchor(demo: Database) -> None:
    anchor = verify(demo).chain.head
    assert anchor is not None
    _reforge_chain(demo, 10, "someone-else")
    assert verify(demo).chain.first_break is None  # the chain alone cannot tell
    (line,) = named(verify(demo, anchor), "anchors", "audit_entry", anchor.entry_id)
    assert "changed and re-computed" in line


def test_a_removed_tail_with_its_head_moved_back_is_caught_by_an_anchor(demo: Database) -> None:
    anchor = verify(demo).chain.head
    assert anchor is not None
    last = anchor.entry_id
    drop_append_only(demo, "audit_entry")
    raw_sql(
        demo,
        f"DELETE FROM audit_entry WHERE id > {last - 5}",
        f"UPDATE audit_chain_head SET last_id = {last - 5}, last_hash = "
        f"(SELECT hash FROM audit_entry WHERE id = {last - 5})",
    )
    restore_append_only(demo, "audit_entry")
    assert verify(demo).chain.first_break is None
    (line,) = named(verify(demo, anchor), "anchors", "audit_entry", last)
    assert "removed" in line


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def test_verify_prints_findings_for_machines_and_exits_1(
    demo: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    raw_sql(demo, "UPDATE kit SET kit_number = 'X-1' WHERE id = 1")
    assert main(["verify", "--json", "--database", url_of(demo)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["intact"] is False
    (finding,) = report["findings"]
    assert (finding["table"], finding["record"], finding["field"]) == ("kit", "1", "kit_number")
    assert finding["table_holds"] == "X-1"


def test_verify_checks_every_anchor_of_an_anchor_log(
    demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = verify(demo).chain.head
    log = tmp_path / "anchors.log"
    log.write_text(f"2026-12-04T10:00:00Z\t{anchor}\texport\n", encoding="utf-8")
    assert main(["verify", "--anchors", str(log), "--database", url_of(demo)]) == 0
    assert main(["verify", "--anchor", str(anchor), "--database", url_of(demo)]) == 0
    assert "Record intact" in capsys.readouterr().out
    _reforge_chain(demo, 3, "someone-else")
    assert main(["verify", "--anchors", str(log), "--database", url_of(demo)]) == 1
    assert "anchors: audit_entry record" in capsys.readouterr().err


@pytest.mark.skipif(
    databases.ON_POSTGRES,
    reason="SQLite files only (empty, mistyped, foreign): the SQLite pass runs it",
)
def test_verify_leaves_an_empty_file_empty_and_a_mistyped_path_absent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert main(["verify", "--database", sqlite_url(empty)]) == 2
    assert "is empty" in capsys.readouterr().err
    assert empty.stat().st_size == 0
    mistyped = tmp_path / "ids.sqlit"
    assert main(["verify", "--database", sqlite_url(mistyped)]) == 2
    assert "There is no database file" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["empty.sqlite"]


@pytest.mark.skipif(
    databases.ON_POSTGRES,
    reason="SQLite files only (empty, mistyped, foreign): the SQLite pass runs it",
)
def test_verify_refuses_a_foreign_file_and_a_newer_version_in_one_sentence(
    demo: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE patients (name TEXT)")
    assert main(["verify", "--database", sqlite_url(foreign)]) == 2
    assert "is not an IDS Accountability database" in capsys.readouterr().err
    raw_sql(demo, "UPDATE alembic_version SET version_num = '9999'")
    before = Path(demo.url.database or "").read_bytes()
    assert main(["verify", "--database", url_of(demo)]) == 2
    err = capsys.readouterr().err.strip()
    assert "newer version" in err
    assert len(err.splitlines()) == 1
    assert Path(demo.url.database or "").read_bytes() == before


def test_every_export_appends_the_chain_head_to_the_anchor_log(
    demo: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ANCHOR_DIR_ENV, str(tmp_path / "share"))
    (tmp_path / "share").mkdir()
    with demo.unit_of_work() as session:
        tech = sign_in(session, "tech", "demo-tech")
    export_sponsor_workbook(demo, tech, "ABC-123", tmp_path / "abc-123.xlsx")
    log = anchor_log_path(demo)
    assert log.parent == tmp_path / "share"
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert line.endswith("export: abc-123.xlsx")
    (anchor,) = read_anchors(log)
    assert anchor == verify(demo).chain.head  # the export's own entry is the head
    _reforge_chain(demo, 3, "someone-else")
    assert named(verify(demo, *read_anchors(log)), "anchors", "audit_entry", anchor.entry_id)


def test_the_first_start_of_the_day_anchors_the_chain_once(demo: Database) -> None:
    url = argparse.Namespace(database=url_of(demo))
    open_database(url).dispose()
    open_database(url).dispose()
    log = anchor_log_path(demo)
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert "first use of the day" in line


def test_the_first_sign_in_of_a_new_day_anchors_the_chain_once(demo: Database) -> None:
    monday = dt.datetime(2026, 12, 7, 7, 30, tzinfo=dt.UTC)
    assert anchor_once_a_day(demo, now=monday) is not None  # the app is started on Monday
    sign_in_anchoring_the_day(demo, "tech", "demo-tech", now=monday + dt.timedelta(hours=9))
    log = anchor_log_path(demo)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 1
    # Left open overnight: Tuesday's first sign-in is the app's first use that day.
    tuesday = monday + dt.timedelta(days=1)
    signed_in = sign_in_anchoring_the_day(demo, "pharm", "demo-pharm", now=tuesday)
    assert signed_in.user.username == "pharm"
    assert signed_in.anchor_problem is None
    assert read_anchors(log)[-1] == verify(demo).chain.head  # it holds this sign-in's entry
    sign_in_anchoring_the_day(demo, "tech", "demo-tech", now=tuesday + dt.timedelta(hours=2))
    _monday, tuesdays = log.read_text(encoding="utf-8").splitlines()
    assert tuesdays.startswith("2026-12-08T07:30:00Z\t")
    assert tuesdays.endswith("\tfirst use of the day")


def test_an_anchor_log_that_cannot_be_written_keeps_nobody_out(
    demo: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ANCHOR_DIR_ENV, str(tmp_path / "share-not-mounted"))
    signed_in = sign_in_anchoring_the_day(demo, "tech", "demo-tech")
    assert signed_in.user.username == "tech"
    assert signed_in.anchor_problem is not None
    assert "share-not-mounted" in str(signed_in.anchor_problem)
    assert "tell your IDS Accountability administrator" in str(signed_in.anchor_problem)


MOMENT = TemperatureReading.__table__.c.taken_at


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_a_moment_stored_in_sqlite_reads_as_the_trail_shows_it(moment: dt.datetime) -> None:
    """verify rewrites SQLite's stored text instead of parsing it: the same text, always."""
    dialect = sqlite.dialect()
    store = MOMENT.type.dialect_impl(dialect).bind_processor(dialect)
    shown = stored_text(MOMENT, dialect)
    assert store is not None
    assert shown is not None
    assert shown(store(moment)) == display_value(moment)


def test_a_moment_stored_in_another_form_is_still_read_as_sqlalchemy_reads_it() -> None:
    shown = stored_text(MOMENT, sqlite.dialect())
    assert shown is not None
    assert shown("2024-01-01 08:30:00") == "2024-01-01T08:30:00+00:00"
    assert shown("2024-01-01 08:30:00.250000") == "2024-01-01T08:30:00.250000+00:00"
    assert shown(None) is None
