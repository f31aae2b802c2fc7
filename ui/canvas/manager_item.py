"""The manager's server process, next to main, when the scenario has a `Manager()`.

`Manager()` starts a process of its own; its queues, dicts, lists and lock live there, and every
operation on them is a request to it. The lessons say it "appears next to main": this is where.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from simulator.fold import Snapshot
from simulator.scenario import Scenario

from .. import theme
from .node_items import BADGE_H, BADGE_OVERHANG, badge_layout, paint_state_badge
from .state_badges import state_text

NOTE = "Manager()'s server process"


class ManagerItem(QGraphicsObject):
    HEIGHT = 58.0

    def __init__(self):
        super().__init__()
        self.name = "manager"
        self.WIDTH = 200.0
        self.snapshot: Snapshot | None = None
        self._look: tuple | None = None  # what is drawn of the run (as MainItem's)
        self.setZValue(1)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.hide()

    def set_scenario(self, scenario: Scenario) -> None:
        """Shown only when a node lives in a manager; named as the run will name it."""
        self.prepareGeometryChange()
        self.name = scenario.manager_name()
        self.WIDTH = max(200.0, 14 + QFontMetricsF(theme.font(9.5)).horizontalAdvance(NOTE) + 14)
        self.setVisible(scenario.uses_manager())
        self.update()

    def set_run(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        p = snapshot.processes.get(self.name) if snapshot is not None else None
        look = (p.state, state_text(p, snapshot)) if p is not None else None
        if look != self._look:
            self._look = look
            self.update()

    def body(self) -> QRectF:
        return QRectF(0, 0, self.WIDTH, self.HEIGHT)

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, self.WIDTH + BADGE_OVERHANG + 8, self.HEIGHT + BADGE_H + 8)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        p = self.snapshot.processes.get(self.name) if self.snapshot else None
        started = p is not None and p.state != "not_started"
        border = QColor(theme.STATE_COLORS[p.state]) if started else t.node_border
        painter.setPen(QPen(border, 3.0 if started else 1.2, Qt.PenStyle.SolidLine if started else Qt.PenStyle.DashLine))
        painter.setBrush(t.node_fill)
        painter.drawRoundedRect(self.body(), 12, 12)
        painter.setPen(t.text)
        painter.setFont(theme.font(12.5, bold=True))
        painter.drawText(QRectF(14, 8, self.WIDTH - 14, 24), Qt.AlignmentFlag.AlignLeft, self.name)
        painter.setPen(t.subtext)
        painter.setFont(theme.font(9.5))
        painter.drawText(QRectF(14, 30, self.WIDTH - 14, 20), Qt.AlignmentFlag.AlignLeft, NOTE)
        if started:
            paint_state_badge(painter, t, p, QPointF(8, self.HEIGHT + 6),
                              badge_layout(p, self.snapshot, self.WIDTH + BADGE_OVERHANG))
