"""The one Qt adapter over the editing model: each model event becomes a Qt signal."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from simulator.model import ScenarioModel


class ModelSignals(QObject):
    """Re-emits `ScenarioModel` events (same names, payload values in order) as signals."""

    reset = Signal()
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str, list)
    node_renamed = Signal(str, str)
    node_moved = Signal(str)
    link_added = Signal(object)
    link_removed = Signal(object)
    steps_changed = Signal()
    scenario_changed = Signal(list)

    def __init__(self, model: ScenarioModel, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        model.subscribe(self._forward)

    def _forward(self, event: str, payload: dict) -> None:
        getattr(self, event).emit(*payload.values())
