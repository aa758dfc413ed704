"""Column mappings saved per sponsor, offered first when the sponsor's next file is opened.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_preset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "kit list",
                "packing list",
                "logger file",
                name="importkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sponsor", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("header_line", sa.Integer(), nullable=True),
        sa.Column("date_order", sa.String(), nullable=True),
        sa.Column("date_format", sa.String(), nullable=True),
        sa.Column("saved_by_id", sa.Integer(), nullable=False),
        sa.Column("saved_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("archived_by_id", sa.Integer(), nullable=True),
        sa.Column("archived_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["saved_by_id"], ["app_user.id"], name=op.f("fk_import_preset_saved_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["archived_by_id"],
            ["app_user.id"],
            name=op.f("fk_import_preset_archived_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_preset")),
        sa.UniqueConstraint("kind", "sponsor", "name", name=op.f("uq_import_preset_kind")),
    )


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
