"""Audit entries and the head of their hash chain (21 CFR 11.10(e))."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from ids_app.db import Base

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    """One fact about a change: who, when, which record and field, old → new, why.

    Rows are never updated or deleted (database triggers refuse it). ``id`` is given by
    the appender, not the database, so the chain has no gaps: a missing id is a deleted
    row. ``study_id`` names the study the record belongs to (None for users, sign-ins,
    shared locations, and every entry written before schema 0006). It is a plain column,
    not a foreign key, so appending an entry never waits on, or fails over, another table.
    """

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime]
    user_id: Mapped[int | None]
    username: Mapped[str]
    action: Mapped[str]
    table_name: Mapped[str]
    record_id: Mapped[str | None]
    study_id: Mapped[int | None]
    field: Mapped[str | None]
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_entry_record", "table_name", "record_id"),
        Index("ix_audit_entry_user_at", "user_id", "at"),
        Index("ix_audit_entry_at", "at"),
        # The trail viewer pages through one table, or one user's entries, by id.
        Index("ix_audit_entry_table_id", "table_name", "id"),
        Index("ix_audit_entry_username", "username", "id"),
        # A study's own trail (its workspace) by id, alone or narrowed to a user or a
        # table: each filter reads one page of its index however the study's entries
        # spread over users and tables. ``at`` rides along so that walking a busy study
        # back to a period is checked in the index, without reading each row.
        Index("ix_audit_entry_study_id", "study_id", "id", "at"),
        Index("ix_audit_entry_study_username", "study_id", "username", "id"),
        Index("ix_audit_entry_study_table", "study_id", "table_name", "id"),
    )


class AuditChainHead(Base):
    """The single row naming the chain's last entry.

    Every append updates it first, which takes a write lock: appenders queue one
    behind another, so the chain never forks. It also reveals a deleted tail.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int]
    last_hash: Mapped[str] = mapped_column(Text)
