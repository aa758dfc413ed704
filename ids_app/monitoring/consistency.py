"""``verify``'s checks of the monitor's records: states no service could have left.

A closed visit was signed "reviewed" by its monitor, and a destruction authorization was
signed "approved" by the monitor it names; only signatures that still hold are counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.audit.verification import Finding
from ids_app.inventory.authorizations import DestructionAuthorization
from ids_app.inventory.consistency import SignedBy
from ids_app.monitoring.models import MonitoringVisit, VisitState
from ids_app.users.models import SignatureMeaning


def monitoring_findings(session: Session, signatures: Iterable[SignedBy]) -> list[Finding]:
    signed = {(s.record_table, s.record_id, s.meaning, s.user_id) for s in signatures}
    return [*_visit_findings(session, signed), *_authorization_findings(session, signed)]


def _visit_findings(
    session: Session, signed: set[tuple[str, str, SignatureMeaning, int]]
) -> Iterator[Finding]:
    table = MonitoringVisit.__tablename__
    for visit, monitor in session.execute(
        select(MonitoringVisit.id, MonitoringVisit.monitor_id).where(
            MonitoringVisit.state == VisitState.CLOSED
        )
    ):
        if (table, str(visit), SignatureMeaning.REVIEWED, monitor) not in signed:
            yield Finding(
                "workflow",
                table,
                str(visit),
                "the visit reads as closed but its monitor never signed it as reviewed",
            )


def _authorization_findings(
    session: Session, signed: set[tuple[str, str, SignatureMeaning, int]]
) -> Iterator[Finding]:
    table = DestructionAuthorization.__tablename__
    for authorization, monitor in session.execute(
        select(DestructionAuthorization.id, DestructionAuthorization.authorized_by_id)
    ):
        if (table, str(authorization), SignatureMeaning.APPROVED, monitor) not in signed:
            yield Finding(
                "workflow",
                table,
                str(authorization),
                "the destruction authorization lacks the signature of the monitor it names",
            )
