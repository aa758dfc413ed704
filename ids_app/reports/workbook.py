"""The sponsor workbook (xlsx): one sheet per record of the binder, typed and filterable.

Dates are dates, counts are numbers, text is text (sheet_writer.py), every data sheet has
a frozen header row, a filter and a totals row whose formulas reconcile with the Summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from ids_app.reports.cells import Formula
from ids_app.reports.common import held_summary
from ids_app.reports.records import (
    AccountabilityRecord,
    DecisionRow,
    ExcursionInfo,
    Printing,
    StudyRecord,
    TransitAlarm,
)
from ids_app.reports.sheet_writer import (
    BOLD,
    DATE_FORMAT,
    HEADER_FILL,
    TIME_FORMAT,
    WRAP,
    Column,
    SheetWriter,
    excel_time,
    header_height,
    new_cell,
    print_setup,
)
from ids_app.wording import quantity_text

SHEETS = (
    "Summary",
    "Accountability",
    "Shipments",
    "Inventory",
    "Dispensing",
    "Returns & compliance",
    "Quarantine & excursions",
    "Destruction",
    "Temperature",
    "Excursions",
    "Discrepancies",
    "Audit trail",
)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _hours(seconds: int | None) -> float | None:
    """A duration as a number of hours: sums and filters work on it, unlike "2 h 40 min"."""
    return None if seconds is None else round(seconds / 3600, 2)


def _share(percent: Decimal | None) -> float | None:
    """Compliance as the number Excel formats as a percentage: 85.7 % is 0.857, the value
    the binder prints, so a cell shown with "0.0%" reads as the binder does."""
    return None if percent is None else float(percent / 100)


def _accountability_columns(shows_arms: bool) -> list[Column]:
    columns = [
        Column("Product", 30),
        Column("Unit", 8),
        Column("Line", 6, "int"),
        Column("Date", 11, "date"),
        Column("Transaction", 40),
        Column("Patient ID", 11),
        Column("Patient initials", 9),
        Column("Dose", 24),
        Column("Kit", 9),
    ]
    if shows_arms:
        columns.append(Column("Arm", 14))
    columns += [
        Column("Manufacturer", 16),
        Column("Lot number", 11),
        Column("Expiry", 11, "date"),
        Column("Quantity received", 10, "int"),
        Column("Quantity dispensed", 10, "int"),
        Column("Other (±)", 9, "int"),
        Column("Balance forward", 10, "int"),
        Column("New balance", 10, "int"),
        Column("Returned by patient", 10, "int"),
        Column("Returns out", 9, "int"),
        Column("Returns held apart", 10, "int"),
        Column("Recorder's initials", 9),
        Column("Recorded by", 16),
        Column("Signatures", 20),
        Column("Ledger entry", 8, "int"),
        Column("Late entry", 30),
    ]
    return columns


SUMMED_DARF = (
    "Quantity received",
    "Quantity dispensed",
    "Other (±)",
    "Returned by patient",
    "Returns out",
)


def _accountability(book: Workbook, record: StudyRecord) -> tuple[SheetWriter, dict[str, int]]:
    """The DARF lines of every product; one totals row per product (SUMIFS by product)."""
    sheet = SheetWriter(book, "Accountability", _accountability_columns(record.shows_arms))
    for darf in record.accountability:
        for line in darf.lines:
            values: list[Any] = [
                darf.title,
                darf.product.unit,
                line.number,
                line.date,
                line.transaction,
                line.subject_code,
                line.initials,
                line.dose,
                line.kit_number,
            ]
            if record.shows_arms:
                values.append(line.arm)
            values += [
                line.manufacturer,
                line.lot_number,
                line.expiry,
                line.received,
                line.dispensed,
                line.other,
                line.balance_forward,
                line.new_balance,
                line.returns_in,
                line.returns_out,
                line.returns_held,
                line.recorder_initials,
                line.recorder,
                line.signatures,
                line.entry_id,
                line.late_entry,
            ]
            sheet.row(values)
    total_rows = {}
    for darf in record.accountability:
        total_rows[darf.title] = sheet.totals(
            f"Total: {darf.title}", SUMMED_DARF, where=("Product", darf.title)
        )
    sheet.finish()
    return sheet, total_rows


def _summary(
    book: Workbook,
    record: StudyRecord,
    printing: Printing,
    darf: SheetWriter,
    totals: dict[str, int],
) -> None:
    sheet = book.create_sheet("Summary", 0)
    widths = [30.0, 34.0] + [14.0] * 12
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    print_setup(sheet, one_page=True)
    edition = record.edition.label.upper()
    if record.unblinded:
        edition += ": shows treatment arms; for unblinded staff only"
    title = new_cell(sheet, f"{record.study.protocol_number} sponsor workbook")
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    facts: list[tuple[str, Any, str | None]] = [
        ("Edition", edition, None),
        ("Protocol number", record.study.protocol_number, None),
        ("Title", record.study.title, None),
        ("Sponsor", record.study.sponsor, None),
        ("Principal investigator", record.study.principal_investigator, None),
        ("IND", record.study.ind_number or "—", None),
        ("Site", record.study.site, None),
        ("Status", f"{record.study.status}; {record.study.blinding}", None),
        ("IRB approval", record.study.irb_approval, None),
        ("Period", record.period_label, None),
        ("Stock as of", record.as_of, DATE_FORMAT),
        ("Generated by", printing.generated_by, None),
        ("Generated at (local time)", excel_time(printing.generated_at), TIME_FORMAT),
        ("SHA-256 of the data", record.data_hash, None),
        ("Audit-trail anchor (ID:hash)", printing.anchor, None),
    ]
    for label, value, number_format in facts:
        key = new_cell(sheet, label)
        key.font = BOLD
        cell = new_cell(sheet, value)
        if number_format:
            cell.number_format = number_format
        if label == "Edition":
            cell.font = BOLD
        sheet.append([key, cell])
    sheet.append([])
    heading = new_cell(sheet, "Reconciliation: the log against the ledger")
    heading.font = Font(bold=True, size=12)
    sheet.append([heading])
    headers = [
        "Product",
        "Unit",
        "Balance forward",
        "Received",
        "Dispensed",
        "Other (±)",
        "Balance on the log",
        "Stock on the ledger",
        "Reconciles",
        "Returned by patients",
        "Returns out",
        "Returns held on the log",
        "Returns on the ledger",
        "Returns reconcile",
    ]
    first = len(facts) + 5  # title, facts, blank, heading, header
    sheet.row_dimensions[first - 1].height = header_height(zip(headers, widths, strict=True))
    row_cells = []
    for header in headers:
        cell = new_cell(sheet, header)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        row_cells.append(cell)
    sheet.append(row_cells)
    for offset, darf_record in enumerate(record.accountability):
        row = first + offset
        values = _reconciliation_row(darf_record, darf, totals[darf_record.title], row)
        sheet.append([new_cell(sheet, value) for value in values])
    book.properties.title = (
        f"{record.study.protocol_number} sponsor workbook ({record.edition.label})"
    )
    book.properties.creator = printing.generated_by


def _reconciliation_row(
    darf_record: AccountabilityRecord, darf: SheetWriter, total_row: int, row: int
) -> list[Any]:
    """Summary formulas that reconcile the Accountability sheet's totals with the ledger."""

    def total(header: str) -> str:
        return f"Accountability!${darf.letter(header)}${total_row}"

    return [
        darf_record.title,
        darf_record.product.unit,
        darf_record.opening_balance,
        Formula(total("Quantity received")),
        Formula(total("Quantity dispensed")),
        Formula(total("Other (±)")),
        Formula(f"C{row}+D{row}-E{row}+F{row}"),
        darf_record.ledger_balance,
        Formula(f'IF(G{row}=H{row},"yes","NO")'),
        Formula(total("Returned by patient")),
        Formula(total("Returns out")),
        Formula(f"{darf_record.opening_returns}+J{row}-K{row}"),
        darf_record.ledger_returns,
        Formula(f'IF(L{row}=M{row},"yes","NO")'),
    ]


