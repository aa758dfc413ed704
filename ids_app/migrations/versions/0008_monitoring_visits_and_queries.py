"""Monitoring visits, records reviewed, notes, queries; the monitor's destruction authorization

A monitor's visit becomes a record of its own, and a study may require the monitor's
signed authorization before anything is destroyed. Reviews, notes, query messages and
authorizations are written once: the database refuses to change them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db
from ids_app.migrations.append_only import make_append_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "destruction_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("monitor_authorizes", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["app_user.id"], name=op.f("fk_destruction_rule_set_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_destruction_rule_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_rule")),
        sa.UniqueConstraint("study_id", name=op.f("uq_destruction_rule_study_id")),
    )
    op.create_table(
        "monitoring_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("visit_on", sa.Date(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("on-site", "remote", name="visitmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="visitstate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("opened_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor_id"], ["app_user.id"], name=op.f("fk_monitoring_visit_monitor_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_monitoring_visit_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_visit")),
    )
    with op.batch_alter_table("monitoring_visit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitoring_visit_study_id", ["study_id", "visit_on"], unique=False
        )

    op.create_table(
        "monitor_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "dispense",
                "receipt",
                "return",
                "destruction",
                "count",
                "temperature excursion",
                name="recordkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("open", "answered", "closed", name="querystate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("raised_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["app_user.id"], name=op.f("fk_monitor_query_raised_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_monitor_query_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["monitoring_visit.id"],
            name=op.f("fk_monitor_query_visit_id_monitoring_visit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_query")),
    )
    with op.batch_alter_table("monitor_query", schema=None) as batch_op:
        batch_op.create_index("ix_monitor_query_study_id", ["study_id", "state"], unique=False)

    op.create_table(
        "visit_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=False),
        sa.Column("written_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_visit_note_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["monitoring_visit.id"],
            name=op.f("fk_visit_note_visit_id_monitoring_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["app_user.id"], name=op.f("fk_visit_note_written_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_note")),
    )
    op.create_table(
        "visit_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dispense",
                "receipt",
                "return",
                "destruction",
                "count",
                "temperature excursion",
                name="recordkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["app_user.id"],
            name=op.f("fk_visit_review_reviewed_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_visit_review_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["monitoring_visit.id"],
            name=op.f("fk_visit_review_visit_id_monitoring_visit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_review")),
    )
    with op.batch_alter_table("visit_review", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visit_review_record", ["study_id", "kind", "record_id"], unique=False
        )
        batch_op.create_index("ix_visit_review_visit_id", ["visit_id"], unique=False)

    op.create_table(
        "destruction_authorization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("kit_numbers", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("authorized_by_id", sa.Integer(), nullable=False),
        sa.Column("authorized_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorized_by_id"],
            ["app_user.id"],
            name=op.f("fk_destruction_authorization_authorized_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lot.id"], name=op.f("fk_destruction_authorization_lot_id_lot")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_destruction_authorization_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destruction_authorization")),
        sa.UniqueConstraint(
            "study_id", "reference", name=op.f("uq_destruction_authorization_study_id")
        ),
    )
    op.create_table(
        "query_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "raised",
                "answered",
                "closed",
                "reopened",
                name="querystep",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("correcting_action", sa.Text(), nullable=True),
        sa.Column("written_by_id", sa.Integer(), nullable=False),
        sa.Column("written_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"], ["monitor_query.id"], name=op.f("fk_query_message_query_id_monitor_query")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_query_message_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["app_user.id"], name=op.f("fk_query_message_written_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_message")),
    )
    with op.batch_alter_table("query_message", schema=None) as batch_op:
        batch_op.create_index("ix_query_message_query_id", ["query_id"], unique=False)
    for table in ("visit_review", "visit_note", "query_message", "destruction_authorization"):
        make_append_only(table)


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
