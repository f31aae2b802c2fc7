"""The scenario model: plain dataclasses describing processes, channels, links and main's steps.

A scenario is a small concurrent program drawn as a graph:

* **process nodes** run a behaviour in a child process: a ``producer`` puts (or sends) items, a
  ``consumer`` gets (or receives) them in a loop, a ``worker`` gets from one channel and puts to
  another;
* **channel nodes** are a ``queue`` (``Queue``, ``JoinableQueue``, ``SimpleQueue``, or a
  manager's ``Manager.Queue`` / ``Manager.JoinableQueue``) or a ``pipe``;
* a **pool** node is a ``multiprocessing.Pool(size)`` running ``tasks`` tasks, each working for
  ``work`` and returning ``result`` (and putting it on a queue when the pool has a ``put`` link),
  submitted by ``apply_async`` one by one or by one ``map``;
* **shared objects** live in the run's one manager process: a ``dict`` or ``list``
  (``Manager().dict()`` / ``.list()``) and a ``lock`` (a plain ``Lock()`` or ``Manager().Lock()``);
* **links** say which process uses which node and how: ``put``/``get`` on a queue, ``send``/``recv``
  on a pipe end (end 1 or 2; a one-way pipe's end 1 only receives and end 2 only sends, as
  ``conn1, conn2 = Pipe(duplex=False)``), ``write``/``read`` on a dict or list (a producer writes
  its items, a consumer reads the whole object), ``use`` of a lock (a producer puts its whole
  burst inside ``with lock:``; a consumer, worker or pool task handles each item inside it);
* **steps** are what the main process does, in order (start, join, sleep, terminate, put sentinels,
  ``q.join()``, read a dict or list, end). ``start``/``join``/``terminate`` also apply to a pool:
  start creates it and submits its tasks; join is ``close()``, ``join()``, then ``get()`` of every
  result, so a task's exception surfaces in main. With no steps, main starts every process and
  pool, joins the non-daemon processes and the pools, ends.

**Crashes**: any process node can be made to fail on purpose, to see what a crashing child does
to the others. `crash` says how: ``exception`` (``raise RuntimeError(...)``: multiprocessing
prints the traceback and the process exits with code 1), ``exit`` (``os._exit(3)``: gone at
once, exit code 3, no cleanup: items its queue's feeder thread had not sent yet are lost) or
``segfault`` (a real segmentation fault through ``ctypes``: the process is killed by SIGSEGV,
exit code -11); ``none`` (the default) never crashes. `crash_after` says when: right after the
process has handled that many items (0: before its first). An item is handled once a producer
has put, sent or written it (or dropped it on ``queue.Full``), once a consumer has got it and done
all it does with it (work, echo, its result, ``task_done()``), and once a reader has read its
dict or list one more time; sentinels and replies are not items. A process that stops before it
has handled `crash_after` items ends normally (`check` refuses a `crash_after` beyond a producer's
items or a counting consumer's count: that crash could never happen).

The run's manager (``multiprocessing.Manager()``, one per run) is started only when a node needs
it (`Scenario.uses_manager`); its server process is named `Scenario.manager_name`.

Validation (see `simulator.scenario_file`) checks types with pydantic and the graph with
:func:`check` (in `simulator.scenario_checks`); both name the offending field.
"""

from __future__ import annotations

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
Crash = Literal["none", "exception", "exit", "segfault"]
CRASH_EXIT_CODE = 3  # what os._exit() gets in a crash "exit"


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
    crash: Crash = "none"  # see "Crashes" in the module's docstring
    crash_after: Count = 0  # items handled before the crash

    def crash_message(self) -> str:
        """The message of the RuntimeError a crash "exception" raises."""
        if not self.crash_after:
            return "crash before the first item"
        return f"crash after {self.crash_after} item{'s' if self.crash_after != 1 else ''}"


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
    key: Annotated[str, Field(max_length=200)] = "{name}-{i}"  # writing to a dict: d[key] = item


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


QueueType = Literal["Queue", "JoinableQueue", "SimpleQueue", "Manager.Queue", "Manager.JoinableQueue"]
JOINABLE = ("JoinableQueue", "Manager.JoinableQueue")


@dataclass
class QueueNode:
    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["queue"] = "queue"
    queue_type: QueueType = "Queue"
    maxsize: Annotated[int, Field(ge=0, le=32767)] = 0  # 0: unbounded


@dataclass
class PipeNode:
    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["pipe"] = "pipe"
    duplex: bool = True


def _one_second() -> Pace:
    return Pace(1.0)


