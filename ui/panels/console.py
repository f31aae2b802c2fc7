"""The console: the lines the processes printed, up to the playhead.

Lines after the playhead are hidden, not dimmed: the console shows what had been printed at that
moment, a pure function of the trace at t. Lines come in time order, so that is the first k of
them, and moving the playhead only changes the model's row count.

Each line is prefixed with its process's name in the process's colour; lines printed to stderr
are italic, red, and their process is marked "(stderr)". Clicking a line moves the playhead to it.
"""

from __future__ import annotations

import bisect
from array import array

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView, QVBoxLayout

from ipc.trace import Event
from simulator.event_store import EventStore
from ui.panels.colors import emphasis_color, is_dark, process_color
from ui.panels.follow import TimelinePanel
from ui.run_controller import RunController

COLUMNS = ("time", "process", "line")


def is_stderr(e: Event) -> bool:
    return e.detail.get("stream") == "stderr"


def label(e: Event) -> str:
    """What the process column says: the process's name, and whether it printed to stderr."""
    return f"{e.process} (stderr)" if is_stderr(e) else e.process


class ConsoleModel(QAbstractTableModel):
    """`lines` are the indices in `store` (the timeline's events) of every process_output event
    so far, `times` their times; the first `shown` of them are rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.store = EventStore()
        self.lines = array("q")
        self.times = array("q")
        self.shown = 0
        self.started_ns = 0
        self.dark = False
        self.dim = QColor()
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    def reset(self, store: EventStore, started_ns: int) -> None:
        self.beginResetModel()
        self.store, self.lines, self.times, self.shown = store, array("q"), array("q"), 0
        self.started_ns = started_ns
        palette = QApplication.palette()
        self.dark = is_dark(palette)
        self.dim = palette.color(QPalette.ColorRole.PlaceholderText)
        self.endResetModel()

    def line(self, row: int) -> Event:
        return self.store[self.lines[row]]

    def add(self, lines: list[tuple[int, Event]]) -> None:
        """Lines printed after all the others, with their indices in the store (not shown until
        `show_until` reaches them)."""
        self.lines.extend(i for i, _ in lines)
        self.times.extend(e.t_ns for _, e in lines)

    def truncate(self, first: int) -> None:
        """Forget the lines of the store's events from index `first` on."""
        cut = bisect.bisect_left(self.lines, first)
        self._show(min(self.shown, cut))
        del self.lines[cut:], self.times[cut:]

    def show_until(self, t_ns: int) -> None:
        self._show(bisect.bisect_right(self.times, t_ns))

    def _show(self, n: int) -> None:
        if n > self.shown:
            self.beginInsertRows(QModelIndex(), self.shown, n - 1)
            self.shown = n
            self.endInsertRows()
        elif n < self.shown:
            self.beginRemoveRows(QModelIndex(), n, self.shown - 1)
            self.shown = n
            self.endRemoveRows()

    # -- Qt model interface

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.shown

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        e = self.line(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{(e.t_ns - self.started_ns) / 1e9:.3f}"
            if column == 1:
                return label(e)
            return e.detail.get("line", "").removeprefix(f"{e.process}: ")  # its name is the column
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0:
                return self.dim
            if column == 1:
                return process_color(e.process, self.dark)
            if column == 2 and is_stderr(e):
                return emphasis_color("failed", self.dark)
            return None
        if role == Qt.ItemDataRole.FontRole:
            if column == 1:
                return self._bold
            if column == 2 and is_stderr(e):
                return self._italic
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column < 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class Console(TimelinePanel):
    """Follows `controller`; `model` holds the lines shown, `view` is the table."""

    def __init__(self, controller: RunController, parent=None):
        super().__init__(controller, parent)
        self.model = ConsoleModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.horizontalHeader().hide()
        self.view.horizontalHeader().setStretchLastSection(True)
        rows = self.view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(rows.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.view.setColumnWidth(0, self.fontMetrics().horizontalAdvance("0000.000") + 12)
        self.view.clicked.connect(self._seek_to_line)
        self.view.activated.connect(self._seek_to_line)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._names: set[str] = set()
        self.follow()

    # -- following the timeline

    def reset(self) -> None:
        self.model.reset(self.events, self.controller.started_ns)
        self._names.clear()
        self._fit_name_column()

    def rewind(self, first: int) -> None:
        self.model.truncate(first)

    def take(self, first: int, stop: int) -> None:
        lines = [(i, e) for i, e in enumerate(self.events[first:stop], first)
                 if e.kind == "process_output" and e.detail]
        if lines:
            self.model.add(lines)
            names = {label(e) for _, e in lines}
            if not names <= self._names:
                self._names |= names
                self._fit_name_column()

    def show_playhead(self, t_ns: int) -> None:
        bar = self.view.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        before = self.model.shown
        self.model.show_until(t_ns)
        if self.model.shown > before and at_bottom:
            self.view.scrollToBottom()

    # -- helpers

    def _fit_name_column(self) -> None:
        font = QFont(self.font())
        font.setBold(True)
        metrics = QFontMetrics(font)
        width = max((metrics.horizontalAdvance(name) for name in self._names), default=0)
        self.view.setColumnWidth(1, max(width, metrics.horizontalAdvance("process")) + 16)

    def _seek_to_line(self, index: QModelIndex) -> None:
        if index.isValid():
            self.controller.seek(self.model.times[index.row()])
