"""The audit entries and signatures of a generated database, as the services write them.

bench/generate.py writes its rows in bulk, behind the app's session, so none of them is
on the trail. Reports measured on such a database print an empty audit extract and
signature log, and ``ids-app verify`` names every row as written behind the app's back.
This writes, after the rows, what the services would have written for them:

- an insert entry for every generated row (locations, the study, its arms, product,
  prescriber, lots, subjects, kits, orders, ledger entries), its text made by the trail's
  own ``insert_text``/``display_value`` from the row as stored;
- for each dispensed order the whole workflow: the order created pending, the preparer's
  update entries (state, who, when, lot, kit, location) and ``prepared`` signature, the
  verifier's update entries and ``verified`` signature; each signature row as
  ``sign_record`` makes it (meaning, signer's printed name and role, the order's content
  hashed by ``content_hash_of``) with its own insert entry;
- all of it appended to the hash chain by the trail's ``entry_hash``, after the entries
  the services wrote for the users, and the chain head moved to the last one.

Every entry is attributed (the ledger row's user, the order's preparer or verifier; the
study's set-up to the preparer) and carries its record's study as the trail names it.
What it leaves out: sign-in events, and entries of a real day's other edits (a reprint,
a corrected count), which a generated study does not have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Mapper

from ids_app.audit.models import AuditChainHead, AuditEntry
from ids_app.audit.trail import (
    CHAIN_HEAD_ID,
    EntryDraft,
    StudyFinder,
    display_value,
    entry_hash,
    insert_text,
)
from ids_app.db import Base, Database
from ids_app.inventory.models import DispenseOrder, Kit, LedgerEntry, Location, Lot, OrderState
from ids_app.studies.models import Arm, Prescriber, Product, Study, Subject
from ids_app.users.models import Signature, SignatureMeaning, User
from ids_app.users.signatures import content_hash_of

BATCH = 20_000
# The tables the generator fills, in the order their entries are written.
GENERATED = (
    Location,
    Study,
    Arm,
    Product,
    Prescriber,
    Lot,
    Subject,
    Kit,
    DispenseOrder,
    LedgerEntry,
)
# What preparing and verifying an order set on it (orders_service's prepare and verify).
PREPARE_FIELDS = (
    "prepared_by_id",
    "prepared_at",
    "lot_id",
    "kit_id",
    "location_id",
    "prepared_identified",
    "prepared_typed_reason",
)
VERIFY_FIELDS = ("verified_by_id", "verified_at", "verified_identified", "verified_typed_reason")


def last_ids(db: Database) -> dict[str, int]:
    """Each generated table's highest id before generating: its later rows are new."""
    with db.engine.connect() as conn:
        return {
            model.__tablename__: conn.scalar(select(func.max(_mapper(model).primary_key[0]))) or 0
            for model in (*GENERATED, Signature)
        }


def _mapper(model: type[Base]) -> Mapper[Any]:
    return model.__mapper__


def _rows(conn: Connection, model: type[Base], after: int) -> list[dict[str, Any]]:
    """The rows generated, by attribute name, typed as the ORM would hold them."""
    attrs = _mapper(model).column_attrs
    key = _mapper(model).primary_key[0]
    query = select(*(attr.columns[0] for attr in attrs)).where(key > after)
    return [
        dict(zip((attr.key for attr in attrs), row, strict=True))
        for row in conn.execute(query.order_by(key))
    ]


def _insert(table: str, values: Mapping[str, Any]) -> EntryDraft:
    shown = {name: display_value(value) for name, value in values.items()}
    return EntryDraft("insert", table, str(values["id"]), new_value=insert_text(shown))


