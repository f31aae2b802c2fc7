"""Canvas items for nodes: processes, queues and pipes.

Items draw a model node and report where links attach. They never change the model: Qt moves
them during a drag, and the move gesture turns the result into an undo command.
"""

from __future__ import annotations

from itertools import islice
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from simulator.fold import ChannelState, ProcessState, Snapshot
from simulator.scenario import JOINABLE

from .. import theme
from .state_badges import draw_state_icon, state_detail, state_text

GRID = 20.0
PORT_RADIUS = 7.0
BADGE_H = 30.0  # room under a node for its run state
BADGE_OVERHANG = 60.0  # how far past its node's right edge a process's badge may reach
DETAIL_H = 16.0  # the line under a failed process's badge (its cause)
TOKEN_H = 18.0
_renderers: dict[str, QSvgRenderer] = {}


def _renderer(kind: str) -> QSvgRenderer:
    if kind not in _renderers:
        _renderers[kind] = QSvgRenderer(theme.icon_path(kind))
    return _renderers[kind]


def snap(value: float) -> float:
    return round(value / GRID) * GRID


class NodeItem(QGraphicsObject):
    """Common to all nodes: selection, snapping to the grid, attached links, the name."""

    MIN_WIDTH, MAX_WIDTH, HEIGHT = 180.0, 320.0, 72.0
    MARGIN = 4.0  # selection outline and port overhang

    def __init__(self, node):
        super().__init__()
        self.node = node
        self.WIDTH = self._fit_width()
        self.links = []  # LinkItems attached to this node
        self.snapshot: Snapshot | None = None  # the run's state at the playhead, when showing a run
        self._look: object = None  # what is drawn of the run (see `set_run`)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)

    @property
    def node_id(self) -> str:
        return self.node.id

    def set_node(self, node) -> None:
        self.prepareGeometryChange()
        self.node = node
        self.WIDTH = self._fit_width()
        self.update()
        for link in self.links:
            link.update_path()

    def _fit_width(self) -> float:
        """Wide enough that the name and the subtitle are never clipped (up to MAX_WIDTH); the
        bounds grow with presentation mode's text, as the layout is spread (`CanvasScene.item_pos`)."""
        name = QFontMetricsF(theme.font(12.5, bold=True)).horizontalAdvance(self.node.id)
        sub = QFontMetricsF(theme.font(9.5)).horizontalAdvance(self.subtitle())
        s = theme.scale()
        return min(self.MAX_WIDTH * s, max(self.MIN_WIDTH * s, 56 + max(name, sub) + 16))

    def set_run(self, snap: Snapshot | None) -> None:
        """Show the run's state at the playhead (None: back to the editor's look). The item is
        repainted only when what it draws of the run changed (its `run_look`): a run with many
        nodes changes a few of them a frame."""
        self.snapshot = snap
        look = self.run_look(snap) if snap is not None else None
        if look != self._look:
            self._look = look
            self.prepare_run_look()
            self.update()

    def prepare_run_look(self) -> None:
        """Called when the run's look changed, before the repaint (e.g. to change its bounds)."""

    def run_look(self, snap: Snapshot) -> object:
        """Everything `paint_run` and `run_accent` draw of `snap`, comparable with == (by
        default, the state after how many events: repainted whenever anything happened)."""
        return snap.events

    def body(self) -> QRectF:
        return QRectF(0, 0, self.WIDTH, self.HEIGHT)

    def boundingRect(self) -> QRectF:
        m = self.MARGIN + PORT_RADIUS
        return self.body().adjusted(-m, -m - TOKEN_H / 2, m + 20, m + BADGE_H)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.body(), 12, 12)
        return path

    def footprint(self) -> QRectF:
        """What the node covers on the canvas, run-state badge included (scene coordinates)."""
        return self.mapToScene(self.body().adjusted(0, 0, 0, BADGE_H)).boundingRect()

    def name_rect(self) -> QRectF:
        """Where the name is drawn (item coordinates), for renaming in place."""
        return QRectF(56, 10, self.WIDTH - 64, 24)

    def center(self) -> QPointF:
        return self.mapToScene(self.body().center())

    def anchor(self, toward: QPointF, end: int | None = None) -> QPointF:
        """Where a link to a point `toward` (scene coordinates) attaches."""
        body = self.body()
        local = self.mapFromScene(toward)
        x = body.right() if local.x() >= body.center().x() else body.left()
        return self.mapToScene(QPointF(x, body.center().y()))

    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and theme.scale() == 1:
            return QPointF(snap(value.x()), snap(value.y()))  # (presentation's spread is not on the grid)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for link in self.links:
                link.update_path()
        return super().itemChange(change, value)

    # -- drawing

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = self.isSelected()
        border, width = (t.selection, 2.5) if selected else (t.node_border, 1.2)
        accent = self.run_accent()
        if accent is not None and not selected:
            border, width = accent, 3.0
        painter.setPen(QPen(border, width))
        painter.setBrush(t.node_fill)
        painter.drawRoundedRect(self.body(), 12, 12)
        self.paint_header(painter, t)
        self.paint_details(painter, t)
        if self.snapshot is not None:
            self.paint_run(painter, t)

    def run_accent(self) -> QColor | None:
        return None

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        pass

    def paint_header(self, painter: QPainter, t: theme.Theme) -> None:
        key = theme.kind_key(self.node)
        if key == "pipe":
            key = "Pipe" if self.node.duplex else "Pipe (one-way)"
        _renderer(key).render(painter, QRectF(12, 12, 36, 36))
        painter.setPen(t.text)
        painter.setFont(theme.font(12.5, bold=True))
        painter.drawText(self.name_rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self._elided(self.node.id, self.name_rect().width(), painter))
        painter.setPen(t.subtext)
        painter.setFont(theme.font(9.5))
        sub = QRectF(56, 34, self.WIDTH - 64, 20)
        painter.drawText(sub, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self._elided(self.subtitle(), sub.width(), painter))

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        pass

    def subtitle(self) -> str:
        return self.node.kind

    @staticmethod
    def _elided(text: str, width: float, painter: QPainter) -> str:
        return painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(width))


