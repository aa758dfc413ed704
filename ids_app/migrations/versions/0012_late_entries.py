"""Late entries: the reason an event was recorded after it happened, and the study's delay.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without a default: no existing row is rewritten, and the ledger's
    # append-only triggers stay as they are (no table is rebuilt).
    op.add_column("ledger_entry", sa.Column("late_reason", sa.Text(), nullable=True))
    op.add_column("study", sa.Column("late_entry_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
