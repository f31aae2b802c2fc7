"""The event log: every event of the run in a table, filtered by process, object and kind.

The row of the latest event at or before the playhead is highlighted (bold, on the palette's
highlight colour) and kept in view; clicking a row moves the playhead to that event. Blocked,
failed and killed events are coloured, and their kind says the same in words.
"""

from __future__ import annotations

import bisect
import json
from array import array

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QHBoxLayout, QLabel, QTableView,
                               QVBoxLayout)

from ipc.trace import Event
from simulator.event_store import EventStore
from ui.panels.colors import emphasis, emphasis_color, is_dark, process_color
from ui.panels.follow import TimelinePanel
from ui.run_controller import RunController

COLUMNS = ("time (s)", "process", "kind", "object", "message", "detail")
FILTERS = ("process", "object", "kind")  # Event fields the combo boxes filter on
_HIDDEN_DETAIL = {"pid", "ppid", "traceback", "stderr", "reported_by", "line", "stream"}


def detail_text(e: Event) -> str:
    """The detail of an event as a short readable text."""
    d = e.detail
    if not d:
        return ""
    if "line" in d:
        return d["line"]
    if "error" in d:
        return f"{d['error']}: {d.get('reason', '')}".rstrip(": ")
    if "exitcode" in d:
        return f"exit code {d['exitcode']}" + (f" ({d['signal']})" if d.get("signal") else "")
    if "preview" in d:
        return str(d["preview"])
    return ", ".join(f"{k}={v}" for k, v in d.items() if k not in _HIDDEN_DETAIL and v is not None)


