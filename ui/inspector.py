"""The inspector: every parameter of the selected node, or the scenario's own settings.

An edit is first tried on a copy of the model. If the model refuses it (`EditError`), or it would
make the scenario invalid where it was not (`simulator.scenario.check`), the reason is shown under
the field and nothing is applied; otherwise it becomes one undo command. The inspector follows the
model (undo, redo, edits on the canvas) by showing the new values, never by pushing commands.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from simulator.model import EditError, ScenarioModel
from simulator.scenario import check

from . import theme
from .commands import ChangeNode, ChangeScenario, RenameNode
from .editor import Editor
from .inspector_fields import (
    BoolField,
    ChoiceField,
    ExplanationField,
    Field,
    FloatField,
    IntField,
    ItemsField,
    PaceField,
    TextField,
    dim,
)
from .steps_editor import StepsEditor

HELP = {
    "id": "The node's name: the variable that holds it in the generated code.",
    "daemon": "A daemon process is killed when main ends; main never waits for it.",
    "start_delay": "How long the process waits, once started, before it does anything.",
    "crash": "Make the process crash on purpose, to see what a crashing child does to the others.",
    "crash_after": "How many items the process handles (puts, gets, reads) before it crashes; "
                   "0 crashes before the first.",
    "items": "What the producer puts: a number of items named by the payload, or a list of values.",
    "payload": "How each item is named: {name} is the producer's name, {i} counts from 0.",
    "interval": "The pause between two items.",
    "sentinels": "How many None the producer puts after its items, to tell readers to stop.",
    "put_mode": "What put() does when the queue is full.",
    "put_timeout": "How long put() waits for room before it raises queue.Full.",
    "on_full": "What the process does when put() raises queue.Full.",
    "replies": "After sending, how many messages to receive back on the same pipe end.",
    "loop": "When the process stops getting items.",
    "count": "How many items to get before stopping.",
    "get_mode": "What get() does when the queue is empty.",
    "get_timeout": "How long get() waits for an item before it raises queue.Empty.",
    "on_empty": "What the process does when get() raises queue.Empty.",
    "work": "How long the process works on each item it gets.",
    "task_done": "Call q.task_done() after each item, so that q.join() in main can return.",
    "echo": "Send each received message back on the same pipe end.",
    "result": "What the worker puts for each item: {item} is the item it got, {name} its own "
              "name, {i} counts from 0.",
    "queue_type": "Which kind of multiprocessing queue this is.",
    "maxsize": "How many items the queue holds before put() waits; 0 means no limit.",
    "duplex": "A duplex pipe carries messages both ways. A one-way pipe's end 1 only receives "
              "and its end 2 only sends.",
    "title": "The scenario's name, shown in the window title and the gallery.",
    "explanation": "What the scenario shows and what to watch for.",
    "start_method": "How multiprocessing creates the child processes.",
    "size": "How many worker processes the pool starts: at most this many tasks run at once.",
    "tasks": "How many tasks main gives the pool.",
    "task_work": "How long each task works.",
    "task_result": "What each task returns: {name} is the pool's name, {i} counts from 0.",
    "submit": "How main hands the tasks to the pool.",
    "lock_type": "A plain Lock is inherited by the processes; a Manager().Lock() lives in the manager.",
}

WAIT_MODES = {"put": {"block": "put(item): wait until there is room",
                      "timeout": "put(item, timeout=…): wait a while, then raise queue.Full",
                      "nowait": "put_nowait(item): raise queue.Full at once"},
              "get": {"block": "get(): wait until there is an item",
                      "timeout": "get(timeout=…): wait a while, then raise queue.Empty",
                      "nowait": "get_nowait(): raise queue.Empty at once"}}
ON_FULL = {"drop": "skip this item and go on", "stop": "stop putting"}
ON_EMPTY = {"stop": "leave the loop", "retry": "call get() again"}
LOOPS = {"forever": "while True: get(); never stops by itself",
         "until_sentinel": "stop at the first None",
         "while_not_empty": "while not q.empty(): get()",
         "count": "get a fixed number of items"}
QUEUE_TYPES = {"Queue": "put(), get(), an optional maxsize",
               "JoinableQueue": "a Queue with task_done() and join()",
               "SimpleQueue": "put() and get() only: no maxsize, no timeouts",
               "Manager.Queue": "a Queue held by a manager process: it can be passed to a Pool",
               "Manager.JoinableQueue": "a JoinableQueue held by a manager process"}
SUBMIT = {"apply_async": "pool.apply_async(task, (i,)) for each task",
          "map": "pool.map_async(task, range(tasks))"}
LOCK_TYPES = {"Lock": "multiprocessing.Lock()", "Manager.Lock": "Manager().Lock()"}
CRASHES = {"none": "it never crashes",
           "exception": "raise RuntimeError: a traceback, then exit code 1",
           "exit": "os._exit(3): gone at once, exit code 3, no cleanup",
           "segfault": "a segmentation fault: killed by SIGSEGV, exit code -11"}
START_METHODS = {"spawn": "each child is a fresh Python interpreter",
                 "forkserver": "children are forked from a clean server process",
                 "fork": "each child is a copy of main (Unix only)"}
KIND_TEXT = {"producer": "puts items on a queue or sends them on a pipe end",
             "consumer": "gets items from a queue or receives them from a pipe end",
             "worker": "gets items, works on each, puts a result",
             "queue": "holds items between processes, first in, first out",
             "pipe": "two connected ends: what one end sends, the other receives",
             "pool": "worker processes that run tasks main gives them",
             "dict": "a dict held by a manager process, shared by every process",
             "list": "a list held by a manager process, shared by every process",
             "lock": "one process at a time inside 'with lock:'"}


def _is_queue(chan, *types: str) -> bool:
    return chan is not None and chan.kind == "queue" and (not types or chan.queue_type in types)


# When a field applies: (node, input channel, output channel) -> bool. A field whose value is
# not the default stays visible, so that a wrong value can be seen and fixed.
APPLIES: dict[str, Callable] = {
    "payload": lambda n, i, o: not isinstance(n.items, list),
    "sentinels": lambda n, i, o: n.sentinels or o is None or o.kind == "queue",
    "put_mode": lambda n, i, o: n.put_mode != "block" or o is None or _is_queue(o, "Queue", "JoinableQueue"),
    "put_timeout": lambda n, i, o: n.put_mode == "timeout",
    "on_full": lambda n, i, o: n.put_mode != "block",
    "replies": lambda n, i, o: n.replies or o is None or (o.kind == "pipe" and o.duplex),
    "count": lambda n, i, o: n.loop == "count",
    "get_mode": lambda n, i, o: n.get_mode != "block" or i is None or _is_queue(i, "Queue", "JoinableQueue"),
    "get_timeout": lambda n, i, o: n.get_mode == "timeout",
    "on_empty": lambda n, i, o: n.get_mode != "block",
    "task_done": lambda n, i, o: n.task_done or i is None or _is_queue(i, "JoinableQueue"),
    "echo": lambda n, i, o: n.echo or i is None or i.kind == "pipe",
    "crash_after": lambda n, i, o: n.crash != "none" or n.crash_after,
}


def problem_after(model: ScenarioModel, edit: Callable[[ScenarioModel], object],
                  node_id: str | None = None, graph: bool = True) -> str | None:
    """Why `edit`, tried on a copy of `model`, is refused or makes the scenario invalid where it
    was not (with `graph`), in one line; None when it is fine. Problems of `node_id` itself are
    told without naming it."""
    trial = ScenarioModel(copy.deepcopy(model.document))
    try:
        edit(trial)
    except EditError as exc:
        return str(exc)
    if not graph:
        return None
    before = Counter(check(model.scenario))
    for error in check(trial.scenario):
        if before[error]:
            before[error] -= 1
        else:
            return _readable(error, trial, node_id)
    return None


def _readable(error: str, model: ScenarioModel, node_id: str | None) -> str:
    """'scenario.nodes[3].task_done: reason' as 'C1: reason' (or just 'reason' for `node_id`)."""
    match = re.match(r"scenario\.(nodes|steps|links)\[(\d+)\][\w.]*: (.*)", error)
    if not match:
        return error.removeprefix("scenario.")
    where, index, reason = match[1], int(match[2]), match[3]
    if where == "nodes":
        name = model.scenario.nodes[index].id
        return reason if name == node_id else f"{name}: {reason}"
    if where == "steps":
        return f"step {index + 1} ({model.scenario.steps[index].label()}): {reason}"
    link = model.scenario.links[index]
    return f"link {link.process} → {link.channel}: {reason}"


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    return form


def _section(form: QFormLayout, title: str) -> None:
    label = QLabel(title)
    label.setFont(theme.font(label.font().pointSizeF(), bold=True))
    label.setContentsMargins(0, 8, 0, 0)
    form.addRow(label)


class NodeForm(QWidget):
    """Every parameter of one node, grouped in sections, each row shown only where it applies."""

    def __init__(self, editor: Editor, node_id: str):
        super().__init__()
        self.editor, self.model, self.node_id = editor, editor.model, node_id
        node = self.model.node(node_id)
        self.fields: dict[str, Field] = {}
        self.form = _form()
        self.form.addRow(self._header())
        self.name = TextField("id", HELP["id"], max_length=32, monospace=True)
        self.name.edited.connect(self._name_edited)
        self.form.addRow("Name", self.name)
        for title, fields in self._sections(node):
            _section(self.form, title)
            for label, field in fields:
                self.fields[field.name] = field
                field.edited.connect(lambda final, f=field: self._edited(f, final))
                self.form.addRow(label, field)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.refresh()

    def _header(self) -> QWidget:
        self._icon = QLabel()
        self._title = QLabel()
        self._title.setFont(theme.font(self._title.font().pointSizeF() * 1.3, bold=True))
        self._kind = dim(QLabel(wordWrap=True))
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self._title)
        text.addWidget(self._kind)
        header = QWidget()
        row = QHBoxLayout(header)
        row.setContentsMargins(0, 0, 0, 4)
        row.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        return header

    def _update_header(self, node) -> None:
        key = theme.kind_key(node)
        if node.kind == "pipe":
            key = "Pipe" if node.duplex else "Pipe (one-way)"
        self._icon.setPixmap(theme.icon(key).pixmap(QSize(32, 32)))
        self._title.setText(node.id)
        kind = node.queue_type if node.kind == "queue" else key if node.kind == "pipe" else node.kind.capitalize()
        self._kind.setText(f"{kind}: {KIND_TEXT[node.kind]}")

    def _sections(self, node) -> list[tuple[str, list[tuple[str, Field]]]]:
        def choice(name, options):
            return ChoiceField(name, HELP[name], options)

        def seconds(name):
            return FloatField(name, HELP[name])

        if node.kind == "queue":
            return [("Queue", [("Type", choice("queue_type", QUEUE_TYPES)),
                               ("Max size", IntField("maxsize", HELP["maxsize"], 0, 32767))])]
        if node.kind == "pipe":
            return [("Pipe", [("Duplex", BoolField("duplex", HELP["duplex"], "both ends send and receive"))])]
        if node.kind == "pool":
            return [("Pool", [("Size", IntField("size", HELP["size"], 1, 64)),
                              ("Tasks", IntField("tasks", HELP["tasks"], 0, 1000)),
                              ("Submit", ChoiceField("submit", HELP["submit"], SUBMIT)),
                              ("Work", PaceField("work", HELP["task_work"])),
                              ("Result", TextField("result", HELP["task_result"], monospace=True))])]
        if node.kind == "lock":
            return [("Lock", [("Type", ChoiceField("lock_type", HELP["lock_type"], LOCK_TYPES))])]
        if node.kind in ("dict", "list"):
            return []
        process = ("Process", [("Daemon", BoolField("daemon", HELP["daemon"], "killed when main ends")),
                               ("Start delay", seconds("start_delay")),
                               ("Crash", choice("crash", CRASHES)),
                               ("Crash after", IntField("crash_after", HELP["crash_after"], 0, 1_000_000))])
        putting = [("Put mode", choice("put_mode", WAIT_MODES["put"])),
                   ("Put timeout", seconds("put_timeout")),
                   ("When full", choice("on_full", ON_FULL))]
        if node.kind == "producer":
            items = [("Items", ItemsField("items", HELP["items"], self._expand_items)),
                     ("Payload", TextField("payload", HELP["payload"], monospace=True)),
                     ("Interval", PaceField("interval", HELP["interval"])),
                     ("Sentinels", IntField("sentinels", HELP["sentinels"], 0, 100))]
            replies = ("Replies", IntField("replies", HELP["replies"], 0, 1_000_000))
            return [process, ("Items", items), ("Output", putting + [replies])]
        getting = [("Loop", choice("loop", LOOPS)),
                   ("Count", IntField("count", HELP["count"], 0, 1_000_000)),
                   ("Get mode", choice("get_mode", WAIT_MODES["get"])),
                   ("Get timeout", seconds("get_timeout")),
                   ("When empty", choice("on_empty", ON_EMPTY)),
                   ("Work", PaceField("work", HELP["work"])),
                   ("Task done", BoolField("task_done", HELP["task_done"], "call q.task_done() per item")),
                   ("Echo", BoolField("echo", HELP["echo"], "send each message back"))]
        sections = [process, ("Input", getting)]
        if node.kind == "worker":
            result = ("Result", TextField("result", HELP["result"], monospace=True))
            sections.append(("Output", [result] + putting))
        return sections

    def _expand_items(self, count: int) -> list:
        node = self.model.node(self.node_id)
        return [node.payload.format(name=node.id, i=i) for i in range(count)]

    # -- following the model

    def refresh(self, names: list[str] | None = None) -> None:
        """Show the model's values of `names` (all fields when None) and which rows apply."""
        node = self.model.node(self.node_id)
        self._update_header(node)
        if names is None or "id" in names:
            self.name.set_value(node.id)
            self.name.clear_error()
        for name, field in self.fields.items():
            if names is None or name in names:
                field.set_value(getattr(node, name))
                field.clear_error()
        self.update_rows()

    def update_rows(self) -> None:
        node = self.model.node(self.node_id)
        scenario = self.model.scenario
        ins, outs = scenario.inputs(node.id), scenario.outputs(node.id)
        chan_in = self.model.node(ins[0].channel) if ins and self.model.has_node(ins[0].channel) else None
        chan_out = self.model.node(outs[0].channel) if outs and self.model.has_node(outs[0].channel) else None
        for name, field in self.fields.items():
            rule = APPLIES.get(name)
            self.form.setRowVisible(field, rule is None or bool(rule(node, chan_in, chan_out)))
        if "maxsize" in self.fields:
            simple = node.queue_type == "SimpleQueue"
            self.fields["maxsize"].setEnabled(not simple)
            self.fields["maxsize"].setToolTip("A SimpleQueue has no maxsize." if simple else HELP["maxsize"])

    def renamed(self, new: str) -> None:
        self.node_id = new
        self.refresh(["id"])

    # -- editing

    def _edited(self, field: Field, final: bool) -> None:
        if not self.model.has_node(self.node_id):
            return
        node = self.model.node(self.node_id)
        try:
            changes = {field.name: field.value()}
        except ValueError as exc:
            field.show_error(str(exc))
            return
        if changes.get("queue_type") == "SimpleQueue":
            changes["maxsize"] = 0
        if all(getattr(node, k) == v for k, v in changes.items()):
            field.clear_error()
            return
        node_id = self.node_id
        problem = problem_after(self.model, lambda m: m.change_node(node_id, **changes), node_id)
        if problem:
            field.show_error(problem.removeprefix(f"{field.name}: "))
            return
        field.clear_error()
        if final:
            self.editor.push(ChangeNode(self.model, node_id, **changes))

    def _name_edited(self, final: bool) -> None:
        old, new = self.node_id, self.name.value().strip()
        if not self.model.has_node(old):
            return
        if new == old:
            self.name.clear_error()
            return
        problem = problem_after(self.model, lambda m: m.rename_node(old, new), graph=False)
        if problem:
            self.name.show_error(problem)
            return
        self.name.clear_error()
        if final:
            self.editor.push(RenameNode(self.model, old, new))


