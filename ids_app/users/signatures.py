"""Electronic signatures: two components, printed name, time, meaning, bound to content.

21 CFR 11.50 (what a signature shows), 11.70 (linked to its record), 11.200 (user ID and
password at every signing, not only at sign-in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Mapper, Session

from ids_app.audit.trail import Actor, acting_as, attribute_changes, display_value
from ids_app.db import Base, table_of, utc_now
from ids_app.users.models import Signature, SignatureMeaning
from ids_app.users.services import authenticate


def record_key(record: Base) -> tuple[str, str]:
    """The table and primary key that name a record in the signature log."""
    state = inspect(record)
    if state.identity is None:
        raise RuntimeError("a record must be flushed before it is signed")
    table = table_of(record)
    return table, ",".join(str(part) for part in state.identity)


def content_hash(record: Base) -> str:
    """SHA-256 of the record's signed content: its table, key and column values.

    A model may leave out columns that legitimately change after signing (a workflow
    state) by listing them in ``__signature_excludes__``.
    """
    table, key = record_key(record)
    mapper = inspect(record).mapper
    return content_hash_of(
        table, key, {attr.key: getattr(record, attr.key) for attr in mapper.column_attrs}, mapper
    )


def content_hash_of(table: str, key: str, values: Mapping[str, object], mapper: Mapper[Any]) -> str:
    """:func:`content_hash` from a row's values by attribute name, as ``verify`` reads them."""
    excluded = frozenset(getattr(mapper.class_, "__signature_excludes__", ()))
    signed = {name: display_value(value) for name, value in values.items() if name not in excluded}
    payload = json.dumps([table, key, signed], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def sign_record(
    session: Session,
    username: str,
    password: str,
    meaning: SignatureMeaning,
    record: Base,
) -> Signature:
    """Sign ``record`` as ``username``, re-checking the password.

    Works for the signed-in user and for a witness at the same workstation alike. A wrong
    password is refused and kept on record (and counts toward the lock-out).
    """
    session.flush()  # the record must have its key and final content before it is hashed
    table, key = record_key(record)
    with acting_as(session, Actor(None, username.strip()), reason=f"signing: {meaning.value}"):
        signer = authenticate(session, username, password, when="signature")
        attribute_changes(session, signer, reason=f"signed: {meaning.value}")
        signature = Signature(
            user_id=signer.id,
            printed_name=signer.full_name,
            role=signer.role,
            meaning=meaning,
            signed_at=utc_now(),
            record_table=table,
            record_id=key,
            content_hash=content_hash(record),
        )
        session.add(signature)
    return signature


def signature_holds(signature: Signature, record: Base) -> bool:
    """True while ``record`` is the record signed and its content is unchanged."""
    return (signature.record_table, signature.record_id) == record_key(record) and (
        signature.content_hash == content_hash(record)
    )


def signatures_of(session: Session, record: Base) -> list[Signature]:
    table, key = record_key(record)
    return list(
        session.scalars(
            select(Signature)
            .where(Signature.record_table == table, Signature.record_id == key)
            .order_by(Signature.signed_at, Signature.id)
        )
    )


def manifestation(signature: Signature, tz: dt.tzinfo | None = None) -> str:
    """ "Jane Roe, Pharmacist — Verified — 2026-11-29 14:03 EST" (21 CFR 11.50(a))."""
    local = signature.signed_at.astimezone(tz) if tz else signature.signed_at.astimezone()
    return (
        f"{signature.printed_name}, {signature.role.label} — "
        f"{signature.meaning.value.capitalize()} — {local:%Y-%m-%d %H:%M} {local.tzname()}"
    )
