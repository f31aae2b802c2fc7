"""Exporting a recorded run: JSON Lines, and Chrome / Perfetto trace JSON.

`to_jsonl(recording, out)` writes exactly what ``ipcsim run --jsonl`` writes during a run: one
object per event (`recording.jsonl_record`; fields in the README), ``t_ns`` counted from the
start of the run.

`to_perfetto(recording)` returns a dict in the Trace Event Format's JSON object form, which
https://ui.perfetto.dev and chrome://tracing open (drag the file onto the page). What it holds:

Top level
    ``traceEvents`` (the list below), ``displayTimeUnit`` ``"ms"`` (the timestamps themselves
    are always microseconds), ``otherData`` (``title``, ``start_method``, ``exported_by``).

Every event
    ``name``, ``ph`` (the phase, below), ``ts`` (microseconds since the run started, a float
    with nanosecond precision), ``pid`` (always `PID`: the run is one "process" in the viewer),
    ``tid`` (one per process of the run: 1 is main, then the scenario's processes in the
    scenario's order, then any other process of the run (pool workers, the manager) in order of
    appearance), and where it applies ``cat`` and ``args``.

``"M"`` metadata (``ts`` 0)
    ``process_name`` (``args.name``: the scenario's title), and per track ``thread_name``
    (``args.name``: the process's name) and ``thread_sort_index`` (``args.sort_index``: its
    tid, so main comes first).

``"X"`` complete slices, ``cat`` ``"state"``
    The spans a process spends in each state of the fold (`simulator.fold`) while it is alive:
    ``starting``, ``running``, ``sleeping``, ``working on <item>`` and ``blocked in q.put()``
    (``q.get()``, ``pipe.send()``, ``pipe.recv()``, ``q.join()``, ``join(P1)``, ...). ``dur`` in
    microseconds; ``args``: ``state``, and ``op`` and ``waits_on`` when blocked. They come from
    applying `simulator.fold.apply` to the events one by one and noting each change of a
    process's (state, op, waits_on).

``"X"`` slices, ``cat`` ``"message"``
    One short slice per message handed over, on the track of the process that did it: ``put
    'item 0' on q``, ``got 'item 0' from q``, ``sent ... through end 2 of pipe``, ``received
    ... on end 1 of pipe``, and a pool's tasks (``submit f (pool)``, ``run f (pool)``). Each lasts at most
    `MESSAGE_SLICE_NS` and ends before the process's next state change or message, so it nests
    inside the state slice. ``args``: ``message`` (its id), ``channel``, ``preview``.

``"s"`` / ``"f"`` flow events, ``cat`` and ``name`` ``"message"``
    An arrow from each put/send (or task submission) to its get/receive (or the task's start):
    ``"s"`` at the put, bound to the putter's message slice; ``"f"`` with ``"bp": "e"`` at the
    get, bound to the getter's message slice. Both carry the same ``id``: an integer below 2**53
    derived from a hash of the message id, unique in the file. A message that was put but never
    got (dropped, lost, left in a channel) has no flow at all, so no arrow dangles.

``"i"`` instant events, ``cat`` ``"event"``
    The notable moments, named by their caption (`simulator.captions`), ``args`` holding the
    event's ``kind``, ``object``, ``message`` and ``detail``: ``run_started``, ``run_stopped``
    and ``deadlock_detected`` (``"s": "g"``, across all tracks); a process's start, exit,
    failure, terminate/kill request and daemon kill (``"s": "t"`` on that process's track); and
    every other failure (``*_failed``: dropped or lost messages, Empty, ...; ``connection_error``)
    on the track of the process it happened in.

``"C"`` counters, ``cat`` ``"channel"``
    Per channel (``name``: the channel), ``args.depth``: how many messages it holds (a pipe:
    in flight, both ways), and for a JoinableQueue ``args.unfinished``: puts not yet matched by
    ``task_done()``. One at the start of the run, then one at every change.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections import defaultdict
from typing import IO, Any

from ipc.trace import Event

from .captions import caption
from .fold import MAIN, Snapshot, apply, initial_snapshot
from .recording import Recording, jsonl_record

PID = 1
MESSAGE_SLICE_NS = 200_000

FLOW_START = {"message_put": "put", "message_sent": "sent", "task_submitted": "submit"}
FLOW_END = {"message_got": "got", "message_received": "received", "task_started": "run"}
RUN_INSTANTS = ("run_started", "run_stopped", "deadlock_detected")
PROCESS_INSTANTS = ("process_started", "process_exited", "process_failed", "process_terminate_requested",
                    "process_kill_requested", "daemon_killed_at_exit")

# Order of events that share a timestamp: a slice before the slices and flows it encloses.
_RANK = {"M": 0, "state": 1, "message": 2, "flow": 3, "i": 4, "C": 5}


def to_jsonl(recording: Recording, out: IO[str]) -> None:
    """Write `recording`'s events to `out` as JSON Lines, as ``run --jsonl`` does."""
    for e in recording.events:
        out.write(json.dumps(jsonl_record(e, recording.started_ns)) + "\n")


