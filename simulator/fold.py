"""The fold: from a run's events to a snapshot of everything at one moment.

The live view, the replay scrubber, the plots, the headless renderer and the command line's
summary all call this one fold, so what is shown live and what is shown in replay cannot differ.

Process states (`ProcessState.state`):

=================  =========================================================================
``not_started``    main has not called ``start()`` yet
``starting``       ``start()`` was called; the child has not reported yet
``running``        running its own code
``sleeping``       in a pause (start delay, interval between items, main's ``sleep``)
``working``        working on an item it got (``holding`` says which)
``blocked``        inside an operation that could not complete at once: ``op`` is ``put``,
                   ``get``, ``send``, ``recv``, ``queue_join``, ``acquire`` or ``join``;
                   ``waits_on`` names the channel, the lock or (for ``join``) the process or
                   pool; ``timeout`` is the operation's timeout, None when it waits for good
``finished``       exited with code 0
``failed``         exited with a positive code (``error`` holds the exception, if one was raised),
                   or crashed: died of a signal of `CRASH_SIGNALS` (-11: a segmentation fault)
``terminated``     ended by another signal (``exitcode`` is minus the signal: -15 for
                   ``terminate()``)
``daemon_killed``  a daemon terminated by main's exit handler at the end of the program
``stopped``        still alive when the run was stopped (Stop, timeout): killed with the run
=================  =========================================================================

Besides main (``role`` ``main``) and the scenario's processes (``process``), a run can have
pool workers (``pool_worker``: ``pool`` names their pool, ``task`` the task they are running)
and the manager's server process (``manager``, named in `Snapshot.manager`). Pools, locks and
dicts and lists have their own states (`Snapshot.pools`, `.locks`, `.shared`: see
`simulator.fold_objects`). Manager queues are channels like the others (their events name the
manager in ``detail.via``).

**Deadlock**: `deadlock(snapshot)` (`simulator.deadlock`) names the processes blocked for good
when nothing can wake any of them; a run watched for it records ``deadlock_detected``, which
sets `Snapshot.deadlock`.

Message locations (`MessageState.where`): ``held`` by a process (it is putting it, or has got
it and is working on it), ``queue`` / ``pipe`` (inside the channel), and, once settled,
``delivered``, ``dropped`` (a put that failed: the item never entered the channel) or ``lost``
(held by a process that was killed, or dropped by a feeder thread). Settled messages are
counted in `Snapshot.counts` rather than kept, so snapshots stay small for long runs.

A process killed in the middle of an operation leaves only what it reported, and the fold
settles its message from that, never by guessing:

* a sender reports ``send_called`` before writing: killed before ``message_sent``, its message
  is counted lost with it (kept in `Snapshot.unconfirmed`), unless a receive of it comes, which
  shows it went through: then it is sent and received;
* a getter reports after taking the item, and a killed putter's feeder thread loses what it had
  not written: the message stays shown inside until a get shows it gone. A sender's messages
  come out of a channel in the order it reported them, so one of them got settles as lost every
  earlier one still shown inside (`_take_in_order`); and a get that found a queue's pipe empty
  (``"empty": True``) settles as lost the messages still shown inside whose putter had ended
  before it (`_found_empty`). Until then (or if no get comes) they are shown inside: some may be.

Seeking: `Timeline` keeps a checkpoint (a copy of the state) every `CHECKPOINT_EVERY` events,
or, when the queues are deep, every third as many events as there are messages unsettled, and
`state_at(t)` copies one checkpoint and applies the events after it. The newest
`WHOLE_CHECKPOINTS` are kept as they are (a late event folds again from one of them, a short
way; a live view holds events back until late ones are in, so this is seldom). Older ones are
kept frozen (compressed: ~10 bytes per message in them) when they are as many events apart as
there are messages in them, and dropped otherwise: so checkpoints cost at most about three
messages copied and one frozen per event, however deep the queues, and a long run's fit in
memory.
"""

from __future__ import annotations

import bisect
import signal
import time
from collections.abc import Iterator

from ipc.trace import Event

from .deadlock import deadlock  # noqa: F401  (part of the fold's interface)
from .event_store import EventStore
from .fold_objects import OBJECT_HANDLERS, ended_with_objects
from .scenario import JOINABLE, Scenario
from .snapshot import (ENDED, MAIN, Access, ChannelState, Contents, LockState, MessageState,  # noqa: F401
                       PoolState, ProcessState, SharedState, Snapshot, frozen_parts, initial_snapshot,
                       set_state, thawed)

