"""Shipments announced by the sponsor's depot, expected until they are received.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expected_shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("shipment_number", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_expected_shipment_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_expected_shipment_recorded_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expected_shipment")),
        sa.UniqueConstraint(
            "study_id", "shipment_number", name=op.f("uq_expected_shipment_study_id")
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
