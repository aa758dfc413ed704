"""What a study's reports hold, as plain data: no database session, no Qt, no layout.

:mod:`ids_app.reports.gather` fills these from the records; the binder, the workbook and
the CDISC file render the same :class:`StudyRecord`, so they never disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import json
import pickle
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any


class Edition(enum.StrEnum):
    """A blinded edition hides every arm; an unblinded one is for unblinded staff only. An
    open-label study's records have nothing to hide and say so: its edition is open-label,
    never "blinded", whoever prints it."""

    BLINDED = "blinded"
    UNBLINDED = "unblinded"
    OPEN_LABEL = "open-label"

    @property
    def label(self) -> str:
        return f"{self.value.capitalize()} edition"


@dataclass(frozen=True)
class StudyInfo:
    protocol_number: str
    title: str
    sponsor: str
    principal_investigator: str
    ind_number: str | None
    status: str
    blinding: str
    site: str
    irb_approval: str  # studies.irb.approval_text


@dataclass(frozen=True)
class ProductInfo:
    id: int
    agent_name: str
    strength: str
    dosage_form: str
    unit: str
    role: str
    tracking: str
    storage: str
    dose_unit: str
    units_per_kit: int | None
    rule: str
    gtin: str | None

    @property
    def description(self) -> str:
        return f"{self.agent_name} {self.strength} {self.dosage_form}"


@dataclass(frozen=True)
class ArmInfo:
    code: str
    name: str


@dataclass(frozen=True)
class LocationInfo:
    name: str
    kind: str
    storage: str
    active: bool


@dataclass(frozen=True)
class PrescriberInfo:
    name: str
    credentials: str | None
    authorized: bool


@dataclass(frozen=True)
class StaffInfo:
    printed_name: str
    username: str
    initials: str
    system_role: str
    study_role: str
    unblinded: bool
    active: bool
    signatures: int
    sample_signature: str | None


@dataclass(frozen=True)
class SignatureEntry:
    signed_at: dt.datetime
    printed_name: str
    role: str
    meaning: str
    record: str
    manifestation: str
    holds: bool


@dataclass(frozen=True)
class DarfLine:
    """One line of the accountability record: the DARF's columns plus kit, kind, signatures."""

    number: int
    entry_id: int
    occurred_at: dt.datetime
    date: dt.date
    transaction: str
    subject_code: str | None
    initials: str | None
    dose: str | None
    kit_number: str | None
    arm: str | None
    manufacturer: str
    lot_number: str
    expiry: dt.date
    received: int | None
    dispensed: int | None
    other: int | None
    balance_forward: int
    new_balance: int
    returns_in: int | None
    returns_out: int | None
    returns_held: int
    recorder_initials: str
    recorder: str
    signatures: str
    # A late entry's mark: both times and why late ("Late entry: happened 2026-03-02 08:30,
    # recorded 2026-03-02 11:15; downtime…"); None for an entry made at the time. Inspectors look
    # for late entries, so they are never printed as timely ones (DOMAIN.md).
    late_entry: str | None = None


@dataclass(frozen=True)
class AccountabilityRecord:
    """One DARF per product and strength (NCI audit checklist: one log per agent and strength).

    ``balance`` is dispensable-or-held stock on site; subject returns are kept in their own
    column and running total and never added back to it (DOMAIN.md).
    """

    product: ProductInfo
    institution: str
    record_kind: str
    opening_balance: int
    opening_returns: int
    lines: tuple[DarfLine, ...]
    closing_balance: int
    closing_returns: int
    ledger_balance: int
    ledger_returns: int
    # A satellite's record (NCI DARF "Satellite record"): its name, what it received from
    # the main pharmacy net of what it sent back, and what the control record shows sent
    # to it; the two must agree.
    satellite: str | None = None
    received_from_control: int = 0
    sent_by_control: int = 0

    @property
    def title(self) -> str:
        """The product, and for a satellite's record where it is kept."""
        if self.satellite is None:
            return self.product.description
        return f"{self.product.description} — {self.satellite}"

    @property
    def transfers_agree(self) -> bool:
        return self.received_from_control == self.sent_by_control

    @property
    def reconciles(self) -> bool:
        """The balance on the log equals the stock on the shelf (NCI audit checklist)."""
        return (self.closing_balance, self.closing_returns) == (
            self.ledger_balance,
            self.ledger_returns,
        )

    @property
    def received(self) -> int:
        return sum(line.received or 0 for line in self.lines)

    @property
    def dispensed(self) -> int:
        return sum(line.dispensed or 0 for line in self.lines)

    @property
    def other(self) -> int:
        return sum(line.other or 0 for line in self.lines)


