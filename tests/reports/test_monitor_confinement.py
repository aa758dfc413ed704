"""A sponsor's monitor sees only the studies they are assigned to.

In the demo, Morgan Monitor (Acme's CRA) is on the staff of ABC-123 only; XYZ-789 is
Zenith Bio's. The study list, every study screen's services, the reports and the audit
trail confine them to ABC-123, and the trail shows no other user's sign-ins.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.audit.trail import REFUSED
from ids_app.audit.views import AuditFilter, audit_page, audit_usernames
from ids_app.errors import PermissionDenied
from ids_app.inventory.kit_register import KitFilter, kit_register_page
from ids_app.inventory.views import on_site_page, stock_rows, study_ids_with_returns_awaiting
from ids_app.reports.exports import export_audit_binder, export_sponsor_workbook
from ids_app.reports.gather import gather_study_record
from ids_app.studies.models import StudyStaff
from ids_app.studies.views import list_studies, study_row
from ids_app.users.models import User
from tests.reports.conftest import INJECTABLE, ORAL, Demo

EVERYTHING = 1_000_000


def test_monitor_sees_only_their_studies_in_the_study_list(demo: Demo) -> None:
    with demo.db.read_session() as session:
        monitor_sees = [
            row.protocol_number for row in list_studies(session, reader=demo.user("monitor"))
        ]
        pharmacist_sees = [
            row.protocol_number for row in list_studies(session, reader=demo.user("pharm"))
        ]
    assert monitor_sees == [ORAL]
    assert pharmacist_sees == [ORAL, INJECTABLE]


def test_monitor_cannot_open_another_sponsors_study(demo: Demo) -> None:
    monitor, other = demo.user("monitor"), demo.study(INJECTABLE)
    with demo.db.read_session() as session:
        assert study_row(session, demo.study(ORAL).id, monitor).protocol_number == ORAL
        with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
            study_row(session, other.id, monitor)
        with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
            stock_rows(session, other.id, dt.date.today(), 60, reader=monitor)
        with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
            on_site_page(session, other.id, dt.date.today(), reader=monitor, after=None, limit=50)
        with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
            kit_register_page(session, monitor, other.id, KitFilter())
        with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
            gather_study_record(session, monitor, INJECTABLE)


def _refusals_of(demo: Demo, username: str) -> list[AuditEntry]:
    with demo.db.read_session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == REFUSED, AuditEntry.username == username
                )
            )
        )


def test_monitor_cannot_export_another_sponsors_study_and_the_attempt_is_kept(
    demo: Demo, tmp_path: Path
) -> None:
    monitor = demo.user("monitor")
    before = len(_refusals_of(demo, "monitor"))
    with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
        export_audit_binder(demo.db, monitor, INJECTABLE, tmp_path / "xyz.pdf")
    with pytest.raises(PermissionDenied, match="not assigned to study XYZ-789"):
        export_sponsor_workbook(demo.db, monitor, INJECTABLE, tmp_path / "xyz.xlsx")
    assert list(tmp_path.iterdir()) == []
    refusals = _refusals_of(demo, "monitor")[before:]
    assert [(e.table_name, e.record_id, e.study_id) for e in refusals] == [
        ("study", str(demo.study(INJECTABLE).id), demo.study(INJECTABLE).id)
    ] * 2
    assert all(e.new_value == "tried to export study records" for e in refusals)


def test_monitor_trail_shows_their_studies_and_no_other_users_sign_ins(demo: Demo) -> None:
    monitor, oral = demo.user("monitor"), demo.study(ORAL)
    with demo.db.read_session() as session:
        everything = audit_page(session, AuditFilter(), reader=demo.user("pharm"), limit=EVERYTHING)
        seen = audit_page(session, AuditFilter(), reader=monitor, limit=EVERYTHING)
    others_sign_ins = [e for e in everything if e.action == "sign_in" and e.username != "monitor"]
    assert others_sign_ins, "the demo has other people's sign-ins to hide"
    assert seen
    assert all(row.study_id == oral.id or row.username == "monitor" for row in seen)
    assert not [row for row in seen if row.action == "sign_in" and row.username != "monitor"]
    assert {row.study_id for row in seen} <= {oral.id, None}


def test_monitor_cannot_read_another_studys_trail(demo: Demo) -> None:
    with demo.db.read_session() as session:
        assert audit_page(
            session, AuditFilter(study_id=demo.study(ORAL).id), reader=demo.user("monitor"), limit=5
        )
        with pytest.raises(PermissionDenied, match="not assigned to this study"):
            audit_page(
                session,
                AuditFilter(study_id=demo.study(INJECTABLE).id),
                reader=demo.user("monitor"),
                limit=5,
            )


def test_monitor_work_list_names_only_their_studies(demo: Demo) -> None:
    with demo.db.read_session() as session:
        for_monitor = study_ids_with_returns_awaiting(session, demo.user("monitor"))
        for_pharmacist = study_ids_with_returns_awaiting(session, demo.user("pharm"))
    assert set(for_monitor) <= {demo.study(ORAL).id}
    assert set(for_monitor) <= set(for_pharmacist)


def test_monitor_is_offered_only_the_names_of_their_studies_people(demo: Demo) -> None:
    oral = demo.study(ORAL)
    with demo.db.read_session() as session:
        everyone = audit_usernames(session, demo.user("pharm"))
        offered = audit_usernames(session, demo.user("monitor"))
        oral_people = set(
            session.scalars(
                select(User.username)
                .join(StudyStaff, StudyStaff.user_id == User.id)
                .where(StudyStaff.study_id == oral.id)
            )
        )
    assert set(everyone) - oral_people - {"monitor"}, "the demo has accounts outside ABC-123"
    assert "monitor" in offered
    assert set(offered) == oral_people | {"monitor"}