def _per_product_totals(
    sheet: SheetWriter, products: Iterable[str], sums: Sequence[str], by: str = "Product"
) -> None:
    for product in products:
        sheet.totals(f"Total: {product}", sums, where=(by, product))


def _shipments(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Shipments",
        [
            Column("Shipment", 16),
            Column("Received on", 11, "date"),
            Column("Sender", 22),
            Column("Carrier", 14),
            Column("Tracking number", 16),
            Column("Condition", 10),
            Column("Temperature monitor", 12),
            Column("Received by", 16),
            Column("Location", 16),
            Column("Reconciliation", 24),
            Column("Product", 30),
            Column("Lot number", 11),
            Column("Kit", 9),
            Column("Expected", 9, "int"),
            Column("Received", 9, "int"),
            Column("Missing", 9, "int"),
            Column("Extra", 9, "int"),
            Column("Damaged", 9, "int"),
        ],
    )
    for s in record.shipments:
        for line in s.lines:
            sheet.row(
                [
                    s.shipment_number,
                    s.received_on,
                    s.sender,
                    s.carrier,
                    s.tracking_number,
                    s.condition,
                    s.temperature_monitor,
                    s.received_by,
                    s.location,
                    s.reconciliation,
                    line.product,
                    line.lot_number,
                    line.kit_number,
                    # Without a packing list nothing was expected, missing or extra.
                    line.expected if s.has_packing_list else None,
                    line.received,
                    line.missing if s.has_packing_list else None,
                    line.extra if s.has_packing_list else None,
                    line.damaged,
                ]
            )
    sums = ("Expected", "Received", "Missing", "Extra", "Damaged")
    _per_product_totals(sheet, [p.description for p in record.products], sums)
    sheet.finish()


