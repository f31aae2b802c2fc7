"""The canvas scene: one item per model node and link, kept in step with the model's signals.

The scene reads the model and turns gestures into undo commands; it never edits the model
directly.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsScene

from simulator.model import new_node
from simulator.scenario import Link

from .. import theme
from ..commands import AddNode
from ..editor import Editor
from .gestures import ConnectGesture, MoveGesture
from .link_items import LinkItem, link_key
from .manager_item import ManagerItem
from .node_items import BADGE_OVERHANG, GRID, NodeItem, ProcessItem, snap
from .object_items import item_for
from .run_layer import MainItem, RunLayer


class CanvasScene(QGraphicsScene):
    def __init__(self, editor: Editor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.nodes: dict[str, NodeItem] = {}
        self.links: dict[tuple, LinkItem] = {}
        self.gesture = None
        self.main_item = MainItem()
        self.manager_item = ManagerItem()
        self.run_layer = RunLayer(self)
        self.addItem(self.main_item)
        self.addItem(self.manager_item)
        self.addItem(self.run_layer)
        self._shown: tuple | None = None  # which snapshot the nodes show
        s = editor.signals
        s.reset.connect(self.rebuild)
        s.node_added.connect(self._node_added)
        s.node_removed.connect(self._node_removed)
        s.node_changed.connect(self._node_changed)
        s.node_renamed.connect(self._node_renamed)
        s.node_moved.connect(self._node_moved)
        s.link_added.connect(self._link_added)
        s.link_removed.connect(self._link_removed)
        s.steps_changed.connect(self._place_main)  # (main's height follows its steps)
        for signal in (s.node_added, s.node_removed, s.node_changed, s.node_renamed):
            # a node that lives in a manager brings it, one renamed "manager" renames it
            signal.connect(lambda *_: self._place_manager())
        editor.selection_changed.connect(self._select)
        self.selectionChanged.connect(self._selection_from_items)
        self.rebuild()

    # -- following the model

    def rebuild(self) -> None:
        self.clearSelection()
        for item in list(self.links.values()) + list(self.nodes.values()):
            self.removeItem(item)
        self.nodes.clear()
        self.links.clear()
        self._shown = None  # the new items show no run yet: the next `show_run` draws it on them
        for node in self.editor.model.scenario.nodes:
            self._node_added(node.id)
        for link in self.editor.model.scenario.links:
            self._link_added(link)
        self._place_main()
        self.setSceneRect(self.itemsBoundingRect().adjusted(-400, -300, 400, 300))

    def content_rect(self) -> QRectF:
        """What a view should fit, or a picture show: the nodes, their run badges, main, the
        manager if there is one, and a deadlock's frame and words."""
        rect = self.main_item.sceneBoundingRect()
        if self.manager_item.isVisible():
            rect = rect.united(self.manager_item.sceneBoundingRect())
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect.united(self.run_layer.deadlock_area)

    def _place_main(self) -> None:
        """Main sits above the top-left corner of the scenario: it starts the others; the
        manager, which main's `Manager()` starts, beside it."""
        self.main_item.set_scenario(self.editor.model.scenario)
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.footprint())
        main = self.main_item
        main.setPos(snap(rect.left()), snap(rect.top() - main.height() - 60))
        self._place_manager()

    def _place_manager(self) -> None:
        main = self.main_item
        self.manager_item.set_scenario(self.editor.model.scenario)
        self.manager_item.setPos(main.pos() + QPointF(snap(main.WIDTH + BADGE_OVERHANG + 20), 0))

    def _node_added(self, node_id: str) -> None:
        item = item_for(self.editor.model.node(node_id))
        self.addItem(item)
        item.setPos(self.item_pos(node_id))
        self.nodes[node_id] = item

    def _node_removed(self, node_id: str) -> None:
        item = self.nodes.pop(node_id)
        self.removeItem(item)

    def _node_changed(self, node_id: str, fields: list) -> None:
        self.nodes[node_id].set_node(self.editor.model.node(node_id))

    def _node_renamed(self, old: str, new: str) -> None:
        item = self.nodes.pop(old)
        self.nodes[new] = item
        item.set_node(self.editor.model.node(new))
        for key in [k for k in self.links if old in k[:2]]:
            link_item = self.links.pop(key)
            link = link_item.link
            link_item.link = Link(link_item.process.node_id, link_item.channel.node_id, link.op, link.end)
            self.links[link_key(link_item.link)] = link_item
        if old in self.editor.selection:
            self.editor.set_selection([new if i == old else i for i in self.editor.selection])

    def _node_moved(self, node_id: str) -> None:
        item, pos = self.nodes[node_id], self.item_pos(node_id)
        if item.pos() != pos:
            item.setPos(pos)

    def item_pos(self, node_id: str) -> QPointF:
        """Where a node's item goes: its position in the layout, spread apart in presentation
        mode as much as the text grows there, so that the wider nodes keep their room (nothing
        is edited meanwhile: the window makes the scenario read-only)."""
        x, y = self.editor.model.positions.get(node_id, (0.0, 0.0))
        return QPointF(x * theme.scale(), y * theme.scale())

    def _link_added(self, link: Link) -> None:
        item = LinkItem(link, self.nodes[link.process], self.nodes[link.channel])
        self.addItem(item)
        self.links[link_key(link)] = item

    def _link_removed(self, link: Link) -> None:
        item = self.links.pop(link_key(link))
        item.detach()
        self.removeItem(item)

    # -- showing a run

    def show_run(self, timeline, playhead: int, snapshot) -> None:
        """Draw the run's state at `playhead` (`snapshot` is `timeline.state_at(playhead)`)."""
        key = (snapshot.events, len(timeline))  # the state after n events of this timeline
        if key != self._shown:
            self._shown = key
            for item in self.nodes.values():
                item.set_run(snapshot)
            self.main_item.set_run(snapshot)
            self.manager_item.set_run(snapshot)
        self.run_layer.show(timeline, playhead, snapshot)

    def clear_run(self) -> None:
        self._shown = None
        for item in self.nodes.values():
            item.set_run(None)
        self.main_item.set_run(None)
        self.manager_item.set_run(None)
        self.run_layer.show(None, 0, None)

    # -- selection, both ways

    def selected_node_items(self) -> list[NodeItem]:
        return [i for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_links(self) -> list[Link]:
        return [i.link for i in self.selectedItems() if isinstance(i, LinkItem)]

    def _selection_from_items(self) -> None:
        self.editor.set_selection([i.node_id for i in self.selected_node_items()])

    def _select(self, node_ids: list) -> None:
        current = {i.node_id for i in self.selected_node_items()}
        if current == set(node_ids):
            return
        self.blockSignals(True)
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)
        self.blockSignals(False)

    # -- adding from the palette

    def add_from_palette(self, kind: str, pos: QPointF) -> None:
        prefix = {"producer": "P", "consumer": "C", "worker": "W", "Pipe": "pipe", "Pipe (one-way)": "pipe",
                  "Pool": "pool", "dict": "d", "list": "items", "Lock": "lock",
                  "Manager.Lock": "lock"}.get(kind, "q")
        model = self.editor.model
        n = 1
        while model.has_node(f"{prefix}{n}"):
            n += 1
        node = new_node("Pipe" if kind.startswith("Pipe") else kind, f"{prefix}{n}",
                        duplex=kind != "Pipe (one-way)")
        item_size = item_for(node).body()
        position = (snap(pos.x() - item_size.width() / 2), snap(pos.y() - item_size.height() / 2))
        self.editor.push(AddNode(model, node, position))
        self.editor.set_selection([node.id])

    # -- gestures

    def node_item_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.editor.read_only:
            item = self.node_item_at(event.scenePos())
            port = item.port_at(event.scenePos()) if isinstance(item, ProcessItem) else None
            if port is not None:
                self.gesture = ConnectGesture(self, item, port, event.scenePos())
                event.accept()
                return
            super().mousePressEvent(event)
            if item is not None and item.isSelected():
                self.gesture = MoveGesture(self)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if isinstance(self.gesture, ConnectGesture):
            self.gesture.move(event.scenePos())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        gesture, self.gesture = self.gesture, None
        if not isinstance(gesture, ConnectGesture):
            super().mouseReleaseEvent(event)
        if gesture is not None:
            gesture.finish(event.scenePos())

    def cancel_gesture(self) -> None:
        if self.gesture is not None:
            self.gesture.cancel()
            self.gesture = None

    # -- background

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme.current()
        painter.fillRect(rect, t.background)
        painter.setPen(t.grid)
        step = GRID * 2
        xs = range(int(rect.left() // step) * int(step), int(rect.right()) + 1, int(step))
        ys = range(int(rect.top() // step) * int(step), int(rect.bottom()) + 1, int(step))
        painter.drawPoints([QPointF(x, y) for y in ys for x in xs])