class ProcessItem(NodeItem):
    """A producer, consumer or worker. Drag from a port to a channel to connect: the input port
    (left edge) reads with get / recv, the output port (right edge) writes with put / send."""

    _badge = QSizeF()  # the run-state badge's extent: it can reach past the node (a failure's cause)

    def ports(self) -> list[str]:
        return {"producer": ["out"], "consumer": ["in"], "worker": ["in", "out"]}[self.node.kind]

    def port_rect(self, port: str) -> QRectF:
        c = QPointF(self.WIDTH if port == "out" else 0.0, self.HEIGHT / 2)
        return QRectF(c.x() - PORT_RADIUS, c.y() - PORT_RADIUS, 2 * PORT_RADIUS, 2 * PORT_RADIUS)

    def port_at(self, scene_pos: QPointF) -> str | None:
        local = self.mapFromScene(scene_pos)
        for port in self.ports():
            if self.port_rect(port).adjusted(-5, -5, 5, 5).contains(local):
                return port
        return None

    def port_scene_pos(self, port: str) -> QPointF:
        return self.mapToScene(self.port_rect(port).center())

    def shape(self) -> QPainterPath:
        path = super().shape()
        path.setFillRule(Qt.FillRule.WindingFill)  # the port discs overlap the body
        for port in self.ports():
            path.addEllipse(self.port_rect(port).adjusted(-5, -5, 5, 5))
        return path

    def subtitle(self) -> str:
        n = self.node
        parts = [n.kind]
        if n.kind == "producer":
            count = len(n.items) if isinstance(n.items, list) else n.items
            parts.append(f"{count} item{'s' if count != 1 else ''}")
            if n.put_mode != "block":
                parts.append(n.put_mode)
        else:
            parts.append({"forever": "loops forever", "until_sentinel": "until None",
                          "while_not_empty": "while not empty", "count": f"{n.count} items"}[n.loop])
        if n.daemon:
            parts.append("daemon")
        return " · ".join(parts)

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        # this process's own colour, the colour of the messages it puts or sends
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.process_color(self.node.id))
        painter.drawRoundedRect(QRectF(56, self.HEIGHT - 10, 28, 4), 2, 2)
        color = QColor(theme.KIND_COLORS[self.node.kind])
        painter.setPen(QPen(t.node_fill, 2))
        painter.setBrush(color)
        for port in self.ports():
            painter.drawEllipse(self.port_rect(port))

    def process_state(self) -> ProcessState | None:
        return self.snapshot.processes.get(self.node.id) if self.snapshot is not None else None

    def prepare_run_look(self) -> None:
        p = self.process_state()
        extent = self.badge(p, self.snapshot).extent if p is not None else QSizeF()
        if extent != self._badge:
            self.prepareGeometryChange()
            self._badge = extent

    def run_look(self, snap: Snapshot) -> object:
        p = snap.processes.get(self.node.id)
        if p is None:
            return None
        held = snap.messages.get(p.holding) if p.holding else None
        shown = (held.source, held.preview) if held is not None and held.where == "held" else None
        return p.state, state_text(p, snap), state_detail(p), shown

    def badge(self, p: ProcessState, snap: Snapshot) -> Badge:
        return badge_layout(p, snap, self.WIDTH + BADGE_OVERHANG, detail=True)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(QRectF(QPointF(8, self.HEIGHT + 6), self._badge))

    def run_accent(self) -> QColor | None:
        p = self.process_state()
        return QColor(theme.STATE_COLORS[p.state]) if p is not None else None

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        p = self.process_state()
        if p is None:
            return
        paint_state_badge(painter, t, p, QPointF(8, self.HEIGHT + 6), self.badge(p, self.snapshot))
        held = self.snapshot.messages.get(p.holding) if p.holding else None
        if held is not None and held.where == "held":
            paint_token(painter, QRectF(self.WIDTH - 62, -TOKEN_H / 2, 70, TOKEN_H),
                        theme.process_color(held.source), held.preview)


