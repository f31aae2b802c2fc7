"""The state of a run at one moment, as `simulator.fold` computes it from the run's events: each
process, channel, message in transit, pool, lock and shared dict or list. See `simulator.fold`
for what the states mean; `simulator.deadlock` reads a snapshot to tell whether it is stuck.
"""

from __future__ import annotations

import marshal
import pickle
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import NamedTuple

from .scenario import Scenario

MAIN = "main"

ENDED = ("finished", "failed", "terminated", "daemon_killed", "stopped")


@dataclass
class ProcessState:
    name: str
    state: str = "not_started"
    op: str | None = None
    waits_on: str | None = None
    holding: str | None = None  # message id
    exitcode: int | None = None
    error: str | None = None
    pid: int | None = None
    step: str | None = None  # main only: the step it is on
    step_index: int = -1  # main only: how many steps it has started, minus one
    since_ns: int = 0  # when it entered `state`
    terminate_requested: bool = False
    killed_at_exit: bool = False
    role: str = "process"  # "main", "process" (a node), "pool_worker" or "manager"
    pool: str | None = None  # a pool worker's pool
    task: str | None = None  # the pool task a pool worker is running
    daemon: bool = False
    timeout: float | None = None  # the blocked operation's timeout (None: it waits for good)
    end: str | None = None  # the pipe end a blocked send or recv uses ("1" or "2")

    @property
    def alive(self) -> bool:
        return self.state not in ENDED and self.state != "not_started"


class Contents:
    """The messages inside a channel (or going one way through a pipe), in the order they went
    in: their ids, each with its sender. Taking any one out is O(1) (senders interleave, so a
    get often takes one that is not the oldest), and so is finding the same sender's messages
    that went in before it (see `fold._take_in_order`). Both indexes are plain dicts and deques,
    not linked `OrderedDict`s, because a checkpoint copies them: ~2 ms for the hundred thousand
    messages a flood's queue may hold, where an `OrderedDict` took ~50."""

    __slots__ = ("_sender", "_by_sender")

    def __init__(self):
        self._sender: dict[str, str] = {}  # id -> its sender, oldest first
        # sender -> its ids, oldest first; those taken out from among them stay until they are
        # the oldest (skipped where read), so that taking one out is O(1). The oldest is inside.
        self._by_sender: dict[str, deque[str]] = {}

    def __len__(self) -> int:
        return len(self._sender)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sender)

    def __contains__(self, mid: str) -> bool:
        return mid in self._sender

    def __eq__(self, other) -> bool:
        return isinstance(other, Contents) and list(self._sender.items()) == list(other._sender.items())

    def __repr__(self) -> str:
        return f"Contents({list(self._sender)})"

    def append(self, mid: str, sender: str) -> None:
        self._sender[mid] = sender
        mine = self._by_sender.get(sender)
        if mine is None:
            mine = self._by_sender[sender] = deque()
        mine.append(mid)

    def remove(self, mid: str) -> bool:
        """Take `mid` out; False if it was not inside."""
        sender = self._sender.pop(mid, None)
        if sender is None:
            return False
        mine, inside = self._by_sender[sender], self._sender
        while mine and mine[0] not in inside:  # (nearly always `mid` alone)
            mine.popleft()
        return True

    def before(self, mid: str) -> list[str]:
        """The ids its sender put in before `mid`, still inside (`mid` must be inside)."""
        ahead, inside = [], self._sender
        for other in self._by_sender[inside[mid]]:
            if other == mid:
                return ahead
            if other in inside:
                ahead.append(other)
        return ahead

    def senders(self) -> list[str]:
        return [sender for sender, mine in self._by_sender.items() if mine]

    def of(self, sender: str) -> list[str]:
        """`sender`'s ids inside, oldest first."""
        inside = self._sender
        return [mid for mid in self._by_sender.get(sender, ()) if mid in inside]

    def pairs(self) -> list[tuple[str, str]]:
        """Its ids, each with its sender, oldest first (see `extend`)."""
        return list(self._sender.items())

    def extend(self, pairs) -> None:
        """Append the ids of `pairs`, each an (id, sender)."""
        for mid, sender in pairs:
            self.append(mid, sender)

    def copy(self) -> "Contents":
        new = Contents.__new__(Contents)
        new._sender = self._sender.copy()
        new._by_sender = {sender: mine.copy() for sender, mine in self._by_sender.items()}
        return new


