"""What a run adds on top of the nodes: the main process, messages in motion, pointers from
blocked processes to what they wait on, and the moments when something is lost or killed.

All of it is computed from the timeline at the playhead: the state there, and the events of
the last moments before it (a message put 0.2 s ago is drawn 2/3 of the way to its queue).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsObject

from simulator.fold import MAIN, ProcessState, Snapshot, Timeline
from simulator.scenario import Scenario

from .. import theme
from .node_items import PipeItem, ProcessItem, QueueItem
from .process_box import ProcessBox
from .state_badges import draw_state_icon

MOVE_NS = 300_000_000  # a message takes 0.3 s (of playhead time) to travel on screen
FADE_NS = 900_000_000  # dropped and lost messages fade out over 0.9 s
KILL_NS = 1_500_000_000  # a kill at main's exit is marked for 1.5 s
MAX_TOKENS = 1000  # the most recent; more would not paint at 30 frames a second
DEADLOCK_BANNER = 32.0  # the height of the words above a deadlock's frame


class MainItem(ProcessBox):
    """The main process: its steps, the one it is on, and its state during a run."""

    MIN_WIDTH = 230.0
    LINE = 22.0

    def __init__(self):
        super().__init__(MAIN, "")
        self.steps: list[str] = []

    def set_scenario(self, scenario: Scenario) -> None:
        self.prepareGeometryChange()
        self.steps = [s.label() for s in scenario.effective_steps()]
        self.note = "the main process · " + ("its steps" if scenario.steps else "default steps")
        rows = QFontMetricsF(mono_font(10, bold=True))
        self.fit_width(*(16 + rows.horizontalAdvance("▶ " + label) + 16 for label in self.steps))
        self.update()

    def run_look(self, p: ProcessState) -> object:
        return super().run_look(p), p.step_index

    def height(self) -> float:
        return self.HEADER + self.LINE * len(self.steps)

    def paint_inside(self, painter: QPainter, t: theme.Theme, p: ProcessState | None) -> None:
        current = p.step_index if p else -1
        ended = p is not None and p.state in ("finished", "stopped", "failed")
        for i, label in enumerate(self.steps):
            row = QRectF(10, 54 + i * self.LINE, self.WIDTH - 20, self.LINE - 2)
            done = p is not None and (i < current or (ended and i <= current))
            now = p is not None and i == current and not ended
            if now:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(theme.STATE_COLORS[p.state]).lighter(170 if not t.dark else 60))
                painter.drawRoundedRect(row, 5, 5)
            painter.setPen(t.text if (now or not p) else t.subtext)
            painter.setFont(mono_font(10, bold=now))
            mark = "▶ " if now else ("✓ " if done else "  ")
            painter.drawText(row.adjusted(6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, mark + label)


def mono_font(size: float, bold: bool = False):
    font = theme.font(size, bold)
    font.setFamilies(["DejaVu Sans Mono", "Menlo", "Consolas", "monospace"])
    return font


class RunLayer(QGraphicsObject):
    """Tokens in motion, fading losses, kill marks and blocked pointers, painted in one item."""

    deadlock_area_changed = Signal()  # a deadlock's frame and words came, went or moved

    def __init__(self, scene):
        super().__init__()
        self.canvas = scene
        self.timeline: Timeline | None = None
        self.playhead = 0
        self.snapshot: Snapshot | None = None
        self.setZValue(5)
        self.tokens_drawn = 0
        self.area = QRectF()
        self._deadlock_frame = QRectF()  # at the playhead (see `deadlock_frame`)
        self.deadlock_area = QRectF()  # that frame and the words above it
        self._held_at_exit: dict[tuple, bool] = {}

    def boundingRect(self) -> QRectF:
        return self.area

    def show(self, timeline: Timeline | None, playhead: int, snapshot: Snapshot | None) -> None:
        if timeline is not self.timeline:
            self._held_at_exit.clear()
        self.timeline, self.playhead, self.snapshot = timeline, playhead, snapshot
        area = self.canvas.main_item.sceneBoundingRect()
        for item in self.canvas.nodes.values():
            area = area.united(item.sceneBoundingRect())
        area = area.adjusted(-60, -100, 60, 60)
        frame = self._deadlock_frame = self.deadlock_frame()
        deadlock_area = frame.adjusted(0, -DEADLOCK_BANNER - 8, 0, 0) if not frame.isEmpty() else frame
        if not deadlock_area.isEmpty():  # (its frame may reach past that margin)
            area = area.united(deadlock_area.adjusted(-4, -4, 4, 4))
        if area != self.area:
            self.prepareGeometryChange()
            self.area = area
        self.update()
        if deadlock_area != self.deadlock_area:
            self.deadlock_area = deadlock_area
            self.deadlock_area_changed.emit()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.timeline is None or self.snapshot is None:
            self.tokens_drawn = 0
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_blocked(painter)
        self._paint_recent(painter)
        if self.snapshot.deadlock:
            self._paint_deadlock(painter)

    def deadlock_frame(self) -> QRectF:
        """The frame around the deadlocked processes and the channels they use (scene
        coordinates), empty when there is none; grown around anything else it would cut
        through, so that each thing is in it or out of it."""
        if self.snapshot is None or not self.snapshot.deadlock:
            return QRectF()
        stuck = set(self.snapshot.deadlock)
        links = [item for item in self.canvas.links.values() if item.link.process in stuck]
        stuck |= {item.link.channel for item in links}
        main = self.canvas.main_item
        items = {main if name == MAIN else self.canvas.nodes.get(name) for name in stuck} - {None}
        frame = QRectF()
        for rect in [item.sceneBoundingRect() for item in items] + [item.mapRectToScene(item.path().boundingRect())
                                                                     for item in links]:
            frame = frame.united(rect.adjusted(-24, -24, 24, 24))
        others = [item.sceneBoundingRect() for item in [main, *self.canvas.nodes.values()] if item not in items]
        cut = not frame.isEmpty()
        while cut:
            cut = [r for r in others if frame.intersects(r) and not frame.contains(r)]
            for r in cut:
                frame = frame.united(r.adjusted(-24, -24, 24, 24))
        return frame

    def _paint_deadlock(self, painter: QPainter) -> None:
        """Every live process waits for another: a red frame around the deadlocked ones, and
        the words above the scenario."""
        color = QColor(theme.STATE_COLORS["failed"])
        area = self._deadlock_frame
        if area.isEmpty():
            return
        painter.setPen(QPen(color, 4, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(area, 18, 18)
        banner = QRectF(area.left(), area.top() - DEADLOCK_BANNER - 8, area.width(), DEADLOCK_BANNER)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(banner, 8, 8)
        painter.setPen(QColor("white"))
        painter.setFont(theme.font(12, bold=True))
        painter.drawText(banner, Qt.AlignmentFlag.AlignCenter,
                         f"Deadlock: {', '.join(self.snapshot.deadlock)} wait for each other; nothing can wake them")

    # -- pointers from blocked processes to what they wait on

    def blocked_pointers(self) -> list[QPainterPath]:
        """From each blocked process to what it waits on, the dashed pointer (scene coordinates,
        ending at what is waited on). A process waiting on a channel it is linked to: along that
        link, from the port it uses. Main, waiting on a node below it (its joins, mostly): from
        its badge, which says what main waits for (see `_from_badge`). Otherwise straight, from
        the side of the box facing the target to where a link to it would attach."""
        pointers = []
        for name, p in (self.snapshot.processes if self.snapshot is not None else {}).items():
            if p.state != "blocked" or not p.waits_on:
                continue
            source = self.canvas.main_item if name == MAIN else self.canvas.nodes.get(name)
            target = self.canvas.nodes.get(p.waits_on)
            if source is None or target is None:
                continue
            link = next((item for item in self.canvas.links.values() if item.link.process == name
                         and item.link.channel == p.waits_on and item.link.op == p.op
                         and (item.link.end is None or str(item.link.end) == p.end)), None)
            if link is not None:
                pointers.append(link.mapToScene(link.path()))
                continue
            points = self._from_badge(source, target) if isinstance(source, ProcessBox) else None
            if points is None:
                b = target.anchor(source.center())
                points = [_edge_toward(source, b), b]
            pointers.append(_polyline(points))
        return pointers

    def _from_badge(self, source: ProcessBox, target) -> list[QPointF] | None:
        """Straight down from `source`'s badge to the top of `target`, a node below it; or, when
        other nodes stand in between (a join of the third producer of a column), around them on
        the left: out of the box's left side, down the margin, into the target's left side.
        None if `target` is not below the badge."""
        badge = source.badge_rect()
        if badge is None:
            return None
        badge, box = source.mapRectToScene(badge), target.mapRectToScene(target.body())
        if box.top() <= badge.bottom():
            return None
        inset = min(24.0, box.width() / 2)
        b = QPointF(_clamp(badge.center().x(), box.left() + inset, box.right() - inset), box.top())
        points = [QPointF(_clamp(b.x(), badge.left() + 12, badge.right() - 12), badge.bottom()), b]
        if not any(_polyline(points).intersects(item.footprint()) for item in self.canvas.nodes.values()
                   if item is not target):
            return points
        own = source.mapRectToScene(source.body())
        x = min(own.left(), box.left()) - 24
        return [QPointF(own.left(), own.center().y()), QPointF(x, own.center().y()),
                QPointF(x, box.center().y()), QPointF(box.left(), box.center().y())]

    def _paint_blocked(self, painter: QPainter) -> None:
        color = QColor(theme.STATE_COLORS["blocked"])
        painter.setPen(QPen(color, 2.2, Qt.PenStyle.DashLine))
        for path in self.blocked_pointers():
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.setBrush(color)
            painter.drawEllipse(path.currentPosition(), 5, 5)

    # -- messages moving, dropped, lost; kills

    def _paint_recent(self, painter: QPainter) -> None:
        tl, now = self.timeline, self.playhead
        first = tl.index_at(now - max(MOVE_NS, FADE_NS, KILL_NS))
        last = tl.index_at(now)
        drawn = 0
        # Where tokens travel, per kind/process/channel/end: from (x, y) by (dx, dy); plain
        # floats, a thousand tokens' worth of QPointF arithmetic costing milliseconds a frame.
        paths: dict[tuple, tuple[float, float, float, float] | None] = {}
        # Where tokens are, by the process that sent them; one per pixel: in a flood, hundreds
        # ride one path a fraction of a pixel apart.
        tokens: dict[str, dict[tuple[int, int], tuple[float, float]]] = {}
        for e in tl.events[max(first, last - MAX_TOKENS):last]:
            age = now - e.t_ns
            kind = e.kind
            if age <= MOVE_NS and kind in _MOVES:
                key = (kind, e.process, e.object, (e.detail or {}).get("end"))
                if key not in paths:
                    ends = _MOVES[kind](self.canvas, e)
                    paths[key] = None if ends is None else (
                        ends[0].x(), ends[0].y(), ends[1].x() - ends[0].x(), ends[1].y() - ends[0].y())
                path = paths[key]
                if path is None:
                    continue
                x, y, dx, dy = path
                f = age / MOVE_NS
                x, y = x + dx * f, y + dy * f
                tokens.setdefault(self._source_of(e), {})[round(x), round(y)] = x, y
                drawn += 1
            elif age <= FADE_NS and kind == "put_failed":
                item = self.canvas.nodes.get(e.process)
                if item is not None:
                    _vanish(painter, item.port_scene_pos("out") if isinstance(item, ProcessItem) else item.center(),
                            age / FADE_NS, "dropped")
                    drawn += 1
            elif age <= KILL_NS and kind == "daemon_killed_at_exit":
                item = self.canvas.nodes.get(e.object)
                if item is not None:
                    _kill_mark(painter, item.footprint(), age / KILL_NS)
            elif age <= FADE_NS and kind == "process_exited" and (e.detail or {}).get("exitcode", 0) < 0:
                item = self.canvas.nodes.get(e.object)
                if isinstance(item, ProcessItem) and self._was_holding(e):
                    corner = item.mapToScene(QPointF(item.WIDTH - 27, 0))
                    _vanish(painter, corner, age / FADE_NS, "lost")
                    drawn += 1
        for source, points in tokens.items():
            _tokens(painter, [QPointF(x, y) for x, y in points.values()], theme.process_color(source))
        self.tokens_drawn = drawn

    def _was_holding(self, exit_event) -> bool:
        """Whether the killed process held a message (got, not finished) when it died."""
        key = (exit_event.pid, exit_event.seq, exit_event.t_ns)
        if key not in self._held_at_exit:
            i = self.timeline.index_at(exit_event.t_ns - 1)
            p = self.timeline.state_after(i).processes.get(exit_event.object)
            self._held_at_exit[key] = p is not None and p.holding is not None
        return self._held_at_exit[key]

    def _source_of(self, e) -> str:
        """The process that put or sent the message (its tokens wear that process's colour)."""
        msg = self.snapshot.messages.get(e.message)
        if msg is not None:
            return msg.source
        if e.kind in ("message_put", "message_sent"):
            return e.process
        pid = (e.message or "").split(":")[0]  # message ids are "<pid of the putter>:<n>"
        for name, p in self.snapshot.processes.items():
            if str(p.pid) == pid:
                return name
        return e.process


def _edge_toward(item, toward: QPointF) -> QPointF:
    """The middle of the side of `item`'s box (not of its badge) that faces `toward`."""
    rect = item.mapRectToScene(item.body())
    c = rect.center()
    return QPointF(rect.right() if toward.x() > c.x() else rect.left(), c.y())


def _polyline(points: list[QPointF]) -> QPainterPath:
    path = QPainterPath(points[0])
    for point in points[1:]:
        path.lineTo(point)
    return path


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _put_path(canvas, e):
    p, q = canvas.nodes.get(e.process), canvas.nodes.get(e.object)
    if not isinstance(p, ProcessItem) or not isinstance(q, QueueItem):
        return None
    return p.port_scene_pos("out"), q.mapToScene(q.slots_rect().center())


def _got_path(canvas, e):
    q, c = canvas.nodes.get(e.object), canvas.nodes.get(e.process)
    if not isinstance(c, ProcessItem) or not isinstance(q, QueueItem):
        return None
    return q.mapToScene(q.slots_rect().center()), c.port_scene_pos("in")


def _sent_path(canvas, e):
    p, pipe = canvas.nodes.get(e.process), canvas.nodes.get(e.object)
    if not isinstance(p, ProcessItem) or not isinstance(pipe, PipeItem):
        return None
    end = int((e.detail or {}).get("end", 1))
    start = p.port_scene_pos("out")
    return start, pipe.anchor(start, end)


def _received_path(canvas, e):
    c, pipe = canvas.nodes.get(e.process), canvas.nodes.get(e.object)
    if not isinstance(c, ProcessItem) or not isinstance(pipe, PipeItem):
        return None
    end = int((e.detail or {}).get("end", 1))
    target = c.port_scene_pos("in" if "in" in c.ports() else "out")
    return pipe.anchor(target, 3 - end), target


_MOVES = {"message_put": _put_path, "message_got": _got_path,
          "message_sent": _sent_path, "message_received": _received_path}


def _tokens(painter: QPainter, points: list[QPointF], color: QColor) -> None:
    """Messages in motion: discs with a darker rim, drawn as wide round points (two calls for
    all of them: a thousand tokens paint in a few milliseconds)."""
    r = 8 * theme.scale()
    for pen in (QPen(color.darker(140), 2 * r + 2.4), QPen(color, 2 * r)):
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawPoints(points)


def _vanish(painter: QPainter, at: QPointF, f: float, label: str) -> None:
    """A message that never arrives: a red token shrinking away, crossed out."""
    color = QColor(theme.STATE_COLORS["failed"])
    color.setAlphaF(max(0.0, 1.0 - f))
    r = 9 * (1 - f) + 3
    painter.setPen(QPen(color, 2))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawEllipse(at, r, r)
    painter.drawLine(at + QPointF(-r, -r), at + QPointF(r, r))
    painter.drawLine(at + QPointF(-r, r), at + QPointF(r, -r))
    if label:
        painter.setFont(theme.font(9, bold=True))
        painter.drawText(at + QPointF(12, -10), label)


def _kill_mark(painter: QPainter, rect: QRectF, f: float) -> None:
    """Main's exit kills a daemon: a thick pulse around it (its badge says the words)."""
    color = QColor(theme.STATE_COLORS["failed"])
    color.setAlphaF(max(0.0, 1.0 - f) * 0.9)
    grow = 6 + 18 * f
    painter.setPen(QPen(color, 5))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(rect.adjusted(-grow, -grow, grow, grow), 16, 16)
    draw_state_icon(painter, QRectF(rect.right() - 10, rect.top() - 14, 26, 26), "daemon_killed")
