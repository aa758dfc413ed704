"""Temperature: a storage location's chart, mean kinetic temperature and time out of range
for the last 7/30/90 days, its excursions (with the sponsor's signed decision on held
lots), the daily thermometer check, and the logger-file import with a preview by line.

Storage is shared by every study, so the tab shows any location, whichever study is open.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtSvgWidgets import QSvgWidget
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.db import utc_now
from ids_app.inventory.locations import get_location
from ids_app.inventory.models import HoldDecisionKind, Location, Lot
from ids_app.inventory.quarantine import held_stock
from ids_app.reports.progress import CancelCheck, ProgressCallback, ReportCancelled
from ids_app.storage.chart import location_chart
from ids_app.storage.excursions import decide_excursion, excursion_holds
from ids_app.storage.mkt import PeriodSummary, location_summary
from ids_app.storage.models import Excursion, TemperatureUnit
from ids_app.storage.queries import UNCHECKED_KINDS, excursions_at
from ids_app.storage.readings import (
    LOGGER_LAYOUTS,
    READING_ROLES,
    LoggerExport,
    LoggerMapping,
    LogPreview,
    guess_logger_mapping,
    import_logger_file,
    preview_logger_file,
    read_logger_file,
    record_daily_reading,
)
from ids_app.studies.tables import guess_header
from ids_app.ui.context import Workspace
from ids_app.ui.forms import InlineMessage, hint_label, open_dialog, primary_button
from ids_app.ui.guard import attempt
from ids_app.ui.reading_correction import UNITS, CorrectReadingDialog, typed_temperature
from ids_app.ui.signature import SignatureDialog
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.table_models import Column, RowsModel, fit_columns, selected_row, table_view
from ids_app.ui.tasks import run_job
from ids_app.users.models import Role, SignatureMeaning

PERIODS = (("Last 7 days", 7), ("Last 30 days", 30), ("Last 90 days", 90))


def workstation_zone() -> str:
    """The workstation's time zone by name (America/New_York) when it can be told, else
    its present UTC offset."""
    named = os.environ.get("TZ", "").lstrip(":")
    if named and "/" in named:
        return named
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    offset = dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _hours(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _local(moment: dt.datetime) -> str:
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class LocationRow:
    id: int
    name: str
    range_text: str


@dataclass(frozen=True)
class HeldLot:
    lot_id: int
    lot_number: str


@dataclass(frozen=True)
class ExcursionRow:
    id: int
    started: str
    ended: str
    duration: str
    lowest: float
    highest: float
    range_text: str
    status: str
    evidence: str
    held: tuple[HeldLot, ...]


@dataclass(frozen=True)
class LocationView:
    svg: str
    summary: PeriodSummary
    excursions: list[ExcursionRow]


def _held_lots(session: Session, excursion: Excursion) -> tuple[HeldLot, ...]:
    lots: dict[int, HeldLot] = {}
    for hold in excursion_holds(session, excursion):
        for balance in held_stock(session, hold):
            if balance.lot_id not in lots:
                lot = session.get_one(Lot, balance.lot_id)
                lots[balance.lot_id] = HeldLot(lot.id, lot.lot_number)
    return tuple(lots.values())


def _excursion_row(session: Session, excursion: Excursion) -> ExcursionRow:
    duration = excursion.duration
    return ExcursionRow(
        id=excursion.id,
        started=_local(excursion.started_at),
        ended=_local(excursion.ended_at),
        duration=_hours(duration) if duration is not None else "",
        lowest=excursion.min_c,
        highest=excursion.max_c,
        range_text=excursion.range_text,
        status=excursion.status.value,
        evidence=excursion.evidence.value,
        held=_held_lots(session, excursion),
    )


def read_location(
    session: Session, location_id: int, days: int, *, width: int = 720, height: int = 320
) -> LocationView:
    location = get_location(session, location_id)
    end = utc_now()
    start = end - dt.timedelta(days=days)
    tz = dt.datetime.now().astimezone().tzinfo
    svg = location_chart(session, location, start, end, tz=tz, width=width, height=height)
    summary = location_summary(session, location, start, end)
    rows = [_excursion_row(session, e) for e in excursions_at(session, location, start, end)]
    return LocationView(svg, summary, list(reversed(rows)))


def checked_locations(session: Session) -> list[LocationRow]:
    return [
        LocationRow(location.id, location.name, location.range_text)
        for location in session.scalars(
            select(Location)
            .where(Location.active.is_(True), Location.kind.not_in(UNCHECKED_KINDS))
            .order_by(Location.name)
        )
    ]


class TemperatureTab(StudyTab):
    import_finished = Signal(bool)  # the logger import ended: True when it was recorded

    key = "temperature"

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(ws, parent)
        self.can_record = ws.user.role in READING_ROLES
        self.can_decide = ws.user.role is Role.PHARMACIST
        self.dialog: QWidget | None = None
        self.view: LocationView | None = None
        self.export: LoggerExport | None = None
        self.preview: LogPreview | None = None
        self.guessed: LoggerMapping | None = None
        self._layout_name = "column mapping"
        self._device_column: str | None = None
        # Tests replace this to answer the file dialog.
        self.ask_file = self._ask_file

        # what is shown
        self.location = QComboBox()
        self.location.setObjectName("temperatureLocation")
        self.location.currentIndexChanged.connect(self._location_changed)
        self.period = QComboBox()
        self.period.setObjectName("temperaturePeriod")
        for title, days in PERIODS:
            self.period.addItem(title, days)
        self.period.setCurrentIndex(1)
        self.period.currentIndexChanged.connect(lambda _i: self.show_location())
        self.summary = QLabel("")
        self.summary.setObjectName("temperatureSummary")
        self.summary.setWordWrap(True)
        self.chart = QSvgWidget()
        self.chart.setObjectName("temperatureChart")
        self.chart.setMinimumSize(420, 220)
        top = QHBoxLayout()
        location_label = QLabel("&Location")
        location_label.setBuddy(self.location)
        top.addWidget(location_label)
        top.addWidget(self.location, 2)
        top.addWidget(QLabel("Period"))
        top.addWidget(self.period)
        top.addStretch(1)

        # excursions
        self.excursions: RowsModel[ExcursionRow] = RowsModel(
            [
                Column("Started", lambda r: r.started),
                Column("Ended", lambda r: r.ended),
                Column("Duration", lambda r: r.duration),
                Column("Lowest °C", lambda r: f"{r.lowest:g}", numeric=True),
                Column("Highest °C", lambda r: f"{r.highest:g}", numeric=True),
                Column("Allowed", lambda r: r.range_text),
                Column("Status", lambda r: r.status),
                Column("Evidence", lambda r: r.evidence),
                Column("Lots held", lambda r: ", ".join(h.lot_number for h in r.held)),
            ],
            status=lambda r: "quarantined" if r.held else None,
            parent=self,
        )
        self.excursions_view = table_view(self.excursions, name="excursionsTable")
        self.excursions_view.selectionModel().selectionChanged.connect(
            lambda *_args: self._excursion_chosen()
        )
        self.decision_lot = QComboBox()
        self.decision_lot.setObjectName("decisionLot")
        self.decision = QComboBox()
        self.decision.setObjectName("decisionKind")
        for kind in HoldDecisionKind:
            self.decision.addItem(kind.value, kind.value)
        self.sponsor_reference = QLineEdit()
        self.sponsor_reference.setObjectName("sponsorReference")
        self.sponsor_reference.setPlaceholderText("the sponsor's reference for the ruling")
        self.decide_button = QPushButton("Record sponsor decision…")
        self.decide_button.setObjectName("decideExcursion")
        self.decide_button.clicked.connect(self.decide)
        self.decision_message = InlineMessage("decisionMessage")
        excursions_box = QGroupBox("Excursions in the period")
        excursions_layout = QVBoxLayout(excursions_box)
        excursions_layout.addWidget(self.excursions_view)
        decision_row = QHBoxLayout()
        decision_row.addWidget(QLabel("Lot"))
        decision_row.addWidget(self.decision_lot)
        decision_row.addWidget(self.decision)
        decision_row.addWidget(self.sponsor_reference, 1)
        decision_row.addWidget(self.decide_button)
        self.decision_widget = QWidget()
        self.decision_widget.setLayout(decision_row)
        decision_row.setContentsMargins(0, 0, 0, 0)
        excursions_layout.addWidget(self.decision_widget)
        excursions_layout.addWidget(self.watch_typed(self.sponsor_reference))
        excursions_layout.addWidget(self.decision_message)
        self.decision_widget.setVisible(self.can_decide)
        if not self.can_decide:
            excursions_layout.addWidget(
                hint_label("A pharmacist records the sponsor's decision on held lots.")
            )

        # the daily check
        self.current = QLineEdit()
        self.current.setObjectName("readingCurrent")
        self.minimum = QLineEdit()
        self.minimum.setObjectName("readingMinimum")
        self.maximum = QLineEdit()
        self.maximum.setObjectName("readingMaximum")
        self.unit = QComboBox()
        self.unit.setObjectName("readingUnit")
        for title, unit in UNITS:
            self.unit.addItem(title, unit.value)
        self.note = QLineEdit()
        self.note.setObjectName("readingNote")
        self.record_button = primary_button("Record reading", name="recordReading")
        self.record_button.clicked.connect(self.record_reading)
        self.correct_button = QPushButton("Correct a reading…")
        self.correct_button.setObjectName("correctReading")
        self.correct_button.clicked.connect(self.correct_reading)
        self.reading_message = InlineMessage("readingMessage")
        daily_box = QGroupBox("Daily check")
        daily_box.setObjectName("dailyBox")
        daily = QFormLayout(daily_box)
        daily.addRow("&Current", self.current)
        daily.addRow("M&inimum since reset", self.minimum)
        daily.addRow("M&aximum since reset", self.maximum)
        daily.addRow("&Unit", self.unit)
        daily.addRow("&Note", self.note)
        daily.addRow(self.reading_message)
        daily.addRow(self.record_button)
        daily.addRow(self.correct_button)

        # the logger import
        self.choose_button = QPushButton("Choose logger file…")
        self.choose_button.setObjectName("chooseLoggerFile")
        self.choose_button.clicked.connect(self.choose_file)
        self.file_label = QLabel("No file chosen.")
        self.file_label.setObjectName("loggerFileName")
        self.layout_choice = QComboBox()
        self.layout_choice.setObjectName("loggerLayout")
        self.layout_choice.addItem("As guessed from the file", "")
        for known in LOGGER_LAYOUTS:
            self.layout_choice.addItem(known.layout, known.layout)
        self.layout_choice.currentIndexChanged.connect(lambda _i: self._layout_chosen())
        self.time_column = QLineEdit()
        self.time_column.setObjectName("loggerTimeColumn")
        self.temperature_column = QLineEdit()
        self.temperature_column.setObjectName("loggerTemperatureColumn")
        self.date_column = QLineEdit()
        self.date_column.setObjectName("loggerDateColumn")
        self.date_column.setPlaceholderText("only if the date is in its own column")
        self.file_unit = QComboBox()
        self.file_unit.setObjectName("loggerUnit")
        self.file_unit.addItem("As the column name says", "")
        for title, unit in UNITS:
            self.file_unit.addItem(title, unit.value)
        self.time_zone = QLineEdit(workstation_zone())
        self.time_zone.setObjectName("loggerTimeZone")
        self.time_format = QLineEdit()
        self.time_format.setObjectName("loggerTimeFormat")
        self.time_format.setPlaceholderText("e.g. %d/%m/%Y %H:%M when not ISO 8601")
        self.device = QLineEdit()
        self.device.setObjectName("loggerDevice")
        self.device.setPlaceholderText("the logger's serial number, if the file lacks it")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("previewLogger")
        self.preview_button.clicked.connect(self.preview_file)
        self.import_button = primary_button("Import", name="importLogger")
        self.import_button.clicked.connect(self.import_file)
        self.import_button.setEnabled(False)
        self.preview_text = QPlainTextEdit()
        self.preview_text.setObjectName("loggerPreview")
        self.preview_text.setReadOnly(True)
        self.preview_text.setMaximumHeight(110)
        self.import_message = InlineMessage("importMessage")
        for field in (
            self.time_column,
            self.temperature_column,
            self.date_column,
            self.time_zone,
            self.time_format,
            self.device,
        ):
            field.textEdited.connect(lambda _text: self._mapping_edited())
        self.file_unit.currentIndexChanged.connect(lambda _i: self._mapping_edited())
        import_box = QGroupBox("Logger file")
        import_box.setObjectName("loggerBox")
        logger = QFormLayout(import_box)
        choose_row = QHBoxLayout()
        choose_row.addWidget(self.choose_button)
        choose_row.addWidget(self.file_label, 1)
        logger.addRow(choose_row)
        logger.addRow("La&yout", self.layout_choice)
        logger.addRow("&Time column", self.time_column)
        logger.addRow("Te&mperature column", self.temperature_column)
        logger.addRow("Date column", self.date_column)
        logger.addRow("Unit", self.file_unit)
        logger.addRow("Time &zone", self.time_zone)
        logger.addRow("Time format", self.time_format)
        logger.addRow("Logger serial", self.device)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        logger.addRow(buttons)
        logger.addRow(self.preview_text)
        logger.addRow(self.import_message)

        for combo in (self.unit, self.layout_choice, self.file_unit):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(8)
        for field in (self.date_column, self.time_format, self.device):
            field.setMinimumWidth(120)
            field.setToolTip(field.placeholderText())
        forms = QWidget()
        forms_layout = QVBoxLayout(forms)
        forms_layout.setContentsMargins(0, 0, 0, 0)
        forms_layout.addWidget(daily_box)
        forms_layout.addWidget(import_box)
        forms_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("temperatureForms")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(380)
        scroll.setWidget(forms)
        scroll.setVisible(self.can_record)

        chart_side = QWidget()
        chart_layout = QVBoxLayout(chart_side)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.summary)
        chart_layout.addWidget(self.chart, 1)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(chart_side)
        upper.addWidget(scroll)
        upper.setStretchFactor(0, 3)
        upper.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(excursions_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(top)
        if not self.can_record:
            layout.addWidget(
                hint_label(
                    "Technicians and pharmacists record readings and import logger files; "
                    "this view is read-only."
                )
            )
        layout.addWidget(split, 1)
        self._excursion_chosen()

    # reading -------------------------------------------------------------------------------

    def reload(self) -> None:
        rows = self.ws.read(self, "reading the storage locations", checked_locations)
        if rows is None:
            return
        chosen = self.location.currentData()
        self.location.blockSignals(True)
        self.location.clear()
        for row in rows:
            self.location.addItem(f"{row.name} ({row.range_text})", row.id)
        index = self.location.findData(chosen)
        self.location.setCurrentIndex(max(index, 0))
        self.location.blockSignals(False)
        self.show_location()

    def select_record(self, record_id: int) -> None:
        """Show a location (a reading due, from My work)."""
        index = self.location.findData(record_id)
        if index >= 0:
            self.location.setCurrentIndex(index)

    def choose_location(self, name: str) -> None:
        index = self.location.findText(name, Qt.MatchFlag.MatchStartsWith)
        if index >= 0:
            self.location.setCurrentIndex(index)

    def _location_changed(self, _index: int) -> None:
        self._clear_import()
        self.show_location()

    def show_location(self) -> None:
        location_id = self.location.currentData()
        if location_id is None:
            return
        days = int(self.period.currentData())
        width = max(self.chart.width(), 720)
        height = max(self.chart.height(), 320)
        view = self.ws.read(
            self,
            "drawing the temperature chart",
            lambda session: read_location(session, location_id, days, width=width, height=height),
        )
        if view is None:
            return
        self.view = view
        self.chart.load(QByteArray(view.svg.encode("utf-8")))
        self.chart.renderer().setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
        s = view.summary
        if s.reading_count == 0:
            self.summary.setText("No readings in the period.")
        else:
            mkt = f"{s.mkt_c:.1f} °C" if s.mkt_c is not None else "—"
            self.summary.setText(
                f"{s.reading_count} readings, {s.min_c:g} to {s.max_c:g} °C. "
                f"Mean kinetic temperature {mkt}. Time out of range "
                f"{_hours(s.time_out_of_range)} of {_hours(s.time_covered)} covered."
            )
        self.excursions.set_rows(view.excursions)
        fit_columns(self.excursions_view)
        self._excursion_chosen()

    # excursions ----------------------------------------------------------------------------

    def chosen_excursion(self) -> ExcursionRow | None:
        row = selected_row(self.excursions_view)
        return row if isinstance(row, ExcursionRow) else None

    def _excursion_chosen(self) -> None:
        row = self.chosen_excursion()
        self.decision_lot.clear()
        for held in row.held if row is not None else ():
            self.decision_lot.addItem(held.lot_number, held.lot_id)
        ready = self.can_decide and row is not None and bool(row.held)
        self.decide_button.setEnabled(ready)
        self.decide_button.setToolTip(
            "" if ready else "Choose an excursion that still holds stock in quarantine."
        )

    def decide(self) -> None:
        row = self.chosen_excursion()
        lot_id = self.decision_lot.currentData()
        if row is None or lot_id is None:
            return
        kind = HoldDecisionKind(self.decision.currentData())
        reference = self.sponsor_reference.text()
        db, user, excursion_id = self.ws.db, self.ws.user, row.id

        def sign(password: str) -> str:
            with db.unit_of_work() as session:
                decide_excursion(
                    session,
                    user,
                    session.get_one(Excursion, excursion_id),
                    session.get_one(Lot, lot_id),
                    decision=kind,
                    sponsor_reference=reference,
                    password=password,
                )
            return f"Sponsor decision recorded: {kind.value} lot {self.decision_lot.currentText()}."

        dialog = SignatureDialog(
            db,
            user,
            meaning=SignatureMeaning.APPROVED,
            what=(
                f"The sponsor's decision on lot {self.decision_lot.currentText()}, held for the "
                f"excursion that started {row.started}: {kind.value}, sponsor reference "
                f"'{reference.strip()}'."
            ),
            sign=sign,
            parent=self,
        )
        dialog.signed.connect(self._decided)
        self.dialog = dialog
        open_dialog(dialog)

    def _decided(self, text: object) -> None:
        self.sponsor_reference.clear()
        self.ws.changed(str(text))
        self.show_location()
        self.decision_message.show_success(str(text))

    # the daily check -----------------------------------------------------------------------

    def record_reading(self) -> None:
        location_id = self.location.currentData()
        if location_id is None:
            return
        self.reading_message.clear_message()
        unit = TemperatureUnit(self.unit.currentData())
        note = self.note.text().strip() or None
        db, user = self.ws.db, self.ws.user

        def run() -> str:
            current = typed_temperature(self.current.text(), "current", required=True)
            assert current is not None
            minimum = typed_temperature(self.minimum.text(), "minimum", required=False)
            maximum = typed_temperature(self.maximum.text(), "maximum", required=False)
            with db.unit_of_work() as session:
                outcome = record_daily_reading(
                    session,
                    user,
                    get_location(session, location_id),
                    current=current,
                    minimum=minimum,
                    maximum=maximum,
                    unit=unit,
                    note=note,
                )
                opened = len(outcome.excursions)
            if opened:
                return (
                    f"Reading recorded. It is out of range: {opened} excursion"
                    f"{'' if opened == 1 else 's'} opened or lengthened; the stock there is "
                    "held in quarantine."
                )
            return "Reading recorded."

        message = attempt(
            self, db, "recording the reading", run, show_refusal=self.reading_message.show_error
        )
        if message is None:
            return
        for field in (self.current, self.minimum, self.maximum, self.note):
            field.clear()
        self.ws.changed(message)
        self.show_location()
        if "out of range" in message:
            self.reading_message.show_error(message)
        else:
            self.reading_message.show_success(message)

    def correct_reading(self) -> CorrectReadingDialog | None:
        location_id = self.location.currentData()
        if location_id is None:
            return None
        self.reading_message.clear_message()
        dialog = CorrectReadingDialog(self.ws.db, self.ws.user, location_id, parent=self)
        dialog.corrected.connect(self._reading_corrected)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        open_dialog(dialog)
        return dialog

    def _reading_corrected(self, message: str) -> None:
        self.ws.changed(message)
        self.show_location()
        if "out of range" in message:
            self.reading_message.show_error(message)
        else:
            self.reading_message.show_success(message)

    # the logger import ---------------------------------------------------------------------

    def _ask_file(self) -> str:
        path, _chosen = QFileDialog.getOpenFileName(
            self,
            "Choose the logger's export",
            str(Path.home()),
            "Logger exports (*.csv *.txt *.xlsx);;All files (*)",
        )
        return path

    def _clear_import(self) -> None:
        self.preview = None
        self.import_button.setEnabled(False)
        self.preview_text.clear()
        self.import_message.clear_message()

    def choose_file(self) -> None:
        path = self.ask_file()
        if not path:
            return
        self.open_file(Path(path))

    def open_file(self, path: Path) -> None:
        self._clear_import()
        export = attempt(
            self,
            self.ws.db,
            "reading the logger file",
            lambda: read_logger_file(path),
            show_refusal=self.import_message.show_error,
        )
        self.export = export
        if export is None:
            self.file_label.setText("No file chosen.")
            return
        # Device lines and blank lines come above the header in many loggers' exports.
        found = guess_header(export.table, guess_logger_mapping)
        table, self.guessed = found if found else (export.table, None)
        self.file_label.setText(
            f"{export.file_name} ({len(table.rows)} lines). {table.header_found}"
        )
        self.layout_choice.setCurrentIndex(0)
        self._fill_mapping(self.guessed)
        self.preview_file()

    def _fill_mapping(self, mapping: LoggerMapping | None) -> None:
        self.time_column.setText(mapping.time if mapping else "")
        self.temperature_column.setText(mapping.temperature if mapping else "")
        self.date_column.setText((mapping.date or "") if mapping else "")
        unit = mapping.unit.value if mapping and mapping.unit else ""
        self.file_unit.setCurrentIndex(max(self.file_unit.findData(unit), 0))
        self.time_format.setText((mapping.time_format or "") if mapping else "")
        self._layout_name = mapping.layout if mapping else "column mapping"
        self._device_column = mapping.device_id if mapping else None

    def _layout_chosen(self) -> None:
        name = self.layout_choice.currentData()
        chosen = next((m for m in LOGGER_LAYOUTS if m.layout == name), None)
        self._fill_mapping(chosen or self.guessed)
        self._mapping_edited()

    def _mapping_edited(self) -> None:
        self.preview = None
        self.import_button.setEnabled(False)

    def mapping(self) -> LoggerMapping:
        unit = self.file_unit.currentData()
        return replace(
            LoggerMapping(
                time=self.time_column.text().strip(),
                temperature=self.temperature_column.text().strip(),
                device_id=self._device_column,
                layout=self._layout_name,
            ),
            unit=TemperatureUnit(unit) if unit else None,
            time_zone=self.time_zone.text().strip() or None,
            time_format=self.time_format.text().strip() or None,
            date=self.date_column.text().strip() or None,
        )

    def preview_file(self) -> None:
        export, location_id = self.export, self.location.currentData()
        if export is None or location_id is None:
            return
        self._clear_import()
        mapping = self.mapping()
        device = self.device.text().strip() or None

        def read(session: Session) -> LogPreview:
            return preview_logger_file(
                session,
                export,
                mapping,
                location=get_location(session, location_id),
                device_id=device,
            )

        preview = self.ws.read(self, "previewing the logger file", read)
        if preview is None:
            return
        self.preview = preview
        lines = [str(error) for error in preview.errors]
        if preview.duplicate_of is not None:
            lines.insert(0, f"{preview.file_name} was already imported; a file is imported once.")
        if preview.header_line:
            lines.insert(0, f"Header found on row {preview.header_line}.")
        if preview.readings and preview.first and preview.last:
            lines.append(
                f"{len(preview.readings)} readings from {_local(preview.first)} to "
                f"{_local(preview.last)}, logger {preview.device_id or '(no serial)'}"
                + (f"; {preview.out_of_range} out of range" if preview.out_of_range else "")
                + (f"; {len(preview.skipped)} already on record" if preview.skipped else "")
                + "."
            )
        self.preview_text.setPlainText("\n".join(lines))
        ready = preview.ok and bool(preview.readings)
        self.import_button.setEnabled(ready)
        if preview.errors:
            count = len({error.line for error in preview.errors})
            self.import_message.show_error(
                f"{count} line{'' if count == 1 else 's'} stop the import; fix the mapping or "
                "the file and preview again."
            )

    def import_file(self) -> None:
        export, location_id = self.export, self.location.currentData()
        if export is None or location_id is None or self.preview is None:
            return
        mapping = self.mapping()
        device = self.device.text().strip() or None
        db, user = self.ws.db, self.ws.user

        def run(progress: ProgressCallback, cancelled: CancelCheck) -> str:
            del progress  # one unit of work: the whole file or nothing
            if cancelled():
                raise ReportCancelled("The import was cancelled; nothing was recorded.")
            with db.unit_of_work() as session:
                done = import_logger_file(
                    session,
                    user,
                    export,
                    mapping,
                    location=get_location(session, location_id),
                    device_id=device,
                )
                count, opened = len(done.readings), len(done.excursions)
            text = f"Imported {count} readings from {export.file_name}."
            if opened:
                text += f" {opened} excursion{'' if opened == 1 else 's'} found."
            return text

        # A logger's months of readings take a second or two: the window stays responsive.
        self.import_button.setEnabled(False)
        self.import_message.clear_message()
        run_job(
            self,
            db,
            "importing the logger file",
            run,
            succeeded=self._imported,
            failed=self._import_failed,
        )

    def _imported(self, message: object) -> None:
        text = str(message)
        self.export = None
        self.file_label.setText("No file chosen.")
        self._clear_import()
        self.ws.changed(text)
        self.show_location()
        self.import_message.show_success(text)
        self.import_finished.emit(True)

    def _import_failed(self, text: str) -> None:
        self.import_message.show_error(text)
        self.import_button.setEnabled(self.preview is not None and self.preview.ok)
        self.import_finished.emit(False)
