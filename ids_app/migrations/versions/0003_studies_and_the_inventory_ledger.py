"""Studies and the inventory ledger (append-only ledger entries)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 00:58:07.890286
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ids_app.db
from ids_app.migrations.append_only import make_append_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "location",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "shelf",
                "fridge",
                "freezer",
                "satellite",
                "returns",
                "quarantine",
                name="locationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("storage_min_c", sa.Double(), nullable=False),
        sa.Column("storage_max_c", sa.Double(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
        sa.UniqueConstraint("name", name=op.f("uq_location_name")),
    )
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_number", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("sponsor", sa.String(), nullable=False),
        sa.Column("principal_investigator", sa.String(), nullable=False),
        sa.Column("ind_number", sa.String(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "open",
                "on hold",
                "closed to accrual",
                "closed",
                name="studystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "blinding",
            sa.Enum(
                "open-label",
                "single-blind",
                "double-blind",
                name="blinding",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
        sa.UniqueConstraint("protocol_number", name=op.f("uq_study_protocol_number")),
    )
    op.create_table(
        "arm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_arm_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arm")),
        sa.UniqueConstraint("study_id", "code", name=op.f("uq_arm_study_id")),
    )
    op.create_table(
        "disposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("disposal_number", sa.String(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "destroyed on site",
                "destroyed at a facility",
                "returned to sponsor",
                name="disposalkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("sponsor_authorization", sa.String(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("performed_by_id", sa.Integer(), nullable=False),
        sa.Column("witness_id", sa.Integer(), nullable=False),
        sa.Column("courier", sa.String(), nullable=True),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["performed_by_id"], ["app_user.id"], name=op.f("fk_disposal_performed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_disposal_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"], ["app_user.id"], name=op.f("fk_disposal_witness_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal")),
        sa.UniqueConstraint("study_id", "disposal_number", name=op.f("uq_disposal_study_id")),
    )
    op.create_table(
        "physical_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("counted_by_id", sa.Integer(), nullable=False),
        sa.Column("counted_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["counted_by_id"],
            ["app_user.id"],
            name=op.f("fk_physical_count_counted_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_physical_count_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_physical_count_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_physical_count")),
    )
    op.create_table(
        "prescriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("credentials", sa.String(), nullable=True),
        sa.Column("authorized", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_prescriber_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriber")),
        sa.UniqueConstraint("study_id", "name", name=op.f("uq_prescriber_study_id")),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("agent_name", sa.String(), nullable=False),
        sa.Column("strength", sa.String(), nullable=False),
        sa.Column("dosage_form", sa.String(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "active",
                "placebo",
                "comparator",
                "blinded",
                name="productrole",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "tracking",
            sa.Enum("kit", "bulk", name="tracking", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("storage_min_c", sa.Double(), nullable=False),
        sa.Column("storage_max_c", sa.Double(), nullable=False),
        sa.Column("dose_unit", sa.String(), nullable=False),
        sa.Column("units_per_kit", sa.Integer(), nullable=True),
        sa.Column("dispense_quantity", sa.Integer(), nullable=False),
        sa.Column("days_supply", sa.Integer(), nullable=False),
        sa.Column("doses_per_day", sa.Double(), nullable=False),
        sa.Column("gtin", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_product_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
    )
    op.create_table(
        "shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("shipment_number", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column(
            "condition",
            sa.Enum("good", "damaged", name="shipmentcondition", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "temperature_monitor",
            sa.Enum(
                "in range",
                "excursion",
                "none",
                name="temperaturemonitor",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("received_by_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_shipment_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["received_by_id"], ["app_user.id"], name=op.f("fk_shipment_received_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_shipment_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment")),
        sa.UniqueConstraint("study_id", "shipment_number", name=op.f("uq_shipment_study_id")),
    )
    op.create_table(
        "study_staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("study_role", sa.String(), nullable=False),
        sa.Column("unblinded", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_study_staff_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_study_staff_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_staff")),
        sa.UniqueConstraint("study_id", "user_id", name=op.f("uq_study_staff_study_id")),
    )
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_lot_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot")),
        sa.UniqueConstraint("product_id", "lot_number", name=op.f("uq_lot_product_id")),
    )
    op.create_table(
        "packing_list_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_number", sa.String(), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("kit_number", sa.String(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_packing_list_line_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_packing_list_line_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packing_list_line")),
    )
    op.create_table(
        "quarantine_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "excursion",
                "damage",
                "recall",
                "expiry",
                "other",
                name="holdreason",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column("placed_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["app_user.id"], name=op.f("fk_quarantine_hold_placed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_quarantine_hold_shipment_id_shipment")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_quarantine_hold_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_hold")),
    )
    op.create_table(
        "subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_code", sa.String(), nullable=False),
        sa.Column("initials", sa.String(), nullable=False),
        sa.Column("arm_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "screening",
                "enrolled",
                "discontinued",
                "completed",
                name="subjectstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["arm_id"], ["arm.id"], name=op.f("fk_subject_arm_id_arm")),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_subject_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject")),
        sa.UniqueConstraint("study_id", "subject_code", name=op.f("uq_subject_study_id")),
    )
    op.create_table(
        "hold_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("release", "condemn", name="holddecisionkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("sponsor_reference", sa.String(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["app_user.id"], name=op.f("fk_hold_decision_decided_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["quarantine_hold.id"],
            name=op.f("fk_hold_decision_hold_id_quarantine_hold"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_hold_decision_lot_id_lot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hold_decision")),
    )
    op.create_table(
        "kit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kit_number", sa.String(), nullable=False),
        sa.Column("arm_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["arm_id"], ["arm.id"], name=op.f("fk_kit_arm_id_arm")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_kit_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_kit_product_id_product")
        ),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], name=op.f("fk_kit_study_id_study")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kit")),
        sa.UniqueConstraint("study_id", "kit_number", name=op.f("uq_kit_study_id")),
    )
    op.create_table(
        "discrepancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("count_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kit_id", sa.Integer(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "available",
                "quarantined",
                "returned",
                "condemned",
                "dispensed",
                "destroyed",
                "returned to sponsor",
                "transferred to another study",
                name="stockstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("ledger_quantity", sa.Integer(), nullable=False),
        sa.Column("counted_quantity", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "resolved", name="discrepancystate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["count_id"], ["physical_count.id"], name=op.f("fk_discrepancy_count_id_physical_count")
        ),
        sa.ForeignKeyConstraint(["kit_id"], ["kit.id"], name=op.f("fk_discrepancy_kit_id_kit")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_discrepancy_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_discrepancy_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["app_user.id"], name=op.f("fk_discrepancy_resolved_by_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discrepancy")),
    )
    op.create_table(
        "dispense_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("prescriber_id", sa.Integer(), nullable=False),
        sa.Column("visit", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("assigned_kit_number", sa.String(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "prepared",
                "dispensed",
                "rejected",
                "cancelled",
                name="orderstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("ordered_by_id", sa.Integer(), nullable=False),
        sa.Column("ordered_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=True),
        sa.Column("prepared_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("kit_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["app_user.id"], name=op.f("fk_dispense_order_closed_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(["kit_id"], ["kit.id"], name=op.f("fk_dispense_order_kit_id_kit")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_dispense_order_location_id_location")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_dispense_order_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["ordered_by_id"],
            ["app_user.id"],
            name=op.f("fk_dispense_order_ordered_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["app_user.id"],
            name=op.f("fk_dispense_order_prepared_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["prescriber_id"],
            ["prescriber.id"],
            name=op.f("fk_dispense_order_prescriber_id_prescriber"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_dispense_order_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_dispense_order_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_dispense_order_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["app_user.id"],
            name=op.f("fk_dispense_order_verified_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispense_order")),
    )
    with op.batch_alter_table("dispense_order", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dispense_order_subject", ["subject_id", "ordered_at"], unique=False
        )

    op.create_table(
        "subject_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("dispense_order_id", sa.Integer(), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("units_counted", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(), nullable=False),
        sa.Column("counted_by_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("monitor_verified_by_id", sa.Integer(), nullable=True),
        sa.Column("monitor_verified_at", ids_app.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["counted_by_id"],
            ["app_user.id"],
            name=op.f("fk_subject_return_counted_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["dispense_order_id"],
            ["dispense_order.id"],
            name=op.f("fk_subject_return_dispense_order_id_dispense_order"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_subject_return_location_id_location")
        ),
        sa.ForeignKeyConstraint(
            ["monitor_verified_by_id"],
            ["app_user.id"],
            name=op.f("fk_subject_return_monitor_verified_by_id_app_user"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_subject_return_study_id_study")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_return")),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kit_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "receive",
                "transfer",
                "dispense",
                "return",
                "quarantine",
                "release",
                "condemn",
                "destroy",
                "return to sponsor",
                "transfer out",
                "transfer in",
                "adjust",
                "reversal",
                name="entrykind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("from_location_id", sa.Integer(), nullable=True),
        sa.Column(
            "from_state",
            sa.Enum(
                "available",
                "quarantined",
                "returned",
                "condemned",
                "dispensed",
                "destroyed",
                "returned to sponsor",
                "transferred to another study",
                name="stockstate",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("to_location_id", sa.Integer(), nullable=True),
        sa.Column(
            "to_state",
            sa.Enum(
                "available",
                "quarantined",
                "returned",
                "condemned",
                "dispensed",
                "destroyed",
                "returned to sponsor",
                "transferred to another study",
                name="stockstate",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("occurred_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", ids_app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("dispense_order_id", sa.Integer(), nullable=True),
        sa.Column("subject_return_id", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("disposal_id", sa.Integer(), nullable=True),
        sa.Column("discrepancy_id", sa.Integer(), nullable=True),
        sa.Column("transfer_of_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "from_state IS NOT NULL OR to_state IS NOT NULL",
            name=op.f("ck_ledger_entry_moves_somewhere"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_ledger_entry_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["discrepancy_id"],
            ["discrepancy.id"],
            name=op.f("fk_ledger_entry_discrepancy_id_discrepancy"),
        ),
        sa.ForeignKeyConstraint(
            ["dispense_order_id"],
            ["dispense_order.id"],
            name=op.f("fk_ledger_entry_dispense_order_id_dispense_order"),
        ),
        sa.ForeignKeyConstraint(
            ["disposal_id"], ["disposal.id"], name=op.f("fk_ledger_entry_disposal_id_disposal")
        ),
        sa.ForeignKeyConstraint(
            ["from_location_id"],
            ["location.id"],
            name=op.f("fk_ledger_entry_from_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["quarantine_hold.id"],
            name=op.f("fk_ledger_entry_hold_id_quarantine_hold"),
        ),
        sa.ForeignKeyConstraint(["kit_id"], ["kit.id"], name=op.f("fk_ledger_entry_kit_id_kit")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_ledger_entry_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_ledger_entry_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_entry.id"],
            name=op.f("fk_ledger_entry_reverses_id_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_ledger_entry_shipment_id_shipment")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_ledger_entry_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["subject_return_id"],
            ["subject_return.id"],
            name=op.f("fk_ledger_entry_subject_return_id_subject_return"),
        ),
        sa.ForeignKeyConstraint(
            ["to_location_id"],
            ["location.id"],
            name=op.f("fk_ledger_entry_to_location_id_location"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_of_id"],
            ["ledger_entry.id"],
            name=op.f("fk_ledger_entry_transfer_of_id_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_ledger_entry_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_entry_reverses_id")),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entry_from",
            ["lot_id", "from_location_id", "from_state", "kit_id", "quantity"],
        )
        batch_op.create_index("ix_ledger_entry_hold", ["hold_id"], unique=False)
        batch_op.create_index("ix_ledger_entry_kit", ["kit_id"], unique=False)
        batch_op.create_index("ix_ledger_entry_order", ["dispense_order_id"], unique=False)
        batch_op.create_index(
            "ix_ledger_entry_study_arrivals",
            [
                "study_id",
                "product_id",
                "lot_id",
                "to_location_id",
                "to_state",
                "kit_id",
                "quantity",
            ],
        )
        batch_op.create_index(
            "ix_ledger_entry_study_departures",
            [
                "study_id",
                "product_id",
                "lot_id",
                "from_location_id",
                "from_state",
                "kit_id",
                "quantity",
            ],
        )
        batch_op.create_index(
            "ix_ledger_entry_to", ["lot_id", "to_location_id", "to_state", "kit_id", "quantity"]
        )

    # Records that are written once and never change: a correction is a new record.
    for table in (
        "ledger_entry",
        "lot",
        "shipment",
        "packing_list_line",
        "quarantine_hold",
        "hold_decision",
        "disposal",
    ):
        make_append_only(table)


def downgrade() -> None:
    raise NotImplementedError("the record is never migrated backwards; restore a backup")
