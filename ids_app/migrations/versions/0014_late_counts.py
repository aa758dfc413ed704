"""Late counts: a count typed in from its paper sheet keeps when it was recorded and why late.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and not back-filled: a count recorded before this had no other time than
    # the one it was counted at, and no existing row is rewritten.
    op.add_column(
        "physical_count",
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
    )
    op.add_column("physical_count", sa.Column("late_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