CHECKPOINT_EVERY = 2048
WHOLE_CHECKPOINTS = 3  # the newest checkpoints, kept unfrozen and closer together


# --------------------------------------------------------------------------- applying events


def apply(snap: Snapshot, e: Event) -> None:
    """Fold one event into `snap` (events must come in `recording.sort_key` order)."""
    snap.t_ns = e.t_ns
    snap.events += 1
    handler = _HANDLERS.get(e.kind)
    if handler is not None:
        handler(snap, e)


_set = set_state


def _settle(snap: Snapshot, mid: str | None, outcome: str) -> None:
    if mid is not None and snap.messages.pop(mid, None) is not None:
        snap.counts[outcome] += 1


def _done_with_held(snap, e):
    """Asking for the next item means the process is done with the one it holds."""
    p = snap.process(e.process)
    held = snap.messages.get(p.holding) if p.holding else None
    if held is not None and held.where == "held" and held.at == e.process:
        _settle(snap, p.holding, "delivered")
    p.holding = None


def _hold(snap: Snapshot, e: Event) -> None:
    """The emitting process now holds message e.message (it got it, or is about to put it)."""
    if snap.process(e.process).holding != e.message:
        _done_with_held(snap, e)
    snap.process(e.process).holding = e.message


def _preview(e: Event) -> str:
    return (e.detail or {}).get("preview", "")


def _timeout(e: Event) -> float | None:
    return (e.detail or {}).get("timeout")


# -- runs and processes


def _run_started(snap, e):
    snap.run = "running"
    snap.processes[MAIN].state = "running"
    snap.processes[MAIN].since_ns = e.t_ns


def _run_stopped(snap, e):
    reason = (e.detail or {}).get("reason", "finished")
    snap.run = reason
    for p in snap.processes.values():
        if p.alive:
            if p.name == MAIN and reason == "finished":
                _set(snap, MAIN, "finished", e.t_ns)
                p.exitcode = (e.detail or {}).get("exitcode")
            else:
                p.state, p.since_ns, p.op, p.waits_on = "stopped", e.t_ns, None, None
                _lose_held(snap, p)
                ended_with_objects(snap, p)


def _start_requested(snap, e):
    p = _set(snap, e.object, "starting", e.t_ns)
    p.daemon = bool((e.detail or {}).get("daemon", p.daemon))


def _started(snap, e):
    p = _set(snap, e.object, "running", e.t_ns)
    p.pid = e.pid


def _terminate_requested(snap, e):
    snap.process(e.object).terminate_requested = True


def _daemon_killed(snap, e):
    snap.process(e.object).killed_at_exit = True


def _failed(snap, e):
    d = e.detail or {}
    snap.process(e.object).error = f"{d.get('error')}: {d.get('reason', '')}".rstrip(": ")


def _exited(snap, e):
    p = snap.process(e.object)
    if p.state in ENDED:
        return
    code = (e.detail or {}).get("exitcode")
    p.exitcode = code
    if code == 0:
        state = "finished"
    elif code is not None and (code > 0 or crashed(code)):
        state = "failed"
    else:
        state = "daemon_killed" if p.killed_at_exit else "terminated"
    _set(snap, e.object, state, e.t_ns)
    if state == "finished":
        _settle(snap, p.holding, "delivered")
    else:
        _lose_held(snap, p)
    p.holding = None
    ended_with_objects(snap, p)


# The signals a process dies of when it crashes, rather than when something kills it.
CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT})


def crashed(code: int | None) -> bool:
    """Whether exit code `code` says the process crashed (died of one of `CRASH_SIGNALS`)."""
    return code is not None and -code in CRASH_SIGNALS


def signal_name(code: int) -> str:
    """The signal a negative exit code names: ``SIGSEGV`` for -11 (``signal 99`` if unknown)."""
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def signal_meaning(code: int) -> str:
    """What that signal means, in words: ``segmentation fault`` for -11 ("" if unknown)."""
    try:
        return (signal.strsignal(-code) or "").lower()
    except ValueError:
        return ""


def _lose_held(snap, p: ProcessState) -> None:
    held = snap.messages.get(p.holding) if p.holding else None
    if held is not None and held.where == "held":
        if _sending(snap, held):  # it may have been written whole before the kill
            snap.unconfirmed[held.id] = held
        _settle(snap, p.holding, "lost")


