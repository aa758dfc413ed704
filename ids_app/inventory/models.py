"""The ledger and the records its movements belong to.

Every physical movement is one immutable :class:`LedgerEntry` that moves a quantity of
one lot (and kit) from a place-and-state to another. Balances are never stored: they are
the sum of what came into a place-and-state minus what left it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ids_app.db import Base, utc_now


class LocationKind(enum.StrEnum):
    SHELF = "shelf"
    FRIDGE = "fridge"
    FREEZER = "freezer"
    SATELLITE = "satellite"
    RETURNS = "returns"
    QUARANTINE = "quarantine"


DISPENSING_KINDS = frozenset(
    {LocationKind.SHELF, LocationKind.FRIDGE, LocationKind.FREEZER, LocationKind.SATELLITE}
)


class StockState(enum.StrEnum):
    """Where stock stands. The last four are not on a shelf: they have no location."""

    AVAILABLE = "available"
    QUARANTINED = "quarantined"
    RETURNED = "returned"
    CONDEMNED = "condemned"
    DISPENSED = "dispensed"
    DESTROYED = "destroyed"
    RETURNED_TO_SPONSOR = "returned to sponsor"
    TRANSFERRED_OUT = "transferred to another study"


ON_SITE_STATES = frozenset(
    {StockState.AVAILABLE, StockState.QUARANTINED, StockState.RETURNED, StockState.CONDEMNED}
)


class EntryKind(enum.StrEnum):
    RECEIVE = "receive"
    TRANSFER = "transfer"
    DISPENSE = "dispense"
    RETURN = "return"
    QUARANTINE = "quarantine"
    RELEASE = "release"
    CONDEMN = "condemn"
    DESTROY = "destroy"
    RETURN_TO_SPONSOR = "return to sponsor"
    TRANSFER_OUT = "transfer out"
    TRANSFER_IN = "transfer in"
    ADJUST = "adjust"
    REVERSAL = "reversal"


class Location(Base):
    __tablename__ = "location"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[LocationKind]
    storage_min_c: Mapped[float]
    storage_max_c: Mapped[float]
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def dispenses(self) -> bool:
        return self.kind in DISPENSING_KINDS

    @property
    def range_text(self) -> str:
        return f"{self.storage_min_c:g} to {self.storage_max_c:g} °C"


class Lot(Base):
    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("product_id", "lot_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_number: Mapped[str]
    expiry: Mapped[dt.date]


class Kit(Base):
    """A numbered, sealed pack. Its arm is hidden from blinded users."""

    __tablename__ = "kit"
    __table_args__ = (UniqueConstraint("study_id", "kit_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    kit_number: Mapped[str]
    arm_id: Mapped[int | None] = mapped_column(ForeignKey("arm.id"))


class ShipmentCondition(enum.StrEnum):
    GOOD = "good"
    DAMAGED = "damaged"


class TemperatureMonitor(enum.StrEnum):
    IN_RANGE = "in range"
    EXCURSION = "excursion"
    NONE = "none"


class Shipment(Base):
    __tablename__ = "shipment"
    __table_args__ = (UniqueConstraint("study_id", "shipment_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    shipment_number: Mapped[str]
    sender: Mapped[str]
    carrier: Mapped[str]
    tracking_number: Mapped[str | None]
    received_on: Mapped[dt.date]
    condition: Mapped[ShipmentCondition]
    temperature_monitor: Mapped[TemperatureMonitor]
    received_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    notes: Mapped[str | None] = mapped_column(Text)


class ExpectedShipment(Base):
    """A shipment the sponsor or its depot has announced (the IRT's shipment notice), so
    the technician knows what is coming; it is expected until a receipt of the same
    shipment number is recorded for the study."""

    __tablename__ = "expected_shipment"
    __table_args__ = (UniqueConstraint("study_id", "shipment_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    shipment_number: Mapped[str]
    sender: Mapped[str]
    expected_on: Mapped[dt.date]
    tracking_number: Mapped[str | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PackingListLine(Base):
    """What the depot says it sent (21 CFR 312.57): the receipt is matched against it."""

    __tablename__ = "packing_list_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_number: Mapped[str]
    expiry: Mapped[dt.date]
    kit_number: Mapped[str | None]
    quantity: Mapped[int]


class OrderState(enum.StrEnum):
    PENDING = "pending"
    PREPARED = "prepared"
    DISPENSED = "dispensed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Identification(enum.StrEnum):
    """How a person named the kit or lot in their hand."""

    SCANNED = "scanned"
    TYPED = "typed"


class DispenseOrder(Base):
    """An order for one subject's visit: ordered, prepared by a technician, verified by a
    pharmacist who is not the preparer (the second person DESIGN.md asks for)."""

    __tablename__ = "dispense_order"
    # Signatures bind what was prepared; the workflow fields move on after signing. How the
    # items were identified came after the first orders were signed: left out of the hash so
    # those signatures still hold, and kept tamper-evident by the audit trail instead.
    __signature_excludes__ = frozenset(
        {
            "state",
            "verified_by_id",
            "verified_at",
            "closed_by_id",
            "closed_at",
            "closed_reason",
            "prepared_identified",
            "prepared_typed_reason",
            "verified_identified",
            "verified_typed_reason",
        }
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("prescriber.id"))
    visit: Mapped[str]
    quantity: Mapped[int]
    assigned_kit_number: Mapped[str | None]
    state: Mapped[OrderState] = mapped_column(default=OrderState.PENDING)
    ordered_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    ordered_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    prepared_at: Mapped[dt.datetime | None]
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    kit_id: Mapped[int | None] = mapped_column(ForeignKey("kit.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    verified_at: Mapped[dt.datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[dt.datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(Text)
    # How the preparer and the verifier identified the item in hand: scanned, or typed
    # with the reason it could not be scanned (NULL on orders from before scanning was asked).
    prepared_identified: Mapped[Identification | None]
    prepared_typed_reason: Mapped[str | None] = mapped_column(Text)
    verified_identified: Mapped[Identification | None]
    verified_typed_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_dispense_order_subject", "subject_id", "ordered_at"),
        # A study's orders, newest first, a page at a time (the Dispensing tab).
        Index("ix_dispense_order_study_id", "study_id", "id"),
    )


class SubjectReturn(Base):
    """What a subject brought back from one dispense, counted."""

    __tablename__ = "subject_return"
    __signature_excludes__ = frozenset({"monitor_verified_by_id", "monitor_verified_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    dispense_order_id: Mapped[int] = mapped_column(ForeignKey("dispense_order.id"))
    returned_on: Mapped[dt.date]
    quantity: Mapped[int]
    units_counted: Mapped[int]
    condition: Mapped[str]
    counted_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    monitor_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    monitor_verified_at: Mapped[dt.datetime | None]


class HoldReason(enum.StrEnum):
    EXCURSION = "excursion"
    DAMAGE = "damage"
    RECALL = "recall"
    EXPIRY = "expiry"
    OTHER = "other"


class HoldDecisionKind(enum.StrEnum):
    RELEASE = "release"
    CONDEMN = "condemn"


class QuarantineHold(Base):
    """Stock held, not dispensable, until a pharmacist records the sponsor's decision."""

    __tablename__ = "quarantine_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    reason: Mapped[HoldReason]
    details: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    placed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))


