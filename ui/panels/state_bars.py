"""Drawing state spans and step curves that grow to hundreds of thousands of points.

`Columns` keeps a plot's data in numpy arrays that grow in batches and can be cut back to the
points that came before a given event. `StateBars` draws every process's state spans, one lane
per process, as coloured bars; spans narrower than a pixel are merged into their neighbours of
the same state first, so painting costs about the same for a hundred events as for a million.
The merged bars are kept until the zoom changes or spans are cut, and spans added meanwhile are
merged onto them: a frame of a live run merges only its new spans, however long the run.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen

BAR = 0.36  # half the height of a bar, in lanes


class Columns:
    """Named float columns appended to in batches; `index` (the event each row came from) never
    decreases, so `cut(first)` drops what events `first` and later added."""

    def __init__(self, *names: str):
        self.n = 0
        self._data = {name: np.empty(64) for name in (*names, "index")}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][:self.n]

    def append(self, **columns) -> None:
        size = len(columns["index"])
        if self.n + size > len(self._data["index"]):
            # a quarter more each time (not double): a long run's columns are its largest data
            capacity = max(len(self._data["index"]) * 5 // 4, self.n + size)
            for name, array in self._data.items():
                grown = np.empty(capacity)
                grown[:self.n] = array[:self.n]
                self._data[name] = grown
        for name, values in columns.items():
            self._data[name][self.n:self.n + size] = values
        self.n += size

    def cut(self, first: int) -> None:
        self.n = int(np.searchsorted(self["index"], first))


class StateBars(pg.GraphicsObject):
    """Lane `i` is drawn around y = i. Closed spans are added with `add`; each lane's current
    span is given by `set_open` and reaches `end`."""

    def __init__(self, colors: dict[str, str], outline: QColor):
        super().__init__()
        self.colors = {state: QColor(color) for state, color in colors.items()}
        self.outline = _cosmetic(outline)  # frames each lane, so that dark bars show on a dark background
        self.spans: dict[tuple[int, str], Columns] = {}  # (lane, state) -> x0, x1 (and index)
        self.open: dict[int, tuple[str, float]] = {}  # lane -> (state, x0)
        self.lanes = 0
        self.end = 0.0
        self._version = 0
        self._cache: tuple[tuple, list[tuple[QColor, QPainterPath]]] | None = None
        self._cuts = 0
        self._merged_key: tuple | None = None  # the zoom (and cuts) `_merged` holds bars for
        self._merged: dict[tuple[int, str], _Merged] = {}

    # -- data

    def add(self, lane: int, state: str, x0: list[float], x1: list[float], index: list[int]) -> None:
        columns = self.spans.get((lane, state))
        if columns is None:
            columns = self.spans[(lane, state)] = Columns("x0", "x1")
        columns.append(x0=x0, x1=x1, index=index)
        self._changed()

    def cut(self, first: int) -> None:
        for columns in self.spans.values():
            columns.cut(first)
        self._cuts += 1  # the merged bars may hold cut spans: merge again
        self._changed()

    def set_open(self, lane: int, state: str | None, x0: float = 0.0) -> None:
        """Lane `lane` is in `state` from `x0` on (None: it has no span yet)."""
        if state is None:
            self.open.pop(lane, None)
        else:
            self.open[lane] = (state, x0)
        self._changed()

    def set_extent(self, lanes: int, end: float) -> None:
        if (lanes, end) != (self.lanes, self.end):
            self.prepareGeometryChange()
            self.lanes, self.end = lanes, end
            self._changed()
            self.informViewBoundsChanged()

    def _changed(self) -> None:
        self._version += 1
        self.update()

    # -- drawing

    def boundingRect(self) -> QRectF:
        return QRectF(0.0, -0.5, max(self.end, 1e-9), max(self.lanes, 1))

    def dataBounds(self, axis: int, frac: float = 1.0, orthoRange=None):
        return (0.0, self.end) if axis == 0 else (-0.5, self.lanes - 0.5)

    def paint(self, painter, *args) -> None:
        pixel = 1.0 / abs(painter.transform().m11() or 1.0)
        view = self.viewRect() or self.boundingRect()
        key = (self._version, pixel, view.left(), view.right())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._paths(pixel, view.left(), view.right()))
        painter.setPen(Qt.PenStyle.NoPen)
        for color, path in self._cache[1]:
            painter.setBrush(color)
            painter.drawPath(path)
        painter.setPen(self.outline)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for lane in range(self.lanes):
            painter.drawRect(QRectF(0.0, lane - BAR, self.end, 2 * BAR))

    def _paths(self, pixel: float, left: float, right: float) -> list[tuple[QColor, QPainterPath]]:
        """The bars in view, spans merged to whole pixels, as one path per state."""
        key = (pixel, left, right, self._cuts)
        if key != self._merged_key:
            self._merged_key, self._merged = key, {}
        pieces, groups = [], []  # spans not merged yet, per group (lane, state)
        for group, columns in self.spans.items():
            merged = self._merged.setdefault(group, _Merged())
            x0, x1 = columns["x0"], columns["x1"]
            lo = max(merged.taken, int(np.searchsorted(x1, left)))
            hi = int(np.searchsorted(x0, right, side="right"))
            if hi > lo:
                pieces.append((x0[lo:hi], x1[lo:hi]))
                groups.append(group)
            merged.taken = max(merged.taken, hi)
        if pieces:
            a, b, which = _merge(pieces, pixel)
            bounds = np.searchsorted(which, np.arange(len(pieces) + 1))
            for k, group in enumerate(groups):
                self._merged[group].add(a[bounds[k]:bounds[k + 1]], b[bounds[k]:bounds[k + 1]])
        bars: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = {}  # state -> (a, b, lane)
        for (lane, state), merged in self._merged.items():
            if len(merged.a):
                bars.setdefault(state, []).append((merged.a, merged.b, lane))
        for lane, (state, x0) in self.open.items():
            a = np.floor(x0 / pixel)
            b = max(np.ceil(max(self.end, x0) / pixel), a + 1)
            bars.setdefault(state, []).append((np.array([a]), np.array([b]), lane))
        paths = []
        for state, color in self.colors.items():  # the legend's order: later states paint over
            if state in bars:
                a, b, lanes = zip(*bars[state])
                lane = np.repeat(lanes, [len(x) for x in a]).astype(float)
                paths.append((color, _rects_path(np.concatenate(a) * pixel, np.concatenate(b) * pixel, lane)))
        return paths


class _Merged:
    """One group's spans merged to whole pixels: the first `taken` of its spans, as disjoint bars
    from `a` to `b` (in pixels; so there are at most as many as the view is pixels wide)."""

    def __init__(self):
        self.taken = 0
        self.a = self.b = np.empty(0)

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        """Bars merged from the spans that follow those taken; the first joins the last bar if
        it touches it."""
        if len(self.b) and a[0] <= self.b[-1]:
            self.b[-1] = max(self.b[-1], b[0])
            a, b = a[1:], b[1:]
        self.a, self.b = np.concatenate([self.a, a]), np.concatenate([self.b, b])


def _cosmetic(color: QColor) -> QPen:
    pen = QPen(color, 1)
    pen.setCosmetic(True)
    return pen


def _merge(pieces: list[tuple[np.ndarray, np.ndarray]], pixel: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of sorted, disjoint spans (x0, x1), all at once: each span snapped out to whole
    pixels (at least one wide), and merged with the next ones of its group where they touch.
    Returns the merged spans' x0, x1 (in pixels) and group number."""
    group = np.repeat(np.arange(len(pieces)), [len(x0) for x0, _ in pieces])
    a = np.floor(np.concatenate([x0 for x0, _ in pieces]) / pixel)
    b = np.maximum(np.ceil(np.concatenate([x1 for _, x1 in pieces]) / pixel), a + 1)
    shift = (b.max() - a.min() + 2) * group  # each group starts past the end of the one before
    a += shift
    b = np.maximum.accumulate(b + shift)
    starts = np.flatnonzero(np.r_[True, a[1:] > b[:-1]])
    ends = np.r_[starts[1:] - 1, len(a) - 1]
    return a[starts] - shift[starts], b[ends] - shift[ends], group[starts]


def _rects_path(x0: np.ndarray, x1: np.ndarray, lane: np.ndarray) -> QPainterPath:
    xs = np.stack([x0, x1, x1, x0, x0], axis=1).ravel()
    ys = np.stack([lane - BAR, lane - BAR, lane + BAR, lane + BAR, lane - BAR], axis=1).ravel()
    connect = np.tile([True, True, True, True, False], len(x0))
    return pg.arrayToQPath(xs, ys, connect=connect)
