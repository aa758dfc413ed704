"""Correcting setup: products retire, staff roles end, subject statuses carry their date, a
product's corrections are kept as signed rows, and a manual temperature reading can be
corrected by a later reading that names it.

Existing rows get NULL (not retired, no end date, status date unknown): nothing already on
record is rewritten.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db
from ids_app.migrations.append_only import make_append_only

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product", sa.Column("retired_on", sa.Date(), nullable=True))
    op.add_column("study_staff", sa.Column("ended_on", sa.Date(), nullable=True))
    op.add_column("subject", sa.Column("status_on", sa.Date(), nullable=True))
    # Readings stay append-only: a correction is a new row pointing at the one it replaces.
    # SQLite adds a column's foreign key only inline (batch mode would copy the table and
    # drop its append-only triggers), so its statement is written out.
    name = op.f("fk_temperature_reading_corrects_id_temperature_reading")
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE temperature_reading ADD COLUMN corrects_id INTEGER "
            f"CONSTRAINT {name} REFERENCES temperature_reading (id)"
        )
    else:
        op.add_column(
            "temperature_reading",
            sa.Column(
                "corrects_id",
                sa.Integer(),
                sa.ForeignKey("temperature_reading.id", name=name),
                nullable=True,
            ),
        )
    op.create_index(
        "ix_temperature_reading_corrects_id", "temperature_reading", ["corrects_id"], unique=False
    )
    op.create_table(
        "product_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_by_id", sa.Integer(), nullable=False),
        sa.Column("corrected_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_correction_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["app_user.id"],
            name=op.f("fk_product_correction_corrected_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_correction")),
    )
    # A correction, once signed, is what the signature binds: written once, never changed.
    make_append_only("product_correction")


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