@dataclass
class ChannelState:
    name: str
    kind: str  # "queue" or "pipe"
    queue_type: str | None = None
    maxsize: int = 0
    contents: Contents = field(default_factory=Contents)  # queue: its messages, oldest first
    in_flight: dict[str, Contents] = field(default_factory=dict)  # pipe: sending end -> its messages
    unfinished: int = 0  # JoinableQueue: puts not yet matched by task_done()
    closed: bool = False

    def depth(self) -> int:
        return len(self.contents) + sum(len(v) for v in self.in_flight.values())


@dataclass
class PoolState:
    """A pool's workers and tasks (a task is one ``apply_async`` call or one chunk of a ``map``)."""

    name: str
    size: int = 0
    state: str = "not_started"  # "running", "closed", "terminated", "joined"
    workers: list[str] = field(default_factory=list)  # every worker it started, in order
    queued: list[str] = field(default_factory=list)  # task ids submitted, waiting for a worker
    running: dict[str, str] = field(default_factory=dict)  # task id -> the worker running it
    done: list[str] = field(default_factory=list)  # task ids finished, in order
    failed: dict[str, str] = field(default_factory=dict)  # task id -> "Error: reason"

    def copy(self) -> "PoolState":
        return replace(self, workers=list(self.workers), queued=list(self.queued),
                       running=dict(self.running), done=list(self.done), failed=dict(self.failed))


@dataclass
class LockState:
    name: str
    lock_type: str = "Lock"  # or "Manager.Lock"
    holder: str | None = None  # the process that acquired it last and has not released it
    waiters: list[str] = field(default_factory=list)  # blocked in acquire(), oldest first


class Access(NamedTuple):
    """One call on a shared dict or list."""

    process: str
    op: str  # the method: "__setitem__", "append", "__repr__", "get"...
    args: str  # a preview of its arguments
    result: str | None  # a preview of what it returned (reads, pop...)
    t_ns: int


@dataclass
class SharedState:
    """A manager's dict or list, as the last write left it."""

    name: str
    kind: str  # "dict" or "list"
    contents: str | None = None  # a preview of the whole object after the last write
    length: int = 0
    writes: int = 0
    reads: int = 0
    last_write: Access | None = None
    last_read: Access | None = None


class MessageState(NamedTuple):
    id: str
    preview: str
    source: str  # the process that put or sent it
    where: str  # "held", "queue", "pipe"
    at: str  # the process holding it, or the channel it is in
    channel: str | None = None


_message = partial(tuple.__new__, MessageState)


@dataclass
class Snapshot:
    t_ns: int
    run: str = "not_started"  # "running", then "finished", "stopped", "timeout" or "failed"
    processes: dict[str, ProcessState] = field(default_factory=dict)
    channels: dict[str, ChannelState] = field(default_factory=dict)
    messages: dict[str, MessageState] = field(default_factory=dict)  # unsettled only
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("put", "got", "sent", "received", "delivered", "dropped", "lost", "task_done"), 0))
    events: int = 0  # how many events have been folded in
    pools: dict[str, PoolState] = field(default_factory=dict)
    locks: dict[str, LockState] = field(default_factory=dict)
    shared: dict[str, SharedState] = field(default_factory=dict)  # dicts and lists
    manager: str | None = None  # the manager's server process, when the scenario uses one
    deadlock: list[str] | None = None  # the blocked processes, once a deadlock was detected
    # Messages counted lost because their sender was killed while sending them (``send_called``
    # reported, ``message_sent`` not): a receive of one shows it went through after all.
    unconfirmed: dict[str, MessageState] = field(default_factory=dict)

    def copy(self) -> "Snapshot":
        snap = Snapshot(
            self.t_ns, self.run,
            {k: replace(v) for k, v in self.processes.items()},
            {k: replace(v, contents=v.contents.copy(),
                        in_flight={e: ids.copy() for e, ids in v.in_flight.items()})
             for k, v in self.channels.items()},
            self.messages.copy(), self.counts.copy(), self.events,  # (`copy` clones a dict's table:
            # 27 ms for 400,000 messages, where `dict(d)` inserts them one by one: 134)
            {k: v.copy() for k, v in self.pools.items()},
            {k: replace(v, waiters=list(v.waiters)) for k, v in self.locks.items()},
            {k: replace(v) for k, v in self.shared.items()},
            self.manager, None if self.deadlock is None else list(self.deadlock),
        )
        snap.unconfirmed = self.unconfirmed.copy()
        return snap

    def process(self, name: str) -> ProcessState:
        if name not in self.processes:  # a process the scenario does not name (e.g. a pool worker)
            self.processes[name] = ProcessState(name)
        return self.processes[name]


