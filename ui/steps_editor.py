"""The main process's steps as an ordered list: add, remove, reorder, and edit the selected one.

Steps read as code (``start(P1)``, ``q.join()``). With no steps of its own, the scenario runs the
default ones (start all, join the non-daemon ones, end): they are shown greyed, and editing them
starts from a copy. Every change is one `SetSteps` undo command named after what it did.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from simulator.scenario import JOINABLE, PROCESS_KINDS, Step

from .commands import SetSteps
from .editor import Editor
from .inspector_fields import dim, monospace_font, seconds_spin

OPS = {  # op -> what it does, as the Add menu says it
    "start": "start(P): start a process",
    "join": "join(P): wait until a process ends",
    "sleep": "sleep(s): main pauses",
    "terminate": "terminate(P): stop a process at once",
    "sentinels": "q.put(None): put sentinels on a queue",
    "queue_join": "q.join(): wait until every item is marked done",
    "end": "end: main returns; daemon processes are killed",
}
NEEDS = {"start": "process", "join": "process", "terminate": "process",
         "sentinels": "queue", "queue_join": "JoinableQueue"}
DEFAULT_NOTE = "default: start all, join the non-daemon ones, end"


class StepsEditor(QWidget):
    def __init__(self, editor: Editor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor, self.model = editor, editor.model
        self._select_after: int | None = None  # the row to select once the model has changed

        self.list = QListWidget()
        self.list.setFont(monospace_font())
        self.list.setMinimumHeight(self.list.fontMetrics().lineSpacing() * 8)
        self.list.currentRowChanged.connect(self._current_changed)
        self.note = dim(QLabel(DEFAULT_NOTE, wordWrap=True))
        self.explicit_button = QPushButton("Make these steps explicit")
        self.explicit_button.setToolTip("Copy the default steps into the scenario, to change them.")
        self.explicit_button.clicked.connect(self.make_explicit)

        self.add_menu = QMenu(self)
        self.add_menu.setToolTipsVisible(True)
        for op, text in OPS.items():
            action = self.add_menu.addAction(text)
            action.setData(op)
            action.triggered.connect(lambda _=False, op=op: self.add_step(op))
        self.add_menu.aboutToShow.connect(self._update_add_menu)
        self.add_button = QToolButton(text="Add ▾", toolTip="Add a step after the selected one "
                                                                   "(to a copy of the default steps if there are none)")
        self.add_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.add_button.setMenu(self.add_menu)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.remove_button = self._button("Remove", "Remove the selected step", self.remove_step)
        self.up_button = self._button("↑", "Move the selected step up", lambda: self.move_step(-1))
        self.down_button = self._button("↓", "Move the selected step down", lambda: self.move_step(1))
        self.default_button = self._button("Use defaults", f"Remove every step: main runs the {DEFAULT_NOTE}",
                                           self.use_defaults)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.default_button)

        self.detail = QWidget()
        self.detail_form = QFormLayout(self.detail)
        self.detail_form.setContentsMargins(0, 0, 0, 0)
        self.detail_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.what = dim(QLabel(wordWrap=True))
        self.target = QComboBox(toolTip="The process or queue this step acts on.")
        self.target.activated.connect(lambda: self._change(target=self.target.currentData()))
        self.seconds = seconds_spin()
        self.seconds.setToolTip("How long main sleeps.")
        self.seconds.valueChanged.connect(lambda v: self._change(seconds=v))
        self.timeout_check = QCheckBox("timeout")
        self.timeout_check.setToolTip("join(timeout=…): stop waiting after this long, even if the process still runs.")
        self.timeout_check.clicked.connect(self._timeout_changed)
        self.timeout = seconds_spin()
        self.timeout.valueChanged.connect(self._timeout_changed)
        self.timeout_row = QHBoxLayout()
        self.timeout_row.addWidget(self.timeout_check)
        self.timeout_row.addWidget(self.timeout, 1)
        self.count = QSpinBox(minimum=1, maximum=100, keyboardTracking=False,
                              toolTip="How many None to put: one per reader that stops at a sentinel.")
        self.count.valueChanged.connect(lambda v: self._change(count=v))
        self.detail_form.addRow(self.what)
        self.detail_form.addRow("Target", self.target)
        self.detail_form.addRow("Seconds", self.seconds)
        self.detail_form.addRow("Wait", self.timeout_row)
        self.detail_form.addRow("Count", self.count)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addWidget(self.note)
        layout.addWidget(self.explicit_button)
        layout.addLayout(buttons)
        layout.addWidget(self.detail)

        signals = editor.signals
        for signal in (signals.reset, signals.steps_changed, signals.node_added, signals.node_removed,
                       signals.node_renamed, signals.node_changed):
            signal.connect(self.rebuild)
        self.set_read_only(editor.read_only)
        self.rebuild()

    @staticmethod
    def _button(text: str, tip: str, slot) -> QToolButton:
        button = QToolButton(text=text, toolTip=tip)
        button.clicked.connect(slot)
        return button

    def set_read_only(self, read_only: bool) -> None:
        self.setEnabled(not read_only)

    # -- reading

    @property
    def explicit(self) -> bool:
        return bool(self.model.scenario.steps)

    def steps(self) -> list[Step]:
        """The steps main runs: the scenario's own, or the defaults."""
        return self.model.scenario.effective_steps()

    def targets(self, op: str) -> list[str]:
        """The nodes a step `op` can act on."""
        needs = NEEDS.get(op)
        nodes = self.model.scenario.nodes
        if needs == "process":
            return [n.id for n in nodes if n.kind in PROCESS_KINDS]
        if needs == "queue":
            return [n.id for n in nodes if n.kind == "queue"]
        if needs == "JoinableQueue":
            return [n.id for n in nodes if n.kind == "queue" and n.queue_type in JOINABLE]
        return []

    def current_step(self) -> Step | None:
        row = self.list.currentRow()
        return self.model.scenario.steps[row] if self.explicit and row >= 0 else None

    # -- showing

    def rebuild(self) -> None:
        explicit = self.explicit
        row = self._select_after if self._select_after is not None else self.list.currentRow()
        self._select_after = None
        with QSignalBlocker(self.list):
            self.list.clear()
            for step in self.steps():
                item = QListWidgetItem(step.label())
                if not explicit:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)  # greyed: not the scenario's own
                self.list.addItem(item)
            if explicit and row >= 0:
                self.list.setCurrentRow(min(row, self.list.count() - 1))
        self.note.setVisible(not explicit)
        self.explicit_button.setVisible(not explicit)
        self._current_changed()

    def _current_changed(self) -> None:
        row, n, explicit = self.list.currentRow(), self.list.count(), self.explicit
        self.remove_button.setEnabled(explicit and row >= 0)
        self.up_button.setEnabled(explicit and row > 0)
        self.down_button.setEnabled(explicit and 0 <= row < n - 1)
        self.default_button.setEnabled(explicit)
        step = self.current_step()
        self.detail.setVisible(step is not None)
        if step is None:
            return
        self.what.setText(OPS[step.op])
        self.detail_form.setRowVisible(self.target, step.op in NEEDS)
        self.detail_form.setRowVisible(self.seconds, step.op == "sleep")
        self.detail_form.setRowVisible(self.timeout_row, step.op == "join")
        self.detail_form.setRowVisible(self.count, step.op == "sentinels")
        with QSignalBlocker(self.target), QSignalBlocker(self.seconds), QSignalBlocker(self.count), \
                QSignalBlocker(self.timeout), QSignalBlocker(self.timeout_check):
            self.target.clear()
            for node_id in self.targets(step.op):
                self.target.addItem(node_id, node_id)
            if step.target is not None and self.target.findData(step.target) < 0:
                self.target.addItem(f"{step.target} (missing)", step.target)
            self.target.setCurrentIndex(self.target.findData(step.target))
            self.seconds.setValue(step.seconds or 0.0)
            self.timeout_check.setChecked(step.seconds is not None)
            self.timeout.setValue(step.seconds if step.seconds is not None else 1.0)
            self.timeout.setEnabled(step.seconds is not None)
            self.count.setValue(step.count)

    def _update_add_menu(self) -> None:
        for action in self.add_menu.actions():
            op = action.data()
            missing = op in NEEDS and not self.targets(op)
            action.setEnabled(not missing)
            action.setToolTip(f"There is no {NEEDS[op]} in the scenario." if missing else "")

    # -- changing

    def _push(self, steps: list[Step], text: str, select: int | None = None) -> None:
        self._select_after = select
        self.editor.push(SetSteps(self.model, steps, text))
        self._select_after = None

    def make_explicit(self) -> None:
        self._push(self.steps(), "Make main's steps explicit")

    def use_defaults(self) -> None:
        self._push([], "Use the default steps")

    def add_step(self, op: str) -> None:
        """Add an `op` step after the selected one (or before a final end), aimed at a likely target."""
        if op in NEEDS and not self.targets(op):
            return
        steps = self.steps()
        row = self.list.currentRow() if self.explicit else -1
        if row >= 0:
            index = row + 1
        else:
            index = len(steps) - 1 if steps and steps[-1].op == "end" and op != "end" else len(steps)
        step = self._new_step(op, steps)
        self._push(steps[:index] + [step] + steps[index:], f"Add step {step.label()}", index)

    def _new_step(self, op: str, steps: list[Step]) -> Step:
        if op == "sleep":
            return Step("sleep", seconds=1.0)
        if op == "end":
            return Step("end")
        targets = self.targets(op)
        done = {s.target for s in steps if s.op == op}
        if op == "join":  # join what was started and is not joined yet
            started = [s.target for s in steps if s.op == "start" and s.target in targets]
            targets = started + [t for t in targets if t not in started]
        fresh = [t for t in targets if t not in done]
        return Step(op, (fresh or targets)[0])

    def remove_step(self) -> None:
        step, row = self.current_step(), self.list.currentRow()
        if step is None:
            return
        steps = list(self.model.scenario.steps)
        del steps[row]
        self._push(steps, f"Remove step {step.label()}", min(row, len(steps) - 1))

    def move_step(self, delta: int) -> None:
        row = self.list.currentRow()
        steps = list(self.model.scenario.steps)
        if self.current_step() is None or not 0 <= row + delta < len(steps):
            return
        steps.insert(row + delta, steps.pop(row))
        self._push(steps, f"Move step {'up' if delta < 0 else 'down'}", row + delta)

    def _timeout_changed(self) -> None:
        on = self.timeout_check.isChecked()
        self.timeout.setEnabled(on)
        self._change(seconds=self.timeout.value() if on else None)

    def _change(self, **changes) -> None:
        step, row = self.current_step(), self.list.currentRow()
        if step is None:
            return
        new = dataclasses.replace(step, **changes)
        if new == step:
            return
        steps = list(self.model.scenario.steps)
        steps[row] = new
        self._push(steps, f"Change step to {new.label()}", row)