def _sending(snap, msg: MessageState) -> bool:
    """Whether `msg` is being sent into a pipe by its sender (``send_called``, no
    ``message_sent`` yet)."""
    ch = snap.channels.get(msg.channel)
    return msg.where == "held" and msg.at == msg.source and ch is not None and ch.kind == "pipe"


def _take_in_order(snap, ids: Contents, mid: str) -> bool:
    """Take `mid` out of a channel's ids; the messages of the same sender still shown ahead of it
    are provably gone, and are settled lost: a sender's messages go through a channel in the
    order it reported them (one feeder thread per process and queue writes them in order; a
    pipe is a byte stream), so one of them read means every earlier one was read before it, by
    a process killed before it could report, or was never written (it was in the buffer of a
    putter killed since, which loses it: then nothing later of that putter can be read either,
    so this is the former)."""
    if mid not in ids:
        return False
    for other in ids.before(mid):
        ids.remove(other)
        _settle(snap, other, "lost")
    ids.remove(mid)
    return True


def _found_empty(snap, e) -> None:
    """A get found queue e.object's pipe empty (``"empty": True``) at a moment after e.t_ns:
    every message written before then had been read, and each reader that reported it stamped
    it before this. So the messages still shown inside whose putter had ended before this
    (its feeder thread flushed, or killed with it) are gone: read by a process killed before
    it could report, or never written. They are settled lost."""
    ch = snap.channels.get(e.object)
    if ch is None or not ch.contents or not (e.detail or {}).get("empty"):
        return
    for sender in ch.contents.senders():
        putter = snap.processes.get(sender)
        if putter is not None and putter.state in ENDED:
            for mid in ch.contents.of(sender):
                ch.contents.remove(mid)
                _settle(snap, mid, "lost")


# -- queues


def _put_blocked(snap, e):
    _set(snap, e.process, "blocked", e.t_ns, "put", e.object, _timeout(e))
    snap.messages[e.message] = MessageState(e.message, _preview(e), e.process, "held", e.process, e.object)
    _hold(snap, e)


def _message_put(snap, e):
    _set(snap, e.process, "running", e.t_ns)
    ch = snap.channels.get(e.object)
    if ch is None:
        ch = snap.channels[e.object] = ChannelState(e.object, "queue")
    ch.contents.append(e.message, e.process)
    if ch.queue_type in JOINABLE:
        ch.unfinished += 1
    _entered(snap, e, "queue", "put")


def _entered(snap, e, where: str, counter: str) -> None:
    """Message e.message is now inside channel e.object; its putter no longer holds it."""
    snap.messages[e.message] = MessageState(e.message, _preview(e), e.process, where, e.object, e.object)
    snap.counts[counter] += 1
    p = snap.process(e.process)
    if p.holding == e.message:
        p.holding = None


def _put_failed(snap, e):
    d = e.detail or {}
    if d.get("lost"):  # the feeder thread could not send an item that was already put
        msg = snap.messages.get(e.message)
        if msg is not None and msg.where == "queue":
            snap.channels[msg.at].contents.remove(e.message)
        _settle(snap, e.message, "lost")
        return
    _set(snap, e.process, "running", e.t_ns)
    snap.messages.setdefault(e.message, MessageState(e.message, _preview(e), e.process, "held", e.process, e.object))
    _settle(snap, e.message, "dropped")
    p = snap.process(e.process)
    if p.holding == e.message:
        p.holding = None


def _get_blocked(snap, e):
    _done_with_held(snap, e)
    _set(snap, e.process, "blocked", e.t_ns, "get", e.object, _timeout(e))
    _found_empty(snap, e)


def _message_got(snap, e):
    _set(snap, e.process, "running", e.t_ns)
    ch = snap.channels.get(e.object)
    msg = snap.messages.get(e.message)
    if ch is not None:
        _take_in_order(snap, ch.contents, e.message)
    source = msg.source if msg else "?"
    snap.messages[e.message] = MessageState(e.message, _preview(e), source, "held", e.process, e.object)
    snap.counts["got"] += 1
    _hold(snap, e)


def _get_failed(snap, e):
    _done_with_held(snap, e)
    _set(snap, e.process, "running", e.t_ns)
    _found_empty(snap, e)


