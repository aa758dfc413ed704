"""A dispense order records how the preparer and the verifier identified the item in hand.

Scanned, or typed with the reason it could not be scanned (issue 14). Orders already on
record have none (NULL): they were prepared before a scan was asked for.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTIFICATION = sa.Enum("scanned", "typed", name="identification", native_enum=False, length=32)


def upgrade() -> None:
    # Nullable columns without a default: no existing row is rewritten.
    op.add_column("dispense_order", sa.Column("prepared_identified", IDENTIFICATION, nullable=True))
    op.add_column("dispense_order", sa.Column("prepared_typed_reason", sa.Text(), nullable=True))
    op.add_column("dispense_order", sa.Column("verified_identified", IDENTIFICATION, nullable=True))
    op.add_column("dispense_order", sa.Column("verified_typed_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
