"""The scenario model: plain dataclasses describing processes, channels, links and main's steps.

A scenario is a small concurrent program drawn as a graph:

* **process nodes** run a behaviour in a child process: a ``producer`` puts (or sends) items, a
  ``consumer`` gets (or receives) them in a loop, a ``worker`` gets from one channel and puts to
  another;
* **channel nodes** are a ``queue`` (``Queue``, ``JoinableQueue`` or ``SimpleQueue``) or a ``pipe``;
* **links** say which process uses which channel and how: ``put``/``get`` on a queue,
  ``send``/``recv`` on a pipe end (end 1 or 2; a one-way pipe's end 1 only receives and end 2 only
  sends, as ``conn1, conn2 = Pipe(duplex=False)``);
* **steps** are what the main process does, in order (start, join, sleep, terminate, put sentinels,
  ``q.join()``, end). With no steps, main starts every process, joins the non-daemon ones, ends.

Validation (see `simulator.scenario_file`) checks types with pydantic and the graph with
:func:`check`; both name the offending field.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", strict=True)

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")]
Seconds = Annotated[float, Field(ge=0, le=3600)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Payload = Union[str, int, float, bool, None, list[Any], dict[str, Any]]

PutMode = Literal["block", "timeout", "nowait"]
GetMode = Literal["block", "timeout", "nowait"]


@dataclass
class Pace:
    """A delay: `seconds`, or uniformly random in [seconds, up_to] from `seed` (reproducible)."""

    __pydantic_config__ = _STRICT
    seconds: Seconds = 0.0
    up_to: Seconds | None = None
    seed: int = 0


@dataclass
class _ProcessNode:
    id: Identifier
    daemon: bool = False
    start_delay: Seconds = 0.0


@dataclass
class Producer(_ProcessNode):
    """Puts `items` (a count, named by `payload`, or an explicit list) on its output."""

    __pydantic_config__ = _STRICT
    kind: Literal["producer"] = "producer"
    items: Count | list[Payload] = 3
    payload: Annotated[str, Field(max_length=200)] = "{name}-{i}"  # {name} and {i} only
    interval: Pace = field(default_factory=Pace)
    put_mode: PutMode = "block"
    put_timeout: Seconds = 1.0
    on_full: Literal["drop", "stop"] = "drop"  # for put_mode timeout / nowait
    sentinels: Annotated[int, Field(ge=0, le=100)] = 0  # None items put at the end
    replies: Count = 0  # on a duplex pipe end: messages to receive after sending


@dataclass
class Consumer(_ProcessNode):
    """Gets items from its input in a loop; optionally works on each, calls task_done, echoes."""

    __pydantic_config__ = _STRICT
    kind: Literal["consumer"] = "consumer"
    loop: Literal["forever", "until_sentinel", "while_not_empty", "count"] = "forever"
    count: Count = 3  # for loop "count"
    get_mode: GetMode = "block"
    get_timeout: Seconds = 1.0
    on_empty: Literal["stop", "retry"] = "stop"  # for get_mode timeout / nowait
    work: Pace = field(default_factory=Pace)
    task_done: bool = False
    echo: bool = False  # on a pipe end: send each received message back


@dataclass
class Worker(Consumer):
    """A consumer that puts a result for every item it gets on its output channel."""

    __pydantic_config__ = _STRICT
    kind: Literal["worker"] = "worker"
    result: Annotated[str, Field(max_length=200)] = "{item}*"  # {item}, {name}, {i}
    put_mode: PutMode = "block"
    put_timeout: Seconds = 1.0
    on_full: Literal["drop", "stop"] = "drop"


@dataclass
class QueueNode:
    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["queue"] = "queue"
    queue_type: Literal["Queue", "JoinableQueue", "SimpleQueue"] = "Queue"
    maxsize: Annotated[int, Field(ge=0, le=32767)] = 0  # 0: unbounded


@dataclass
class PipeNode:
    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["pipe"] = "pipe"
    duplex: bool = True


ProcessNode = Union[Producer, Consumer, Worker]
ChannelNode = Union[QueueNode, PipeNode]
Node = Annotated[Union[Producer, Consumer, Worker, QueueNode, PipeNode], Field(discriminator="kind")]

PROCESS_KINDS = ("producer", "consumer", "worker")


@dataclass
class Link:
    """`process` uses `channel`: `put`/`get` on a queue, `send`/`recv` on pipe end 1 or 2."""

    __pydantic_config__ = _STRICT
    process: Identifier
    channel: Identifier
    op: Literal["put", "get", "send", "recv"]
    end: Literal[1, 2] | None = None  # pipes only


@dataclass
class Step:
    """One thing main does. `target` names a process (start, join, terminate) or a queue
    (sentinels, queue_join)."""

    __pydantic_config__ = _STRICT
    op: Literal["start", "join", "sleep", "terminate", "sentinels", "queue_join", "end"]
    target: Identifier | None = None
    seconds: Seconds | None = None  # sleep: how long; join: optional timeout
    count: Annotated[int, Field(ge=1, le=100)] = 1  # sentinels: how many None to put

    def label(self) -> str:
        """How the step reads in code: ``join(P1)``, ``q.join()``, ``sleep(0.5)``..."""
        if self.op == "sleep":
            return f"sleep({self.seconds:g})"
        if self.op == "end":
            return "end"
        if self.op == "queue_join":
            return f"{self.target}.join()"
        if self.op == "sentinels":
            return f"{self.target}.put(None) x{self.count}"
        timeout = f", timeout={self.seconds:g}" if self.op == "join" and self.seconds is not None else ""
        return f"{self.op}({self.target}{timeout})"


@dataclass
class Scenario:
    __pydantic_config__ = _STRICT
    title: Annotated[str, Field(max_length=200)] = "Untitled"
    explanation: Annotated[str, Field(max_length=4000)] = ""
    start_method: Literal["spawn", "forkserver", "fork"] = "spawn"
    nodes: list[Node] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    # -- queries

    def node(self, node_id: str):
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def processes(self) -> list[ProcessNode]:
        return [n for n in self.nodes if n.kind in PROCESS_KINDS]

    def channels(self) -> list[ChannelNode]:
        return [n for n in self.nodes if n.kind not in PROCESS_KINDS]

    def links_of(self, process_id: str) -> list[Link]:
        return [link for link in self.links if link.process == process_id]

    def inputs(self, process_id: str) -> list[Link]:
        return [k for k in self.links_of(process_id) if k.op in ("get", "recv")]

    def outputs(self, process_id: str) -> list[Link]:
        return [k for k in self.links_of(process_id) if k.op in ("put", "send")]

    def effective_steps(self) -> list[Step]:
        """The steps main runs: the scenario's own, or start all, join non-daemons, end."""
        if self.steps:
            return list(self.steps)
        procs = self.processes()
        return (
            [Step("start", p.id) for p in procs]
            + [Step("join", p.id) for p in procs if not p.daemon]
            + [Step("end")]
        )


