"""A process drawn beside the scenario rather than as one of its nodes: main, and the manager's
server process. A box with a name and a note; during a run, a border in its state's colour and a
badge under it saying the state at the playhead. Main adds its steps inside (`MainItem`)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject

from simulator.fold import ProcessState, Snapshot

from .. import theme
from .node_items import BADGE_H, BADGE_OVERHANG, Badge, badge_layout, paint_state_badge
from .state_badges import state_text


class ProcessBox(QGraphicsObject):
    MIN_WIDTH = 200.0
    HEADER = 58.0  # the name and the note

    def __init__(self, name: str, note: str):
        super().__init__()
        self.name, self.note = name, note
        self.WIDTH = self.MIN_WIDTH
        self.snapshot: Snapshot | None = None
        self._look: object = None  # what is drawn of the run (see `set_run`)
        self.setZValue(1)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # as the nodes

    def process(self) -> ProcessState | None:
        """The state drawn; None: the editor's look (dashed, no badge)."""
        return self.snapshot.processes.get(self.name) if self.snapshot is not None else None

    def run_look(self, p: ProcessState) -> object:
        return p.state, state_text(p, self.snapshot)

    def set_run(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot
        p = self.process()
        look = self.run_look(p) if p is not None else None
        if look != self._look:  # repainted only when what it shows changed
            self._look = look
            self.update()

    def fit_width(self, *widths: float) -> None:
        """Wide enough for the note and `widths`, in the fonts of the moment (presentation
        mode's are larger); call between `prepareGeometryChange` and `update`."""
        note = QFontMetricsF(theme.font(9.5)).horizontalAdvance(self.note)
        self.WIDTH = max(self.MIN_WIDTH, 14 + note + 12, *widths)

    def height(self) -> float:
        return self.HEADER

    def body(self) -> QRectF:
        """The box (item coordinates), as a node's `body`; its badge hangs below it."""
        return QRectF(0, 0, self.WIDTH, self.height())

    def center(self) -> QPointF:
        return self.mapToScene(self.body().center())

    def boundingRect(self) -> QRectF:  # the badge may reach as far past the box as a process's
        return QRectF(-4, -4, self.WIDTH + BADGE_OVERHANG + 8, self.height() + BADGE_H + 8)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        p = self.process()
        border = QColor(theme.STATE_COLORS[p.state]) if p else t.node_border
        painter.setPen(QPen(border, 3.0 if p else 1.2, Qt.PenStyle.SolidLine if p else Qt.PenStyle.DashLine))
        painter.setBrush(t.node_fill)
        painter.drawRoundedRect(self.body(), 12, 12)
        painter.setPen(t.text)
        painter.setFont(theme.font(12.5, bold=True))
        painter.drawText(QRectF(14, 8, self.WIDTH - 14, 24), Qt.AlignmentFlag.AlignLeft, self.name)
        painter.setPen(t.subtext)
        painter.setFont(theme.font(9.5))
        painter.drawText(QRectF(14, 30, self.WIDTH - 14, 20), Qt.AlignmentFlag.AlignLeft, self.note)
        self.paint_inside(painter, t, p)
        if p is not None:  # the pill alone, in the gap between the box and the nodes below
            paint_state_badge(painter, t, p, self._badge_at(), self._badge(p))

    def badge_rect(self) -> QRectF | None:
        """The badge's pill (item coordinates); None in the editor's look."""
        p = self.process()
        return None if p is None else QRectF(self._badge_at(), self._badge(p).extent)

    def _badge_at(self) -> QPointF:
        return QPointF(8, self.height() + 6)

    def _badge(self, p: ProcessState) -> Badge:
        return badge_layout(p, self.snapshot, self.WIDTH + BADGE_OVERHANG)

    def paint_inside(self, painter: QPainter, t: theme.Theme, p: ProcessState | None) -> None:
        """What a kind of box draws below its note."""
