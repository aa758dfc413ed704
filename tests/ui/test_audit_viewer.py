"""The audit-trail viewer: paged keyset reads, filters in SQL, arms hidden from the blinded."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import event, func, select

from ids_app.audit.models import AuditEntry
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.migrations.schema import prepare_database
from ids_app.ui.audit_viewer import PAGE_SIZE, AuditTrailPage
from ids_app.ui.context import Workspace
from ids_app.ui.queries import HIDDEN_FOR_BLINDING
from ids_app.ui.settings import AppSettings
from ids_app.users.models import User
from ids_app.users.services import create_first_administrator
from tests.ui.conftest import WindowOpener

pytestmark = pytest.mark.gui

GENERATED = 20_000
USERS = ("tech", "pharm", "pharm2", "monitor")


@pytest.fixture(scope="module")
def big_trail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An administrator and 20,000 generated entries after the administrator's own."""
    path = tmp_path_factory.mktemp("trail") / "trail.sqlite"
    db = Database(sqlite_url(path))
    prepare_database(db)
    with db.unit_of_work() as session:
        create_first_administrator(session, "admin", "Alex Admin", "admin-pass-1")
    with db.read_session() as session:
        first = int(session.scalar(select(func.max(AuditEntry.id))) or 0) + 1
    db.dispose()
    start = dt.datetime(2026, 1, 1, 12, 0)
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO audit_entry (id, at, user_id, username, action, table_name, record_id,"
            " field, old_value, new_value, reason, prev_hash, hash)"
            " VALUES (?, ?, NULL, ?, 'update', ?, ?, 'state', 'a', 'b', NULL, ?, ?)",
            (
                (
                    first + n,
                    # as SQLAlchemy stores times in SQLite
                    (start + dt.timedelta(minutes=10 * n)).isoformat(
                        sep=" ", timespec="microseconds"
                    ),
                    USERS[n % 4],
                    "ledger_entry" if n % 2 else "dispense_order",
                    str(n // 2),
                    "0" * 64,
                    "0" * 64,
                )
                for n in range(GENERATED)
            ),
        )
    return path


@pytest.fixture
def trail_page(big_trail: Path, qtbot: QtBot) -> Iterator[AuditTrailPage]:
    db = Database(sqlite_url(big_trail))
    with db.read_session() as session:
        admin = session.scalars(select(User)).one()
    page = AuditTrailPage(Workspace(db, admin, AppSettings()))
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    yield page
    db.dispose()


def test_audit_trail_reads_a_page_at_a_time_with_keyset_paging(
    trail_page: AuditTrailPage, qtmodeltester: Any
) -> None:
    trail_page.load()
    model = trail_page.model
    assert model.rowCount() == PAGE_SIZE
    assert model.pages_fetched == 1
    assert model.canFetchMore(model.index(-1, -1))

    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    engine = trail_page.ws.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        model.fetchMore(model.index(-1, -1))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert model.rowCount() == 2 * PAGE_SIZE
    reads = [(sql, params) for sql, params in statements if "FROM audit_entry" in sql]
    assert len(reads) == 1
    sql, params = reads[0]
    # One page: WHERE id < last id shown … LIMIT 200 (SQLite writes OFFSET 0).
    assert "audit_entry.id < ?" in sql
    assert "LIMIT ? OFFSET ?" in sql
    assert tuple(params)[-2:] == (PAGE_SIZE, 0)

    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    ids = [row.id for row in model.rows]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) > GENERATED
    assert model.pages_fetched == len(ids) // PAGE_SIZE + 1

    # Qt's model tester (which fetches pages itself) watches a fresh query and more pages.
    trail_page.user_filter.setCurrentText("tech")
    trail_page.apply()
    qtmodeltester.check(model)
    for _page in range(2):
        before = model.rowCount()
        model.fetchMore(model.index(-1, -1))
        assert model.rowCount() == before + PAGE_SIZE
    assert {row.username for row in model.rows} == {"tech"}


def test_audit_trail_filters_by_user_table_record_and_date(trail_page: AuditTrailPage) -> None:
    trail_page.load()
    trail_page.user_filter.setCurrentText("pharm2")
    trail_page.apply()
    rows = trail_page.model.rows
    assert len(rows) == PAGE_SIZE
    assert {row.username for row in rows} == {"pharm2"}

    trail_page.user_filter.setCurrentText("(any)")
    trail_page.table_filter.setCurrentIndex(trail_page.table_filter.findData("ledger_entry"))
    trail_page.record_filter.setText("42")
    trail_page.apply()
    assert [(r.table_name, r.record_id) for r in trail_page.model.rows] == [("ledger_entry", "42")]

    trail_page.clear_filters()
    trail_page.date_from.setDate(dt.date(2026, 1, 2))
    trail_page.date_to.setDate(dt.date(2026, 1, 2))
    trail_page.from_check.setChecked(True)
    trail_page.to_check.setChecked(True)
    days = {row.at.astimezone().date() for row in trail_page.model.rows}
    assert days == {dt.date(2026, 1, 2)}
    assert len(trail_page.model.rows) == 144  # one entry every 10 minutes
    assert "entries shown" in trail_page.status_label.text()


def test_blinded_user_sees_arms_hidden_in_the_audit_trail(open_window: WindowOpener) -> None:
    window = open_window("pharm2")
    window.trigger("view.audit")
    page = window.audit_page
    assert page is not None
    page.table_filter.setCurrentIndex(page.table_filter.findData("arm"))
    names = [row.new_value for row in page.model.rows]
    assert names
    assert all(name == HIDDEN_FOR_BLINDING for name in names)
    page.table_filter.setCurrentIndex(page.table_filter.findData("kit"))
    assert page.model.rows
    assert all(
        '"arm_id": "(hidden: blinded)"' in (row.new_value or "")
        for row in page.model.rows
        if row.action == "insert"
    )
    assert "Arms are hidden" in page.status_label.text()

    unblinded = open_window("pharm")
    unblinded.trigger("view.audit")
    upage = unblinded.audit_page
    assert upage is not None
    upage.table_filter.setCurrentIndex(upage.table_filter.findData("arm"))
    assert any("Placebo" in (row.new_value or "") for row in upage.model.rows)
