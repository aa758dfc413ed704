"""The audit-trail viewer: paged keyset reads, filters in SQL, arms hidden from the blinded;
the same viewer scoped to one study in its workspace."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import and_, event, func, or_, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import REFUSED
from ids_app.audit.views import HIDDEN_FOR_BLINDING, AuditRow
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.errors import PermissionDenied
from ids_app.migrations.schema import prepare_database
from ids_app.reports.audit_extract import study_records
from ids_app.studies.models import Blinding, StudyStatus
from ids_app.studies.views import StudyRow, shows_arms, study_row
from ids_app.ui.audit_viewer import PAGE_SIZE, AuditTrailPage, StudyAuditTab
from ids_app.ui.context import Workspace
from ids_app.ui.settings import AppSettings
from ids_app.users.models import Role, User
from ids_app.users.services import add_user, create_first_administrator, get_user
from tests.ui.conftest import WindowOpener, sign_in, visible_texts
from tests.ui.workflows import study_id

pytestmark = pytest.mark.gui

GENERATED = 20_000
USERS = ("tech", "pharm", "pharm2", "monitor")
STUDIES = (1, 2, None)  # generated entry n belongs to STUDIES[n % 3]


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
            " study_id, field, old_value, new_value, reason, prev_hash, hash)"
            " VALUES (?, ?, NULL, ?, 'update', ?, ?, ?, 'state', 'a', 'b', NULL, ?, ?)",
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
                    STUDIES[n % 3],
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

    # A record id alone: record 42 of every table, found through the (table, record) index.
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    trail_page.table_filter.setCurrentIndex(0)
    engine = trail_page.ws.db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        trail_page.apply()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert {(r.table_name, r.record_id) for r in trail_page.model.rows} == {
        ("ledger_entry", "42"),
        ("dispense_order", "42"),
    }
    sql, params = next((q, p) for q, p in statements if "ORDER BY audit_entry.id" in q)
    assert "ix_audit_entry_record" in _plan(trail_page.ws.db, sql, params)

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


# --- one study's trail -----------------------------------------------------------------------

FIRST_STUDY = StudyRow(
    1, "GEN-1", "Generated", "Sponsor", "Dr. P", StudyStatus.OPEN, Blinding.OPEN_LABEL, None
)


def _plan(db: Database, sql: str, params: Any) -> str:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", tuple(params)).all()
    return " ".join(str(row[-1]) for row in rows)


def test_study_trail_reads_its_entries_a_page_at_a_time_through_its_indexes(
    big_trail: Path, qtbot: QtBot
) -> None:
    db = Database(sqlite_url(big_trail))
    with db.read_session() as session:
        admin = session.scalars(select(User)).one()
        first = int(session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.study_id == 1)))
    page = AuditTrailPage(Workspace(db, admin, AppSettings()), study_scoped=True)
    qtbot.addWidget(page)
    page.set_study(FIRST_STUDY)
    page.load()
    model = page.model
    assert model.rowCount() == PAGE_SIZE

    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        statements.append((statement, parameters))

    def one_page_read(action: Any) -> tuple[str, Any]:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            action()
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        reads = [(sql, params) for sql, params in statements if "ORDER BY audit_entry.id" in sql]
        assert len(reads) == 1
        return reads[0]

    sql, params = one_page_read(lambda: model.fetchMore(model.index(-1, -1)))
    assert "audit_entry.study_id = ?" in sql
    assert "audit_entry.id < ?" in sql
    assert "ix_audit_entry_study_id" in _plan(db, sql, params)
    assert model.rowCount() == 2 * PAGE_SIZE
    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    ids = [row.id for row in model.rows]
    assert len(ids) == GENERATED // 3 + 1
    assert all((entry_id - first) % 3 == 0 for entry_id in ids)  # the study's, and only

    def by_user() -> None:
        page.user_filter.setCurrentText("pharm")
        page.apply()

    sql, params = one_page_read(by_user)
    assert "ix_audit_entry_study_username" in _plan(db, sql, params)
    assert {row.username for row in model.rows} == {"pharm"}
    assert len(model.rows) == PAGE_SIZE

    def by_table() -> None:
        page.user_filter.setCurrentText("(any)")
        page.table_filter.setCurrentIndex(page.table_filter.findData("ledger_entry"))

    sql, params = one_page_read(by_table)
    assert "ix_audit_entry_study_table" in _plan(db, sql, params)
    assert {row.table_name for row in model.rows} == {"ledger_entry"}
    assert page.table_filter.findData("location") == -1  # a study has no locations

    def by_record_alone() -> None:
        page.record_filter.setText("42")
        page.table_filter.setCurrentIndex(0)  # (any) table: applies the filters

    sql, params = one_page_read(by_record_alone)
    assert "ix_audit_entry_record" in _plan(db, sql, params)
    assert {(row.record_id, (row.id - first) % 3) for row in model.rows} == {("42", 0)}
    db.dispose()


def _belonging_to(db: Database, study: int) -> set[int]:
    """The entries the audit binder's extract counts as the study's, by record."""
    with db.read_session() as session:
        belongs = or_(
            *(
                and_(AuditEntry.table_name == table, AuditEntry.record_id.in_(ids))
                for table, ids in study_records(study).items()
            )
        )
        return set(session.scalars(select(AuditEntry.id).where(belongs)))


def _study_row_of(db: Database, sid: int) -> StudyRow:
    with db.read_session() as session:
        return study_row(session, sid, get_user(session, "pharm"))


def _not_in_binder(db: Database, sid: int) -> set[int]:
    with db.read_session() as session:
        return set(
            session.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.study_id == sid,
                    AuditEntry.table_name.not_in(list(study_records(sid))),
                )
            )
        )


def _study_tab(qtbot: QtBot, db: Database, username: str, protocol: str) -> StudyAuditTab:
    user = sign_in(db, username)
    tab = StudyAuditTab(Workspace(db, user, AppSettings()))
    qtbot.addWidget(tab)
    tab.resize(1200, 700)
    with db.read_session() as session:
        sid = study_id(db, protocol)
        tab.set_study(study_row(session, sid, user), shows_arms(session, user, sid))
    tab.show()  # a tab reads its records when shown
    model = tab.page.model
    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    return tab


def test_a_study_trail_lists_none_of_another_studys_entries(
    qtbot: QtBot, demo_db: Database
) -> None:
    abc, xyz = study_id(demo_db, "ABC-123"), study_id(demo_db, "XYZ-789")
    of_abc, of_xyz = _belonging_to(demo_db, abc), _belonging_to(demo_db, xyz)
    assert of_abc
    assert of_xyz
    tab = _study_tab(qtbot, demo_db, "pharm", "XYZ-789")
    rows: list[AuditRow] = tab.page.model.rows
    shown = {row.id for row in rows}
    assert not shown & of_abc
    # Every entry the binder counts as XYZ-789's is there; the others are of records the
    # binder's extract does not list (an excursion's hold, readings in transit).
    assert of_xyz <= shown
    assert {row.table_name for row in rows if row.id not in of_xyz} <= {
        "excursion_hold",
        "temperature_reading",
        "temperature_log_file",
        "excursion",
    }

    tab.set_study(_study_row_of(demo_db, abc), show_arms=True)  # the same tab, another study
    assert tab.page.model.rowCount() > 0
    assert {row.id for row in tab.page.model.rows} <= of_abc | _not_in_binder(demo_db, abc)


# ABC-123's arms are "A — ABC 10 mg" and "B — Placebo" (see test_main_window.ARM_TEXT).
ARM_TEXT = re.compile(r"Placebo(?!-Controlled)|ABC 10 mg(?! or placebo)|\bArm\b|arm: [AB]\b")


def _texts_of_study_trail(tab: StudyAuditTab) -> list[str]:
    """Every entry of the trail, and each arm-bearing table's first entry read whole."""
    page = tab.page
    texts = visible_texts(tab)
    for table in ("arm", "kit", "subject"):
        page.table_filter.setCurrentIndex(page.table_filter.findData(table))
        assert page.model.rowCount(), table
        page.view.selectRow(0)
        texts.extend(visible_texts(tab))
    return texts