@dataclass(frozen=True)
class ShipmentLineInfo:
    product: str
    lot_number: str
    kit_number: str | None
    expected: int
    received: int
    missing: int
    extra: int
    damaged: int


@dataclass(frozen=True)
class ShipmentInfo:
    shipment_number: str
    received_on: dt.date
    sender: str
    carrier: str
    tracking_number: str | None
    condition: str
    temperature_monitor: str
    received_by: str
    location: str
    notes: str | None
    has_packing_list: bool
    matches: bool
    lines: tuple[ShipmentLineInfo, ...]

    @property
    def expected(self) -> int:
        return sum(line.expected for line in self.lines)

    @property
    def received(self) -> int:
        return sum(line.received for line in self.lines)

    @property
    def reconciliation(self) -> str:
        if not self.has_packing_list:
            return "No packing list on file"
        if self.matches:
            return "Matches the packing list"
        parts = [
            f"{sum(getattr(line, what) for line in self.lines)} {what}"
            for what in ("missing", "extra", "damaged")
            if any(getattr(line, what) for line in self.lines)
        ]
        return "Differs: " + ", ".join(parts)


@dataclass(frozen=True)
class InventoryRow:
    product: str
    unit: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    arm: str | None
    location: str
    state: str
    quantity: int
    expired: bool


@dataclass(frozen=True)
class DispenseRow:
    order_id: int
    dispensed_at: dt.datetime
    subject_code: str
    initials: str
    visit: str
    prescriber: str
    product: str
    kit_number: str | None
    arm: str | None
    lot_number: str
    expiry: dt.date
    location: str
    quantity: int
    unit: str
    dose_units: int
    dose_unit: str
    prepared: str
    verified: str
    # The dispense's late-entry mark (see DarfLine.late_entry); None when entered at the time.
    late_entry: str | None = None


@dataclass(frozen=True)
class ClosedOrderRow:
    """An order that was rejected or cancelled: no stock moved, and the reason is kept."""

    order_id: int
    ordered_at: dt.datetime
    subject_code: str
    visit: str
    state: str
    closed_by: str
    closed_at: dt.datetime | None
    reason: str | None


@dataclass(frozen=True)
class ReturnRow:
    return_id: int
    order_id: int
    subject_code: str
    initials: str
    visit: str
    kit_number: str | None
    lot_number: str
    dispensed_on: dt.date
    returned_on: dt.date
    quantity: int
    unit: str
    units_counted: int
    units_dispensed: int
    units_expected: float
    units_taken: int
    compliance_percent: Decimal | None  # one decimal, as protocols state it
    dose_unit: str
    condition: str
    counted_by: str
    location: str
    monitor_verification: str | None


@dataclass(frozen=True)
class HeldStock:
    product: str
    lot_number: str
    kit_number: str | None
    location: str
    quantity: int
    unit: str


@dataclass(frozen=True)
class DecisionRow:
    lot_number: str
    decision: str
    sponsor_reference: str
    decided_at: dt.datetime
    signature: str
    quantity: int


@dataclass(frozen=True)
class HoldRow:
    hold_id: int
    placed_at: dt.datetime
    reason: str
    details: str
    placed_by: str
    shipment_number: str | None
    held: tuple[HeldStock, ...]
    decisions: tuple[DecisionRow, ...]
    still_held: tuple[HeldStock, ...]

    @property
    def status(self) -> str:
        if self.still_held:
            return "Awaiting the sponsor's decision"
        return "Decided"


@dataclass(frozen=True)
class DisposalLine:
    product: str
    lot_number: str
    expiry: dt.date
    kit_number: str | None
    from_state: str
    from_location: str
    quantity: int
    unit: str


@dataclass(frozen=True)
class DisposalRow:
    disposal_number: str
    kind: str
    performed_on: dt.date
    method: str
    sponsor_authorization: str
    performed_by: str
    witness: str
    courier: str | None
    tracking_number: str | None
    lines: tuple[DisposalLine, ...]

    @property
    def total(self) -> int:
        return sum(line.quantity for line in self.lines)