class ScenarioForm(QWidget):
    """The scenario's own settings, and main's steps under them."""

    def __init__(self, editor: Editor):
        super().__init__()
        self.editor, self.model = editor, editor.model
        form = _form()
        heading = QLabel("Scenario")
        heading.setFont(theme.font(heading.font().pointSizeF() * 1.3, bold=True))
        form.addRow(heading)
        self.fields: dict[str, Field] = {
            "title": TextField("title", HELP["title"]),
            "explanation": ExplanationField("explanation", HELP["explanation"]),
            "start_method": ChoiceField("start_method", HELP["start_method"], START_METHODS),
        }
        for label, field in zip(("Title", "Explanation", "Start method"), self.fields.values()):
            field.edited.connect(lambda final, f=field: self._edited(f, final))
            form.addRow(label, field)
        _section(form, "Main process steps")
        self.steps = StepsEditor(editor)
        form.addRow(self.steps)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addStretch(1)
        self.refresh()

    def refresh(self, names: list[str] | None = None) -> None:
        for name, field in self.fields.items():
            if names is None or name in names:
                field.set_value(getattr(self.model.scenario, name))
                field.clear_error()

    def _edited(self, field: Field, final: bool) -> None:
        changes = {field.name: field.value()}
        if getattr(self.model.scenario, field.name) == changes[field.name]:
            field.clear_error()
            return
        problem = problem_after(self.model, lambda m: m.change_scenario(**changes))
        if problem:
            field.show_error(problem)
            return
        field.clear_error()
        if final:
            self.editor.push(ChangeScenario(self.model, **changes))


