"""A generated database for benchmarks: many studies and a million ledger rows.

Rows are written with bulk inserts, not through the services: building a million
movements one unit of work at a time would take hours and measure nothing we need.
The timed operations then go through the real services on top of this history.

With ``trail=True`` the generated rows also carry the audit entries and signatures the
services would have written (``bench/trail.py``), so reports print a real extract and
signature log and ``ids-app verify`` passes on the database.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from bench.trail import last_ids, write_trail
from ids_app.db import Database
from ids_app.inventory.models import (
    DispenseOrder,
    EntryKind,
    Kit,
    LedgerEntry,
    Location,
    LocationKind,
    Lot,
    OrderState,
    StockState,
)
from ids_app.studies.models import (
    Arm,
    Blinding,
    Prescriber,
    Product,
    ProductRole,
    Study,
    StudyStatus,
    Subject,
    SubjectStatus,
    Tracking,
)

BATCH = 20_000


@dataclass(frozen=True)
class GeneratedStudy:
    study_id: int
    product_id: int
    lot_ids: list[int]
    subject_ids: list[int]


@dataclass
class Generated:
    studies: list[GeneratedStudy]
    shelf_id: int
    returns_id: int
    ledger_rows: int


def _flush(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        with db.engine.begin() as conn:
            conn.execute(insert(table), rows)
        rows.clear()


def _locations(db: Database) -> tuple[int, int]:
    with db.engine.begin() as conn:
        conn.execute(
            insert(Location),
            [
                {
                    "id": 1,
                    "name": "Bench Shelf",
                    "kind": LocationKind.SHELF,
                    "storage_min_c": 20.0,
                    "storage_max_c": 25.0,
                    "active": True,
                },
                {
                    "id": 2,
                    "name": "Bench Returns",
                    "kind": LocationKind.RETURNS,
                    "storage_min_c": 15.0,
                    "storage_max_c": 30.0,
                    "active": True,
                },
            ],
        )
    return 1, 2


def _dispensed_order(
    order_id: int,
    study_id: int,
    lot_id: int,
    kit_id: int,
    location_id: int,
    subject_id: int,
    user_id: int,
    verifier_id: int,
    at: dt.datetime,
) -> dict[str, Any]:
    return {
        "id": order_id,
        "study_id": study_id,
        "subject_id": subject_id,
        "product_id": study_id,
        "prescriber_id": study_id,
        "visit": "Visit",
        "quantity": 1,
        "assigned_kit_number": None,
        "state": OrderState.DISPENSED,
        "ordered_by_id": user_id,
        "ordered_at": at,
        "prepared_by_id": user_id,
        "prepared_at": at,
        "lot_id": lot_id,
        "kit_id": kit_id,
        "location_id": location_id,
        "verified_by_id": verifier_id,
        "verified_at": at,
        "closed_by_id": None,
        "closed_at": None,
        "closed_reason": None,
    }


def generate(
    db: Database,
    *,
    studies: int,
    rows_per_study: int,
    user_id: int,
    verifier_id: int | None = None,
    trail: bool = False,
) -> Generated:
    """Fill ``db`` with ``studies`` open studies, each with about ``rows_per_study`` entries.

    ``user_id`` receives, orders and prepares; ``verifier_id`` (a pharmacist) verifies each
    dispense, as a second person must. ``trail``: write the audit entries and signatures
    the services would have written for every generated row (bench/trail.py).
    """
    verifier = user_id if verifier_id is None else verifier_id
    before = last_ids(db) if trail else {}
    rng = random.Random(20261130)
    shelf, returns = _locations(db)
    now = dt.datetime.now(dt.UTC)
    expiry = dt.date.today() + dt.timedelta(days=700)
    made: list[GeneratedStudy] = []
    ledger: list[dict[str, Any]] = []
    kits: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    total = 0
    next_kit_id = 1
    next_order_id = 1
    for number in range(1, studies + 1):
        study_id = number
        with db.engine.begin() as conn:
            conn.execute(
                insert(Study),
                [
                    {
                        "id": study_id,
                        "protocol_number": f"BENCH-{number:03d}",
                        "title": f"Benchmark study {number}",
                        "sponsor": "Bench Pharma",
                        "principal_investigator": "Dr. Bench",
                        "ind_number": None,
                        "status": StudyStatus.OPEN,
                        "blinding": Blinding.DOUBLE_BLIND,
                        "created_at": now,
                    }
                ],
            )
            conn.execute(
                insert(Arm),
                [
                    {"study_id": study_id, "code": "A", "name": "Drug"},
                    {"study_id": study_id, "code": "B", "name": "Placebo"},
                ],
            )
            conn.execute(
                insert(Product),
                [
                    {
                        "id": study_id,
                        "study_id": study_id,
                        "agent_name": f"BX-{number}",
                        "strength": "10 mg or placebo",
                        "dosage_form": "tablet",
                        "unit": "kit",
                        "role": ProductRole.BLINDED,
                        "tracking": Tracking.KIT,
                        "storage_min_c": 15.0,
                        "storage_max_c": 30.0,
                        "dose_unit": "tablet",
                        "units_per_kit": 30,
                        "dispense_quantity": 1,
                        "days_supply": 28,
                        "doses_per_day": 1.0,
                        "gtin": None,
                    }
                ],
            )
            conn.execute(
                insert(Prescriber),
                [
                    {
                        "id": study_id,
                        "study_id": study_id,
                        "name": "Dr. Bench",
                        "credentials": "MD",
                        "authorized": True,
                    }
                ],
            )
            lot_ids = [study_id * 10 + k for k in range(4)]
            conn.execute(
                insert(Lot),
                [
                    {
                        "id": lot_id,
                        "product_id": study_id,
                        "lot_number": f"L{lot_id}",
                        "expiry": expiry,
                    }
                    for lot_id in lot_ids
                ],
            )
            subject_ids = [study_id * 1000 + k for k in range(300)]
            conn.execute(
                insert(Subject),
                [
                    {
                        "id": sid,
                        "study_id": study_id,
                        "subject_code": f"{number:02d}-{k:04d}",
                        "initials": "XX",
                        "arm_id": None,
                        "status": SubjectStatus.ENROLLED,
                    }
                    for k, sid in enumerate(subject_ids)
                ],
            )
        made.append(GeneratedStudy(study_id, study_id, lot_ids, subject_ids))
        # Each kit: received; most dispensed; some returned. ~2.2 rows a kit.
        rows = 0
        while rows < rows_per_study:
            kit_id = next_kit_id
            next_kit_id += 1
            lot_id = rng.choice(lot_ids)
            kits.append(
                {
                    "id": kit_id,
                    "study_id": study_id,
                    "product_id": study_id,
                    "lot_id": lot_id,
                    "kit_number": f"K{kit_id:07d}",
                    "arm_id": None,
                }
            )
            base = {
                "study_id": study_id,
                "product_id": study_id,
                "lot_id": lot_id,
                "kit_id": kit_id,
                "quantity": 1,
                "occurred_at": now,
                "recorded_at": now,
                "user_id": user_id,
                "reason": None,
                "reference": None,
                "reverses_id": None,
                "shipment_id": None,
                "dispense_order_id": None,
                "subject_return_id": None,
                "hold_id": None,
                "disposal_id": None,
                "discrepancy_id": None,
                "transfer_of_id": None,
            }
            ledger.append(
                {
                    **base,
                    "kind": EntryKind.RECEIVE,
                    "from_location_id": None,
                    "from_state": None,
                    "to_location_id": shelf,
                    "to_state": StockState.AVAILABLE,
                }
            )
            rows += 1
            if rng.random() < 0.85:
                order_id = next_order_id
                next_order_id += 1
                orders.append(
                    _dispensed_order(
                        order_id,
                        study_id,
                        lot_id,
                        kit_id,
                        shelf,
                        rng.choice(subject_ids),
                        user_id,
                        verifier,
                        now,
                    )
                )
                base["dispense_order_id"] = order_id
                ledger.append(
                    {
                        **base,
                        "kind": EntryKind.DISPENSE,
                        "from_location_id": shelf,
                        "from_state": StockState.AVAILABLE,
                        "to_location_id": None,
                        "to_state": StockState.DISPENSED,
                    }
                )
                rows += 1
                if rng.random() < 0.4:
                    ledger.append(
                        {
                            **base,
                            "kind": EntryKind.RETURN,
                            "from_location_id": None,
                            "from_state": StockState.DISPENSED,
                            "to_location_id": returns,
                            "to_state": StockState.RETURNED,
                        }
                    )
                    rows += 1
            if len(ledger) >= BATCH:
                _flush(db, Kit, kits)
                _flush(db, DispenseOrder, orders)
                total += len(ledger)
                _flush(db, LedgerEntry, ledger)
    _flush(db, Kit, kits)
    _flush(db, DispenseOrder, orders)
    total += len(ledger)
    _flush(db, LedgerEntry, ledger)
    if trail:
        write_trail(db, before, at=now, set_up_by=user_id)
    return Generated(made, shelf, returns, total)
