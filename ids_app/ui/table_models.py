"""Qt table models over the rows the domain views read: they adapt, they hold no rules.

:class:`RowsModel` shows a list already read; :class:`PagedRowsModel` reads a page at a
time as the view scrolls (``canFetchMore``/``fetchMore``), so a table of a million rows
costs one page per fetch.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ids_app.ui.style import status_background, status_foreground
from ids_app.wording import local_time

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
FIT_ROWS = 60
NO_PARENT = QModelIndex()


def display(value: object) -> str:
    """How a value reads in a cell: local times, ISO dates, enum values, blanks for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Column(Generic[R]):
    """A column: its title, its value from a row, and optionally how to edit it.

    ``edit`` returns the row with the new value, or None when the value is not one
    (the cell then keeps the old one).
    """

    title: str
    value: Callable[[R], object]
    numeric: bool = False
    tooltip: Callable[[R], str | None] | None = None
    edit: Callable[[R, Any], R | None] | None = None


class RowsModel(QAbstractTableModel, Generic[R]):
    """A list of rows shown through its columns; ``status`` colours a whole row."""

    def __init__(
        self,
        columns: Sequence[Column[R]],
        *,
        status: Callable[[R], str | None] | None = None,
        checkable: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.status = status
        self.checkable = checkable
        self._rows: list[R] = []
        self._checked: set[int] = set()

    # reading ----------------------------------------------------------------------------

    @property
    def rows(self) -> list[R]:
        return list(self._rows)

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: Sequence[R]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._checked.clear()
        self.endResetModel()

    def checked_rows(self) -> list[R]:
        return [row for number, row in enumerate(self._rows) if number in self._checked]

    def set_checked(self, row: int, checked: bool) -> None:
        if checked:
            self._checked.add(row)
        else:
            self._checked.discard(row)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])

    def column_texts(self, column: int) -> list[str]:
        return [display(self.columns[column].value(row)) for row in self._rows]

    def all_texts(self) -> list[str]:
        texts = [column.title for column in self.columns]
        for row in self._rows:
            for column in self.columns:
                texts.append(display(column.value(row)))
                if column.tooltip is not None:
                    texts.append(column.tooltip(row) or "")
        return texts

    # Qt's model interface -------------------------------------------------------------------

    def rowCount(self, parent: Index = NO_PARENT) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = NO_PARENT) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        column = self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return display(column.value(row))
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return column.tooltip(row)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (
                Qt.AlignmentFlag.AlignRight if column.numeric else Qt.AlignmentFlag.AlignLeft
            )
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and self.status is not None:
            return status_background(self.status(row))
        if role == Qt.ItemDataRole.ForegroundRole and self.status is not None:
            return status_foreground(self.status(row))
        if role == Qt.ItemDataRole.CheckStateRole and self.checkable and index.column() == 0:
            checked = index.row() in self._checked
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == ROW_ROLE:
            return row
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid():
            return False
        if role == Qt.ItemDataRole.CheckStateRole and self.checkable and index.column() == 0:
            self.set_checked(index.row(), Qt.CheckState(value) == Qt.CheckState.Checked)
            return True
        column = self.columns[index.column()]
        if role != Qt.ItemDataRole.EditRole or column.edit is None:
            return False
        changed = column.edit(self._rows[index.row()], value)
        if changed is None:
            return False
        self._rows[index.row()] = changed
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.columns[index.column()].edit is not None:
            flags |= Qt.ItemFlag.ItemIsEditable
        if self.checkable and index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def headerData(  # noqa: N802 (Qt's name)
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].title if 0 <= section < len(self.columns) else None
        return str(section + 1)


PageFetcher = Callable[[R | None, int], list[R]]