def status_font():
    return theme.font(9.5, bold=True)  # (theme's fonts grow in presentation mode)


class QueueItem(NodeItem):
    """A Queue, JoinableQueue or SimpleQueue, with one slot per place when it is bounded."""

    MIN_WIDTH, HEIGHT = 200.0, 84.0
    SLOT_W, SLOT_H, MAX_SLOTS = 38.0, 16.0, 8

    def subtitle(self) -> str:
        n = self.node
        if n.queue_type == "SimpleQueue":
            return "SimpleQueue()"
        name = n.queue_type.replace("Manager.", "Manager().")
        return f"{name}({n.maxsize})" if n.maxsize else f"{name}()"

    def slots_rect(self) -> QRectF:
        return QRectF(12, self.HEIGHT - 26, self.WIDTH - 24, self.SLOT_H)

    def slot_width(self, area: QRectF, maxsize: int, gap: float) -> float:
        """A bounded queue's slot: `maxsize` of them fill `area`, up to a message chip's width."""
        return min(self.SLOT_W * 1.6 * theme.scale(), (area.width() - gap * (maxsize - 1)) / maxsize)

    def run_look(self, snap: Snapshot) -> object:
        ch = snap.channels.get(self.node.id)  # a message's source and preview never change
        return None if ch is None else (len(ch.contents), tuple(islice(ch.contents, self.MAX_SLOTS)),
                                        ch.unfinished)

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        ch = self.snapshot.channels.get(self.node.id)
        if ch is None:
            return
        area = self.slots_rect()
        maxsize, ids = self.node.maxsize, ch.contents
        if 0 < maxsize <= self.MAX_SLOTS:
            gap = 4.0
            w = self.slot_width(area, maxsize, gap)
            boxes = [QRectF(area.left() + i * (w + gap), area.top(), w, area.height()) for i in range(maxsize)]
        else:
            fit = max(1, int(area.width() // 44))
            boxes = [QRectF(area.left() + i * 44, area.top(), 40, area.height()) for i in range(fit)]
        shown = list(islice(ids, len(boxes) if len(ids) <= len(boxes) else len(boxes) - 1))
        for box, mid in zip(boxes, shown):
            msg = self.snapshot.messages.get(mid)
            paint_token(painter, box, theme.process_color(msg.source) if msg else t.link,
                        msg.preview if msg else "")
        if len(shown) < len(ids):
            painter.setPen(t.text)
            painter.setFont(theme.font(9, bold=True))
            painter.drawText(boxes[len(shown)], Qt.AlignmentFlag.AlignCenter, f"+{len(ids) - len(shown)}")
        painter.setPen(t.text)
        painter.setFont(status_font())
        painter.drawText(QRectF(8, self.HEIGHT + 4, self.status_room(), 20), Qt.AlignmentFlag.AlignLeft,
                         self.status_line(ch))

    def status_room(self) -> float:
        """How wide the line under the queue may be: to the edge of what the item draws."""
        return self.boundingRect().right() - 8

    def status_line(self, ch: ChannelState) -> str:
        """How full the queue is, in words, on the line under it ("3/3 · full", "0 in queue ·
        unfinished 2"); "full" or "empty" is left out when the line would not fit."""
        n, maxsize = len(ch.contents), self.node.maxsize
        count = f"{n}/{maxsize}" if maxsize else f"{n} in queue"
        word = " · full" if maxsize and n >= maxsize else " · empty" if not n else ""
        unfinished = f" · unfinished {ch.unfinished}" if ch.queue_type in JOINABLE else ""
        metrics, room = QFontMetricsF(status_font()), self.status_room()
        if metrics.horizontalAdvance(count + word + unfinished) <= room:
            return count + word + unfinished
        return metrics.elidedText(count + unfinished, Qt.TextElideMode.ElideRight, room)

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        area = self.slots_rect()
        maxsize = self.node.maxsize
        painter.setPen(QPen(t.node_border, 1))
        painter.setBrush(t.slot)
        if 0 < maxsize <= self.MAX_SLOTS:
            gap = 4.0
            w = self.slot_width(area, maxsize, gap)
            for i in range(maxsize):
                painter.drawRoundedRect(QRectF(area.left() + i * (w + gap), area.top(), w, area.height()), 4, 4)
        else:
            painter.drawRoundedRect(area, 4, 4)
            painter.setPen(t.subtext)
            painter.setFont(theme.font(8.5))
            label = "unbounded" if not maxsize else f"up to {maxsize}"
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, label)


class PipeItem(NodeItem):
    """A pipe with its two ends. Data flows left to right where it flows one way: a duplex
    pipe has end 1 on the left and end 2 on the right; a one-way pipe has its sending end (2)
    on the left and its receiving end (1) on the right."""

    MIN_WIDTH, HEIGHT = 220.0, 84.0
    CAP = 30.0

    def subtitle(self) -> str:
        return "Pipe()" if self.node.duplex else "Pipe(duplex=False)"

    def left_end(self) -> int:
        return 1 if self.node.duplex else 2

    def end_rect(self, end: int) -> QRectF:
        x = 0 if end == self.left_end() else self.WIDTH - self.CAP
        return QRectF(x, self.HEIGHT - 30, self.CAP, 30)

    def end_at(self, scene_pos: QPointF) -> int:
        left = self.left_end()
        return left if self.mapFromScene(scene_pos).x() < self.WIDTH / 2 else 3 - left

    def anchor(self, toward: QPointF, end: int | None = None) -> QPointF:
        if end is None:
            return super().anchor(toward)
        rect = self.end_rect(end)
        x = rect.left() if end == self.left_end() else rect.right()
        return self.mapToScene(QPointF(x, rect.center().y()))

    def paint_details(self, painter: QPainter, t: theme.Theme) -> None:
        color = QColor(theme.KIND_COLORS["pipe"])
        tube = QRectF(self.CAP, self.HEIGHT - 24, self.WIDTH - 2 * self.CAP, 18)
        painter.setPen(QPen(t.node_border, 1))
        painter.setBrush(t.slot)
        painter.drawRect(tube)
        painter.setFont(theme.font(10, bold=True))
        for end in (1, 2):
            rect = self.end_rect(end).adjusted(4, 2, -4, -4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(rect, 6, 6)
            painter.setPen(QColor("white"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(end))
        # which way data can flow
        painter.setPen(QPen(color, 2))
        y = tube.center().y()
        x1, x2 = tube.left() + 14, tube.right() - 14
        painter.drawLine(QPointF(x1, y), QPointF(x2, y))
        painter.setBrush(QBrush(color))
        heads = [(x2, -1)] if not self.node.duplex else [(x1, 1), (x2, -1)]
        for x, direction in heads:
            head = QPainterPath(QPointF(x, y))
            head.lineTo(x + 7 * direction, y - 5)
            head.lineTo(x + 7 * direction, y + 5)
            head.closeSubpath()
            painter.drawPath(head)


    def run_look(self, snap: Snapshot) -> object:
        ch = snap.channels.get(self.node.id)
        return None if ch is None else tuple((end, len(ids), tuple(islice(ids, 4)))
                                             for end, ids in sorted(ch.in_flight.items()))

    def paint_run(self, painter: QPainter, t: theme.Theme) -> None:
        ch = self.snapshot.channels.get(self.node.id)
        if ch is None:
            return
        tube = QRectF(self.CAP, self.HEIGHT - 24, self.WIDTH - 2 * self.CAP, 18)
        words = []
        for end, ids in sorted(ch.in_flight.items()):
            if not ids:
                continue
            toward_right = int(end) == self.left_end()  # sent from the left end: travels right
            for i, mid in enumerate(islice(ids, 4)):
                msg = self.snapshot.messages.get(mid)
                x = tube.right() - 26 - i * 24 if toward_right else tube.left() + 4 + i * 24
                y = tube.top() - (2 if toward_right else -2)
                paint_token(painter, QRectF(x, y, 22, 14), theme.process_color(msg.source) if msg else t.link, "")
            words.append(f"{len(ids)} from end {end}")
        painter.setPen(t.text)
        painter.setFont(theme.font(9.5, bold=True))
        painter.drawText(QRectF(8, self.HEIGHT + 4, self.WIDTH, 20), Qt.AlignmentFlag.AlignLeft,
                         "in flight: " + ", ".join(words) if words else "nothing in flight")


def paint_token(painter: QPainter, rect: QRectF, color: QColor, text: str) -> None:
    """A message: a rounded chip in its producer's colour, with its preview if there is room."""
    painter.setPen(QPen(color.darker(130), 1))
    painter.setBrush(color)
    painter.drawRoundedRect(rect, 5, 5)
    if text and rect.width() > 24:
        painter.setPen(QColor("white"))
        painter.setFont(theme.font(8, bold=True))
        painter.drawText(rect.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignCenter,
                         painter.fontMetrics().elidedText(text.strip("'\""), Qt.TextElideMode.ElideRight,
                                                          int(rect.width() - 6)))


class Badge(NamedTuple):
    """A process's state under it: a pill with its words, and maybe a line under the pill."""

    text: str
    width: float  # the pill's
    detail: str | None  # the line under the pill: what a failure's cause says besides the pill
    extent: QSizeF  # the pill and the line together


def badge_layout(p: ProcessState, snap: Snapshot, max_width: float, detail: bool = False) -> Badge:
    """`p`'s badge at most `max_width` wide (the words elided), with its `state_detail` line if
    `detail`."""
    bold = QFontMetricsF(theme.font(10, bold=True))
    text = bold.elidedText(state_text(p, snap), Qt.TextElideMode.ElideRight, max_width - 34)
    width = bold.horizontalAdvance(text) + 34
    under = state_detail(p) if detail else None
    if not under:
        return Badge(text, width, None, QSizeF(width, BADGE_H - 8))
    small = QFontMetricsF(theme.font(9))
    under = small.elidedText(under, Qt.TextElideMode.ElideRight, max_width - BADGE_H)
    return Badge(text, width, under, QSizeF(max(width, BADGE_H + small.horizontalAdvance(under)),
                                             BADGE_H - 8 + DETAIL_H))


def paint_state_badge(painter: QPainter, t: theme.Theme, p: ProcessState, at: QPointF, badge: Badge) -> None:
    """A pill under a process: the state's icon and words, in the state's colour, and the line
    under it if `badge` has one."""
    painter.setFont(theme.font(10, bold=True))
    pill = QRectF(at.x(), at.y(), badge.width, BADGE_H - 8)
    color = QColor(theme.STATE_COLORS[p.state])
    strong = p.state in ("daemon_killed", "failed", "terminated")
    painter.setPen(QPen(color, 1.5))
    painter.setBrush(color if strong else t.node_fill)
    painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
    draw_state_icon(painter, QRectF(pill.left() + 3, pill.top() + 2, pill.height() - 4, pill.height() - 4),
                    p.state)
    painter.setPen(QColor("white") if strong else (color if not t.dark else t.text))
    painter.drawText(pill.adjusted(pill.height() + 2, 0, -6, 0),
                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, badge.text)
    if badge.detail:
        painter.setPen(color if not t.dark else t.text)
        painter.setFont(theme.font(9))
        painter.drawText(QRectF(at.x() + BADGE_H, pill.bottom(), badge.extent.width() - BADGE_H, DETAIL_H),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, badge.detail)
