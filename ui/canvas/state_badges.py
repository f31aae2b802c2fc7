"""How a process's state at the playhead is told on the canvas: a colour, a drawn icon and
words, always all three (never colour alone)."""

from __future__ import annotations

import math
import signal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

from simulator.fold import ProcessState, Snapshot, crashed, signal_meaning, signal_name

from .. import theme

_CALLS = {"put": "{}.put()", "get": "{}.get()", "send": "{}.send()", "recv": "{}.recv()",
          "queue_join": "{}.join()", "join": "join({})"}


def state_text(p: ProcessState, snap: Snapshot) -> str:
    """A short sentence: "blocked in q.put()", "finished · exit 0", "killed at main's exit"...;
    a failure says its cause: "failed · RuntimeError" (its message is `state_detail`), "failed ·
    exited with code 3", "crashed · SIGSEGV"."""
    s = p.state
    if s == "blocked":
        return f"blocked in {_CALLS.get(p.op, '{}').format(p.waits_on)}"
    if s == "working":
        held = snap.messages.get(p.holding) if p.holding else None
        return f"working on {held.preview}" if held else "working"
    if s == "finished":
        return "finished · exit 0"
    if s == "failed":
        if crashed(p.exitcode):
            return f"crashed · {signal_name(p.exitcode)}"
        return f"failed · {p.error.split(':')[0]}" if p.error else f"failed · exited with code {p.exitcode}"
    if s == "terminated":
        known = p.exitcode in (None, -signal.SIGTERM, -signal.SIGKILL)  # terminate(), kill()
        return f"terminated · exit {p.exitcode}" + ("" if known else f" · {signal_name(p.exitcode)}")
    if s == "daemon_killed":
        return f"killed at main's exit · {p.exitcode}"
    if s == "stopped":
        return "stopped with the run"
    return {"not_started": "not started", "starting": "starting…"}.get(s, s)


def state_detail(p: ProcessState) -> str | None:
    """The rest of a failure's cause, told under its badge: the exception's message ("crash after
    2 items") or what the crash signal means ("segmentation fault"); None for anything else."""
    if p.state != "failed":
        return None
    if crashed(p.exitcode):
        return signal_meaning(p.exitcode)
    message = p.error.partition(": ")[2].strip() if p.error else ""
    return message.splitlines()[0] if message else None


def draw_state_icon(painter: QPainter, rect: QRectF, state: str) -> None:
    """A small white glyph on a disc of the state's colour."""
    color = QColor(theme.STATE_COLORS.get(state, "#888888"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(rect)
    c, r = rect.center(), rect.width() / 2
    white = QPen(QColor("white"), max(1.6, r * 0.28), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                 Qt.PenJoinStyle.RoundJoin)
    painter.setPen(white)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    k = r * 0.45
    if state == "running":
        painter.setBrush(QColor("white"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(QPolygonF([QPointF(c.x() - k * 0.7, c.y() - k), QPointF(c.x() - k * 0.7, c.y() + k),
                                       QPointF(c.x() + k, c.y())]))
    elif state == "working":
        painter.drawEllipse(c, k * 0.55, k * 0.55)
        for i in range(6):
            a = i * math.pi / 3
            painter.drawLine(QPointF(c.x() + math.cos(a) * k * 0.8, c.y() + math.sin(a) * k * 0.8),
                             QPointF(c.x() + math.cos(a) * k * 1.2, c.y() + math.sin(a) * k * 1.2))
    elif state == "sleeping":
        path = QPainterPath(QPointF(c.x() - k, c.y() - k))
        path.lineTo(c.x() + k, c.y() - k)
        path.lineTo(c.x() - k, c.y() + k)
        path.lineTo(c.x() + k, c.y() + k)
        painter.drawPath(path)
    elif state == "blocked":  # a stop sign: an octagon with a bar
        octagon = QPolygonF([QPointF(c.x() + k * 1.1 * math.cos(math.pi / 8 + i * math.pi / 4),
                                     c.y() + k * 1.1 * math.sin(math.pi / 8 + i * math.pi / 4)) for i in range(8)])
        painter.drawPolygon(octagon)
        painter.drawLine(QPointF(c.x() - k * 0.5, c.y()), QPointF(c.x() + k * 0.5, c.y()))
    elif state == "finished":
        painter.drawPolyline(QPolygonF([QPointF(c.x() - k, c.y()), QPointF(c.x() - k * 0.2, c.y() + k * 0.8),
                                        QPointF(c.x() + k, c.y() - k * 0.7)]))
    elif state in ("terminated", "daemon_killed", "stopped"):
        painter.drawLine(QPointF(c.x() - k, c.y() - k), QPointF(c.x() + k, c.y() + k))
        painter.drawLine(QPointF(c.x() - k, c.y() + k), QPointF(c.x() + k, c.y() - k))
    elif state == "failed":
        painter.drawLine(QPointF(c.x(), c.y() - k), QPointF(c.x(), c.y() + k * 0.3))
        painter.drawPoint(QPointF(c.x(), c.y() + k * 0.95))
    else:  # not started / starting: a hollow ring
        painter.drawEllipse(c, k * 0.8, k * 0.8)