def _inventory(book: Workbook, record: StudyRecord) -> None:
    columns = [
        Column("Product", 30),
        Column("Unit", 8),
        Column("Lot number", 11),
        Column("Expiry", 11, "date"),
        Column("Expired", 8),
        Column("Kit", 9),
    ]
    if record.shows_arms:
        columns.append(Column("Arm", 14))
    columns += [Column("Location", 20), Column("State", 12), Column("Quantity", 9, "int")]
    sheet = SheetWriter(book, "Inventory", columns)
    for row in record.inventory:
        values: list[Any] = [
            row.product,
            row.unit,
            row.lot_number,
            row.expiry,
            _yes(row.expired),
            row.kit_number,
        ]
        if record.shows_arms:
            values.append(row.arm)
        values += [row.location, row.state, row.quantity]
        sheet.row(values)
    _per_product_totals(sheet, [p.description for p in record.products], ["Quantity"])
    sheet.finish()


def _dispensing(book: Workbook, record: StudyRecord) -> None:
    columns = [
        Column("Order", 7, "int"),
        Column("Dispensed at", 16, "time"),
        Column("Patient ID", 11),
        Column("Patient initials", 9),
        Column("Visit", 14),
        Column("Prescriber", 22),
        Column("Product", 30),
        Column("Kit", 9),
    ]
    if record.shows_arms:
        columns.append(Column("Arm", 14))
    columns += [
        Column("Lot number", 11),
        Column("Expiry", 11, "date"),
        Column("From", 18),
        Column("Quantity", 9, "int"),
        Column("Unit", 8),
        Column("Dose units", 9, "int"),
        Column("Dose unit", 9),
        Column("Prepared by", 44),
        Column("Verified by", 44),
        Column("Late entry", 30),
    ]
    sheet = SheetWriter(book, "Dispensing", columns)
    for d in record.dispensing:
        values: list[Any] = [
            d.order_id,
            excel_time(d.dispensed_at),
            d.subject_code,
            d.initials,
            d.visit,
            d.prescriber,
            d.product,
            d.kit_number,
        ]
        if record.shows_arms:
            values.append(d.arm)
        values += [
            d.lot_number,
            d.expiry,
            d.location,
            d.quantity,
            d.unit,
            d.dose_units,
            d.dose_unit,
            d.prepared,
            d.verified,
            d.late_entry,
        ]
        sheet.row(values)
    _per_product_totals(sheet, [p.description for p in record.products], ["Quantity", "Dose units"])
    sheet.finish()