def _task_done(snap, e):
    ch = snap.channels.get(e.object)
    if ch is not None:
        ch.unfinished = (e.detail or {}).get("unfinished", max(ch.unfinished - 1, 0))
    snap.counts["task_done"] += 1
    p = snap.process(e.process)
    _settle(snap, p.holding, "delivered")
    p.holding = None


def _join_blocked(snap, e):
    _set(snap, e.process, "blocked", e.t_ns, "queue_join", e.object)


def _running(snap, e):
    _set(snap, e.process, "running", e.t_ns)


def _queue_closed(snap, e):
    if e.object in snap.channels:
        snap.channels[e.object].closed = True


# -- pipes


def _pipe_end(e: Event) -> str | None:
    end = (e.detail or {}).get("end")
    return None if end is None else str(end)


def _pipe(snap, name) -> ChannelState:
    ch = snap.channels.get(name)
    if ch is None:
        ch = snap.channels[name] = ChannelState(name, "pipe", in_flight={"1": Contents(), "2": Contents()})
    return ch


def _send_called(snap, e):
    """The sender is about to write the message: it holds it until ``message_sent``."""
    _set(snap, e.process, "running", e.t_ns)
    _pipe(snap, e.object)
    snap.messages[e.message] = MessageState(e.message, _preview(e), e.process, "held", e.process, e.object)
    _hold(snap, e)


def _send_blocked(snap, e):
    _set(snap, e.process, "blocked", e.t_ns, "send", e.object, end=_pipe_end(e))
    snap.messages[e.message] = MessageState(e.message, _preview(e), e.process, "held", e.process, e.object)
    _hold(snap, e)


def _message_sent(snap, e):
    _set(snap, e.process, "running", e.t_ns)
    end = str((e.detail or {}).get("end"))
    _pipe(snap, e.object).in_flight.setdefault(end, Contents()).append(e.message, e.process)
    _entered(snap, e, "pipe", "sent")


def _recv_blocked(snap, e):
    _done_with_held(snap, e)
    _set(snap, e.process, "blocked", e.t_ns, "recv", e.object, end=_pipe_end(e))


def _message_received(snap, e):
    _set(snap, e.process, "running", e.t_ns)
    for ids in _pipe(snap, e.object).in_flight.values():
        if _take_in_order(snap, ids, e.message):
            break
    msg = snap.messages.get(e.message)
    if msg is None and e.message in snap.unconfirmed:  # counted lost with its killed sender
        msg = snap.unconfirmed.pop(e.message)
        snap.counts["lost"] -= 1
        snap.counts["sent"] += 1
    elif msg is not None and _sending(snap, msg):  # its sender was killed before message_sent
        snap.counts["sent"] += 1
        sender = snap.process(msg.at)
        if sender.holding == e.message:
            sender.holding = None
    source = msg.source if msg else "?"
    snap.messages[e.message] = MessageState(e.message, _preview(e), source, "held", e.process, e.object)
    snap.counts["received"] += 1
    _hold(snap, e)


def _connection_error(snap, e):
    d = e.detail or {}
    p = _set(snap, e.process, "running", e.t_ns)
    p.error = f"{d.get('error')}: {d.get('reason', '')}".rstrip(": ")
    held = snap.messages.get(p.holding) if p.holding else None
    if str(d.get("op", "")).startswith("send") and held is not None and held.at == e.process \
            and held.channel == e.object and _sending(snap, held):
        _settle(snap, p.holding, "dropped")  # the send failed: it never went through
        p.holding = None


# -- main's steps and pauses


def _step_started(snap, e):
    d = e.detail or {}
    main = snap.process(e.process)
    main.step = e.object
    main.step_index += 1
    if d.get("op") == "join":
        _set(snap, e.process, "blocked", e.t_ns, "join", d.get("target"), d.get("timeout"))
    elif d.get("op") == "sleep":
        _set(snap, e.process, "sleeping", e.t_ns)
    else:  # (after a step that raised, main goes on to its end without finishing that step)
        _set(snap, e.process, "running", e.t_ns)


def _step_finished(snap, e):
    _set(snap, e.process, "running", e.t_ns)


def _sleep_started(snap, e):
    _set(snap, e.process, "sleeping", e.t_ns)


def _work_started(snap, e):
    _set(snap, e.process, "working", e.t_ns)