class EventTableModel(QAbstractTableModel):
    """The events that pass the filters, in time order; `current` is the highlighted row.

    A row is an index into the timeline's events (`store`): all of the first `count` when no
    filter is set, else those listed in `rows`. So the model holds no events: a long run's stay
    compact in the store, and only the rows in view are read."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.store = EventStore()
        self.count = 0  # events of the store taken
        self.rows: array | None = None  # with a filter: the indices of the events that pass
        self.started_ns = 0
        self.current = -1
        self.filters: dict[str, str | None] = dict.fromkeys(FILTERS)
        self.dark = False
        self.highlight = QColor()
        self._bold = QFont()
        self._bold.setBold(True)

    def event(self, row: int) -> Event:
        return self.store[row if self.rows is None else self.rows[row]]

    def reset(self, store: EventStore, count: int, started_ns: int) -> None:
        self.beginResetModel()
        self.store, self.count, self.started_ns = store, count, started_ns
        palette = QApplication.palette()
        self.dark = is_dark(palette)
        self.highlight = QColor(palette.color(QPalette.ColorRole.Highlight))
        self.highlight.setAlpha(70)
        self.rows = None
        if any(self.filters.values()):
            self.rows = array("q", self._passing(0, count))
        self.current = -1
        self.endResetModel()

    def _passing(self, first: int, stop: int):
        filters = {field: value for field, value in self.filters.items() if value is not None}
        return self.store.where(first, stop, **filters)

    def append(self, first: int, count: int) -> None:
        """The store's events from `first` to `count` are new."""
        passing = None if self.rows is None else array("q", self._passing(first, count))
        n, added = self.rowCount(), count - first if passing is None else len(passing)
        if not added:
            self.count = count
            return
        self.beginInsertRows(QModelIndex(), n, n + added - 1)
        self.count = count
        if passing is not None:
            self.rows.extend(passing)
        self.endInsertRows()

    def truncate(self, first: int) -> None:
        """Remove the rows of the store's events from index `first` on."""
        cut = first if self.rows is None else bisect.bisect_left(self.rows, first)
        if cut < self.rowCount():
            self.beginRemoveRows(QModelIndex(), cut, self.rowCount() - 1)
            self.count = first
            if self.rows is not None:
                del self.rows[cut:]
            self.current = min(self.current, cut - 1)
            self.endRemoveRows()
        self.count = min(self.count, first)

    def row_at(self, t_ns: int) -> int:
        """The row of the latest event at or before `t_ns` (-1: none)."""
        n = min(self.count, self.store.count_until(t_ns))
        return n - 1 if self.rows is None else bisect.bisect_left(self.rows, n) - 1

    def set_current(self, row: int) -> None:
        old, self.current = self.current, row
        for r in (old, row):
            if 0 <= r < self.rowCount():
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    # -- Qt model interface

    def rowCount(self, parent=QModelIndex()) -> int:
        if parent.isValid():
            return 0
        return self.count if self.rows is None else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        e = self.event(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{(e.t_ns - self.started_ns) / 1e9:.3f}"
            if column == 5:
                return detail_text(e)
            return (None, e.process, e.kind, e.object, e.message)[column]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 1:
                return process_color(e.process, self.dark)
            which = emphasis(e.kind, e.detail)
            return emphasis_color(which, self.dark) if which else None
        if role == Qt.ItemDataRole.FontRole and index.row() == self.current:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and index.row() == self.current:
            return self.highlight
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == 5 and e.detail:
            return json.dumps(e.detail, indent=1)[:3000]
        return None


class EventLog(TimelinePanel):
    """Follows `controller`; `model` holds the rows shown, `view` is the table."""

    def __init__(self, controller: RunController, parent=None):
        super().__init__(controller, parent)
        self.model = EventTableModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        rows = self.view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(rows.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        columns = self.view.horizontalHeader()
        columns.setStretchLastSection(True)
        em = self.fontMetrics().horizontalAdvance("m")
        for column, width in enumerate((7, 10, 17, 12, 8)):
            self.view.setColumnWidth(column, width * em)
        self.view.clicked.connect(self._seek_to_row)
        self.view.activated.connect(self._seek_to_row)

        self.combos: dict[str, QComboBox] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for field in FILTERS:
            combo = QComboBox(self)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.addItem(f"all {field}es" if field == "process" else f"all {field}s", None)
            combo.setToolTip(f"Show only the events of one {field}")
            combo.currentIndexChanged.connect(self._filter_changed)
            bar.addWidget(combo)
            self.combos[field] = combo
        self.count = QLabel(self)
        bar.addStretch(1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.follow()

    def set_filter(self, field: str, value: str | None) -> None:
        """Show only the events whose `field` ("process", "object", "kind") is `value` (None: all)."""
        combo = self.combos[field]
        if value is not None and combo.findData(value) < 0:
            self._add_choice(field, value)
        combo.setCurrentIndex(combo.findData(value))

    # -- following the timeline

    def reset(self) -> None:
        for combo in self.combos.values():  # a new run keeps the filters, not the other choices
            value = combo.currentData()
            combo.blockSignals(True)
            for i in reversed(range(1, combo.count())):
                if combo.itemData(i) != value:
                    combo.removeItem(i)
            combo.blockSignals(False)
        self.model.reset(self.events, 0, self.controller.started_ns)
        self._update_count()

    def rewind(self, first: int) -> None:
        self.model.truncate(first)

    def take(self, first: int, stop: int) -> None:
        for field in FILTERS:
            values = self.events.values(field, first, stop)
            values.discard(None)
            for value in values:
                self._add_choice(field, value)
        self.model.append(first, stop)
        self._update_count()

    def show_playhead(self, t_ns: int) -> None:
        row = self.model.row_at(t_ns)
        if row != self.model.current:
            self.model.set_current(row)
            if row >= 0:
                self.view.scrollTo(self.model.index(row, 0))

    # -- helpers

    def _add_choice(self, field: str, value: str) -> None:
        combo = self.combos[field]
        if combo.findData(value) >= 0:
            return
        texts = [combo.itemText(i) for i in range(1, combo.count())]
        combo.blockSignals(True)
        combo.insertItem(1 + bisect.bisect_left(texts, value), value, value)
        combo.blockSignals(False)

    def _filter_changed(self) -> None:
        for field, combo in self.combos.items():
            self.model.filters[field] = combo.currentData()
        self.model.reset(self.events, self.model.count, self.controller.started_ns)
        self._update_count()
        self._frame()

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.count
        self.count.setText(f"{total} events" if shown == total else f"{shown} of {total} events")

    def _seek_to_row(self, index: QModelIndex) -> None:
        if index.isValid():
            self.controller.seek(self.model.event(index.row()).t_ns)
