"""My work: the day's list, by role, across every study the reader sees.

At 8 am a technician wants one list: orders to prepare, fridges not yet read today, stock
that must come off the shelf, subjects due back with their bottles. A pharmacist wants the
orders to verify, the holds awaiting the sponsor's ruling and the count differences; a
monitor the returns to verify. Each item says where it is done (``tab`` and ``record``),
so the screen opens that place in one key.

Every kind of item is one :class:`WorkKind` in :data:`WORK_KINDS`: a title, the roles it
is for, and a function that reads its items. Another kind is added by writing its reader
and appending it there; the screen shows whatever kinds a role has, in that order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ids_app.inventory.dispensing import can_verify, orders_awaiting_verification
from ids_app.inventory.expiry import ExpiringStock, expiring_stock
from ids_app.inventory.locations import location_names
from ids_app.inventory.models import (
    DISPENSING_KINDS,
    DispenseOrder,
    Location,
    OrderState,
    StockState,
    SubjectReturn,
)
from ids_app.inventory.order_views import order_row, orders_in_state, return_rows
from ids_app.inventory.shipment_notices import shipments_expected
from ids_app.inventory.views import (
    holds_needing_decision,
    open_discrepancy_items,
    study_ids_with_returns_awaiting,
)
from ids_app.monitoring.views import AWAITS_SITE, open_queries_for
from ids_app.storage.queries import locations_missing_reading
from ids_app.studies.models import Product, Study, Subject
from ids_app.users.models import Role, User
from ids_app.users.permissions import sees_study
from ids_app.wording import day_text, local_time, quantity_text

# A subject whose supply ran out longer ago than this is followed up by the study team,
# not waited for at the window: the list keeps to the returns due about now.
RETURNS_DUE_WINDOW_DAYS = 14


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting for the reader, and the place it is done.

    ``tab`` is the study workflow that does it and ``record`` names what ``record_id`` is
    there ("order", "return", "hold", "discrepancy", "location", "lot"). ``study_id`` is
    None for what belongs to no one study (a fridge's temperature).
    """

    kind: str
    study_id: int | None
    protocol_number: str
    what: str
    when: str
    tab: str
    record: str
    record_id: int
    note: str = ""
    ready: bool = True  # False when the reader may not do it yet (``note`` says why)


@dataclass(frozen=True)
class WorkKind:
    """A kind of item on the list: who gets it, what it is called, how it is read."""

    key: str
    title: str
    when_title: str
    empty: str
    roles: frozenset[Role]
    read: Callable[[Session, User, dt.date], list[WorkItem]]


@dataclass(frozen=True)
class WorkQueue:
    kind: WorkKind
    items: list[WorkItem]


def _studies_seen(session: Session, reader: User) -> list[Study]:
    return [
        study
        for study in session.scalars(select(Study).order_by(Study.protocol_number))
        if sees_study(session, reader, study)
    ]


