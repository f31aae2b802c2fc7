"""Captions: one event explained in plain words, for a presentation on a projector.

`caption(event, snapshot)` turns an event into one short sentence, using `snapshot` (the fold's
state just *after* the event) for what the event alone does not say: how full the queue is,
whether a join waits for a process that is still alive, whether an exit was a terminate() or a
daemon killed at main's exit::

    P1 is blocked: queue q is full (3/3), put() waits for a consumer to get()
    C1 got 'item 0' from q
    main terminated reader: exit code -15
    C1 was killed when main exited (it was a daemon)
    P1 crashed: SIGSEGV (segmentation fault), exit code -11

A caption states only what the trace and the snapshot show: "full" only when the snapshot holds
``maxsize`` messages, "empty" only when it holds none. Whether a failed ``put`` had blocked
first (a timeout) or not (``put_nowait()``) is read from the fold: a process that was running
keeps its ``since_ns``; one that was blocked changes state at the failure.

`caption` never raises: a trace can come from an older or newer version, or be edited by hand,
so an unknown kind, or a detail with missing or odd fields, gets a generic sentence instead.

`latest_caption(timeline, t)` picks the event to caption at time ``t``: the latest one at or
before ``t`` that is not noise (printed lines, the end of a pause or of some work, start()
being called, a send about to begin), looking back at most `LOOK_BACK` events; failing that, the latest event.
"""

from __future__ import annotations

from typing import Any, Callable

from ipc.trace import Event

from .fold import Snapshot, Timeline, crashed, signal_meaning, signal_name
from .snapshot import other_end

NOISE = frozenset({"process_output", "sleep_finished", "work_finished", "process_start_requested",
                   "send_called"})
LOOK_BACK = 200


def caption(event: Event, snapshot: Snapshot) -> str:
    """`event` in one short sentence, given the state just after it (never raises)."""
    handler = _CAPTIONS.get(event.kind)
    if handler is not None:
        try:
            text = handler(event, _detail(event), snapshot)
        except Exception:  # a detail this version does not understand: say it generically
            text = None
        if text:
            return text
    return _generic(event)


def latest_caption(timeline: Timeline, t_ns: int) -> str:
    """The caption for the most informative event at or before `t_ns` (never raises)."""
    n = timeline.index_at(t_ns)
    if n == 0:
        return "The run has not started yet."
    events = timeline.events
    chosen = n - 1
    for i in range(n - 1, max(n - 1 - LOOK_BACK, -1), -1):
        if events[i].kind not in NOISE:
            chosen = i
            break
    return caption(events[chosen], timeline.state_after(chosen + 1))


# --------------------------------------------------------------------------- helpers


def _detail(e: Event) -> dict[str, Any]:
    return e.detail if isinstance(e.detail, dict) else {}


def _generic(e: Event) -> str:
    words = str(e.kind).replace("_", " ")
    about = f" ({e.object})" if e.object else ""
    return f"{e.process}: {words}{about}"


def _item(d: dict) -> str:
    return str(d.get("preview") or "an item")


def _seconds(value) -> str:
    return f"{value:g} s" if isinstance(value, (int, float)) else "a while"


def _error(d: dict) -> str:
    error, reason = d.get("error") or "an error", d.get("reason")
    return f"{error}: {reason}" if reason else str(error)


def _was_blocked(e: Event, snap: Snapshot) -> bool:
    """Whether the emitting process left a blocked state at this event (see the docstring)."""
    p = snap.processes.get(e.process)
    return p is not None and p.since_ns == e.t_ns


def _fill(snap: Snapshot, name: str | None) -> str:
    """``3/3`` for a bounded queue, ``2 in q`` otherwise."""
    ch = snap.channels.get(name)
    if ch is None:
        return ""
    if ch.kind == "queue" and ch.maxsize:
        return f"{len(ch.contents)}/{ch.maxsize}"
    return f"{ch.depth()} in {name}"


def _end(d: dict) -> str:
    return str(d.get("end", "?"))