class Inspector(QWidget):
    """Shows and edits the selected node, or the scenario when nothing is selected. The main
    window calls `set_read_only` while a run is live."""

    def __init__(self, editor: Editor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor, self.model = editor, editor.model
        self.node_form: NodeForm | None = None
        self.scenario_form = ScenarioForm(editor)
        self.multi_label = QLabel(wordWrap=True, alignment=Qt.AlignmentFlag.AlignTop)
        self.multi_label.setContentsMargins(4, 4, 4, 4)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.scenario_form)
        self.pages.addWidget(self.multi_label)
        self.pages.currentChanged.connect(self._fit_current_page)
        scroll = QScrollArea(widgetResizable=True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addWidget(self.pages)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.setMinimumWidth(300)

        signals = editor.signals
        editor.selection_changed.connect(self._follow_selection)
        editor.document_replaced.connect(self._reload)
        signals.reset.connect(self._reload)
        signals.node_added.connect(self._follow_selection)
        signals.node_removed.connect(self._follow_selection)
        signals.node_changed.connect(self._node_changed)
        signals.node_renamed.connect(self._node_renamed)
        signals.link_added.connect(self._links_changed)
        signals.link_removed.connect(self._links_changed)
        signals.scenario_changed.connect(self.scenario_form.refresh)
        self.set_read_only(editor.read_only)
        self._reload()

    def set_read_only(self, read_only: bool) -> None:
        """Grey out every editor (the page still scrolls) while the scenario must not change."""
        self.pages.setEnabled(not read_only)

    # -- which page

    def _selected(self) -> list[str]:
        return [i for i in self.editor.selection if self.model.has_node(i)]

    def _follow_selection(self) -> None:
        self._show()

    def _reload(self) -> None:
        self._show(rebuild=True)

    def _show(self, rebuild: bool = False) -> None:
        selected = self._selected()
        if len(selected) == 1:
            if rebuild or self.node_form is None or self.node_form.node_id != selected[0]:
                self._set_node_form(NodeForm(self.editor, selected[0]))
            self.pages.setCurrentWidget(self.node_form)
            return
        self._set_node_form(None)
        if selected:
            self.multi_label.setText(f"<h3>{len(selected)} nodes selected</h3><p>{', '.join(selected)}</p>"
                                     "<p>Select a single node to see and change its parameters.</p>")
            self.pages.setCurrentWidget(self.multi_label)
        else:
            if rebuild:
                self.scenario_form.refresh()
            self.pages.setCurrentWidget(self.scenario_form)

    def _set_node_form(self, form: NodeForm | None) -> None:
        if self.node_form is not None:
            self.pages.removeWidget(self.node_form)
            self.node_form.deleteLater()
        self.node_form = form
        if form is not None:
            self.pages.addWidget(form)

    def _fit_current_page(self) -> None:
        """A stack is as tall as its tallest page; only the current page should count."""
        for i in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if i == self.pages.currentIndex() else QSizePolicy.Policy.Ignored
            self.pages.widget(i).setSizePolicy(policy, policy)

    # -- following the model

    def _node_changed(self, node_id: str, names: list) -> None:
        if self.node_form is None:
            return
        if node_id == self.node_form.node_id:
            self.node_form.refresh(names)
        else:
            self.node_form.update_rows()  # a channel's type decides which fields apply

    def _node_renamed(self, old: str, new: str) -> None:
        if self.node_form is not None and self.node_form.node_id == old:
            self.node_form.renamed(new)

    def _links_changed(self) -> None:
        if self.node_form is not None and self.model.has_node(self.node_form.node_id):
            self.node_form.update_rows()