@dataclass(frozen=True)
class DiscrepancyRow:
    product: str
    lot_number: str
    kit_number: str | None
    state: str
    ledger_quantity: int
    counted_quantity: int
    difference: int
    status: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None


@dataclass(frozen=True)
class CountRow:
    count_id: int
    counted_at: dt.datetime
    location: str
    counted_by: str
    discrepancies: tuple[DiscrepancyRow, ...]
    # A count typed in later from its paper sheet: its late-entry mark (see DarfLine).
    late_entry: str | None = None


@dataclass(frozen=True)
class EntryInfo:
    entry_id: int
    occurred_at: dt.datetime
    kind: str
    quantity: int
    product: str
    lot_number: str
    kit_number: str | None
    moved: str
    recorded_by: str


@dataclass(frozen=True)
class CorrectionRow:
    """A reversal printed beside the entry it corrects (ALCOA+: the original stays)."""

    original: EntryInfo
    reversal: EntryInfo
    reason: str


@dataclass(frozen=True)
class QueryStepInfo:
    step: str
    text: str
    correcting_action: str | None
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class QueryInfo:
    """A monitor's query on a record, and its thread: the site's answers, closing and
    reopening, each as written."""

    query_id: int
    state: str
    record: str
    problem: str
    request: str
    raised_by: str
    raised_at: dt.datetime
    steps: tuple[QueryStepInfo, ...]


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry_id: int
    at: dt.datetime
    username: str
    action: str
    table_name: str
    record_id: str | None
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None
    hash: str

    @property
    def hash_prefix(self) -> str:
        """The start of the entry's hash: enough on paper to find it in the data file."""
        return self.hash[:12]


# Rows written to the extract's file at a time, and so the most read back at once.
AUDIT_ROWS_A_BATCH = 5_000


class AuditEntries:
    """The audit-trail extract's rows, kept in a temporary file rather than in memory.

    A 100,000-row study's extract is some 600,000 entries, about 400 MiB as objects: held
    in the gathered record it alone took the binder past its memory aim. Every reader
    (the data file, the workbook's sheet, the binder's tally, the monitor-visit count)
    goes through the rows once, in order, so they are pickled in batches and read back a
    batch at a time; only the batches' places stay in memory. The file is anonymous
    (removed by the system when closed) and closed when the record is collected.
    """

    def __init__(self, rows: Iterable[AuditRow]) -> None:
        # Open as long as the record lives: every reader comes back to it.
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="ids-audit-extract-")  # noqa: SIM115
        self._batches: list[tuple[int, int]] = []
        self._count = 0
        self._reading = threading.Lock()
        batch: list[AuditRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) == AUDIT_ROWS_A_BATCH:
                self._write(batch)
                batch = []
        if batch:
            self._write(batch)
        self._file.flush()

    def _write(self, batch: list[AuditRow]) -> None:
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        self._batches.append((self._file.tell(), len(data)))
        self._file.write(data)
        self._count += len(batch)

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[AuditRow]:
        for offset, length in self._batches:
            with self._reading:  # two readers at once each keep their own place
                self._file.seek(offset)
                data = self._file.read(length)
            rows: list[AuditRow] = pickle.loads(data)
            yield from rows

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuditEntries):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AuditEntries({self._count} rows)"


def span_text(seconds: int | None) -> str:
    """A duration as people say it: "45 min", "2 h 40 min", "3 d 4 h"."""
    if seconds is None:
        return "unknown"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


@dataclass(frozen=True)
class ReadingSourceInfo:
    """Where a location's readings came from: "manual" or "logger", and the device."""

    source: str
    device: str | None
    count: int


@dataclass(frozen=True)
class LogFileInfo:
    """A logger file imported for a location, traceable to the original (ALCOA+)."""

    file_name: str
    layout: str
    device: str
    unit: str
    time_zone: str | None
    first_reading_at: dt.datetime
    last_reading_at: dt.datetime
    reading_count: int
    skipped_count: int
    imported_by: str
    imported_at: dt.datetime
    sha256: str