_HANDLERS = {
    "run_started": _run_started,
    "run_stopped": _run_stopped,
    "process_start_requested": _start_requested,
    "process_started": _started,
    "process_terminate_requested": _terminate_requested,
    "daemon_killed_at_exit": _daemon_killed,
    "process_failed": _failed,
    "process_exited": _exited,
    "put_blocked": _put_blocked,
    "message_put": _message_put,
    "put_failed": _put_failed,
    "get_blocked": _get_blocked,
    "message_got": _message_got,
    "get_failed": _get_failed,
    "task_done": _task_done,
    "task_done_failed": _running,
    "join_blocked": _join_blocked,
    "join_returned": _running,
    "queue_closed": _queue_closed,
    "send_called": _send_called,
    "send_blocked": _send_blocked,
    "message_sent": _message_sent,
    "recv_blocked": _recv_blocked,
    "message_received": _message_received,
    "connection_error": _connection_error,
    "main_step_started": _step_started,
    "main_step_finished": _step_finished,
    "sleep_started": _sleep_started,
    "sleep_finished": _running,
    "work_started": _work_started,
    "work_finished": _running,
    **OBJECT_HANDLERS,  # pools, locks, dicts and lists, deadlock_detected
}


# --------------------------------------------------------------------------- the timeline


def sort_key(event: Event):
    """Time order across processes. (An Event is a tuple that starts (t_ns, pid, seq), so
    sorting events themselves gives the same order, faster.)"""
    return (event.t_ns, event.pid, event.seq)


def _thaw(checkpoint: Snapshot | tuple[bytes, ...]) -> Snapshot:
    """A fresh copy of the state a checkpoint holds: whole, or frozen (`frozen_parts`; made
    here, never read from a file)."""
    if isinstance(checkpoint, Snapshot):
        return checkpoint.copy()
    return thawed(checkpoint)


class Reader:
    """How far a reader (a panel) has taken a timeline's events: `taken` of them, and `cut`, the
    first of those that moved since (a late event was sorted in before it), or None."""

    def __init__(self):
        self.taken = 0
        self.cut: int | None = None

    def take(self, n: int) -> int | None:
        """Mark the first `n` events taken; returns the cut to undo first (None: nothing moved)."""
        cut, self.cut, self.taken = self.cut, None, n
        return cut