class PagedRowsModel(RowsModel[R]):
    """Rows read a page at a time as the view scrolls.

    ``fetch(last_row, limit)`` returns the page after ``last_row`` (None: the first page);
    keyset paging makes each page cost the same however far the person has scrolled.
    ``page_read`` (if set) is called after every fetch, an empty last page included. It is
    a plain callback, not a Qt signal: a Signal declared on this Generic model class made
    PySide 6 corrupt a reference count, which crashed the interpreter at exit.
    """

    def __init__(
        self,
        columns: Sequence[Column[R]],
        *,
        page_size: int = 200,
        status: Callable[[R], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(columns, status=status, parent=parent)
        self.page_size = page_size
        self._fetch: PageFetcher[R] | None = None
        self._exhausted = True
        self._fetching = False
        self.pages_fetched = 0
        self.page_read: Callable[[], None] | None = None

    def reset(self, fetch: PageFetcher[R] | None) -> None:
        """Start over with another query (a new filter): the first page is read at once."""
        self.beginResetModel()
        self._fetch = fetch
        self._rows = []
        self._checked.clear()
        self._exhausted = fetch is None
        self.pages_fetched = 0
        self.endResetModel()
        if fetch is not None:
            self.fetchMore(QModelIndex())

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802 (Qt's name)
        return not parent.isValid() and not self._exhausted and not self._fetching

    def fetchMore(self, parent: Index) -> None:  # noqa: N802 (Qt's name)
        # A view may ask for more while rows are being inserted; one page at a time.
        if parent.isValid() or self._exhausted or self._fetch is None or self._fetching:
            return
        self._fetching = True
        try:
            last = self._rows[-1] if self._rows else None
            page = self._fetch(last, self.page_size)
            self.pages_fetched += 1
            if len(page) < self.page_size:
                self._exhausted = True
            if page:
                first = len(self._rows)
                self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
                self._rows.extend(page)
                self.endInsertRows()
        finally:
            self._fetching = False
        if self.page_read is not None:
            self.page_read()


def table_view(
    model: QAbstractTableModel,
    *,
    name: str,
    stretch_last: bool = True,
    parent: QWidget | None = None,
) -> QTableView:
    """A read-mostly table: whole-row selection, alternating rows, keyboard-friendly."""
    view = QTableView(parent)
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setEditTriggers(
        QAbstractItemView.EditTrigger.DoubleClicked
        | QAbstractItemView.EditTrigger.EditKeyPressed
        | QAbstractItemView.EditTrigger.AnyKeyPressed
    )
    view.setTabKeyNavigation(False)  # Tab leaves the table, as in the rest of the form
    vertical = view.verticalHeader()
    vertical.setVisible(False)
    # One line per row at a fixed height: sizing rows to their contents would measure every
    # row on each fetch, which a paged table of a million rows cannot afford.
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(view.fontMetrics().height() + 10)
    header = view.horizontalHeader()
    header.setStretchLastSection(stretch_last)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setHighlightSections(False)
    # Columns are sized from the first rows only (Qt measures 1,000 by default): a screenful
    # is what the eye checks, and measuring every cell cost 100 ms on the longer lists.
    header.setResizeContentsPrecision(FIT_ROWS)
    view.setWordWrap(False)
    return view


def fit_columns(view: QTableView) -> None:
    """Size columns to their contents once rows are in (not on every fetch: that is slow)."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    for section in range(header.count()):
        header.resizeSection(section, min(header.sectionSize(section), 420))


def selected_row(view: QTableView) -> Any:
    """The row object of the view's current selection, or None."""
    indexes = view.selectionModel().selectedRows() if view.selectionModel() else []
    if not indexes:
        return None
    return view.model().data(indexes[0], ROW_ROLE)


def fit_height(view: QTableView, *, max_rows: int, min_rows: int = 1) -> None:
    """Make a short table only as tall as its rows (up to ``max_rows``; then it scrolls)."""
    model = view.model()
    rows = max(min(model.rowCount() if model else 0, max_rows), min_rows)
    height = view.horizontalHeader().sizeHint().height() + 2 * view.frameWidth()
    row_height = view.verticalHeader().defaultSectionSize()
    if model is not None and model.rowCount():
        row_height = max(view.rowHeight(0), row_height)
    height += rows * row_height
    if view.horizontalScrollBar().isVisible():
        height += view.horizontalScrollBar().sizeHint().height()
    view.setFixedHeight(height)
