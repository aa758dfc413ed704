"""Studies: protocol, arms, products and their dispensing rules, staff, prescribers, subjects."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ids_app.db import Base, utc_now


class StudyStatus(enum.StrEnum):
    PENDING = "pending"
    OPEN = "open"
    ON_HOLD = "on hold"
    CLOSED_TO_ACCRUAL = "closed to accrual"
    CLOSED = "closed"


class Blinding(enum.StrEnum):
    OPEN_LABEL = "open-label"
    SINGLE_BLIND = "single-blind"
    DOUBLE_BLIND = "double-blind"


class ProductRole(enum.StrEnum):
    ACTIVE = "active"
    PLACEBO = "placebo"
    COMPARATOR = "comparator"
    # Kits of a blinded study hold active or placebo; only the kit's arm says which.
    BLINDED = "blinded"


class Tracking(enum.StrEnum):
    KIT = "kit"
    BULK = "bulk"


class SubjectStatus(enum.StrEnum):
    SCREENING = "screening"
    ENROLLED = "enrolled"
    DISCONTINUED = "discontinued"
    COMPLETED = "completed"


class Study(Base):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    protocol_number: Mapped[str] = mapped_column(unique=True)
    title: Mapped[str]
    sponsor: Mapped[str]
    principal_investigator: Mapped[str]
    ind_number: Mapped[str | None]
    status: Mapped[StudyStatus] = mapped_column(default=StudyStatus.PENDING)
    blinding: Mapped[Blinding]
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    # The IRB's current approval and the protocol version it approved (studies.irb): study
    # drug is not dispensed after the approval expires. None until first recorded.
    irb_approved_on: Mapped[dt.date | None]
    irb_expires_on: Mapped[dt.date | None]
    protocol_version: Mapped[str | None]
    # Minutes after an event beyond which its entry is a late entry and needs a reason
    # (inventory.late_entries); None means the site's default.
    late_entry_minutes: Mapped[int | None]

    arms: Mapped[list[Arm]] = relationship(back_populates="study", order_by="Arm.code")
    products: Mapped[list[Product]] = relationship(back_populates="study", order_by="Product.id")

    @property
    def is_blinded(self) -> bool:
        return self.blinding is not Blinding.OPEN_LABEL


class Arm(Base):
    """A treatment arm. Its name is hidden from blinded users everywhere."""

    __tablename__ = "arm"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    code: Mapped[str]
    name: Mapped[str]

    study: Mapped[Study] = relationship(back_populates="arms")


class Product(Base):
    """An investigational product of one study, with its storage range and dispensing rule.

    ``unit`` is what the ledger counts (kit, vial, tablet…). A kit-tracked product counts
    kits, each holding ``units_per_kit`` of ``dose_unit`` (tablets, say), which returns and
    compliance count. The dispensing rule: ``dispense_quantity`` ledger units per visit,
    lasting ``days_supply`` days at ``doses_per_day`` dose units a day.
    """

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    agent_name: Mapped[str]
    strength: Mapped[str]
    dosage_form: Mapped[str]
    unit: Mapped[str]
    role: Mapped[ProductRole]
    tracking: Mapped[Tracking]
    storage_min_c: Mapped[float]
    storage_max_c: Mapped[float]
    dose_unit: Mapped[str]
    units_per_kit: Mapped[int | None]
    dispense_quantity: Mapped[int]
    days_supply: Mapped[int]
    doses_per_day: Mapped[float]
    gtin: Mapped[str | None]
    # Retired products stay on record (orders, ledger and binders name them); no new stock
    # is received for them.
    retired_on: Mapped[dt.date | None]

    study: Mapped[Study] = relationship(back_populates="products")

    @property
    def description(self) -> str:
        return f"{self.agent_name} {self.strength} {self.dosage_form}"

    @property
    def is_kit_tracked(self) -> bool:
        return self.tracking is Tracking.KIT


class StudyStaff(Base):
    """A user's part in one study; unblinded access is granted per study."""

    __tablename__ = "study_staff"
    __table_args__ = (UniqueConstraint("study_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    study_role: Mapped[str]
    unblinded: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    # The day the role ended (a staff member leaving the study); the row stays, so the
    # delegation log still shows who was on the study and when.
    ended_on: Mapped[dt.date | None]


class Prescriber(Base):
    """An investigator authorized to prescribe study drug (on the FDA 1572 / delegation log)."""

    __tablename__ = "prescriber"
    __table_args__ = (UniqueConstraint("study_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    name: Mapped[str]
    credentials: Mapped[str | None]
    authorized: Mapped[bool] = mapped_column(default=True)


class Subject(Base):
    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("study_id", "subject_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"))
    subject_code: Mapped[str]
    initials: Mapped[str]
    arm_id: Mapped[int | None] = mapped_column(ForeignKey("arm.id"))
    status: Mapped[SubjectStatus] = mapped_column(default=SubjectStatus.SCREENING)
    # The day the current status took effect (a discontinuation or completion date).
    status_on: Mapped[dt.date | None]


class ProductCorrection(Base):
    """A correction of a product's details made after setup: what changed, and why.

    Kept as its own row, written once, so that the approving signature (required once the
    product has been dispensed) binds a record that never changes again; the product itself
    may be corrected later without breaking an earlier signature.
    """

    __tablename__ = "product_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    changes: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    corrected_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ImportKind(enum.StrEnum):
    """The sponsor's or logger's files a column mapping is saved for."""

    KIT_LIST = "kit list"
    PACKING_LIST = "packing list"
    LOGGER_FILE = "logger file"


class ImportPreset(Base):
    """A column mapping saved for the next file of the same kind from the same sponsor.

    ``columns`` is JSON: each field the import reads (``kit_number``, ``expiry``, …) to
    the column name the sponsor's export uses. Saving again under the same name updates
    the row (the audit trail keeps every earlier value); archiving hides it from the
    import dialogs and keeps it, since records are never deleted. It never holds treatment
    values: see :mod:`ids_app.studies.import_presets`.
    """

    __tablename__ = "import_preset"
    __table_args__ = (UniqueConstraint("kind", "sponsor", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind]
    sponsor: Mapped[str]
    name: Mapped[str]
    columns: Mapped[str] = mapped_column(Text)
    header_line: Mapped[int | None]
    date_order: Mapped[str | None]
    date_format: Mapped[str | None]
    saved_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    saved_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    archived_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    archived_at: Mapped[dt.datetime | None]