@dataclass
class PoolNode:
    """``Pool(size)`` running `tasks` tasks: each works for `work`, then returns `result` (and puts
    it on the pool's output queue, when it has a ``put`` link)."""

    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["pool"] = "pool"
    size: Annotated[int, Field(ge=1, le=64)] = 4
    tasks: Annotated[int, Field(ge=0, le=1000)] = 5
    work: Pace = field(default_factory=_one_second)
    result: Annotated[str, Field(max_length=200)] = "{name}-{i}"  # {name} and {i} only
    submit: Literal["apply_async", "map"] = "apply_async"


@dataclass
class DictNode:
    """``Manager().dict()``: producers write their items into it, main or consumers read it."""

    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["dict"] = "dict"


@dataclass
class ListNode:
    """``Manager().list()``: producers append their items to it, main or consumers read it."""

    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["list"] = "list"


@dataclass
class LockNode:
    """A ``Lock()`` (inherited by the processes it is given to) or a ``Manager().Lock()``."""

    __pydantic_config__ = _STRICT
    id: Identifier
    kind: Literal["lock"] = "lock"
    lock_type: Literal["Lock", "Manager.Lock"] = "Lock"


ProcessNode = Union[Producer, Consumer, Worker]
ChannelNode = Union[QueueNode, PipeNode]
SharedNode = Union[DictNode, ListNode]
Node = Annotated[Union[Producer, Consumer, Worker, QueueNode, PipeNode, PoolNode, DictNode, ListNode,
                       LockNode], Field(discriminator="kind")]

PROCESS_KINDS = ("producer", "consumer", "worker")
CHANNEL_KINDS = ("queue", "pipe")
SHARED_KINDS = ("dict", "list")


@dataclass
class Link:
    """`process` (a process node or a pool) uses `channel` (any other node): `put`/`get` on a
    queue, `send`/`recv` on pipe end 1 or 2, `write`/`read` on a dict or list, `use` of a lock."""

    __pydantic_config__ = _STRICT
    process: Identifier
    channel: Identifier
    op: Literal["put", "get", "send", "recv", "write", "read", "use"]
    end: Literal[1, 2] | None = None  # pipes only


@dataclass
class Step:
    """One thing main does. `target` names a process or a pool (start, join, terminate), a queue
    (sentinels, queue_join) or a dict or list (read: main prints it)."""

    __pydantic_config__ = _STRICT
    op: Literal["start", "join", "sleep", "terminate", "sentinels", "queue_join", "read", "end"]
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
        if self.op == "read":
            return f"print({self.target})"
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
        """The queues and pipes."""
        return [n for n in self.nodes if n.kind in CHANNEL_KINDS]

    def pools(self) -> list[PoolNode]:
        return [n for n in self.nodes if n.kind == "pool"]

    def shared(self) -> list[SharedNode]:
        """The dicts and lists."""
        return [n for n in self.nodes if n.kind in SHARED_KINDS]

    def locks(self) -> list[LockNode]:
        return [n for n in self.nodes if n.kind == "lock"]

    def links_of(self, process_id: str) -> list[Link]:
        return [link for link in self.links if link.process == process_id]

    def inputs(self, process_id: str) -> list[Link]:
        return [k for k in self.links_of(process_id) if k.op in ("get", "recv", "read")]

    def outputs(self, process_id: str) -> list[Link]:
        return [k for k in self.links_of(process_id) if k.op in ("put", "send", "write")]

    def lock_of(self, process_id: str) -> Link | None:
        """The process's (or pool's) ``use`` link to a lock, if it has one."""
        return next((k for k in self.links_of(process_id) if k.op == "use"), None)

    def uses_manager(self) -> bool:
        """Whether a node lives in the run's manager (a Manager queue, a dict or list, its Lock)."""
        return any(n.kind in SHARED_KINDS or getattr(n, "queue_type", "").startswith("Manager.")
                   or getattr(n, "lock_type", "") == "Manager.Lock" for n in self.nodes)

    def manager_name(self) -> str:
        """The name of the manager's server process: ``manager``, unless a node has that id."""
        ids = {n.id for n in self.nodes}
        return "manager" if "manager" not in ids else "manager-server"

    def effective_steps(self) -> list[Step]:
        """The steps main runs: the scenario's own, or start all processes and pools, join the
        non-daemon processes and the pools, end."""
        if self.steps:
            return list(self.steps)
        runnable = [n for n in self.nodes if n.kind in PROCESS_KINDS or n.kind == "pool"]
        return (
            [Step("start", n.id) for n in runnable]
            + [Step("join", n.id) for n in runnable if not getattr(n, "daemon", False)]
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


# check() and check_template() live in simulator.scenario_checks (which needs the classes above);
# imported here so that `from simulator.scenario import check` keeps working.
from .scenario_checks import check, check_template  # noqa: E402,F401