def orders_to_verify(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    """The service's queue (oldest first) and, for each order, whether the reader may verify
    it, in the service's words (a pharmacist never verifies what they prepared)."""
    items = []
    for order in orders_awaiting_verification(session):
        row = order_row(session, order.id, reader)
        why_not = can_verify(session, reader, order)
        items.append(
            WorkItem(
                "to_verify",
                row.study_id,
                row.protocol_number,
                f"Order {row.id}: {row.subject_code} {row.visit}, {row.picked} "
                f"prepared by {row.prepared_by}",
                local_time(row.prepared_at),
                "dispensing",
                "order",
                row.id,
                note=why_not or "",
                ready=why_not is None,
            )
        )
    return items


def orders_to_prepare(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    return [
        WorkItem(
            "to_prepare",
            row.study_id,
            row.protocol_number,
            f"Order {row.id}: {row.subject_code} {row.visit}, {row.ordered} of {row.product}",
            local_time(row.ordered_at),
            "dispensing",
            "order",
            row.id,
        )
        for row in orders_in_state(session, OrderState.PENDING, reader)
    ]


def temperature_checks_due(session: Session, _reader: User, today: dt.date) -> list[WorkItem]:
    """Storage locations without today's reading; a location belongs to no one study."""
    return [
        WorkItem(
            "temperature",
            None,
            "",
            f"Read {location.name} ({location.range_text})",
            "today",
            "temperature",
            "location",
            location.id,
        )
        for location in locations_missing_reading(session, today)
    ]


def stock_to_pull(session: Session, reader: User, today: dt.date) -> list[WorkItem]:
    """Available stock on a dispensing shelf that can no longer be dispensed: expired, or
    expiring before the end of its product's days' supply (the rule dispensing applies).
    One item per lot and place, with how much of it there is."""
    places = location_names(session)
    dispensing = set(
        session.scalars(select(Location.id).where(Location.kind.in_(list(DISPENSING_KINDS))))
    )
    items = []
    for study in _studies_seen(session, reader):
        products = {
            p.id: p for p in session.scalars(select(Product).where(Product.study_id == study.id))
        }
        longest = max((p.days_supply for p in products.values()), default=0)
        grouped: dict[tuple[int, int], list[int]] = {}
        found: dict[tuple[int, int], ExpiringStock] = {}
        for stock in expiring_stock(session, study.id, within_days=longest, today=today):
            product = products[stock.product_id]
            if stock.state is not StockState.AVAILABLE or stock.location_id not in dispensing:
                continue
            if stock.expiry >= today + dt.timedelta(days=product.days_supply):
                continue
            key = (stock.lot_id, stock.location_id)
            grouped.setdefault(key, []).append(stock.quantity)
            found[key] = stock
        for key, quantities in grouped.items():
            stock = found[key]
            product = products[stock.product_id]
            amount = (
                quantity_text(len(quantities), "kit")
                if stock.kit_id is not None
                else quantity_text(sum(quantities), product.unit)
            )
            why = (
                f"expired {day_text(stock.expiry)}"
                if stock.expired
                else f"expires {day_text(stock.expiry)}, within the "
                f"{product.days_supply} days' supply"
            )
            items.append(
                WorkItem(
                    "to_pull",
                    study.id,
                    study.protocol_number,
                    f"Pull lot {stock.lot_number} ({amount}) from "
                    f"{places.get(stock.location_id, '?')}: {why}",
                    day_text(stock.expiry),
                    "inventory",
                    "lot",
                    stock.lot_id,
                )
            )
    return items


def returns_to_count(session: Session, reader: User, today: dt.date) -> list[WorkItem]:
    """Dispenses whose days' supply has run out (in the last two weeks or today) and of
    which nothing has come back: the subject is due at the window with what is left."""
    longest = session.scalar(select(func.max(Product.days_supply))) or 0
    earliest = dt.datetime.combine(
        today - dt.timedelta(days=RETURNS_DUE_WINDOW_DAYS + longest + 1), dt.time()
    ).astimezone(dt.UTC)
    returned = select(SubjectReturn.dispense_order_id)
    query = (
        select(DispenseOrder, Product, Subject, Study)
        .join(Product, Product.id == DispenseOrder.product_id)
        .join(Subject, Subject.id == DispenseOrder.subject_id)
        .join(Study, Study.id == DispenseOrder.study_id)
        .where(
            DispenseOrder.state == OrderState.DISPENSED,
            DispenseOrder.verified_at >= earliest,
            DispenseOrder.id.not_in(returned),
        )
        .order_by(DispenseOrder.verified_at, DispenseOrder.id)
    )
    seen = {study.id for study in _studies_seen(session, reader)}
    items = []
    for order, product, subject, study in session.execute(query):
        if study.id not in seen or order.verified_at is None:
            continue
        due = order.verified_at.astimezone().date() + dt.timedelta(days=product.days_supply)
        if not today - dt.timedelta(days=RETURNS_DUE_WINDOW_DAYS) <= due <= today:
            continue
        items.append(
            WorkItem(
                "to_count",
                study.id,
                study.protocol_number,
                f"{subject.subject_code}: order {order.id}, "
                f"{quantity_text(order.quantity, product.unit)} of {product.description}",
                f"due {day_text(due)}",
                "returns",
                "order",
                order.id,
            )
        )
    return items


def holds_to_decide(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    return [
        WorkItem(
            "holds",
            item.study_id,
            item.protocol_number,
            item.what,
            item.since_text,
            "quarantine",
            "hold",
            item.record_id,
        )
        for item in holds_needing_decision(session, reader)
    ]


def discrepancies_to_resolve(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    return [
        WorkItem(
            "discrepancies",
            item.study_id,
            item.protocol_number,
            item.what,
            item.since_text,
            "counts",
            "discrepancy",
            item.record_id,
        )
        for item in open_discrepancy_items(session, reader)
    ]


def returns_to_verify(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    """Counted returns the monitor has not verified, on the studies they are assigned to,
    oldest first."""
    studies = set(study_ids_with_returns_awaiting(session, reader))
    return [
        WorkItem(
            "returns_to_verify",
            row.study_id,
            row.protocol_number,
            f"{row.subject_code} {row.visit}: {row.picked}, "
            f"{quantity_text(row.units_counted, row.dose_unit)} counted by {row.counted_by}",
            day_text(row.returned_on),
            "returns",
            "return",
            row.id,
            note=row.compliance,
        )
        for row in reversed(return_rows(session, reader, awaiting_monitor=True))
        if row.study_id in studies
    ]


def shipments_due(session: Session, reader: User, today: dt.date) -> list[WorkItem]:
    """Shipments the depot announced and nobody has received yet, overdue ones first."""
    return [
        WorkItem(
            "shipments",
            row.study_id,
            row.protocol_number,
            f"Shipment {row.shipment_number} from {row.sender}",
            day_text(row.expected_on),
            "receiving",
            "expected_shipment",
            row.id,
            note="overdue: ask the depot or the courier" if row.expected_on < today else "",
        )
        for row in shipments_expected(session, reader)
    ]


def queries_waiting(session: Session, reader: User, _today: dt.date) -> list[WorkItem]:
    """A monitor's queries awaiting the site's answer, or (for the monitor) the site's
    answers awaiting them, oldest first."""
    return [
        WorkItem(
            "queries",
            row.study_id,
            row.protocol_number,
            f"Query {row.id} on {row.record}: {row.problem}",
            local_time(row.raised_at),
            "monitoring",
            "query",
            row.id,
            note=row.request if row.awaits == AWAITS_SITE else "answered; close or reopen it",
        )
        for row in open_queries_for(session, reader)
    ]


TECHNICIAN = frozenset({Role.TECHNICIAN})
BENCH = frozenset({Role.TECHNICIAN, Role.PHARMACIST})
PHARMACIST = frozenset({Role.PHARMACIST})
MONITOR = frozenset({Role.MONITOR})

WORK_KINDS: list[WorkKind] = [
    WorkKind(
        "to_verify",
        "Orders to verify",
        "Prepared",
        "No prepared order waits for verification.",
        PHARMACIST,
        orders_to_verify,
    ),
    WorkKind(
        "to_prepare",
        "Orders to prepare",
        "Ordered",
        "No order waits to be prepared.",
        BENCH,
        orders_to_prepare,
    ),
    WorkKind(
        "temperature",
        "Temperature checks due today",
        "Due",
        "Every location has today's reading.",
        TECHNICIAN,
        temperature_checks_due,
    ),
    WorkKind(
        "to_pull",
        "Expired or expiring stock to pull",
        "Expiry",
        "No stock on a shelf is past use.",
        TECHNICIAN,
        stock_to_pull,
    ),
    WorkKind(
        "to_count",
        "Returns to count",
        "Due back",
        "No subject is due back with a return.",
        TECHNICIAN,
        returns_to_count,
    ),
    WorkKind(
        "shipments",
        "Shipments expected",
        "Expected",
        "No shipment is announced.",
        BENCH,
        shipments_due,
    ),
    WorkKind(
        "holds",
        "Holds awaiting the sponsor's decision",
        "Since",
        "No stock is on hold.",
        PHARMACIST,
        holds_to_decide,
    ),
    WorkKind(
        "discrepancies",
        "Count discrepancies to resolve",
        "Counted",
        "No open discrepancy.",
        PHARMACIST,
        discrepancies_to_resolve,
    ),
    WorkKind(
        "queries",
        "Monitor's queries",
        "Raised",
        "No query waits for you.",
        frozenset({Role.TECHNICIAN, Role.PHARMACIST, Role.MONITOR}),
        queries_waiting,
    ),
    WorkKind(
        "returns_to_verify",
        "Returns to verify",
        "Returned",
        "No return waits for you.",
        MONITOR,
        returns_to_verify,
    ),
]


def kinds_for(user: User) -> list[WorkKind]:
    return [kind for kind in WORK_KINDS if user.role in kind.roles]


def day_list(session: Session, user: User, today: dt.date) -> list[WorkQueue]:
    """The user's day: each kind of item their role has, in :data:`WORK_KINDS` order."""
    return [WorkQueue(kind, kind.read(session, user, today)) for kind in kinds_for(user)]