FREEZE_ROWS = 4096  # messages, or ids in a channel, frozen into one part: a few milliseconds


def frozen_parts(snap: Snapshot) -> Iterator[bytes]:
    """`snap` as compact parts (~10 bytes a message), made a few thousand messages at a time so
    that a live view can spread freezing a deep queue's state over its frames; `thawed` makes
    the snapshot again. `snap` must not change meanwhile. The first part is the snapshot without
    its messages and its channels' contents, pickled; each next one a slice of the messages, or
    of one channel's ids with their senders, as plain tuples (which marshal writes faster than
    pickle)."""
    channels = {name: replace(ch, contents=Contents(), in_flight={end: Contents() for end in ch.in_flight})
                for name, ch in snap.channels.items()}
    yield _pack(pickle.dumps(replace(snap, messages={}, channels=channels), pickle.HIGHEST_PROTOCOL))
    messages = list(snap.messages.values())
    for i in range(0, len(messages), FREEZE_ROWS):
        yield _pack(marshal.dumps((None, None, [tuple(m) for m in messages[i:i + FREEZE_ROWS]])))
    for name, ch in snap.channels.items():
        for end, contents in ((None, ch.contents), *ch.in_flight.items()):
            pairs = contents.pairs()
            for i in range(0, len(pairs), FREEZE_ROWS):
                yield _pack(marshal.dumps((name, end, pairs[i:i + FREEZE_ROWS])))


def thawed(parts: Sequence[bytes]) -> Snapshot:
    """The snapshot `frozen_parts` made `parts` of."""
    snap = pickle.loads(zlib.decompress(parts[0]))
    for part in parts[1:]:
        name, end, rows = marshal.loads(zlib.decompress(part))
        if name is None:
            snap.messages.update(zip([row[0] for row in rows], map(_message, rows)))
        else:
            channel = snap.channels[name]
            (channel.contents if end is None else channel.in_flight[end]).extend(rows)
    return snap


def _pack(data: bytes) -> bytes:
    return zlib.compress(data, 1)  # zlib's fastest level, as for the event store's blocks


def initial_snapshot(scenario: Scenario, t_ns: int = 0) -> Snapshot:
    snap = Snapshot(t_ns)
    snap.processes[MAIN] = ProcessState(MAIN, role="main")
    for node in scenario.processes():
        snap.processes[node.id] = ProcessState(node.id, daemon=node.daemon)
    if scenario.uses_manager():
        snap.manager = scenario.manager_name()
        snap.processes[snap.manager] = ProcessState(snap.manager, role="manager")
    for node in scenario.channels():
        if node.kind == "pipe":
            snap.channels[node.id] = ChannelState(node.id, "pipe", in_flight={"1": Contents(), "2": Contents()})
        else:
            snap.channels[node.id] = ChannelState(node.id, "queue", node.queue_type, node.maxsize)
    for node in scenario.pools():
        snap.pools[node.id] = PoolState(node.id, node.size)
    for node in scenario.locks():
        snap.locks[node.id] = LockState(node.id, node.lock_type)
    for node in scenario.shared():
        snap.shared[node.id] = SharedState(node.id, node.kind)
    return snap


def other_end(end: str | None) -> str | None:
    """The end of a pipe that talks to `end` ("1" <-> "2"); None if `end` is not one of them."""
    return {"1": "2", "2": "1"}.get(end)


def set_state(snap: Snapshot, name: str, state: str, t_ns: int, op=None, waits_on=None,
              timeout=None, end=None) -> ProcessState:
    """Put process `name` in `state` (a process that has ended stays as it ended)."""
    p = snap.process(name)
    if p.state in ENDED:
        return p
    if p.state != state or p.op != op:
        p.since_ns = t_ns
    p.state, p.op, p.waits_on, p.timeout, p.end = state, op, waits_on, timeout, end
    return p
