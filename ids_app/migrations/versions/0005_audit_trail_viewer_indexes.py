"""Indexes for reading page by page: the audit trail by table or user, a study's orders.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_table_id", "audit_entry", ["table_name", "id"])
    op.create_index("ix_audit_entry_username", "audit_entry", ["username", "id"])
    op.create_index("ix_dispense_order_study_id", "dispense_order", ["study_id", "id"])


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
