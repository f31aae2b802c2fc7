"""The canvas view: zoom (wheel, Ctrl +/-, fit), pan (middle button or Space+drag), rubber-band
selection, and dropping node kinds dragged from the palette."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsView, QLineEdit

from .. import theme
from ..commands import RenameNode
from .node_items import NodeItem
from .scene import CanvasScene

PALETTE_MIME = "application/x-ipcsim-kind"
MIN_ZOOM, MAX_ZOOM = 0.25, 4.0


class CanvasView(QGraphicsView):
    def __init__(self, scene: CanvasScene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)  # the grid, drawn once
        self.setAcceptDrops(True)
        self._pan_from: QPointF | None = None
        self._space = False
        self.auto_fit = True  # keep the scenario fitted as the view resizes, until the user zooms
        scene.run_layer.deadlock_area_changed.connect(self._run_extent_changed)

    @property
    def canvas(self) -> CanvasScene:
        return self.scene()

    # -- zoom

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        factor = max(MIN_ZOOM / self.zoom(), min(MAX_ZOOM / self.zoom(), factor))
        self.scale(factor, factor)
        self.auto_fit = False

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def reset_zoom(self) -> None:
        self.resetTransform()

    def fit_all(self) -> None:
        self.auto_fit = True
        rect = self.canvas.content_rect()
        if rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:  # a small scenario should not be blown up
            self.resetTransform()
            self.scale(1.5, 1.5)
            self.centerOn(rect.center())

    def _run_extent_changed(self) -> None:
        if self.auto_fit:  # e.g. a deadlock's words above the scenario: in view at once
            self.fit_all()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self.fit_all()

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            return super().wheelEvent(event)  # scroll
        self.zoom_by(1.0015 ** event.angleDelta().y())

    # -- pan

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        elif event.key() == Qt.Key.Key_Escape:
            self.canvas.cancel_gesture()
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        super().mouseReleaseEvent(event)

    # -- renaming in place

    def mouseDoubleClickEvent(self, event) -> None:
        item = self.canvas.node_item_at(self.mapToScene(event.position().toPoint()))
        if item is not None and item.name_rect().contains(item.mapFromScene(self.mapToScene(event.position().toPoint()))):
            self.start_rename(item.node_id)
            return
        super().mouseDoubleClickEvent(event)

    def start_rename(self, node_id: str) -> None:
        """Edit a node's name where it is drawn; Enter renames (undoably), Escape cancels."""
        item = self.canvas.nodes.get(node_id)
        if item is None or self.canvas.editor.read_only:
            return
        InlineRename(self, item)

    # -- dropping from the palette

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(PALETTE_MIME) and not self.canvas.editor.read_only:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(PALETTE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        if event.mimeData().hasFormat(PALETTE_MIME):
            kind = bytes(event.mimeData().data(PALETTE_MIME)).decode()
            self.canvas.add_from_palette(kind, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)


class InlineRename(QLineEdit):
    """A line edit laid over a node's name."""

    def __init__(self, view: CanvasView, item: NodeItem):
        super().__init__(item.node_id, view.viewport())
        self.view, self.item, self.done = view, item, False
        rect = view.mapFromScene(item.mapToScene(item.name_rect())).boundingRect()
        self.setGeometry(rect.adjusted(-4, -4, 4, 4))
        self.setFont(theme.font(12.5 * view.zoom(), bold=True))
        self.selectAll()
        self.show()
        self.setFocus()
        self.returnPressed.connect(self.commit)
        self.editingFinished.connect(self.commit)

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        editor = self.view.canvas.editor
        old, new = self.item.node_id, self.text().strip()
        if new and new != old:
            problem = editor.model.rename_problem(old, new)
            if problem:
                editor.status.emit(f"Cannot rename {old}: {problem}")
            else:
                editor.push(RenameNode(editor.model, old, new))
        self.deleteLater()
        self.view.setFocus()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.done = True
            self.deleteLater()
            self.view.setFocus()
            return
        super().keyPressEvent(event)
