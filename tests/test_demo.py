"""The demo database: both studies built through the services, consistent and verifiable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.audit.verification import verify_chain
from ids_app.cli import main
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.demo_history import DOWNTIME_REASON
from ids_app.errors import InvalidInput
from ids_app.inventory.ledger import study_balances
from ids_app.inventory.models import (
    DispenseOrder,
    Disposal,
    EntryKind,
    HoldDecision,
    HoldDecisionKind,
    HoldReason,
    LedgerEntry,
    OrderState,
    QuarantineHold,
    StockState,
    SubjectReturn,
)
from ids_app.storage.models import Excursion, TemperatureReading
from ids_app.studies.models import Study
from tests import databases


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The demo built by the command, on the database the suite runs against."""
    empty, name = databases.empty_database(tmp_path_factory.mktemp("demo"))
    url = empty.url.render_as_string(hide_password=False)
    empty.dispose()
    assert main(["demo", "--database", url]) == 0
    built = Database(url)
    yield built
    databases.discard(built, name)


def _totals(db: Database, protocol: str) -> dict[StockState, int]:
    with db.read_session() as session:
        study = session.scalars(select(Study).where(Study.protocol_number == protocol)).one()
        totals: dict[StockState, int] = {}
        for row in study_balances(session, study.id):
            assert row.quantity > 0
            totals[row.state] = totals.get(row.state, 0) + row.quantity
        return totals


def test_demo_has_the_double_blind_oral_study_of_the_domain_example(demo: Database) -> None:
    totals = _totals(demo, "ABC-123")
    assert sum(totals.values()) == 20  # the depot's 20 kits, wherever they now stand
    assert totals[StockState.DISPENSED] > 0
    assert totals[StockState.DESTROYED] > 0
    with demo.read_session() as session:
        returns = session.scalars(select(SubjectReturn)).all()
        assert returns
        assert all(r.monitor_verified_at is not None for r in returns)


def test_demo_has_the_injectable_study_with_an_excursion_and_a_destruction(
    demo: Database,
) -> None:
    totals = _totals(demo, "XYZ-789")
    assert totals[StockState.DESTROYED] == 10  # the shipment that was too warm in transit
    with demo.read_session() as session:
        decisions = {d.decision for d in session.scalars(select(HoldDecision))}
        assert decisions == {HoldDecisionKind.RELEASE, HoldDecisionKind.CONDEMN}
        assert session.scalar(select(func.count()).select_from(Disposal)) == 2
        states = set(session.scalars(select(DispenseOrder.state)))
        assert states == {OrderState.DISPENSED}


def test_demo_fridge_logs_hold_one_excursion_found_and_released(demo: Database) -> None:
    with demo.read_session() as session:
        (excursion,) = session.scalars(select(Excursion)).all()
        assert excursion.max_c == 11.4
        assert session.scalar(select(func.count()).select_from(TemperatureReading)) > 10_000
        held = session.scalars(
            select(QuarantineHold).where(QuarantineHold.reason == HoldReason.EXCURSION)
        ).all()
        assert any("Infusion Center Satellite" in hold.details for hold in held)


def test_demo_trail_verifies_and_reads_in_time_order(demo: Database) -> None:
    with demo.read_session() as session:
        assert verify_chain(session).intact
        times = list(session.scalars(select(AuditEntry.at).order_by(AuditEntry.id)))
    assert times == sorted(times)


def test_failed_demo_build_leaves_no_half_made_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def history_fails(db: Database, passwords: dict[str, str]) -> None:
        raise InvalidInput("the demo history could not be written")

    monkeypatch.setattr("ids_app.demo.build_history", history_fails)
    target = tmp_path / "demo.sqlite"
    assert main(["demo", "--database", sqlite_url(target)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_demo_has_a_downtime_dispense_entered_late_from_the_paper_log(demo: Database) -> None:
    with demo.read_session() as session:
        late = session.scalars(
            select(LedgerEntry).where(LedgerEntry.late_reason.is_not(None))
        ).all()
    assert [entry.kind for entry in late] == [EntryKind.DISPENSE]
    assert late[0].late_reason == DOWNTIME_REASON
    assert late[0].recorded_at - late[0].occurred_at > dt.timedelta(hours=2)