def _returns(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Returns & compliance",
        [
            Column("Return", 7, "int"),
            Column("Order", 7, "int"),
            Column("Patient ID", 11),
            Column("Patient initials", 9),
            Column("Visit", 12),
            Column("Kit", 9),
            Column("Lot number", 11),
            Column("Dispensed on", 11, "date"),
            Column("Returned on", 11, "date"),
            Column("Quantity returned", 10, "int"),
            Column("Unit", 8),
            Column("Units counted", 9, "int"),
            Column("Units dispensed", 9, "int"),
            Column("Units expected", 9, "float"),
            Column("Units taken", 9, "int"),
            Column("Compliance", 10, "percent"),
            Column("Dose unit", 9),
            Column("Condition", 26),
            Column("Counted by", 16),
            Column("Location", 14),
            Column("Monitor's verification", 44),
        ],
    )
    for r in record.returns:
        sheet.row(
            [
                r.return_id,
                r.order_id,
                r.subject_code,
                r.initials,
                r.visit,
                r.kit_number,
                r.lot_number,
                r.dispensed_on,
                r.returned_on,
                r.quantity,
                r.unit,
                r.units_counted,
                r.units_dispensed,
                r.units_expected,
                r.units_taken,
                _share(r.compliance_percent),
                r.dose_unit,
                r.condition,
                r.counted_by,
                r.location,
                r.monitor_verification or "awaiting the monitor",
            ]
        )
    sheet.totals(
        "Total",
        ("Quantity returned", "Units counted", "Units dispensed", "Units expected", "Units taken"),
    )
    sheet.finish()


def _quarantine(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Quarantine & excursions",
        [
            Column("Hold", 6, "int"),
            Column("Placed at", 16, "time"),
            Column("Reason", 10),
            Column("Details", 36),
            Column("Placed by", 16),
            Column("Shipment", 12),
            Column("Product", 30),
            Column("Lot number", 11),
            Column("Kit", 9),
            Column("Location", 18),
            Column("Quantity held", 9, "int"),
            Column("Decision", 10),
            Column("Quantity decided", 9, "int"),
            Column("Sponsor's reference", 30),
            Column("Decided at", 16, "time"),
            Column("Signature", 44),
            Column("Status", 24),
        ],
    )
    for h in record.holds:
        for held in h.held:
            decision = next((d for d in h.decisions if d.lot_number == held.lot_number), None)
            sheet.row(
                [
                    h.hold_id,
                    excel_time(h.placed_at),
                    h.reason,
                    h.details,
                    h.placed_by,
                    h.shipment_number,
                    held.product,
                    held.lot_number,
                    held.kit_number,
                    held.location,
                    held.quantity,
                    decision.decision if decision else None,
                    decision.quantity if decision else None,
                    decision.sponsor_reference if decision else None,
                    excel_time(decision.decided_at) if decision else None,
                    decision.signature if decision else None,
                    h.status,
                ]
            )
    _per_product_totals(
        sheet, [p.description for p in record.products], ["Quantity held", "Quantity decided"]
    )
    sheet.finish()


def _destruction(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Destruction",
        [
            Column("Disposal", 16),
            Column("Kind", 20),
            Column("Performed on", 11, "date"),
            Column("Method", 34),
            Column("Sponsor's authorization", 24),
            Column("Performed by", 16),
            Column("Witness", 44),
            Column("Courier", 14),
            Column("Tracking number", 16),
            Column("Product", 30),
            Column("Lot number", 11),
            Column("Expiry", 11, "date"),
            Column("Kit", 9),
            Column("From", 26),
            Column("Quantity", 9, "int"),
            Column("Unit", 8),
        ],
    )
    for d in record.disposals:
        for line in d.lines:
            sheet.row(
                [
                    d.disposal_number,
                    d.kind,
                    d.performed_on,
                    d.method,
                    d.sponsor_authorization,
                    d.performed_by,
                    d.witness,
                    d.courier,
                    d.tracking_number,
                    line.product,
                    line.lot_number,
                    line.expiry,
                    line.kit_number,
                    f"{line.from_state} at {line.from_location}",
                    line.quantity,
                    line.unit,
                ]
            )
    _per_product_totals(sheet, [p.description for p in record.products], ["Quantity"])
    sheet.finish()