@dataclass
class Layout:
    """Where each node sits on the canvas; not part of the program's meaning."""

    __pydantic_config__ = ConfigDict(extra="forbid")
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class Document:
    scenario: Scenario
    layout: Layout = field(default_factory=Layout)


# --------------------------------------------------------------------------- graph checks


def check(s: Scenario) -> list[str]:
    """Everything pydantic's per-field checks cannot see: ids, dangling links, link directions,
    step targets. Returns "path: reason" messages (empty when the scenario is sound)."""
    errors: list[str] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(s.nodes):
        if node.id == "main":
            errors.append(f"scenario.nodes[{i}].id: 'main' is the main process's name")
        if node.id in seen:
            errors.append(f"scenario.nodes[{i}].id: duplicate id {node.id!r} (also nodes[{seen[node.id]}])")
        seen.setdefault(node.id, i)
        if node.kind == "producer":
            errors += check_template(f"scenario.nodes[{i}].payload", node.payload, {"name", "i"})
            if node.interval.up_to is not None and node.interval.up_to < node.interval.seconds:
                errors.append(f"scenario.nodes[{i}].interval.up_to: less than seconds")
        if node.kind == "worker":
            errors += check_template(f"scenario.nodes[{i}].result", node.result, {"name", "i", "item"})
        if node.kind == "queue" and node.queue_type == "SimpleQueue" and node.maxsize:
            errors.append(f"scenario.nodes[{i}].maxsize: a SimpleQueue has no maxsize")

    by_id = {n.id: n for n in s.nodes}
    for i, link in enumerate(s.links):
        errors += _check_link(f"scenario.links[{i}]", link, by_id)

    for i, proc in enumerate(s.nodes):
        if proc.kind in PROCESS_KINDS:
            errors += _check_process_links(f"scenario.nodes[{i}]", proc, s, by_id)

    for i, step in enumerate(s.steps):
        errors += _check_step(f"scenario.steps[{i}]", step, by_id)
    return errors


