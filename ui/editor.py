"""The open document: its model, undo stack, file, and what is selected.

Views (canvas, inspector, steps editor) share one `Editor`: they read the model, push undo
commands to change it, and follow `signals` (model events) and `selection_changed`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from simulator import scenario_file
from simulator.model import ScenarioModel
from simulator.scenario import Document, Scenario

from .model_signals import ModelSignals


class Editor(QObject):
    selection_changed = Signal(list)  # the selected node ids
    document_replaced = Signal()  # New / Open: a different document
    path_changed = Signal()
    status = Signal(str)  # a one-line message for the status bar

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.model = ScenarioModel()
        self.signals = ModelSignals(self.model, self)
        self.undo_stack = QUndoStack(self)
        self.path: Path | None = None
        self.selection: list[str] = []
        self.read_only = ""  # why the scenario cannot be edited now (a run is live...), or ""

    # -- editing

    def push(self, command: QUndoCommand) -> None:
        if self.read_only:
            self.status.emit(self.read_only)
            return
        self.undo_stack.push(command)

    def set_selection(self, node_ids: list[str]) -> None:
        if node_ids != self.selection:
            self.selection = list(node_ids)
            self.selection_changed.emit(self.selection)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    # -- files

    def new(self) -> None:
        self._replace(Document(Scenario()), None)

    def open(self, path: str | Path) -> None:
        """Load `path`; raises `scenario_file.ScenarioError` (naming each bad field) on failure."""
        document = scenario_file.load(path)
        self._replace(document, Path(path))

    def open_document(self, document: Document, path: Path | None) -> None:
        self._replace(document, path)

    def save(self, path: str | Path | None = None) -> None:
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("no file name")
        scenario_file.save(self.model.document, target)
        self.undo_stack.setClean()
        if target != self.path:
            self.path = target
            self.path_changed.emit()

    def _replace(self, document: Document, path: Path | None) -> None:
        self.set_selection([])
        self.undo_stack.clear()
        self.model.replace(document)
        self.path = path
        self.path_changed.emit()
        self.document_replaced.emit()