@dataclass(frozen=True)
class ExcursionHoldInfo:
    """A hold the excursion placed on this study's stock, and what it still holds."""

    hold_id: int
    placed_at: dt.datetime
    held: tuple[HeldStock, ...]
    still_held: tuple[HeldStock, ...]


@dataclass(frozen=True)
class ExposedDispense:
    """Exposed stock that reached a subject after the excursion began and before it was
    on record: it could not be held, so the sponsor must be told."""

    dispensed_at: dt.datetime
    subject_code: str | None
    product: str
    lot_number: str
    kit_number: str | None
    quantity: int
    unit: str


@dataclass(frozen=True)
class ExcursionInfo:
    """An excursion at a location or in transit, with this study's holds and decisions.

    Durations are whole seconds (a timedelta has no place in the hashed data); None when
    only a thermometer's min/max memory showed the excursion.
    """

    excursion_id: int
    place: str
    shipment_number: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_seconds: int | None
    still_open: bool
    evidence: str
    range_text: str
    minimum_minutes: int
    min_c: float
    max_c: float
    mkt_c: float | None
    holds: tuple[ExcursionHoldInfo, ...]
    decisions: tuple[DecisionRow, ...]
    dispensed_after: tuple[ExposedDispense, ...]
    awaiting_decision: bool

    @property
    def duration(self) -> str:
        return span_text(self.duration_seconds)


@dataclass(frozen=True)
class LocationTemperature:
    """One location's temperatures over the section's period (USP <1079>, <659>)."""

    name: str
    kind: str
    range_min_c: float
    range_max_c: float
    range_text: str
    checked_daily: bool
    start: dt.datetime
    end: dt.datetime
    reading_count: int
    sources: tuple[ReadingSourceInfo, ...]
    min_c: float | None
    max_c: float | None
    mkt_c: float | None
    out_of_range_seconds: int
    covered_seconds: int
    chart_svg: str | None
    excursions: tuple[ExcursionInfo, ...]
    log_files: tuple[LogFileInfo, ...]

    @property
    def logged(self) -> bool:
        """Anything to chart: readings in the period, or an excursion overlapping it."""
        return bool(self.reading_count or self.excursions)

    @property
    def out_of_range(self) -> str:
        return span_text(self.out_of_range_seconds)

    @property
    def covered(self) -> str:
        return span_text(self.covered_seconds)

    @property
    def out_of_range_share(self) -> float | None:
        """Time out of range as a share of the time the readings cover."""
        return self.out_of_range_seconds / self.covered_seconds if self.covered_seconds else None


@dataclass(frozen=True)
class TemperatureRecord:
    """The temperature log of the study's locations and its shipments in transit.

    ``start`` and ``end`` bound every location's figures; ``ends_at_last_reading`` says the
    period was still running when the record was read, so it stops at its last reading.
    """

    start: dt.datetime
    end: dt.datetime
    ends_at_last_reading: bool
    locations: tuple[LocationTemperature, ...]
    transit: tuple[ExcursionInfo, ...]

    @property
    def logged(self) -> bool:
        return any(location.logged for location in self.locations)

    @property
    def shown_end(self) -> dt.datetime:
        """The end a reader is shown: the last reading itself, not the instant after it
        that closes the half-open span the figures are summed over."""
        return self.end - AFTER_LAST_READING if self.ends_at_last_reading else self.end

    @property
    def excursions(self) -> tuple[ExcursionInfo, ...]:
        at_locations = tuple(x for loc in self.locations for x in loc.excursions)
        return at_locations + self.transit


# An open period's temperature figures stop one second after its last reading, so that
# reading is inside the half-open [start, end) that storage sums over.
AFTER_LAST_READING = dt.timedelta(seconds=1)
# ``TemperatureMonitor.EXCURSION`` as a receipt records it.
TRANSIT_ALARM = "excursion"


@dataclass(frozen=True)
class TransitAlarm:
    """A shipment received with its temperature monitor in alarm, and the holds it opened."""

    shipment: ShipmentInfo
    holds: tuple[HoldRow, ...]

    @property
    def decisions(self) -> tuple[DecisionRow, ...]:
        return tuple(d for h in self.holds for d in h.decisions)