def check_template(path: str, template: str, allowed: set[str]) -> list[str]:
    """Errors for a payload template that uses anything but the `allowed` {fields}."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"{path}: {exc}"]
    bad = [f for f in fields if f not in allowed]
    if bad:
        names = ", ".join("{" + a + "}" for a in sorted(allowed))
        return [f"{path}: unknown field {{{bad[0]}}} (use {names})"]
    return []


def _check_link(path: str, link: Link, by_id: dict) -> list[str]:
    proc, chan = by_id.get(link.process), by_id.get(link.channel)
    if proc is None:
        return [f"{path}.process: no node {link.process!r}"]
    if chan is None:
        return [f"{path}.channel: no node {link.channel!r}"]
    if proc.kind not in PROCESS_KINDS:
        return [f"{path}.process: {link.process!r} is a {proc.kind}, not a process"]
    if chan.kind == "queue":
        if link.op not in ("put", "get"):
            return [f"{path}.op: a queue is used with put or get, not {link.op}"]
        if link.end is not None:
            return [f"{path}.end: only pipes have ends"]
        return []
    if chan.kind != "pipe":
        return [f"{path}.channel: {link.channel!r} is a {chan.kind}, not a channel"]
    if link.op not in ("send", "recv"):
        return [f"{path}.op: a pipe is used with send or recv, not {link.op}"]
    if link.end is None:
        return [f"{path}.end: say which end of pipe {chan.id!r} (1 or 2)"]
    if not chan.duplex:
        if link.end == 1 and link.op == "send":
            return [f"{path}.op: a one-way pipe's end 1 only receives; it cannot send"]
        if link.end == 2 and link.op == "recv":
            return [f"{path}.op: a one-way pipe's end 2 only sends; it cannot receive"]
    return []


def _check_process_links(path: str, proc, s: Scenario, by_id: dict) -> list[str]:
    ins, outs = s.inputs(proc.id), s.outputs(proc.id)
    want_in, want_out = {"producer": (0, 1), "consumer": (1, 0), "worker": (1, 1)}[proc.kind]
    errors = []
    if len(ins) != want_in:
        errors.append(f"{path}: a {proc.kind} gets from {want_in} channel(s), this one from {len(ins)}")
    if len(outs) != want_out:
        errors.append(f"{path}: a {proc.kind} puts to {want_out} channel(s), this one to {len(outs)}")
    if errors:
        return errors
    chan_in = by_id.get(ins[0].channel) if ins else None
    chan_out = by_id.get(outs[0].channel) if outs else None
    if proc.kind == "producer" and proc.sentinels and chan_out is not None and chan_out.kind != "queue":
        errors.append(f"{path}.sentinels: sentinels are put on a queue; a pipe's reader stops on EOFError")
    if proc.kind == "producer" and proc.replies:
        if chan_out is None or chan_out.kind != "pipe" or not chan_out.duplex:
            errors.append(f"{path}.replies: only a producer on a duplex pipe end can receive replies")
    if proc.kind in ("consumer", "worker"):
        if proc.task_done and not (chan_in and chan_in.kind == "queue" and chan_in.queue_type == "JoinableQueue"):
            errors.append(f"{path}.task_done: only a JoinableQueue has task_done()")
        if proc.echo and not (chan_in and chan_in.kind == "pipe"):
            errors.append(f"{path}.echo: only a pipe end can echo back")
        if proc.get_mode != "block" and chan_in and chan_in.kind != "queue":
            errors.append(f"{path}.get_mode: a pipe's recv() always blocks")
        if proc.loop == "while_not_empty" and chan_in and chan_in.kind != "queue":
            errors.append(f"{path}.loop: only a queue has empty()")
        if chan_in and getattr(chan_in, "queue_type", "") == "SimpleQueue" and proc.get_mode != "block":
            errors.append(f"{path}.get_mode: SimpleQueue.get() has no block or timeout")
    put_mode = getattr(proc, "put_mode", "block")
    if chan_out and chan_out.kind == "pipe" and put_mode != "block":
        errors.append(f"{path}.put_mode: a pipe's send() has no timeout or nowait")
    if chan_out and getattr(chan_out, "queue_type", "") == "SimpleQueue" and put_mode != "block":
        errors.append(f"{path}.put_mode: SimpleQueue.put() has no block or timeout")
    return errors


def _check_step(path: str, step: Step, by_id: dict) -> list[str]:
    needs = {"start": "process", "join": "process", "terminate": "process",
             "sentinels": "queue", "queue_join": "queue"}.get(step.op)
    if step.op == "sleep" and step.seconds is None:
        return [f"{path}.seconds: sleep needs seconds"]
    if needs is None:
        return []
    if step.target is None:
        return [f"{path}.target: {step.op} needs a {needs}"]
    node = by_id.get(step.target)
    if node is None:
        return [f"{path}.target: no node {step.target!r}"]
    if needs == "process" and node.kind not in PROCESS_KINDS:
        return [f"{path}.target: {step.target!r} is a {node.kind}, not a process"]
    if needs == "queue" and node.kind != "queue":
        return [f"{path}.target: {step.target!r} is a {node.kind}, not a queue"]
    if step.op == "queue_join" and node.queue_type != "JoinableQueue":
        return [f"{path}.target: only a JoinableQueue has join(); {step.target!r} is a {node.queue_type}"]
    return []
