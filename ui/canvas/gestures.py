"""Mouse gestures on the canvas, one small object each: start on press, follow the mouse,
end on release (or cancel on Escape). Each ends, if at all, in one undo command."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsLineItem

from simulator.scenario import Link

from .. import theme
from ..commands import AddLink, MoveNodes
from .node_items import PipeItem, ProcessItem


class MoveGesture:
    """Dragging selected nodes: Qt moves the items; on release, one MoveNodes command."""

    def __init__(self, scene):
        self.scene = scene
        self.start = {item.node_id: (item.pos().x(), item.pos().y()) for item in scene.selected_node_items()}

    def move(self, pos: QPointF) -> None:
        pass

    def finish(self, pos: QPointF) -> None:
        moves = {}
        for item in self.scene.selected_node_items():
            old = self.start.get(item.node_id)
            new = (item.pos().x(), item.pos().y())
            if old is not None and old != new:
                moves[item.node_id] = (old, new)
        if moves:
            self.scene.editor.push(MoveNodes(self.scene.editor.model, moves))

    def cancel(self) -> None:
        for item in self.scene.selected_node_items():
            if item.node_id in self.start:
                item.setPos(*self.start[item.node_id])


class ConnectGesture:
    """Dragging from a process's port to a queue or a pipe end adds a link: from the input port
    a get (recv), from the output port a put (send). An invalid link is refused with its reason."""

    def __init__(self, scene, process: ProcessItem, port: str, pos: QPointF):
        self.scene, self.process, self.port = scene, process, port
        self.line = QGraphicsLineItem(QLineF(process.port_scene_pos(port), pos))
        self.line.setPen(QPen(theme.current().selection, 2, Qt.PenStyle.DashLine))
        self.line.setZValue(10)
        scene.addItem(self.line)

    def move(self, pos: QPointF) -> None:
        self.line.setLine(QLineF(self.process.port_scene_pos(self.port), pos))

    def finish(self, pos: QPointF) -> None:
        self.cancel()
        target = self.scene.node_item_at(pos)
        if target is None or target is self.process:
            return
        if isinstance(target, ProcessItem):
            self.scene.editor.status.emit("Connect a process to a queue, a pipe, a dict, a list or a lock, "
                                          "not to another process.")
            return
        end = target.end_at(pos) if isinstance(target, PipeItem) else None
        kind = target.node.kind
        if kind == "lock":
            op = "use"
        elif isinstance(target, PipeItem):
            op = "recv" if self.port == "in" else "send"
        elif kind in ("dict", "list"):
            op = "read" if self.port == "in" else "write"
        else:
            op = "get" if self.port == "in" else "put"
        link = Link(self.process.node_id, target.node_id, op, end)
        problem = self.scene.editor.model.link_problem(link)
        if problem:
            self.scene.editor.status.emit(f"Cannot connect: {problem}.")
            return
        self.scene.editor.push(AddLink(self.scene.editor.model, link))

    def cancel(self) -> None:
        if self.line.scene() is not None:
            self.scene.removeItem(self.line)