def _other_end(end: str) -> str:
    return other_end(end) or "?"


def _ended(snap: Snapshot, name) -> bool:
    p = snap.processes.get(name)
    return p is not None and p.state != "not_started" and not p.alive


# --------------------------------------------------------------------------- processes


def _run_started(e, d, snap):
    method = d.get("start_method")
    return f"The run starts ({method})." if method else "The run starts."


def _run_stopped(e, d, snap):
    return {
        "finished": "The run is over.",
        "stopped": "The run was stopped: every process still alive was killed.",
        "timeout": "The run hit its timeout and was stopped.",
        "failed": "The run failed.",
        "deadlock": "The run deadlocked and was stopped.",
    }.get(d.get("reason", "finished"), f"The run ended: {d.get('reason')}.")


def _start_requested(e, d, snap):
    daemon = "daemon " if d.get("daemon") else ""
    method = f" ({d['start_method']})" if d.get("start_method") else ""
    return f"{e.process} starts {daemon}{e.object}{method}"


def _started(e, d, snap):
    pid = f" (pid {d['pid']})" if d.get("pid") else ""
    return f"{e.object} is running{pid}"


def _exited(e, d, snap):
    p = snap.processes.get(e.object)
    code = d.get("exitcode")
    state = p.state if p is not None else None
    if state == "daemon_killed":
        return f"{e.object} was killed when main exited (it was a daemon)"
    if isinstance(code, int) and crashed(code):
        return f"{e.object} crashed: {signal_name(code)} ({signal_meaning(code)}), exit code {code}"
    if state == "terminated" or (isinstance(code, int) and code < 0):
        if p is not None and p.terminate_requested:
            if e.process == e.object:
                return f"{e.object} was terminated: exit code {code}"
            return f"{e.process} terminated {e.object}: exit code {code}"
        signal = d.get("signal") or "a signal"
        return f"{e.object} was killed by {signal}: exit code {code}"
    if code == 0:
        return f"{e.object} finished (exit code 0)"
    if p is not None and p.error:
        return f"{e.object} failed: {p.error} (exit code {code})"
    return f"{e.object} failed: it exited with code {code}"


def _output(e, d, snap):
    line = str(d.get("line", "")).removeprefix(f"{e.process}: ")
    return f"{e.process} prints: {line}"


# --------------------------------------------------------------------------- main's steps


def _step_started(e, d, snap):
    op, target = d.get("op"), d.get("target")
    if op == "join":
        if _ended(snap, target):
            return f"{e.process}: join({target}) returns at once: {target} has ended"
        if d.get("timeout") is not None:
            return f"{e.process}: join({target}) waits up to {_seconds(d['timeout'])} for {target}"
        return f"{e.process}: join({target}) waits for {target} to finish"
    if op == "sleep":
        return f"{e.process} calls {e.object}"
    if op == "queue_join":
        return f"{e.process} calls {target}.join()"
    if op == "sentinels":
        return f"{e.process} puts sentinels (None) on {target}"
    if op == "end":
        return f"{e.process} reaches the end of its program"
    return f"{e.process}: {e.object}"


def _step_finished(e, d, snap):
    op, target = d.get("op"), d.get("target")
    if op == "join":
        if _ended(snap, target):
            return f"{e.process}: join({target}) returned: {target} has ended"
        return f"{e.process}: join({target}) returned, but {target} is still alive"
    if op == "queue_join":
        return f"{e.process}: {target}.join() returned: every task is done"
    if op == "sleep":
        return f"{e.process} woke up"
    if op == "end":
        return f"{e.process} has ended its program"
    return f"{e.process}: {e.object} returned"


def _sleep_started(e, d, snap):
    why = {"start_delay": "before it starts", "interval": "before the next item"}.get(d.get("why"), "")
    return f"{e.process} sleeps {_seconds(d.get('seconds'))} {why}".rstrip()


def _work_started(e, d, snap):
    item = f" on {d['item']}" if d.get("item") else ""
    return f"{e.process} works{item} for {_seconds(d.get('seconds'))}"