def test_blinded_user_sees_no_arm_in_a_study_trail(qtbot: QtBot, demo_db: Database) -> None:
    # Control: the unblinded pharmacist does see the arms, so the search below can fail.
    unblinded = _study_tab(qtbot, demo_db, "pharm", "ABC-123")
    assert any(ARM_TEXT.search(text) for text in _texts_of_study_trail(unblinded))
    assert "Arms are hidden" not in unblinded.page.status_label.text()

    for name in ("pharm2", "tech", "monitor"):
        tab = _study_tab(qtbot, demo_db, name, "ABC-123")
        assert tab.page.model.rowCount() > PAGE_SIZE  # every page was read
        assert "blinded on this study" in tab.page.status_label.text()
        texts = _texts_of_study_trail(tab)
        found = sorted({match.group(0) for text in texts for match in ARM_TEXT.finditer(text)})
        assert found == [], f"{name} saw {found}"
        assert any(HIDDEN_FOR_BLINDING in text for text in texts)


def test_a_study_trail_shows_nothing_before_it_knows_what_to_hide(
    qtbot: QtBot, demo_db: Database
) -> None:
    user = sign_in(demo_db, "pharm2")
    tab = StudyAuditTab(Workspace(demo_db, user, AppSettings()))
    qtbot.addWidget(tab)
    tab.page.apply()  # no study yet
    assert tab.page.model.rowCount() == 0
    tab.set_study(_study_row_of(demo_db, study_id(demo_db, "ABC-123")), show_arms=False)
    tab.page.newest_first.setChecked(False)  # a filter changed before the tab is shown
    assert tab.page.model.rowCount() == 0
    tab.show()
    assert tab.page.model.rowCount() > 0


def test_refusals_only_shows_the_security_events(qtbot: QtBot, demo_db: Database) -> None:
    admin, tech = sign_in(demo_db, "admin"), sign_in(demo_db, "tech")
    with pytest.raises(PermissionDenied), demo_db.unit_of_work() as session:
        add_user(session, tech, "newtech", "New Tech", Role.TECHNICIAN, "temporary-1")
    page = AuditTrailPage(Workspace(demo_db, admin, AppSettings()))
    qtbot.addWidget(page)
    page.show()
    page.load()
    assert page.model.rowCount() > 1
    page.refusals_only.setChecked(True)  # the filter applies itself
    shown = page.model.rows
    assert all(row.action == REFUSED or row.action.endswith("_failed") for row in shown)
    assert (shown[0].action, shown[0].username, shown[0].new_value) == (
        REFUSED,
        "tech",
        "tried to add users",
    )
    page.clear_filters()
    assert not page.refusals_only.isChecked()
    assert page.model.rowCount() > 1
