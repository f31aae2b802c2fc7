"""What the timeline plot draws: each process's state changes and each channel's depth over a run.

Derived with the fold itself (`simulator.fold.apply` on a snapshot of its own), event by event as
they arrive, so a state here means exactly `ProcessState.state` (with its `op` and `waits_on`)
and a depth means `ChannelState.depth()`: messages put and not yet got (queues), sent and not
yet received (pipes). No Qt here.
"""

from __future__ import annotations

import bisect
from operator import attrgetter
from typing import NamedTuple

from ipc.trace import Event
from simulator.fold import Timeline, apply

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


class RunHistory:
    """Each process's state changes (`changes`, in lane order: main first, then the scenario's
    processes, then any other that appears) and each channel's depth levels (`levels`)."""

    def __init__(self, timeline: Timeline, started_ns: int):
        snap = timeline.state_after(0)
        self._snap = snap
        self.changes: dict[str, list[Change]] = {
            name: [Change(started_ns, p.state, p.op, p.waits_on, -1)] for name, p in snap.processes.items()}
        self.levels: dict[str, list[Level]] = {name: [Level(started_ns, 0, -1)] for name in snap.channels}

    def feed(self, events: list[Event], first: int) -> tuple[dict[str, int], dict[str, int]]:
        """Fold in `events[first:]`. Returns where the new entries start: for each process whose
        state changed, the position of its first new change in `changes[process]`; for each
        channel whose depth changed, that of its first new level in `levels[channel]`."""
        snap, changes, levels = self._snap, self.changes, self.levels
        changes_before = {name: len(history) for name, history in changes.items()}
        levels_before = {name: len(history) for name, history in levels.items()}
        processes, channels = snap.processes, snap.channels
        new_change = Change._make
        for i in range(first, len(events)):
            e = events[i]
            apply(snap, e)
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
                    history = changes[name] = []
                elif history:
                    last = history[-1]
                    if last.state == state and last.op == op and last.waits_on == waits_on:
                        continue
                history.append(new_change((e.t_ns, state, op, waits_on, i)))
            if kind in DEPTH_KINDS:
                for name in (obj,) if obj in channels else list(channels):  # a lost item names none
                    depth = channels[name].depth()
                    history = levels.setdefault(name, [])
                    if not history or history[-1].depth != depth:
                        history.append(Level(e.t_ns, depth, i))
        return _grown(changes, changes_before), _grown(levels, levels_before)

    def rewind(self, timeline: Timeline, first: int) -> None:
        """Forget what events from index `first` on did (a late event is being sorted in there)."""
        self._snap = timeline.state_after(first)
        for history in (*self.changes.values(), *self.levels.values()):
            while history and history[-1].index >= first:
                history.pop()

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


def _grown(histories: dict[str, list], before: dict[str, int]) -> dict[str, int]:
    return {name: before.get(name, 0) for name, history in histories.items()
            if len(history) > before.get(name, 0)}