# --------------------------------------------------------------------------- queues


def _put_blocked(e, d, snap):
    ch = snap.channels.get(e.object)
    call = "put()" if d.get("timeout") is None else f"put(timeout={d['timeout']:g})"
    wait = "waits" if d.get("timeout") is None else f"waits up to {_seconds(d['timeout'])}"
    if ch is not None and ch.maxsize and len(ch.contents) >= ch.maxsize:
        return (f"{e.process} is blocked: queue {e.object} is full ({_fill(snap, e.object)}), "
                f"{call} {wait} for a consumer to get()")
    return f"{e.process} is blocked in {e.object}.{call}"


def _message_put(e, d, snap):
    fill = _fill(snap, e.object)
    now = f" ({fill} now)" if fill else ""
    if d.get("preview") == "None":
        return f"{e.process} put None (a sentinel) on {e.object}{now}"
    return f"{e.process} put {_item(d)} on {e.object}{now}"


def _put_failed(e, d, snap):
    if d.get("lost"):
        return f"The feeder thread of {e.process} could not send {_item(d)}: it is lost ({_error(d)})"
    if d.get("error") == "Full":
        call = "put() timed out with" if _was_blocked(e, snap) else "put_nowait() raised"
        return f"{call} queue.Full: {_item(d)} was dropped"
    return f"{e.process}: put() raised {_error(d)}: {_item(d)} was dropped"


def _get_blocked(e, d, snap):
    ch = snap.channels.get(e.object)
    call = "get()" if d.get("timeout") is None else f"get(timeout={d['timeout']:g})"
    wait = "waits" if d.get("timeout") is None else f"waits up to {_seconds(d['timeout'])}"
    if ch is not None and ch.depth() == 0:
        return f"{e.process} is blocked: queue {e.object} is empty, {call} {wait} for a producer to put()"
    return f"{e.process} is blocked in {e.object}.{call}"


def _message_got(e, d, snap):
    if d.get("preview") == "None":
        return f"{e.process} got None (a sentinel) from {e.object}"
    return f"{e.process} got {_item(d)} from {e.object}"


def _get_failed(e, d, snap):
    if d.get("error") == "Empty":
        if _was_blocked(e, snap):
            return f"{e.process}: get() timed out with queue.Empty: {e.object} stayed empty"
        return f"{e.process}: get_nowait() raised queue.Empty: {e.object} is empty"
    return f"{e.process}: get() on {e.object} raised {_error(d)}"


def _task_done(e, d, snap):
    left = d.get("unfinished")
    if left == 0:
        return f"{e.process} called {e.object}.task_done(): every task is done"
    return f"{e.process} called {e.object}.task_done(): {left} task(s) unfinished"


def _join_blocked(e, d, snap):
    left = d.get("unfinished")
    left = f" ({left} unfinished)" if left is not None else ""
    return f"{e.process} is blocked: {e.object}.join() waits until every task is done{left}"


# --------------------------------------------------------------------------- pipes


def _send_blocked(e, d, snap):
    return (f"{e.process} is blocked: {e.object} is full, send() on end {_end(d)} "
            f"waits for end {_other_end(_end(d))} to recv()")


def _recv_blocked(e, d, snap):
    ch = snap.channels.get(e.object)
    coming = ch.in_flight.get(_other_end(_end(d)), ()) if ch is not None else ()
    if ch is not None and not coming:
        return (f"{e.process} is blocked: nothing to receive on end {_end(d)} of {e.object}, "
                f"recv() waits for end {_other_end(_end(d))} to send()")
    return f"{e.process} is blocked in recv() on end {_end(d)} of {e.object}"


def _connection_error(e, d, snap):
    op = d.get("op") or "an operation"
    return f"{e.process}: {op}() on end {_end(d)} of {e.object} raised {_error(d)}"


# --------------------------------------------------------------------------- pools, locks, shared objects


def _lock_blocked(e, d, snap):
    holder = d.get("holder")
    held = f"{e.object} is held by {holder}" if holder else f"{e.object} is taken"
    return f"{e.process} is blocked: {held}, acquire() waits for a release()"