def _updates(table: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[EntryDraft]:
    return [
        EntryDraft(
            "update",
            table,
            str(after["id"]),
            field=name,
            old_value=display_value(before[name]),
            new_value=display_value(after[name]),
        )
        for name in after
        if before[name] != after[name]
    ]


class _Chain:
    """Appends entries after the chain's head, in batches, as the trail's ``_append`` does."""

    def __init__(self, conn: Connection, at: dt.datetime) -> None:
        self.conn = conn
        self.at = at
        self.last_id, self.last_hash = conn.execute(
            select(AuditChainHead.last_id, AuditChainHead.last_hash).where(
                AuditChainHead.id == CHAIN_HEAD_ID
            )
        ).one()
        self.rows: list[dict[str, Any]] = []

    def append(
        self, user: tuple[int, str], study_id: int | None, draft: EntryDraft, reason: str | None
    ) -> None:
        self.last_id += 1
        values: dict[str, Any] = {
            "id": self.last_id,
            "at": self.at,
            "user_id": user[0],
            "username": user[1],
            "action": draft.action,
            "table_name": draft.table_name,
            "record_id": draft.record_id,
            "study_id": study_id,
            "field": draft.field,
            "old_value": draft.old_value,
            "new_value": draft.new_value,
            "reason": reason,
            "prev_hash": self.last_hash,
        }
        values["hash"] = self.last_hash = entry_hash(self.last_hash, values)
        self.rows.append(values)
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.conn.execute(insert(AuditEntry), self.rows)
            self.rows.clear()

    def close(self) -> None:
        self.flush()
        self.conn.execute(
            update(AuditChainHead)
            .where(AuditChainHead.id == CHAIN_HEAD_ID)
            .values(last_id=self.last_id, last_hash=self.last_hash)
        )


def write_trail(
    db: Database, before: Mapping[str, int], *, at: dt.datetime, set_up_by: int
) -> None:
    """Write the entries and signatures of every row generated since ``before``;
    ``set_up_by``: who entered the study, its locations and kits (rows naming no user)."""
    with db.engine.begin() as conn:
        people = {
            row.id: row
            for row in conn.execute(select(User.id, User.username, User.full_name, User.role))
        }
        chain = _Chain(conn, at)
        studies = StudyFinder(conn)
        next_signature = before[Signature.__tablename__]
        signatures: list[dict[str, Any]] = []
        setup_by = (set_up_by, people[set_up_by].username)
        for model in GENERATED:
            table = model.__tablename__
            for row in _rows(conn, model, before[table]):
                study = _study_of(studies, table, row)
                if model is DispenseOrder:
                    for user_id, step in _order_workflow(row):
                        person = people[user_id]
                        if isinstance(step, EntryDraft):
                            chain.append((person.id, person.username), study, step, None)
                            continue
                        next_signature += 1
                        signature = _signature(next_signature, person, step, row, at)
                        signatures.append(signature)
                        chain.append(
                            (person.id, person.username),
                            study,
                            _insert(Signature.__tablename__, signature),
                            f"signed: {step.value}",
                        )
                    continue
                by = row.get("user_id")
                actor = setup_by if by is None else (by, people[by].username)
                chain.append(actor, study, _insert(table, row), None)
                if len(signatures) >= BATCH:
                    conn.execute(insert(Signature), signatures)
                    signatures.clear()
        if signatures:
            conn.execute(insert(Signature), signatures)
        chain.close()


def _study_of(studies: StudyFinder, table: str, row: Mapping[str, Any]) -> int | None:
    if table == Study.__tablename__:
        return int(row["id"])
    if "study_id" in row:
        return int(row["study_id"])
    return studies.of_named_record(table, str(row["id"]))


def _order_workflow(
    final: dict[str, Any],
) -> Iterator[tuple[int, EntryDraft | SignatureMeaning]]:
    """(who, what) for a dispensed order, in order: an entry, or a signature's meaning."""
    table = DispenseOrder.__tablename__
    pending = {
        **final,
        "state": OrderState.PENDING,
        **dict.fromkeys(PREPARE_FIELDS + VERIFY_FIELDS),
    }
    prepared = {**pending, "state": OrderState.PREPARED, **{f: final[f] for f in PREPARE_FIELDS}}
    yield final["ordered_by_id"], _insert(table, pending)
    for draft in _updates(table, pending, prepared):
        yield final["prepared_by_id"], draft
    yield final["prepared_by_id"], SignatureMeaning.PREPARED
    for draft in _updates(table, prepared, final):
        yield final["verified_by_id"], draft
    yield final["verified_by_id"], SignatureMeaning.VERIFIED


def _signature(
    number: int, signer: Any, meaning: SignatureMeaning, order: Mapping[str, Any], at: dt.datetime
) -> dict[str, Any]:
    """The signature row ``sign_record`` makes: the order's content hashed as it does."""
    table, key = DispenseOrder.__tablename__, str(order["id"])
    return {
        "id": number,
        "user_id": signer.id,
        "printed_name": signer.full_name,
        "role": signer.role,
        "meaning": meaning,
        "signed_at": at,
        "record_table": table,
        "record_id": key,
        "content_hash": content_hash_of(table, key, order, _mapper(DispenseOrder)),
    }