@dataclass(frozen=True)
class StudyRecord:
    """Everything a study's binder and workbook hold, for one period and edition."""

    study: StudyInfo
    edition: Edition
    period_label: str
    period_phrase: str
    period_text: str
    as_of: dt.date
    products: tuple[ProductInfo, ...]
    arms: tuple[ArmInfo, ...]
    locations: tuple[LocationInfo, ...]
    prescribers: tuple[PrescriberInfo, ...]
    staff: tuple[StaffInfo, ...]
    signatures: tuple[SignatureEntry, ...]
    accountability: tuple[AccountabilityRecord, ...]
    shipments: tuple[ShipmentInfo, ...]
    inventory: tuple[InventoryRow, ...]
    dispensing: tuple[DispenseRow, ...]
    closed_orders: tuple[ClosedOrderRow, ...]
    returns: tuple[ReturnRow, ...]
    holds: tuple[HoldRow, ...]
    disposals: tuple[DisposalRow, ...]
    counts: tuple[CountRow, ...]
    corrections: tuple[CorrectionRow, ...]
    audit: AuditEntries
    temperature: TemperatureRecord
    # The monitor's queries raised in the period or still open (monitoring.views).
    queries: tuple[QueryInfo, ...] = ()

    @property
    def unblinded(self) -> bool:
        """An unblinded edition of a blinded study: for unblinded staff only."""
        return self.edition is Edition.UNBLINDED

    @property
    def shows_arms(self) -> bool:
        """Whether treatment arms are printed: in an unblinded or open-label edition."""
        return self.edition is not Edition.BLINDED

    @property
    def transit_alarms(self) -> tuple[TransitAlarm, ...]:
        """Shipments whose temperature monitor showed an excursion at receipt, with no
        logger file to judge it: the receipt itself is the evidence, and the transit
        section must say so rather than "no excursion in transit"."""
        judged = {x.shipment_number for x in self.temperature.transit}
        return tuple(
            TransitAlarm(
                shipment,
                tuple(h for h in self.holds if h.shipment_number == shipment.shipment_number),
            )
            for shipment in self.shipments
            if shipment.temperature_monitor == TRANSIT_ALARM
            and shipment.shipment_number not in judged
        )

    @functools.cached_property
    def data_hash(self) -> str:
        """SHA-256 of the record's content (not of when or by whom it was printed).

        Two binders of the same data, period and edition carry the same hash, so a copy
        can be matched to its electronic source (21 CFR 11.10(b)). It is the hash of the
        record as one JSON document (sorted keys, no spaces), fed to SHA-256 a row at a
        time: a copy of the whole record as JSON would double a large study's memory.
        """
        hasher = hashlib.sha256()
        _feed(hasher, self)
        return hasher.hexdigest()


def _json(value: Any) -> bytes:
    return json.dumps(
        _plain(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def _nested(value: Any) -> bool:
    return isinstance(value, tuple | list | AuditEntries) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)
    )


def _feed(hasher: Any, value: Any) -> None:
    """Feed ``hasher`` the bytes of ``_json(value)``, one row (a dataclass without nested
    records) at a time: JSON's objects and arrays are their members' JSON joined."""
    if isinstance(value, tuple | list | AuditEntries):
        hasher.update(b"[")
        for index, item in enumerate(value):
            if index:
                hasher.update(b",")
            _feed(hasher, item)
        hasher.update(b"]")
    elif _nested(value) and any(_nested(getattr(value, f.name)) for f in dataclasses.fields(value)):
        hasher.update(b"{")
        for index, name in enumerate(sorted(f.name for f in dataclasses.fields(value))):
            if index:
                hasher.update(b",")
            hasher.update(_json(name) + b":")
            _feed(hasher, getattr(value, name))
        hasher.update(b"}")
    else:
        hasher.update(_json(value))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class Printing:
    """Who made a document and when: printed on it, kept out of the data hash.

    ``anchor`` is the audit chain's head (ID:HASH) the document was made from: printed on
    it, it keeps a copy of the chain's state outside the database (``ids-app verify
    --anchor``), so a chain re-computed after an edit no longer matches the paper.
    """

    generated_by: str
    generated_at: dt.datetime
    anchor: str = "none yet"
    signature: SiteSignature | None = None


@dataclass(frozen=True)
class SiteSignature:
    """The site certificate a document will be signed with, as its cover names it (the
    signature itself is added to the finished file: ids_app.signing)."""

    signer_name: str
    fingerprint_text: str