def _deadlock(e, d, snap):
    blocked = d.get("blocked") or getattr(snap, "deadlock", None) or []
    who = ", ".join(blocked) if blocked else "every process"
    return f"Deadlock: {who} can never move again"


def _access(e, d, snap):
    """A call on a manager's dict or list, as it reads in Python: ``d.__setitem__('k', 1)``."""
    args = str(d.get("args", ""))
    args = args if args.startswith("(") else f"({args})"
    result = f" -> {d['result']}" if d.get("result") is not None else ""
    return f"{e.process}: {e.object}.{d.get('op', '?')}{args}{result}"


def _say(template: str) -> Callable[[Event, dict, Snapshot], str]:
    """A caption from a template: ``{p}`` the process, ``{o}`` the object, ``{item}``,
    ``{end}``, ``{error}`` and ``{fn}`` (a pool task's function) from the detail."""
    return lambda e, d, snap: template.format(p=e.process, o=e.object, item=_item(d), end=_end(d),
                                              error=_error(d), fn=d.get("function", "a task"))


_CAPTIONS: dict[str, Callable[[Event, dict, Snapshot], str | None]] = {
    "run_started": _run_started,
    "run_stopped": _run_stopped,
    "process_start_requested": _start_requested,
    "process_started": _started,
    "process_exited": _exited,
    "process_terminate_requested": _say("{p} calls {o}.terminate(): SIGTERM"),
    "process_kill_requested": _say("{p} calls {o}.kill(): SIGKILL"),
    "daemon_killed_at_exit": _say("{p} is exiting: it terminates daemon {o}"),
    "process_failed": _say("{o} failed: {error}"),
    "process_output": _output,
    "main_step_started": _step_started,
    "main_step_finished": _step_finished,
    "sleep_started": _sleep_started,
    "sleep_finished": _say("{p} woke up"),
    "work_started": _work_started,
    "work_finished": _say("{p} finished its work on the item"),
    "put_blocked": _put_blocked,
    "message_put": _message_put,
    "put_failed": _put_failed,
    "get_blocked": _get_blocked,
    "message_got": _message_got,
    "get_failed": _get_failed,
    "task_done": _task_done,
    "task_done_failed": _say("{p}: {o}.task_done() raised {error}: called too many times"),
    "join_blocked": _join_blocked,
    "join_returned": _say("{p}: {o}.join() returned: every task is done"),
    "queue_closed": _say("{p} closed {o}"),
    "send_blocked": _send_blocked,
    "message_sent": _say("{p} sent {item} through end {end} of {o}"),
    "recv_blocked": _recv_blocked,
    "message_received": _say("{p} received {item} on end {end} of {o}"),
    "connection_closed": _say("{p} closed end {end} of {o}"),
    "connection_error": _connection_error,
    "lock_acquire_blocked": _lock_blocked,
    "lock_acquired": _say("{p} acquired {o}"),
    "lock_acquire_failed": _say("{p}: {o}.acquire() gave up"),
    "lock_released": _say("{p} released {o}"),
    "lock_release_failed": _say("{p}: {o}.release() raised {error}"),
    "pool_worker_added": lambda e, d, snap: f"{e.object} started worker {d['worker']}",
    "task_submitted": _say("{p} submits {fn} to {o}"),
    "task_started": _say("{p} runs {fn}"),
    "task_finished": _say("{p} finished a task: {item}"),
    "task_failed": _say("A task of {o} failed: {error}"),
    "pool_closed": _say("{p} closed {o}: no more tasks"),
    "pool_terminate_requested": _say("{p} terminates {o}'s workers"),
    "pool_join_blocked": _say("{p} is blocked: {o}.join() waits for its workers"),
    "pool_joined": _say("{p}: {o}.join() returned"),
    "dict_write": _access,
    "dict_read": _access,
    "list_write": _access,
    "list_read": _access,
    "deadlock_detected": _deadlock,
}
