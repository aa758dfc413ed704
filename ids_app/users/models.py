"""Users and their electronic signatures."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ids_app.db import Base, utc_now


class Role(enum.StrEnum):
    TECHNICIAN = "technician"
    PHARMACIST = "pharmacist"
    MONITOR = "monitor"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class SignatureMeaning(enum.StrEnum):
    """What a signer declares by signing (21 CFR 11.50(a)(3))."""

    PREPARED = "prepared"
    VERIFIED = "verified"
    WITNESSED = "witnessed"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    AUTHORED = "authored"
    PERFORMED = "performed"


class User(Base):
    """A person who signs in. Never deleted, so a user name is never reused."""

    __tablename__ = "app_user"
    __audit_redacted__ = frozenset({"password_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(unique=True)
    full_name: Mapped[str]
    role: Mapped[Role]
    password_hash: Mapped[str]
    active: Mapped[bool] = mapped_column(default=True)
    locked: Mapped[bool] = mapped_column(default=False)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    must_change_password: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    signatures: Mapped[list[Signature]] = relationship(back_populates="user")

    @property
    def printed_name(self) -> str:
        return self.full_name


class Signature(Base):
    """An electronic signature bound to one record's content (21 CFR 11.50, 11.70).

    ``content_hash`` is the SHA-256 of the signed record's content when it was signed;
    the signature holds only while the record still hashes to it, so it cannot be moved
    to, or survive an edit of, another record.
    """

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    printed_name: Mapped[str]
    role: Mapped[Role]
    meaning: Mapped[SignatureMeaning]
    signed_at: Mapped[dt.datetime]
    record_table: Mapped[str]
    record_id: Mapped[str]
    content_hash: Mapped[str]

    user: Mapped[User] = relationship(back_populates="signatures")

    __table_args__ = (Index("ix_signature_record", "record_table", "record_id"),)
