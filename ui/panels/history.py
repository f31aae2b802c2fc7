"""What the timeline plot draws: each process's state changes and each channel's depth over a run.

Derived from the timeline's own fold (`Timeline.listen`), event by event as it folds them, so a
state here means exactly `ProcessState.state` (with its `op` and `waits_on`) and a depth means
`ChannelState.depth()`: messages put and not yet got (queues), sent and not yet received
(pipes). No Qt here.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from operator import attrgetter
from typing import NamedTuple, get_type_hints

from ipc.trace import Event
from simulator.fold import Snapshot, Timeline

# The kinds after which a channel's depth may have changed.
DEPTH_KINDS = frozenset({"message_put", "message_got", "put_failed", "message_sent", "message_received"})
_t_ns = attrgetter("t_ns")
_EVERY_PROCESS = frozenset({"run_started", "run_stopped"})

_OP_TEXT = {"put": "put on {}", "get": "get on {}", "send": "send on {}", "recv": "recv on {}",
            "queue_join": "{}.join()", "join": "join({})"}


class Change(NamedTuple):
    """A process entered `state` at `t_ns`, because of event number `index` (-1: the run's start)."""

    t_ns: int
    state: str
    op: str | None
    waits_on: str | None
    index: int

    def describe(self) -> str:
        text = self.state.replace("_", " ")
        if self.op in _OP_TEXT:
            text += " in " + _OP_TEXT[self.op].format(self.waits_on)
        return text


class Level(NamedTuple):
    """A channel held `depth` messages from `t_ns` on, because of event number `index`."""

    t_ns: int
    depth: int
    index: int


class Records(Sequence):
    """A list of `Change`s or `Level`s held as columns, 16 or 24 bytes a record instead of ~150 (a
    tuple and its ints): a long run has millions. Reading one builds its tuple; a text field
    is stored as the number of that text in a table shared by all."""

    _codes: dict[str | None, int] = {None: 0}
    _texts: list[str | None] = [None]

    def __init__(self, kind: type[Change] | type[Level]):
        self._kind = kind
        self._is_text = [hint is not int for hint in get_type_hints(kind).values()]
        # 8 bytes for a time, 4 for the rest (an event's index, a depth, a text's number)
        self._columns = [array("q" if name == "t_ns" else "i") for name in kind._fields]
        self._last = None  # the last record (read for every event folded: kept whole)

    def __len__(self) -> int:
        return len(self._columns[0])

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            texts = self._texts
            columns = [[texts[code] for code in column[start:stop:step]] if is_text else column[start:stop:step]
                       for column, is_text in zip(self._columns, self._is_text)]
            return list(map(self._kind._make, zip(*columns)))
        if (i == -1 or i == len(self) - 1) and self._last is not None:
            return self._last
        return self._read(i)

    def _read(self, i: int):
        texts = self._texts
        return self._kind._make([texts[column[i]] if is_text else column[i]
                                 for column, is_text in zip(self._columns, self._is_text)])

    def __eq__(self, other) -> bool:
        return (isinstance(other, Records) and self._kind is other._kind
                and self._columns == other._columns)  # (one table of texts: equal codes)

    def append(self, record) -> None:
        codes = self._codes
        for column, is_text, value in zip(self._columns, self._is_text, record):
            if is_text:
                code = codes.get(value)
                if code is None:
                    code = codes[value] = len(self._texts)
                    self._texts.append(value)
                value = code
            column.append(value)
        self._last = self._kind._make(record)

    def cut(self, first: int) -> None:
        """Drop the records that events `first` and later made (their `index` never decreases)."""
        n = bisect.bisect_left(self._columns[self._kind._fields.index("index")], first)
        if n < len(self):
            for column in self._columns:
                del column[n:]
            self._last = self._read(-1) if n else None


class RunHistory:
    """Each process's state changes (`changes`, in lane order: main first, then the scenario's
    processes, then any other that appears) and each channel's depth levels (`levels`), kept
    up to date by the timeline it listens to; `take_new` tells what is new since it was last
    called."""

    def __init__(self, timeline: Timeline, started_ns: int):
        snap = timeline.state_after(0)
        self.changes: dict[str, Records] = {}
        for name, p in snap.processes.items():
            self.changes[name] = Records(Change)
            self.changes[name].append((started_ns, p.state, p.op, p.waits_on, -1))
        self.levels: dict[str, Records] = {}
        for name in snap.channels:
            self.levels[name] = Records(Level)
            self.levels[name].append((started_ns, 0, -1))
        self._taken_changes = {name: 0 for name in self.changes}  # how many `take_new` handed out
        self._taken_levels = {name: 0 for name in self.levels}
        self._cut: int | None = None  # the first event whose entries were withdrawn since then
        timeline.listen(self)

    def applied(self, snap: Snapshot, e: Event, i: int) -> None:
        """Event number `i` was folded into `snap` (see `Timeline.listen`)."""
        processes, changes = snap.processes, self.changes
        kind, process, obj = e.kind, e.process, e.object
        if kind in _EVERY_PROCESS:
            names = list(processes)
        elif obj is None or obj == process or obj not in processes:
            names = (process,)
        else:
            names = (process, obj)
        for name in names:
            p = processes.get(name)
            if p is None:
                continue
            state, op, waits_on = p.state, p.op, p.waits_on
            history = changes.get(name)
            if history is None:
                history = changes[name] = Records(Change)
            elif history:
                last = history[-1]
                if last.state == state and last.op == op and last.waits_on == waits_on:
                    continue
            history.append((e.t_ns, state, op, waits_on, i))
        if kind in DEPTH_KINDS:
            channels = snap.channels
            for name in (obj,) if obj in channels else list(channels):  # a lost item names none
                depth = channels[name].depth()
                history = self.levels.get(name)
                if history is None:
                    history = self.levels[name] = Records(Level)
                if not history or history[-1].depth != depth:
                    history.append((e.t_ns, depth, i))

    def rewound(self, first: int) -> None:
        """Forget what events from index `first` on did: they are being folded again."""
        for taken, histories in ((self._taken_changes, self.changes), (self._taken_levels, self.levels)):
            for name, history in histories.items():
                history.cut(first)
                if taken.get(name, 0) > len(history):
                    taken[name] = len(history)
                    self._cut = first if self._cut is None else min(self._cut, first)

    def take_new(self) -> tuple[int | None, dict[str, int], dict[str, int]]:
        """What changed since the last call: the first event whose entries were withdrawn (what
        was drawn from events at that index or later must go; None if nothing was), then, for
        each process with new changes, the position of its first new one in `changes[process]`,
        and for each channel with new levels, that of its first new one in `levels[channel]`."""
        cut, self._cut = self._cut, None
        return cut, _new(self.changes, self._taken_changes), _new(self.levels, self._taken_levels)

    def change_at(self, process: str, t_ns: int) -> tuple[Change, int | None] | None:
        """The state `process` was in at `t_ns`, and when it left it (None: it has not)."""
        history = self.changes.get(process, [])
        i = bisect.bisect_right(history, t_ns, key=_t_ns)
        if i == 0:
            return None
        return history[i - 1], history[i].t_ns if i < len(history) else None

    def level_at(self, channel: str, t_ns: int) -> int | None:
        """How many messages `channel` held at `t_ns`."""
        history = self.levels.get(channel, [])
        i = bisect.bisect_right(history, t_ns, key=_t_ns)
        return history[i - 1].depth if i else None

def _new(histories: dict[str, list], taken: dict[str, int]) -> dict[str, int]:
    """Where each history's entries not yet handed out start; marks them handed out."""
    new = {}
    for name, history in histories.items():
        if len(history) > taken.get(name, 0):
            new[name] = taken.get(name, 0)
            taken[name] = len(history)
    return new