def to_perfetto(recording: Recording) -> dict[str, Any]:
    """`recording` as Chrome / Perfetto trace JSON (see the module docstring for every field)."""
    return _PerfettoExport(recording).build()


class _PerfettoExport:
    def __init__(self, recording: Recording):
        self.recording = recording
        self.scenario = recording.document.scenario
        self.t0 = recording.started_ns
        self.tids: dict[str, int] = {}
        self.out: list[tuple[tuple, dict]] = []  # (sort key, event)
        self.marks: dict[str, list[int]] = defaultdict(list)  # per process: state changes, messages

    # -- output

    def us(self, t_ns: int) -> float:
        return round((t_ns - self.t0) / 1000, 3)

    def tid(self, name: str) -> int:
        if name not in self.tids:
            self.tids[name] = len(self.tids) + 1
        return self.tids[name]

    def emit(self, rank: str, t_ns: int, record: dict, dur_ns: int = 0) -> None:
        record = {"ts": self.us(t_ns), "pid": PID, **record}
        self.out.append(((t_ns, _RANK[rank], -dur_ns, len(self.out)), record))

    def build(self) -> dict[str, Any]:
        snap = initial_snapshot(self.scenario)
        for name in snap.processes:  # main first, then the scenario's processes in order
            self.tid(name)
        events = self.recording.events
        end_ns = events[-1].t_ns if events else self.t0
        states: dict[str, tuple] = {}  # process -> (state key, start, name, args)
        channels: dict[str, tuple] = {}  # channel -> the values of its last counter event
        self.emit_counters(snap, events[0].t_ns if events else self.t0, channels, MAIN)
        puts: dict[str, Event] = {}  # message id -> its put, send or task submission
        gets: dict[str, Event] = {}  # message id -> its get, receive or task start
        for e in events:
            apply(snap, e)
            self.note_states(snap, e.t_ns, states)
            self.emit_counters(snap, e.t_ns, channels, e.process)
            if e.kind in FLOW_START or e.kind in FLOW_END:
                self.marks[e.process].append(e.t_ns)
                if e.message is not None:
                    (puts if e.kind in FLOW_START else gets).setdefault(e.message, e)
            if e.kind in RUN_INSTANTS or e.kind in PROCESS_INSTANTS or e.kind.endswith(("_failed", "_error")):
                self.emit_instant(e, snap)
        for name in list(states):
            self.close_state(name, end_ns, states)
        self.emit_messages(puts, gets, end_ns)
        self.emit_metadata()
        self.out.sort(key=lambda pair: pair[0])
        return {
            "traceEvents": [record for _, record in self.out],
            "displayTimeUnit": "ms",
            "otherData": {"title": self.scenario.title, "start_method": self.scenario.start_method,
                          "exported_by": "ipcsim export-trace"},
        }

    def emit_metadata(self) -> None:
        main = self.tids[MAIN]
        self.emit("M", self.t0, {"ph": "M", "name": "process_name", "tid": main,
                                 "args": {"name": self.scenario.title}})
        for name, tid in self.tids.items():
            self.emit("M", self.t0, {"ph": "M", "name": "thread_name", "tid": tid, "args": {"name": name}})
            self.emit("M", self.t0, {"ph": "M", "name": "thread_sort_index", "tid": tid,
                                     "args": {"sort_index": tid}})

    # -- states

    def note_states(self, snap: Snapshot, t_ns: int, states: dict[str, tuple]) -> None:
        for p in snap.processes.values():
            key = (p.state, p.op, p.waits_on) if p.alive else None
            current = states.get(p.name)
            if (current[0] if current else None) == key:
                continue
            self.close_state(p.name, t_ns, states)
            if key is not None:
                args = {"state": p.state, **({"op": p.op, "waits_on": p.waits_on} if p.op else {})}
                states[p.name] = (key, t_ns, _state_name(snap, p), args)
                self.tid(p.name)
            self.marks[p.name].append(t_ns)

    def close_state(self, name: str, t_ns: int, states: dict[str, tuple]) -> None:
        current = states.pop(name, None)
        if current is None:
            return
        _, start, label, args = current
        if t_ns > start:
            self.emit("state", start, {"ph": "X", "cat": "state", "name": label, "tid": self.tid(name),
                                       "dur": round((t_ns - start) / 1000, 3), "args": args}, t_ns - start)

    # -- channels

    def emit_counters(self, snap: Snapshot, t_ns: int, last: dict[str, tuple], emitter: str) -> None:
        for ch in snap.channels.values():
            joinable = (ch.queue_type or "").endswith("JoinableQueue")
            values = (ch.depth(), ch.unfinished if joinable else None)
            if last.get(ch.name) == values:
                continue
            last[ch.name] = values
            args = {"depth": values[0]} if values[1] is None else {"depth": values[0], "unfinished": values[1]}
            self.emit("C", t_ns, {"ph": "C", "cat": "channel", "name": ch.name,
                                  "tid": self.tids.get(emitter, self.tids[MAIN]), "args": args})

    # -- instants

    def emit_instant(self, e: Event, snap: Snapshot) -> None:
        record = {"ph": "i", "cat": "event", "name": caption(e, snap),
                  "args": {"kind": e.kind, "object": e.object, "message": e.message, "detail": e.detail}}
        if e.kind in RUN_INSTANTS:
            record.update(s="g", tid=self.tids[MAIN])
        elif e.kind in PROCESS_INSTANTS and e.object:
            record.update(s="t", tid=self.tid(e.object))
        else:
            record.update(s="t", tid=self.tid(e.process))
        self.emit("i", e.t_ns, record)

    # -- messages and flows

    def emit_messages(self, puts: dict[str, Event], gets: dict[str, Event], end_ns: int) -> None:
        for marks in self.marks.values():
            marks.sort()
        for e in [*puts.values(), *gets.values()]:
            self.emit_message_slice(e, end_ns)
        used: set[int] = set()
        for mid, put in puts.items():
            get = gets.get(mid)
            if get is None:
                continue
            flow = _flow_id(mid, used)
            self.emit("flow", put.t_ns, {"ph": "s", "cat": "message", "name": "message", "id": flow,
                                         "tid": self.tid(put.process)})
            self.emit("flow", get.t_ns, {"ph": "f", "bp": "e", "cat": "message", "name": "message",
                                         "id": flow, "tid": self.tid(get.process)})

    def emit_message_slice(self, e: Event, end_ns: int) -> None:
        marks = self.marks[e.process]
        i = bisect.bisect_right(marks, e.t_ns)
        limit = marks[i] if i < len(marks) else max(end_ns, e.t_ns)
        dur = min(MESSAGE_SLICE_NS, limit - e.t_ns)
        d = e.detail if isinstance(e.detail, dict) else {}
        self.emit("message", e.t_ns, {
            "ph": "X", "cat": "message", "name": _message_name(e, d), "tid": self.tid(e.process),
            "dur": round(dur / 1000, 3),
            "args": {"message": e.message, "channel": e.object, "preview": d.get("preview")}}, dur)