class HoldDecision(Base):
    """The sponsor's ruling on held stock of one lot, recorded and signed by a pharmacist."""

    __tablename__ = "hold_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("quarantine_hold.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    decision: Mapped[HoldDecisionKind]
    sponsor_reference: Mapped[str]
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class DisposalKind(enum.StrEnum):
    DESTROYED_ON_SITE = "destroyed on site"
    DESTROYED_AT_FACILITY = "destroyed at a facility"
    RETURNED_TO_SPONSOR = "returned to sponsor"


class Disposal(Base):
    """A destruction or a return to the sponsor, witnessed and authorized (21 CFR 312.59)."""

    __tablename__ = "disposal"
    __table_args__ = (UniqueConstraint("study_id", "disposal_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    disposal_number: Mapped[str]
    kind: Mapped[DisposalKind]
    method: Mapped[str]
    sponsor_authorization: Mapped[str]
    performed_on: Mapped[dt.date]
    performed_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    witness_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    courier: Mapped[str | None]
    tracking_number: Mapped[str | None]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class PhysicalCount(Base):
    __tablename__ = "physical_count"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    counted_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    counted_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # When the count was typed in (None for counts before migration 0014, recorded as
    # counted) and, for a count entered late from its paper sheet, why (late_entries).
    recorded_at: Mapped[dt.datetime | None] = mapped_column(default=utc_now)
    late_reason: Mapped[str | None] = mapped_column(Text)


class DiscrepancyState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Discrepancy(Base):
    """A difference between the shelf and the ledger, found by a count."""

    __tablename__ = "discrepancy"

    id: Mapped[int] = mapped_column(primary_key=True)
    count_id: Mapped[int] = mapped_column(ForeignKey("physical_count.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    kit_id: Mapped[int | None] = mapped_column(ForeignKey("kit.id"))
    state: Mapped[StockState]
    ledger_quantity: Mapped[int]
    counted_quantity: Mapped[int]
    status: Mapped[DiscrepancyState] = mapped_column(default=DiscrepancyState.OPEN)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    @property
    def difference(self) -> int:
        return self.counted_quantity - self.ledger_quantity


class LedgerEntry(Base):
    """One immutable movement of stock. Never updated or deleted (database triggers)."""

    __tablename__ = "ledger_entry"
    # The late-entry reason came after the first reversals were signed: left out of the
    # hash so those signatures still hold; the audit trail keeps it tamper-evident.
    __signature_excludes__ = frozenset({"late_reason"})

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    kit_id: Mapped[int | None] = mapped_column(ForeignKey("kit.id"))
    kind: Mapped[EntryKind]
    quantity: Mapped[int]
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    from_state: Mapped[StockState | None]
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    to_state: Mapped[StockState | None]
    occurred_at: Mapped[dt.datetime]
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None]
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipment.id"))
    dispense_order_id: Mapped[int | None] = mapped_column(ForeignKey("dispense_order.id"))
    subject_return_id: Mapped[int | None] = mapped_column(ForeignKey("subject_return.id"))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("quarantine_hold.id"))
    disposal_id: Mapped[int | None] = mapped_column(ForeignKey("disposal.id"))
    discrepancy_id: Mapped[int | None] = mapped_column(ForeignKey("discrepancy.id"))
    transfer_of_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    # Why it was entered more than the study's delay after ``occurred_at`` (a downtime's
    # paper log); None for an entry made at the time (inventory.late_entries).
    late_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("from_state IS NOT NULL OR to_state IS NOT NULL", name="moves_somewhere"),
        # Covering indexes: balances are summed from the index alone, never the table.
        Index(
            "ix_ledger_entry_study_arrivals",
            "study_id",
            "product_id",
            "lot_id",
            "to_location_id",
            "to_state",
            "kit_id",
            "quantity",
        ),
        Index(
            "ix_ledger_entry_study_departures",
            "study_id",
            "product_id",
            "lot_id",
            "from_location_id",
            "from_state",
            "kit_id",
            "quantity",
        ),
        Index(
            "ix_ledger_entry_from",
            "lot_id",
            "from_location_id",
            "from_state",
            "kit_id",
            "quantity",
        ),
        Index("ix_ledger_entry_to", "lot_id", "to_location_id", "to_state", "kit_id", "quantity"),
        Index("ix_ledger_entry_kit", "kit_id"),
        Index("ix_ledger_entry_order", "dispense_order_id"),
        Index("ix_ledger_entry_hold", "hold_id"),
    )
