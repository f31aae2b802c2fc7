"""The editable scenario: a `Document` plus the mutations an editor makes, each announced to
subscribers as a past-tense event (``node_added``, ``link_removed``...).

This is the editor's single source of truth. The Qt side turns events into signals
(`ui.model_signals`); undo commands call these methods and never touch canvas items. Every
mutation validates its input and raises `EditError` with a one-line reason instead of changing
anything, so a document never holds a value the file format would refuse.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any, Callable

from pydantic import TypeAdapter, ValidationError

from .scenario import (
    PROCESS_KINDS,
    Consumer,
    DictNode,
    Document,
    Link,
    ListNode,
    LockNode,
    PipeNode,
    PoolNode,
    Producer,
    QueueNode,
    Scenario,
    Step,
    Worker,
    check,
    check_template,
)

Listener = Callable[[str, dict], None]

NODE_CLASSES = {"producer": Producer, "consumer": Consumer, "worker": Worker,
                "queue": QueueNode, "pipe": PipeNode, "pool": PoolNode, "dict": DictNode,
                "list": ListNode, "lock": LockNode}
QUEUE_TYPES = ("Queue", "JoinableQueue", "SimpleQueue", "Manager.Queue", "Manager.JoinableQueue")
# what each kind of node a link goes to is used with, in the words of link_problem's reasons
_LINK_OPS = {"queue": (("put", "get"), "a queue is used with put() or get()"),
             "pipe": (("send", "recv"), "a pipe is used with send() or recv()"),
             "dict": (("write", "read"), "a dict is written or read"),
             "list": (("write", "read"), "a list is written or read"),
             "lock": (("use",), "a lock is used (with lock: ...)")}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


class EditError(ValueError):
    """An edit that would make the scenario invalid; the message is one line for a status bar."""


COLUMN_X = (0.0, 300.0, 600.0)  # where `place_unplaced` puts producers, channels and consumers
ROW_Y = 130.0


def place_unplaced(document: Document) -> None:
    """Give each node that the layout leaves without a position one, as the lessons are laid
    out: producers and pools on the left, channels and shared objects in the middle, consumers
    and workers on the right, in the scenario's order, below the nodes already placed (a
    scenario written by hand or by a program need not say where things go)."""
    positions = document.layout.positions
    top = max((y for _, y in positions.values()), default=-ROW_Y) + ROW_Y
    rows = [0, 0, 0]
    for node in document.scenario.nodes:
        if node.id in positions:
            continue
        column = 2 if isinstance(node, Consumer) else 0 if isinstance(node, (Producer, PoolNode)) else 1
        positions[node.id] = (COLUMN_X[column], top + rows[column] * ROW_Y)
        rows[column] += 1


class ScenarioModel:
    """A scenario being edited. Subscribers get ``(event, payload)`` after each change."""

    def __init__(self, document: Document | None = None):
        self.document = document or Document(Scenario())
        place_unplaced(self.document)
        self._listeners: list[Listener] = []

    # -- observing

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def _emit(self, event: str, **payload: Any) -> None:
        for listener in list(self._listeners):
            listener(event, payload)

    # -- reading

    @property
    def scenario(self) -> Scenario:
        return self.document.scenario

    @property
    def positions(self) -> dict[str, tuple[float, float]]:
        return self.document.layout.positions

    def node(self, node_id: str):
        return self.scenario.node(node_id)

    def has_node(self, node_id: str) -> bool:
        return any(n.id == node_id for n in self.scenario.nodes)

    def links_touching(self, node_id: str) -> list[Link]:
        return [k for k in self.scenario.links if node_id in (k.process, k.channel)]

    def problems(self) -> list[str]:
        """What stops this scenario from running (unlinked producers, missing ends...)."""
        return check(self.scenario)

    def unique_id(self, base: str) -> str:
        base = re.sub(r"\W", "_", base) or "node"
        if not base[0].isalpha() and base[0] != "_":
            base = "n" + base
        base = base[:28]
        if not self.has_node(base) and base != "main":
            return base
        stem = re.sub(r"\d+$", "", base) or base  # P1 is followed by P2, not P12
        n = 2
        while self.has_node(f"{stem}{n}"):
            n += 1
        return f"{stem}{n}"

    # -- whole document

    def replace(self, document: Document) -> None:
        self.document = document
        place_unplaced(document)
        self._emit("reset")

    # -- nodes

    def add_node(self, node, position: tuple[float, float], index: int | None = None) -> None:
        if self.has_node(node.id) or node.id == "main":
            raise EditError(f"there is already a node named {node.id!r}")
        _validate_node(node)
        nodes = self.scenario.nodes
        nodes.insert(len(nodes) if index is None else index, node)
        self.positions[node.id] = (float(position[0]), float(position[1]))
        self._emit("node_added", id=node.id)

    def remove_node(self, node_id: str) -> tuple[Any, int, tuple[float, float]]:
        """Remove a node that has no links left; returns what `add_node` needs to undo it."""
        if self.links_touching(node_id):
            raise EditError(f"{node_id!r} still has links")
        nodes = self.scenario.nodes
        index = next(i for i, n in enumerate(nodes) if n.id == node_id)
        node = nodes.pop(index)
        position = self.positions.pop(node_id, (0.0, 0.0))
        self._emit("node_removed", id=node_id)
        return node, index, position

    def change_node(self, node_id: str, **changes: Any) -> dict[str, Any]:
        """Set parameters of a node; returns the previous values (for undo)."""
        node = self.node(node_id)
        if "id" in changes or "kind" in changes:
            raise EditError("use rename_node to change a node's name")
        try:
            new = dataclasses.replace(node, **copy.deepcopy(changes))
        except TypeError as exc:
            raise EditError(str(exc)) from None
        _validate_node(new)
        old = {k: getattr(node, k) for k in changes}
        self.scenario.nodes[self.scenario.nodes.index(node)] = new
        self._emit("node_changed", id=node_id, fields=sorted(changes))
        return old

    def rename_problem(self, old: str, new: str) -> str | None:
        """Why `old` cannot be renamed `new`, in one line, or None if it can."""
        if not _ID.match(new):
            return f"{new!r} is not a valid name: use letters, digits and _, not starting with a digit"
        if new != old and (self.has_node(new) or new == "main"):
            return f"there is already a node named {new!r}"
        return None

    def rename_node(self, old: str, new: str) -> None:
        if old == new:
            return
        problem = self.rename_problem(old, new)
        if problem:
            raise EditError(problem)
        node = self.node(old)
        self.scenario.nodes[self.scenario.nodes.index(node)] = dataclasses.replace(node, id=new)
        for i, link in enumerate(self.scenario.links):
            if old in (link.process, link.channel):
                self.scenario.links[i] = dataclasses.replace(
                    link, process=new if link.process == old else link.process,
                    channel=new if link.channel == old else link.channel)
        for i, step in enumerate(self.scenario.steps):
            if step.target == old:
                self.scenario.steps[i] = dataclasses.replace(step, target=new)
        self.positions[new] = self.positions.pop(old)
        self._emit("node_renamed", old=old, new=new)

    def move_node(self, node_id: str, position: tuple[float, float]) -> None:
        self.positions[node_id] = (float(position[0]), float(position[1]))
        self._emit("node_moved", id=node_id)

    # -- links

    def link_problem(self, link: Link) -> str | None:
        """Why `link` cannot be added, in one line, or None if it can."""
        try:
            proc, chan = self.node(link.process), self.node(link.channel)
        except KeyError as exc:
            return f"there is no node {exc.args[0]!r}"
        if proc.kind not in PROCESS_KINDS and proc.kind != "pool":
            return "links go from a process or a pool to a queue, a pipe, a dict, a list or a lock"
        if chan.kind in PROCESS_KINDS or chan.kind == "pool":
            return "a process talks to another process through a queue or a pipe"
        ops, reason = _LINK_OPS[chan.kind]
        if link.op not in ops:
            return reason
        if chan.kind == "pipe":
            if link.end not in (1, 2):
                return "choose which end of the pipe"
            if not chan.duplex and link.end == 1 and link.op == "send":
                return "a one-way pipe's receive end cannot send"
            if not chan.duplex and link.end == 2 and link.op == "recv":
                return "a one-way pipe's send end cannot receive"
        if link in self.scenario.links:
            return "that link is already there"
        links = self.scenario.links_of(proc.id)
        if link.op == "use":
            used = next((k.channel for k in links if k.op == "use"), None)
            return f"{proc.id} already uses {used}" if used else None
        if proc.kind == "pool":
            if link.op != "put":
                return "a pool's tasks only put their result on a queue"
            puts = [k.channel for k in links if k.op == "put"]
            return f"{proc.id}'s tasks already put to {puts[0]}" if puts else None
        return self._process_link_problem(proc, link)

    def _process_link_problem(self, proc, link: Link) -> str | None:
        ins, outs = self.scenario.inputs(proc.id), self.scenario.outputs(proc.id)
        if link.op in ("get", "recv", "read"):
            if proc.kind == "producer":
                return "a producer only puts or sends, or writes a dict or list; use a consumer or a worker to read"
            if proc.kind == "worker" and link.op == "read":
                return "a worker gets from a queue or a pipe; use a consumer to read a dict or list"
            if ins:
                return f"{proc.id} already reads from {ins[0].channel}"
            return None
        if proc.kind == "consumer":
            return "a consumer only gets or receives, or reads a dict or list; use a producer or a worker to write"
        if link.op == "write":
            if proc.kind == "worker":
                return "a worker puts its results on a queue or a pipe; use a producer to write"
            if any(k.op != "write" for k in outs):
                return f"{proc.id} already writes to {outs[0].channel}"
            return None
        if outs:
            return f"{proc.id} already writes to {outs[0].channel}"
        return None

    def add_link(self, link: Link, index: int | None = None) -> None:
        problem = self.link_problem(link)
        if problem:
            raise EditError(problem)
        links = self.scenario.links
        links.insert(len(links) if index is None else index, link)
        self._emit("link_added", link=link)

    def remove_link(self, link: Link) -> int:
        index = self.scenario.links.index(link)
        del self.scenario.links[index]
        self._emit("link_removed", link=link)
        return index

    # -- main's steps and the scenario's own settings

    def set_steps(self, steps: list[Step]) -> list[Step]:
        for i, step in enumerate(steps):
            try:
                _strict(Step, dataclasses.asdict(step))
            except ValidationError as exc:
                raise EditError(f"step {i + 1}: {_first_error(exc)}") from None
        old = list(self.scenario.steps)
        self.scenario.steps[:] = steps
        self._emit("steps_changed")
        return old

    def change_scenario(self, **changes: Any) -> dict[str, Any]:
        allowed = {"title", "explanation", "start_method"}
        if set(changes) - allowed:
            raise EditError(f"unknown setting {sorted(set(changes) - allowed)[0]!r}")
        new = dataclasses.replace(self.scenario, **changes)
        try:
            _strict(Scenario, {**dataclasses.asdict(new), "nodes": [], "links": [], "steps": []})
        except ValidationError as exc:
            raise EditError(_first_error(exc)) from None
        old = {k: getattr(self.scenario, k) for k in changes}
        for k, v in changes.items():
            setattr(self.scenario, k, v)
        self._emit("scenario_changed", fields=sorted(changes))
        return old

    # -- copying

    def fragment(self, node_ids: list[str]) -> dict:
        """The given nodes, the links among them and their positions, as plain data."""
        ids = set(node_ids)
        return {
            "nodes": [dataclasses.asdict(n) for n in self.scenario.nodes if n.id in ids],
            "links": [dataclasses.asdict(k) for k in self.scenario.links
                      if k.process in ids and k.channel in ids],
            "positions": {i: list(self.positions.get(i, (0, 0))) for i in node_ids},
        }


_adapters: dict[type, TypeAdapter] = {}


def _strict(cls: type, data: dict):
    """Validate plain data as `cls`, as strictly as a file is read (JSON types, no coercion)."""
    adapter = _adapters.get(cls) or _adapters.setdefault(cls, TypeAdapter(cls))
    return adapter.validate_json(json.dumps(data), strict=True)


def node_from_dict(data: dict):
    """Build a node from plain data (a pasted fragment), validating every field."""
    cls = NODE_CLASSES.get(data.get("kind"))
    if cls is None:
        raise EditError(f"unknown node kind {data.get('kind')!r}")
    try:
        node = _strict(cls, data)
    except ValidationError as exc:
        raise EditError(_first_error(exc)) from None
    _validate_node(node)
    return node


def _validate_node(node) -> None:
    try:
        _strict(type(node), dataclasses.asdict(node))
    except ValidationError as exc:
        raise EditError(_first_error(exc)) from None
    templates = {"producer": [("payload", {"name", "i"}), ("key", {"name", "i"})],
                 "worker": [("result", {"name", "i", "item"})],
                 "pool": [("result", {"name", "i"})]}
    for field, allowed in templates.get(node.kind, []):
        errors = check_template(field, getattr(node, field), allowed)
        if errors:
            raise EditError(errors[0])


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"] if isinstance(p, int) or str(p).isidentifier())
    return f"{path}: {err['msg']}" if path else err["msg"]


def new_node(kind: str, node_id: str, **options: Any):
    """A fresh node of a palette kind with sensible defaults: a node kind (``producer``, ``pool``,
    ``dict``...), a queue type (``Queue``, ``Manager.Queue``...), ``Pipe``, ``Pool``, ``Lock`` or
    ``Manager.Lock``."""
    if kind in QUEUE_TYPES:
        return QueueNode(node_id, queue_type=kind, maxsize=3 if kind in ("Queue", "Manager.Queue") else 0)
    if kind == "Pipe":
        return PipeNode(node_id, duplex=options.get("duplex", True))
    if kind == "Pool":
        return PoolNode(node_id)
    if kind in ("Lock", "Manager.Lock"):
        return LockNode(node_id, lock_type=kind)
    return NODE_CLASSES[kind](node_id)

