"""Audit entries name their study, so each study's workspace can show its own trail.

Entries already written keep no study (NULL): the trail is append-only and their hashes
were computed without one, so they are left exactly as they are and still verify.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: no row is rewritten (nor any UPDATE trigger
    # fired) on SQLite or PostgreSQL, however long the trail.
    op.add_column("audit_entry", sa.Column("study_id", sa.Integer(), nullable=True))
    # A study's trail by id, alone or narrowed to a user or a table (see AuditEntry).
    op.create_index("ix_audit_entry_study_id", "audit_entry", ["study_id", "id", "at"])
    op.create_index("ix_audit_entry_study_username", "audit_entry", ["study_id", "username", "id"])
    op.create_index("ix_audit_entry_study_table", "audit_entry", ["study_id", "table_name", "id"])


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