class Timeline:
    """A run's events in time order, growing while the run is live, with `state_at(t)`.

    Events from different processes can arrive slightly out of order; `extend` puts each in its
    place and drops the checkpoints it invalidates, so live and replay fold identically. The
    events are held in an `EventStore` (compact: a long run fits in memory).
    """

    def __init__(self, scenario: Scenario, events: list[Event] = ()):
        self.scenario = scenario
        self.events = EventStore()
        # Checkpoints, by `_checkpoint_at`: the newest `WHOLE_CHECKPOINTS` as they are (a late
        # event folds again from one of them), older ones frozen (see `tidy`).
        self._checkpoints: list[Snapshot | tuple[bytes, ...]] = [initial_snapshot(scenario)]
        self._checkpoint_at: list[int] = [0]  # how many events each checkpoint comes after
        self._retired = 1  # the checkpoints before this one are frozen (but the run's start)
        self._freezing: Iterator[bytes] | None = None  # checkpoint `_retired`'s parts, to come
        self._parts: list[bytes] = []  # ... and those made so far
        self._head = _thaw(self._checkpoints[0])  # the state after every event so far
        self._listeners: list = []  # see `listen`
        self._readers: list[Reader] = []
        self.extend(list(events))

    def listen(self, listener) -> None:
        """Have `listener` see the fold event by event, from the first event on, without folding
        again: ``listener.applied(snapshot, event, i)`` after event `i` was folded into
        `snapshot` (read it, never change it), and ``listener.rewound(i)`` when events from `i`
        on are folded again (a late event was sorted in among them)."""
        snap = _thaw(self._checkpoints[0])
        for i, e in enumerate(self.events):  # what it missed
            apply(snap, e)
            listener.applied(snap, e, i)
        self._listeners.append(listener)

    def reader(self) -> Reader:
        """A `Reader` this timeline tells when events it took moved."""
        reader = Reader()
        self._readers.append(reader)
        return reader

    def __len__(self) -> int:
        return len(self.events)

    @property
    def start_ns(self) -> int:
        return self.events.time(0) if self.events else 0

    @property
    def end_ns(self) -> int:
        return self.events.time(-1) if self.events else 0

    def extend(self, events: list[Event]) -> None:
        if not events:
            return
        old = len(self.events)
        events = sorted(events)  # tuples starting (t_ns, pid, seq): see sort_key
        first = self.events.add(events)
        if first < old:
            # A late event: fold again from the last checkpoint before it.
            for reader in self._readers:
                if reader.taken > first:
                    reader.cut = first if reader.cut is None else min(reader.cut, first)
            k = bisect.bisect_right(self._checkpoint_at, first)  # those after at most `first` stay
            del self._checkpoints[k:], self._checkpoint_at[k:]
            if self._retired >= k:  # (the one being frozen, if any, is gone)
                self._retired, self._freezing = max(k, 1), None
            self._head = _thaw(self._checkpoints[-1])
            first = self._head.events
            for listener in self._listeners:
                listener.rewound(first)
            events = self.events[first:]
        head, at, listeners = self._head, self._checkpoint_at, self._listeners
        for i, e in enumerate(events, first):  # (the new ones: not read back from the store)
            apply(head, e)
            for listener in listeners:
                listener.applied(head, e, i)
            if i + 1 - at[-1] >= CHECKPOINT_EVERY and i + 1 - at[-1] >= len(head.messages) // WHOLE_CHECKPOINTS:
                self._checkpoints.append(head.copy())
                at.append(i + 1)
                # (a live view retires them in its frames; whoever else folds, here: at once)
                self.tidy(None if len(at) - self._retired > WHOLE_CHECKPOINTS + 1 else 0.0)
        # A late event folds again from a whole checkpoint: what follows the oldest stays whole.
        self.events.seal_before(at[-WHOLE_CHECKPOINTS] if len(at) >= WHOLE_CHECKPOINTS else 0, len(events))

    def tidy(self, seconds: float | None = 0.0) -> None:
        """Retire, oldest first, the checkpoints no longer among the newest: each is frozen if it
        is as far from the frozen one before it as its state is large (one message frozen per
        event, at most), else dropped. Freezing is the fold's dearest step (~0.3 s for 160,000
        messages), so it is done a slice (`FREEZE_ROWS` messages) at a time, for a live view to
        spread it over its frames: slices for about `seconds` (one at least), or, with None, all
        there is to do."""
        at, started = self._checkpoint_at, time.perf_counter()
        while self._retired < len(at) - WHOLE_CHECKPOINTS:
            k = self._retired
            if self._freezing is None:
                checkpoint = self._checkpoints[k]
                if at[k] - at[k - 1] < len(checkpoint.messages):  # (k - 1: frozen, or the start)
                    del self._checkpoints[k], at[k]
                    continue
                self._freezing, self._parts = frozen_parts(checkpoint), []
            part = next(self._freezing, None)
            if part is not None:
                self._parts.append(part)
            else:
                self._checkpoints[k], self._freezing = tuple(self._parts), None
                self._retired += 1
            if seconds is not None and time.perf_counter() - started >= seconds:
                return

    def _state_after(self, n: int) -> Snapshot:
        """The state after the first `n` events."""
        k = bisect.bisect_right(self._checkpoint_at, n) - 1
        snap = _thaw(self._checkpoints[k])
        for e in self.events[self._checkpoint_at[k]:n]:
            apply(snap, e)
        return snap

    def index_at(self, t_ns: int) -> int:
        """How many events happened at or before `t_ns`."""
        return self.events.count_until(t_ns)

    def state_at(self, t_ns: int, shared: bool = False) -> Snapshot:
        """Everything as it was at time `t_ns` (monotonic ns, as in the events).

        With `shared`, a moment after the last event returns the timeline's own latest state
        instead of a copy: cheap for a live view that only reads it, and must not change it."""
        n = self.index_at(t_ns)
        if n == len(self.events):
            if shared:
                return self._head
            snap = self._head.copy()
        else:
            snap = self._state_after(n)
        snap.t_ns = t_ns
        return snap

    def next_time(self, t_ns: int) -> int | None:
        """The time of the first event after `t_ns`, if any."""
        i = self.events.count_until(t_ns)
        return self.events.time(i) if i < len(self.events) else None

    def previous_time(self, t_ns: int) -> int | None:
        """The time of the last event before `t_ns`, if any."""
        i = self.events.count_before(t_ns)
        return self.events.time(i - 1) if i > 0 else None

    def state_after(self, n: int) -> Snapshot:
        """Everything as it was after the first `n` events (for stepping event by event)."""
        return self._head.copy() if n >= len(self.events) else self._state_after(n)

    def final(self) -> Snapshot:
        return self._head.copy()