def _temperature(book: Workbook, record: StudyRecord) -> None:
    """One summary row per location that held the study's stock (USP <1079>, <659>)."""
    sheet = SheetWriter(
        book,
        "Temperature",
        [
            Column("Location", 22),
            Column("Kind", 10),
            Column("Range low (°C)", 9, "celsius"),
            Column("Range high (°C)", 9, "celsius"),
            Column("From", 16, "time"),
            Column("To", 16, "time"),
            Column("Readings", 9, "int"),
            Column("Manual readings", 9, "int"),
            Column("Logger readings", 9, "int"),
            Column("Devices", 28),
            Column("Lowest (°C)", 9, "celsius"),
            Column("Highest (°C)", 9, "celsius"),
            Column("MKT (°C)", 9, "mkt"),
            Column("Hours out of range", 10, "hours"),
            Column("Hours covered", 10, "hours"),
            Column("Share out of range", 10, "share"),
            Column("Excursions", 10, "int"),
            Column("Awaiting decision", 10, "int"),
            Column("Logger files", 30),
        ],
    )
    for loc in record.temperature.locations:
        sheet.row(
            [
                loc.name,
                loc.kind,
                loc.range_min_c,
                loc.range_max_c,
                excel_time(loc.start),
                excel_time(record.temperature.shown_end),
                loc.reading_count,
                sum(s.count for s in loc.sources if s.source == "manual"),
                sum(s.count for s in loc.sources if s.source == "logger"),
                ", ".join(sorted({s.device for s in loc.sources if s.device})) or None,
                loc.min_c,
                loc.max_c,
                loc.mkt_c,
                _hours(loc.out_of_range_seconds),
                _hours(loc.covered_seconds),
                loc.out_of_range_share,
                len(loc.excursions),
                sum(1 for x in loc.excursions if x.awaiting_decision),
                ", ".join(f.file_name for f in loc.log_files) or None,
            ]
        )
    sheet.finish()


def _excursion_values(x: ExcursionInfo) -> list[Any]:
    holds = "; ".join(
        f"Hold {h.hold_id}: {held_summary(h.held) or 'no further stock'}" for h in x.holds
    )
    dispensed = "; ".join(
        f"{quantity_text(d.quantity, d.unit)} of {d.product}, lot {d.lot_number}"
        + (f", kit {d.kit_number}" if d.kit_number else "")
        + (f", subject {d.subject_code}" if d.subject_code else "")
        for d in x.dispensed_after
    )
    return [
        x.excursion_id,
        x.place if x.shipment_number is None else "in transit",
        x.shipment_number,
        excel_time(x.started_at),
        excel_time(x.ended_at),
        _hours(x.duration_seconds),
        "open" if x.still_open else "closed",
        x.evidence,
        x.range_text,
        x.minimum_minutes,
        x.min_c,
        x.max_c,
        x.mkt_c,
        holds or None,
        _yes(x.awaiting_decision),
        len(x.dispensed_after),
        dispensed or None,
    ]


def _decision_values(d: DecisionRow | None) -> list[Any]:
    if d is None:
        return [None] * 6
    return [
        d.lot_number,
        d.decision,
        d.quantity,
        d.sponsor_reference,
        excel_time(d.decided_at),
        d.signature,
    ]


def _excursions(book: Workbook, record: StudyRecord) -> None:
    """Every excursion at the study's locations and in transit: one row per signed
    decision, or one row while none is recorded."""
    sheet = SheetWriter(
        book,
        "Excursions",
        [
            Column("Excursion", 9, "int"),
            Column("Where", 22),
            Column("Shipment", 12),
            Column("Started at", 16, "time"),
            Column("Ended at", 16, "time"),
            Column("Hours", 8, "hours"),
            Column("Status", 8),
            Column("Shown by", 12),
            Column("Range", 12),
            Column("Minimum duration (min)", 10, "int"),
            Column("Lowest (°C)", 9, "celsius"),
            Column("Highest (°C)", 9, "celsius"),
            Column("MKT (°C)", 9, "mkt"),
            Column("Stock held", 40),
            Column("Awaiting decision", 10),
            Column("Dispensed after exposure", 10, "int"),
            Column("Dispensed after exposure: what", 36),
            Column("Lot number", 11),
            Column("Decision", 10),
            Column("Quantity decided", 9, "int"),
            Column("Sponsor's reference", 30),
            Column("Decided at", 16, "time"),
            Column("Signature", 44),
        ],
    )
    for x in record.temperature.excursions:
        for d in x.decisions or (None,):
            sheet.row(_excursion_values(x) + _decision_values(d))
    for alarm in record.transit_alarms:
        for d in alarm.decisions or (None,):
            sheet.row(_transit_alarm_values(alarm) + _decision_values(d))
    sheet.finish()


