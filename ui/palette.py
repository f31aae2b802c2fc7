"""The palette of node kinds: drag one onto the canvas (or double-click it) to add it."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from . import theme
from .canvas.view import PALETTE_MIME

KINDS = [
    ("producer", "Producer", "Puts (or sends) items"),
    ("consumer", "Consumer", "Gets (or receives) items in a loop"),
    ("worker", "Worker", "Gets from one channel, puts results to another"),
    ("Queue", "Queue", "multiprocessing.Queue(maxsize)"),
    ("JoinableQueue", "JoinableQueue", "A Queue with task_done() and join()"),
    ("SimpleQueue", "SimpleQueue", "An unbounded queue without timeouts"),
    ("Pipe", "Pipe", "Pipe(): two ends, both ways"),
    ("Pipe (one-way)", "Pipe (one-way)", "Pipe(duplex=False): end 2 sends, end 1 receives"),
    ("Pool", "Pool", "Pool(size): workers that run tasks"),
    ("Manager.Queue", "Manager().Queue", "A queue held by a manager process: it can go to a Pool"),
    ("Manager.JoinableQueue", "Manager().JoinableQueue", "A JoinableQueue held by a manager process"),
    ("dict", "Manager().dict", "A dict shared through a manager process"),
    ("list", "Manager().list", "A list shared through a manager process"),
    ("Lock", "Lock", "A lock: one process at a time inside 'with lock:'"),
    ("Manager.Lock", "Manager().Lock", "A lock held by a manager process"),
]


class Palette(QListWidget):
    activated_kind = Signal(str)  # double-click: add at the centre of the canvas

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setIconSize(QSize(32, 32))
        self.setSpacing(2)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for kind, label, tip in KINDS:
            item = QListWidgetItem(theme.icon(kind), label)
            item.setData(Qt.ItemDataRole.UserRole, kind)
            item.setToolTip(tip)
            self.addItem(item)
        self.itemDoubleClicked.connect(lambda item: self.activated_kind.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.setMinimumWidth(self.sizeHintForColumn(0) + 24)

    def mimeData(self, items) -> QMimeData:
        mime = QMimeData()
        mime.setData(PALETTE_MIME, items[0].data(Qt.ItemDataRole.UserRole).encode())
        return mime

    def startDrag(self, actions) -> None:
        item = self.currentItem()
        if item is None:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData([item]))
        drag.setPixmap(item.icon().pixmap(40, 40))
        drag.exec(Qt.DropAction.CopyAction)
