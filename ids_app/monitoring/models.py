"""A monitoring visit and what the monitor records in it: reviews, notes and queries.

A visit is a record of its own (who reviewed what, when, and signed it as reviewed), not a
printout: a sponsor's monitor reviews the site's accountability record item by item and
the site answers their queries in the same record (ICH E6(R3) 3.11.4, 21 CFR 11.10(e)).
Reviews, notes and query messages are written once and never changed (append-only).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ids_app.db import Base, utc_now


class VisitMode(enum.StrEnum):
    ON_SITE = "on-site"
    REMOTE = "remote"


class VisitState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RecordKind(enum.StrEnum):
    """The records a monitor reviews and raises queries on, in the pharmacy's words."""

    DISPENSE = "dispense"
    RECEIPT = "receipt"
    RETURN = "return"
    DESTRUCTION = "destruction"
    COUNT = "count"
    EXCURSION = "temperature excursion"


class QueryState(enum.StrEnum):
    OPEN = "open"  # awaiting the site's answer
    ANSWERED = "answered"  # awaiting the monitor
    CLOSED = "closed"


class QueryStep(enum.StrEnum):
    """One message of a query's thread."""

    RAISED = "raised"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


class MonitoringVisit(Base):
    """One visit of a monitor to one study: when, how, and the period under review.

    Closed with the monitor's signature meaning "reviewed" (21 CFR 11.50).
    """

    __tablename__ = "monitoring_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    visit_on: Mapped[dt.date]
    mode: Mapped[VisitMode]
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    state: Mapped[VisitState] = mapped_column(default=VisitState.OPEN)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_monitoring_visit_study_id", "study_id", "visit_on"),)


class VisitReview(Base):
    """A record the monitor marked reviewed in a visit, and when."""

    __tablename__ = "visit_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    visit_id: Mapped[int] = mapped_column(ForeignKey("monitoring_visit.id"))
    kind: Mapped[RecordKind]
    record_id: Mapped[int]
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        Index("ix_visit_review_record", "study_id", "kind", "record_id"),
        Index("ix_visit_review_visit_id", "visit_id"),
    )


class VisitNote(Base):
    """A note the monitor wrote during a visit."""

    __tablename__ = "visit_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    visit_id: Mapped[int] = mapped_column(ForeignKey("monitoring_visit.id"))
    text: Mapped[str] = mapped_column(Text)
    written_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    written_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class MonitorQuery(Base):
    """A monitor's query on one record: what is wrong and what is asked of the site.

    ``state`` moves (open → answered → closed, or back to open); the thread of
    :class:`QueryMessage` keeps every answer and every reopening as it was written.
    """

    __tablename__ = "monitor_query"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_visit.id"))
    kind: Mapped[RecordKind]
    record_id: Mapped[int]
    problem: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text)
    state: Mapped[QueryState] = mapped_column(default=QueryState.OPEN)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    raised_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_monitor_query_study_id", "study_id", "state"),)


class QueryMessage(Base):
    """One step of a query's thread: raised, answered (with any correcting action),
    closed or reopened, by whom and when."""

    __tablename__ = "query_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    query_id: Mapped[int] = mapped_column(ForeignKey("monitor_query.id"))
    step: Mapped[QueryStep]
    text: Mapped[str] = mapped_column(Text)
    correcting_action: Mapped[str | None] = mapped_column(Text)
    written_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    written_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (Index("ix_query_message_query_id", "query_id"),)