def _transit_alarm_values(alarm: TransitAlarm) -> list[Any]:
    """A receipt whose temperature monitor alarmed, with no logger file behind it: no
    times or readings to give, only what the receipt and its holds say."""
    shipment = alarm.shipment
    holds = "; ".join(
        f"Hold {h.hold_id}: {held_summary(h.held) or 'no further stock'}" for h in alarm.holds
    )
    awaiting = any(h.still_held for h in alarm.holds)
    shown_by = "temperature monitor at receipt" + (f": {shipment.notes}" if shipment.notes else "")
    return [
        None,
        "in transit",
        shipment.shipment_number,
        None,
        None,
        None,
        "reported at receipt",
        shown_by,
        None,
        None,
        None,
        None,
        None,
        holds or None,
        _yes(awaiting),
        None,
        None,
    ]


def _discrepancies(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Discrepancies",
        [
            Column("Count", 6, "int"),
            Column("Counted at", 16, "time"),
            Column("Location", 18),
            Column("Counted by", 16),
            Column("Product", 30),
            Column("Lot number", 11),
            Column("Kit", 9),
            Column("State", 12),
            Column("On the log", 9, "int"),
            Column("Counted", 9, "int"),
            Column("Difference", 9, "int"),
            Column("Status", 9),
            Column("Resolution", 36),
            Column("Resolved by", 16),
            Column("Resolved at", 16, "time"),
            Column("Late entry", 30),
        ],
    )
    for c in record.counts:
        for d in c.discrepancies:
            sheet.row(
                [
                    c.count_id,
                    excel_time(c.counted_at),
                    c.location,
                    c.counted_by,
                    d.product,
                    d.lot_number,
                    d.kit_number,
                    d.state,
                    d.ledger_quantity,
                    d.counted_quantity,
                    d.difference,
                    d.status,
                    d.resolution,
                    d.resolved_by,
                    excel_time(d.resolved_at),
                    c.late_entry,
                ]
            )
    _per_product_totals(sheet, [p.description for p in record.products], ["Difference"])
    sheet.finish()


def _audit(book: Workbook, record: StudyRecord) -> None:
    sheet = SheetWriter(
        book,
        "Audit trail",
        [
            Column("Entry", 8, "int"),
            Column("At", 16, "time"),
            Column("User", 10),
            Column("Action", 9),
            Column("Table", 16),
            Column("Record", 8),
            Column("Field", 16),
            Column("Old value", 30),
            Column("New value", 60),
            Column("Reason", 30),
            Column("Hash (start)", 14),
        ],
    )
    for a in record.audit:
        sheet.row(
            [
                a.entry_id,
                excel_time(a.at),
                a.username,
                a.action,
                a.table_name,
                a.record_id,
                a.field,
                a.old_value,
                a.new_value,
                a.reason,
                a.hash_prefix,
            ]
        )
    sheet.finish()


SheetMaker = Callable[[Workbook, StudyRecord], None]
DATA_SHEETS: tuple[SheetMaker, ...] = (
    _shipments,
    _inventory,
    _dispensing,
    _returns,
    _quarantine,
    _destruction,
    _temperature,
    _excursions,
    _discrepancies,
    _audit,
)


def write_workbook(record: StudyRecord, printing: Printing, target: Path) -> None:
    """Write the sponsor workbook of ``record`` to ``target``."""
    book = Workbook(write_only=True)
    darf, totals = _accountability(book, record)
    _summary(book, record, printing, darf, totals)
    for make in DATA_SHEETS:
        make(book, record)
    book.save(target)
