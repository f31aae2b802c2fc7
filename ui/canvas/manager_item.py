"""The manager's server process, next to main, when the scenario has a `Manager()`.

`Manager()` starts a process of its own; its queues, dicts, lists and lock live there, and every
operation on them is a request to it. The lessons say it "appears next to main": this is where.
"""

from __future__ import annotations

from simulator.fold import ProcessState
from simulator.scenario import Scenario

from .process_box import ProcessBox


class ManagerItem(ProcessBox):
    def __init__(self):
        super().__init__("manager", "Manager()'s server process")
        self.hide()

    def set_scenario(self, scenario: Scenario) -> None:
        """Shown only when a node lives in a manager; named as the run will name it."""
        self.prepareGeometryChange()
        self.name = scenario.manager_name()
        self.fit_width()
        self.setVisible(scenario.uses_manager())
        self.update()

    def process(self) -> ProcessState | None:
        p = super().process()
        return p if p is not None and p.state != "not_started" else None  # main starts it
