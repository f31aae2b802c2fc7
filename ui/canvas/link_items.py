"""A link: a process using a channel, drawn as a curve with an arrowhead where data flows to."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from simulator.scenario import Link

from .. import theme
from .node_items import NodeItem

ARROW = 11.0


def link_key(link: Link) -> tuple:
    return (link.process, link.channel, link.op, link.end)


class LinkItem(QGraphicsPathItem):
    def __init__(self, link: Link, process: NodeItem, channel: NodeItem):
        super().__init__()
        self.link, self.process, self.channel = link, process, channel
        process.links.append(self)
        channel.links.append(self)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        # Static while a run is shown: repainted from a pixmap when the tokens above it move.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.update_path()

    def detach(self) -> None:
        for node in (self.process, self.channel):
            if self in node.links:
                node.links.remove(self)

    @property
    def flows_to_channel(self) -> bool:
        return self.link.op in ("put", "send", "write", "use")

    def endpoints(self) -> tuple[QPointF, QPointF]:
        """(process end, channel end) in scene coordinates: the process's port for this
        direction, and the channel's side (or pipe end) facing it."""
        a = self.process.port_scene_pos("out" if self.flows_to_channel else "in")
        b = self.channel.anchor(self.process.center(), self.link.end)
        return a, b

    def update_path(self) -> None:
        a, b = self.endpoints()
        path = QPainterPath(a)
        dx = max(abs(b.x() - a.x()) * 0.5, 40.0)
        sa = 1 if self.flows_to_channel else -1
        sb = 1 if b.x() >= self.channel.center().x() else -1
        path.cubicTo(QPointF(a.x() + sa * dx, a.y()), QPointF(b.x() + sb * dx, b.y()), b)
        self.prepareGeometryChange()
        self.setPath(path)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-ARROW - 30, -ARROW - 14, ARROW + 30, ARROW + 14)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        color = t.selection if self.isSelected() else t.link
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        style = Qt.PenStyle.DashLine if self.link.op == "use" else Qt.PenStyle.SolidLine  # a lock carries no data
        painter.setPen(QPen(color, 2.4 if self.isSelected() else 1.8, style))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        path = self.path()
        painter.drawPath(path)
        if self.link.op == "use":
            self._paint_label(painter, t, color, path)
            return
        # arrowhead where the data goes
        at = 1.0 if self.flows_to_channel else 0.0
        tip = path.pointAtPercent(at)
        back = path.pointAtPercent(0.97 if at else 0.03)
        angle = math.atan2(tip.y() - back.y(), tip.x() - back.x())
        head = QPolygonF([tip] + [QPointF(tip.x() - ARROW * math.cos(angle + s * 0.45),
                                          tip.y() - ARROW * math.sin(angle + s * 0.45)) for s in (-1, 1)])
        painter.setBrush(color)
        painter.drawPolygon(head)
        self._paint_label(painter, t, color, path)

    def _paint_label(self, painter: QPainter, t, color, path) -> None:
        """The operation, in a pill at the middle."""
        mid = path.pointAtPercent(0.5)
        painter.setFont(theme.font(9, bold=True))
        label = self.link.op
        width = painter.fontMetrics().horizontalAdvance(label) + 14
        pill = QRectF(mid.x() - width / 2, mid.y() - 10, width, 20)
        painter.setPen(QPen(color, 1.2))
        painter.setBrush(t.background)
        painter.drawRoundedRect(pill, 10, 10)
        painter.setPen(color)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