def _state_name(snap: Snapshot, p) -> str:
    if p.state == "blocked":
        if p.op == "join" and p.waits_on in snap.processes:
            return f"blocked in join({p.waits_on})"
        if p.op in ("join", "queue_join"):
            return f"blocked in {p.waits_on}.join()"
        return f"blocked in {p.waits_on}.{p.op}()"
    if p.state == "working":
        held = snap.messages.get(p.holding) if p.holding else None
        return f"working on {held.preview}" if held is not None and held.preview else "working"
    return p.state


def _message_name(e: Event, d: dict) -> str:
    item = d.get("preview") or e.message
    if e.kind == "message_put":
        return f"put {item} on {e.object}"
    if e.kind == "message_got":
        return f"got {item} from {e.object}"
    if e.kind == "message_sent":
        return f"sent {item} through end {d.get('end')} of {e.object}"
    if e.kind == "message_received":
        return f"received {item} on end {d.get('end')} of {e.object}"
    verb = FLOW_START.get(e.kind) or FLOW_END.get(e.kind)
    return f"{verb} {d.get('function', 'task')} ({e.object})"


def _flow_id(message_id: str, used: set[int]) -> int:
    """A stable integer for a message id (a 53-bit hash, so JavaScript reads it exactly),
    moved on to the next free integer in the rare case it is already taken."""
    digest = hashlib.blake2b(str(message_id).encode(), digest_size=8).digest()
    n = int.from_bytes(digest, "big") >> 11
    while n in used:
        n = (n + 1) % (1 << 53)
    used.add(n)
    return n
