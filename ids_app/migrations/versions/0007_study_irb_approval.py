"""A study keeps its IRB approval (date, expiry) and the protocol version it approved.

Studies already on record have none yet (NULL): dispensing goes on as before until an
approval is recorded, and from then on stops when it expires.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without a default: no existing row is rewritten.
    op.add_column("study", sa.Column("irb_approved_on", sa.Date(), nullable=True))
    op.add_column("study", sa.Column("irb_expires_on", sa.Date(), nullable=True))
    op.add_column("study", sa.Column("protocol_version", sa.String(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
