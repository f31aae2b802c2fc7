"""The timeline plot: how full each channel was, and what each process was doing, over the run.

Two pyqtgraph plots sharing the X axis (seconds since the run started):

* messages in each channel: a step curve per channel (`history.Level`), with a legend;
* one lane per process, main first, like a Gantt chart: a bar per state span (`history.Change`),
  coloured by state; the lanes are labelled, a legend under the plot names the colours, and
  hovering a bar names its state (and what a blocked process waits on).

Both show the whole recording; a vertical line marks the playhead. Clicking either plot moves the
playhead there. Long runs stay cheap: the data lives in numpy columns that grow in batches, the
curves are kept and given new data with `setData` once a frame, a long one in blocks (drawn
downsampled to the pixels in view), and the bars are merged to whole pixels before they are
drawn (`state_bars.StateBars`).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QLabel, QToolTip, QVBoxLayout

from ui.panels.colors import STATE_COLORS, is_dark, process_color, state_label
from ui.panels.follow import TimelinePanel
from ui.panels.history import RunHistory
from ui.panels.state_bars import Columns, StateBars
from ui.run_controller import RunController


MIN_DEPTH_HEIGHT = 90  # pixels, so that the depth plot stays readable in a short dock
RECENT_POINTS = 4096  # a depth curve's newest points, given new data every frame (see `_show_depth`)
MERGED = 16  # blocks of its older points that make one curve


def _pen(color: QColor | str, width: float = 1.0) -> QPen:
    pen = QPen(QColor(color), width)
    pen.setCosmetic(True)
    return pen


def _step_curve(pen: QPen, name: str | None = None) -> pg.PlotDataItem:
    """A depth curve: a point per level, drawn as a step (level i from x[i] until x[i + 1])."""
    return pg.PlotDataItem(pen=pen, name=name, stepMode="right", skipFiniteCheck=True, autoDownsampleFactor=1.0)


class TimelinePlot(TimelinePanel):
    """Follows `controller`. `history` holds what is drawn; `lanes` names the process lanes (lane
    i is drawn at y = i) and `bars` draws them; `depth[channel]` holds a channel's curve data
    (columns "x", "y") and `curves[channel]` draws it."""

    def __init__(self, controller: RunController, parent=None):
        super().__init__(controller, parent)
        palette = self.palette()
        self._dark = is_dark(palette)
        self._text = palette.color(QPalette.ColorRole.Text)
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground(palette.color(QPalette.ColorRole.Base))
        self.depth_plot = self.graphics.addPlot(row=0, col=0)
        self.lanes_plot = self.graphics.addPlot(row=1, col=0)
        self.graphics.ci.layout.setRowStretchFactor(0, 2)
        self.graphics.ci.layout.setRowStretchFactor(1, 3)
        self.depth_plot.setXLink(self.lanes_plot)  # the lanes span the whole run: they lead
        self._style_plots()
        base = QColor(palette.color(QPalette.ColorRole.Base))
        base.setAlpha(200)
        self.legend = self.depth_plot.addLegend(offset=(-4, 4), labelTextColor=self._text, brush=base,
                                                labelTextSize=f"{self.font().pointSizeF():.0f}pt")
        self.state_legend = QLabel(self)
        self.state_legend.setTextFormat(Qt.TextFormat.RichText)
        self.state_legend.setContentsMargins(8, 2, 8, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.state_legend)
        scene = self.graphics.scene()
        scene.sigMouseClicked.connect(self._clicked)
        scene.sigMouseMoved.connect(self._hovered)
        self.history: RunHistory | None = None
        self.follow()

    def _style_plots(self) -> None:
        font = QFont(self.font())
        for plot in (self.depth_plot, self.lanes_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                # Its picture is replayed slowly (labels, grid lines); the playhead moves every
                # frame: repaint from a pixmap unless the axis itself changed.
                axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                axis.setPen(self._text)
                axis.setTextPen(self._text)
                axis.setTickFont(font)
            plot.vb.setDefaultPadding(0.02 if plot is self.lanes_plot else 0.08)
        self.depth_plot.showGrid(x=True, y=True, alpha=0.15)
        self.depth_plot.getAxis("bottom").setStyle(showValues=False)
        self.depth_plot.setLabel("left", "in channel")
        self.depth_plot.getAxis("left").enableAutoSIPrefix(False)
        self.depth_plot.setMouseEnabled(y=False)
        self.depth_plot.setDownsampling(auto=True, mode="peak")  # long curves: a few points a pixel
        self.depth_plot.setClipToView(True)
        self.depth_plot.enableAutoRange(x=False)
        self.lanes_plot.setLabel("bottom", "seconds since the run started")
        self.lanes_plot.invertY(True)
        self.lanes_plot.setMouseEnabled(y=False)
        self.lanes_plot.enableAutoRange(x=False)  # the whole run, in steps (see `_follow`)
        for plot in (self.depth_plot, self.lanes_plot):  # until the user pans or zooms
            plot.vb.sigRangeChangedManually.connect(self._stop_following)

    # -- following the timeline

    def reset(self) -> None:
        for plot in (self.depth_plot, self.lanes_plot):
            plot.clear()
        self.lanes: list[str] = []
        self._lane_of: dict[str, int] = {}
        outline = QColor(self._text)
        outline.setAlpha(110)
        self.bars = StateBars(STATE_COLORS, outline)
        self.lanes_plot.addItem(self.bars)
        self.depth: dict[str, Columns] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}  # a channel's depth: its newest points
        self._older: dict[str, list[tuple[pg.PlotDataItem, int, int]]] = {}  # ...and the others (see `_show_depth`)
        self._stale: dict[str, int] = {}  # channels whose curve has new data: how many points did not change
        self._tails: dict[str, pg.PlotDataItem] = {}
        self._states_seen: set[str] = set()
        self._legend_states: set[str] | None = None
        self._top = 0  # the most messages any channel held
        self._ceiling = -1  # the top of the depth plot's Y range (see `_scale_depth`)
        self._scale_depth()
        self._end: float | None = None
        self._following = True  # the X range shows the whole run (see `_follow`)
        self._right = 0.0  # where the X range ends while following
        self.playheads = [pg.InfiniteLine(angle=90, movable=False, pen=_pen(self._text, 2)) for _ in range(2)]
        for plot, line in zip((self.depth_plot, self.lanes_plot), self.playheads):
            line.setZValue(10)
            plot.addItem(line, ignoreBounds=True)
        timeline = self.controller.timeline
        self.history = RunHistory(timeline, self.started_ns) if timeline is not None else None
        if self.history is not None:
            for name in self.history.levels:
                self._channel(name)
            self._reopen(list(self.history.changes))
            self._states_seen.update(changes[0].state for changes in self.history.changes.values())
        self._update_legend()

    def rewind(self, first: int) -> None:
        pass  # the history, folded with the timeline, tells `take` what to withdraw

    def take(self, first: int, stop: int) -> None:
        cut, changed, leveled = self.history.take_new()
        if cut is not None:  # a late event was sorted in: what came after it is redrawn
            self.bars.cut(cut)
            for channel, columns in self.depth.items():
                columns.cut(cut)
                self._stale[channel] = min(self._stale.get(channel, columns.n), columns.n)
            self._reopen(list(self.history.changes))
        for name, start in changed.items():
            history, lane = self.history.changes[name], self._lane(name)
            spans: dict[str, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
            new = history[max(start - 1, 0):]  # the span still open before, then the new ones
            for previous, change in zip(new, new[1:]):
                t0, t1, index = spans[previous.state]
                t0.append(previous.t_ns)
                t1.append(change.t_ns)
                index.append(change.index)
            for state, (t0, t1, index) in spans.items():
                self.bars.add(lane, state, self._seconds(t0), self._seconds(t1), index)
            self._states_seen.update(change.state for change in history[start:])
        self._reopen(changed)
        for channel, start in leveled.items():
            new = self.history.levels[channel][start:]
            depths = [level.depth for level in new]
            columns = self._channel(channel)
            self._stale.setdefault(channel, columns.n)
            columns.append(x=self._seconds([level.t_ns for level in new]), y=depths,
                           index=[level.index for level in new])
            self._top = max(self._top, max(depths))
        if leveled:
            self._scale_depth()
        self._update_legend()
        self._end = None  # the open spans and the curves' tails move on at the next frame

    def show_playhead(self, t_ns: int) -> None:
        for channel, unchanged in self._stale.items():  # once a frame, however many chunks came in it
            self._show_depth(channel, unchanged)
        self._stale.clear()
        x = self.seconds(t_ns)
        for line in self.playheads:
            if line.value() != x:
                line.setValue(x)
        self._refresh_open()

    # -- drawing

    def _seconds(self, t_ns: list[int]) -> np.ndarray:
        return (np.array(t_ns, dtype=np.int64) - self.started_ns) / 1e9

    def _lane(self, name: str) -> int:
        lane = self._lane_of.get(name)
        if lane is None:
            lane = self._lane_of[name] = len(self.lanes)
            self.lanes.append(name)
            self.lanes_plot.getAxis("left").setTicks([list(enumerate(self.lanes)), []])
            width = max(QFontMetrics(self.font()).horizontalAdvance(n) for n in self.lanes) + 20
            for plot in (self.depth_plot, self.lanes_plot):
                plot.getAxis("left").setWidth(max(width, 70))
            self.lanes_plot.setYRange(-0.6, len(self.lanes) - 0.4, padding=0)
            lane_height = QFontMetrics(self.font()).height() + 8  # room for each lane's label
            self.graphics.setMinimumHeight(MIN_DEPTH_HEIGHT + lane_height * min(len(self.lanes), 8) + 50)
        return lane

    def _reopen(self, names) -> None:
        """Each process's current span starts at its last change."""
        for name in names:
            changes = self.history.changes[name]
            if not changes:  # a process that appeared after the point rewound to
                self.bars.set_open(self._lane(name), None)
                continue
            self.bars.set_open(self._lane(name), changes[-1].state, self.seconds(changes[-1].t_ns))

    def _channel(self, channel: str) -> Columns:
        """A channel's curve data, empty at the run's start (also for a channel the scenario does
        not name)."""
        if channel not in self.depth:
            pen = _pen(process_color(channel, self._dark), 2.5)
            self.depth[channel] = Columns("x", "y")
            self.depth[channel].append(x=[0.0], y=[0.0], index=[-1])
            # A point per level, drawn as a step: level i from x[i] until x[i + 1] ("right")
            self._older[channel] = []
            self.curves[channel] = _step_curve(pen, name=channel)
            self._tails[channel] = pg.PlotDataItem(pen=pen)
            for item in (self.curves[channel], self._tails[channel]):
                self.depth_plot.addItem(item)
            self._show_depth(channel, 1)
        return self.depth[channel]

    def _show_depth(self, channel: str, unchanged: int) -> None:
        """Give a channel's curve its data (its first `unchanged` points are as last shown). A
        curve's `setData` costs as much as it has points, so the points of a long run go to
        curves of their own, each given its data once: `RECENT_POINTS` each, and every
        `MERGED` of those, once there are that many, one curve (a curve costs a little to
        paint however short: a long run's stays a few dozen)."""
        x, y = self.depth[channel]["x"], self.depth[channel]["y"]
        blocks = self._older[channel]  # (curve, first point, last point); the next starts at the last
        while blocks and blocks[-1][2] >= unchanged:  # cut back (a late event rewound the history)
            self.depth_plot.removeItem(blocks.pop()[0])
        done = blocks[-1][2] if blocks else 0  # the first point the newest curve shows
        while len(x) - done > RECENT_POINTS:  # a block more
            first, last = done, done + RECENT_POINTS
            small = blocks[1 - MERGED:]
            if len(small) == MERGED - 1 and all(b_last - b_first == RECENT_POINTS for _, b_first, b_last in small):
                for curve, _, _ in small:
                    self.depth_plot.removeItem(curve)
                del blocks[1 - MERGED:]
                first = small[0][1]
            curve = _step_curve(self.curves[channel].opts["pen"])
            curve.setData(x[first:last + 1], y[first:last + 1])
            self.depth_plot.addItem(curve)
            blocks.append((curve, first, last))
            done = last
        self.curves[channel].setData(x[done:], y[done:])  # from the last block's last point

    def _refresh_open(self) -> None:
        """Extend the spans still open, and the curves' last levels, to the present."""
        if self.history is None:
            return
        end = self.seconds(self.controller.end_ns)
        if end == self._end:
            return
        self._end = end
        self.bars.set_extent(len(self.lanes), end)
        for channel, columns in self.depth.items():
            x, y = columns["x"][-1], columns["y"][-1]
            self._tails[channel].setData([x, max(end, x)], [y, y])
        self._follow(end)

    def _follow(self, end: float) -> None:
        """Show the whole run, up to `end` seconds. While it is live the range grows a quarter at
        a time, not every frame: the axes and the bars are redrawn only when it grows."""
        if not self._following:
            return
        if not self.controller.live:
            right = end
        elif end > self._right:
            right = end * 1.25
        else:
            return
        if right != self._right:
            self._right = right
            self.lanes_plot.setXRange(0.0, max(right, 1e-3), padding=0.02)

    def _scale_depth(self) -> None:
        """The depth plot's Y range: up to the most messages a channel held, in whole numbers
        while there are few; beyond ten it grows a quarter at a time, so that its axis and grid
        are redrawn only when it grows (a flood fills a queue by thousands a second)."""
        if self._top <= self._ceiling:
            return
        self._ceiling = self._top if self._top <= 10 else int(self._top * 1.25)
        few = self._ceiling <= 10
        self.depth_plot.getAxis("left").setTickSpacing(*((1, 1) if few else ()))
        if few:  # half a message of room at each end: a short plot still has room for the labels
            self.depth_plot.setYRange(-0.5, max(self._ceiling, 1) + 0.5, padding=0)
        else:
            self.depth_plot.setYRange(0, self._ceiling)

    def _stop_following(self, *_) -> None:
        self._following = False

    def _update_legend(self) -> None:
        if self._states_seen == self._legend_states:
            return
        self._legend_states = set(self._states_seen)
        self.state_legend.setText("&nbsp;&nbsp; ".join(
            f'<span style="color:{color}">&#9632;</span>&nbsp;{state_label(state)}'
            for state, color in STATE_COLORS.items() if state in self._states_seen))

    # -- the mouse

    def _plot_at(self, scene_pos) -> pg.PlotItem | None:
        for plot in (self.depth_plot, self.lanes_plot):
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                return plot
        return None

    def _clicked(self, event) -> None:
        plot = self._plot_at(event.scenePos())
        if plot is None or event.button() != Qt.MouseButton.LeftButton or self.history is None:
            return
        x = plot.vb.mapSceneToView(event.scenePos()).x()
        self.controller.seek(self.started_ns + int(x * 1e9))

    def _hovered(self, scene_pos) -> None:
        plot = self._plot_at(scene_pos)
        text = ""
        if plot is not None and self.history is not None:
            point = plot.vb.mapSceneToView(scene_pos)
            t_ns = self.started_ns + int(point.x() * 1e9)
            if plot is self.lanes_plot:
                text = self._describe_lane(round(point.y()), t_ns)
            else:
                text = "\n".join(f"{channel}: {depth} in the channel at {point.x():.3f} s"
                                 for channel in self.depth
                                 if (depth := self.history.level_at(channel, t_ns)) is not None)
        if text:
            QToolTip.showText(QCursor.pos(), text, self.graphics)
        else:
            QToolTip.hideText()

    def _describe_lane(self, lane: int, t_ns: int) -> str:
        if not 0 <= lane < len(self.lanes):
            return ""
        name = self.lanes[lane]
        found = self.history.change_at(name, t_ns)
        if found is None:
            return ""
        change, until = found
        start, end = self.seconds(change.t_ns), self.seconds(until or self.controller.end_ns)
        return f"{name}: {change.describe()}\n{start:.3f} s – {end:.3f} s"
