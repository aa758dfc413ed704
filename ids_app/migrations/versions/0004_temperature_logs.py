"""Temperature logs, excursions and their quarantine holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 01:34:08.807612
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db
from ids_app.migrations.append_only import make_append_only

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "excursion_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("minimum_minutes", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_excursion_rule_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["app_user.id"], name=op.f("fk_excursion_rule_set_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excursion_rule")),
        sa.UniqueConstraint("location_id", name=op.f("uq_excursion_rule_location_id")),
    )
    op.create_table(
        "excursion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("range_min_c", sa.Double(), nullable=False),
        sa.Column("range_max_c", sa.Double(), nullable=False),
        sa.Column("started_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("min_c", sa.Double(), nullable=False),
        sa.Column("max_c", sa.Double(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="excursionstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            sa.Enum(
                "readings", "min/max memory", name="excursionevidence", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("minimum_minutes", sa.Integer(), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(location_id IS NULL) <> (shipment_id IS NULL)", name=op.f("ck_excursion_one_place")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_excursion_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"], ["app_user.id"], name=op.f("fk_excursion_opened_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_excursion_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excursion")),
    )
    with op.batch_alter_table("excursion", schema=None) as batch_op:
        batch_op.create_index(
            "ix_excursion_location_time", ["location_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_excursion_shipment", ["shipment_id"], unique=False)

    op.create_table(
        "temperature_log_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("layout", sa.String(), nullable=False),
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum("C", "F", name="temperatureunit", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("time_zone", sa.String(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("reading_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("first_reading_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_reading_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=False),
        sa.Column("imported_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(location_id IS NULL) <> (shipment_id IS NULL)",
            name=op.f("ck_temperature_log_file_one_place"),
        ),
        sa.ForeignKeyConstraint(
            ["imported_by_id"],
            ["app_user.id"],
            name=op.f("fk_temperature_log_file_imported_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_temperature_log_file_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipment.id"],
            name=op.f("fk_temperature_log_file_shipment_id_shipment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temperature_log_file")),
        sa.UniqueConstraint("sha256", name=op.f("uq_temperature_log_file_sha256")),
    )
    op.create_table(
        "excursion_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("excursion_id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["excursion_id"],
            ["excursion.id"],
            name=op.f("fk_excursion_hold_excursion_id_excursion"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["quarantine_hold.id"],
            name=op.f("fk_excursion_hold_hold_id_quarantine_hold"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excursion_hold")),
        sa.UniqueConstraint("excursion_id", "hold_id", name=op.f("uq_excursion_hold_excursion_id")),
    )
    op.create_table(
        "temperature_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("taken_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Double(), nullable=False),
        sa.Column("min_c", sa.Double(), nullable=True),
        sa.Column("max_c", sa.Double(), nullable=True),
        sa.Column(
            "source",
            sa.Enum("manual", "logger", name="readingsource", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("device_id", sa.String(), nullable=True),
        sa.Column("log_file_id", sa.Integer(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(location_id IS NULL) <> (shipment_id IS NULL)",
            name=op.f("ck_temperature_reading_one_place"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["location.id"],
            name=op.f("fk_temperature_reading_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["log_file_id"],
            ["temperature_log_file.id"],
            name=op.f("fk_temperature_reading_log_file_id_temperature_log_file"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["app_user.id"],
            name=op.f("fk_temperature_reading_recorded_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipment.id"],
            name=op.f("fk_temperature_reading_shipment_id_shipment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_temperature_reading")),
    )
    with op.batch_alter_table("temperature_reading", schema=None) as batch_op:
        batch_op.create_index(
            "ix_temperature_reading_device_time", ["device_id", "taken_at"], unique=False
        )
        batch_op.create_index(
            "ix_temperature_reading_location_time", ["location_id", "taken_at"], unique=False
        )
        batch_op.create_index(
            "ix_temperature_reading_shipment_time", ["shipment_id", "taken_at"], unique=False
        )

    # Written once and never changed (21 CFR 11.10(e), ALCOA+): the readings, the files
    # they came from, and the holds an excursion opened. Excursions (lengthened by later
    # readings) and the minimum-duration rules change, with every change audited.
    for table in ("temperature_reading", "temperature_log_file", "excursion_hold"):
        make_append_only(table)


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
