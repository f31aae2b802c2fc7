"""Deadlock: a run in which no process can ever move again.

`deadlock(snapshot)` is a pure function of a snapshot (`simulator.fold`). It returns the names of
the blocked processes when every live process, main included, is blocked for good or passive, and
None otherwise:

* **blocked for good**: blocked with no timeout (a timeout always ends a wait) in an operation
  that nothing in the snapshot can complete:

  - ``get`` from a queue holding no message (with a message in it, the get is about to return);
  - ``recv`` on a pipe with no message in flight toward its end (messages going the other way
    do not count);
  - ``put`` on a bounded queue holding ``maxsize`` messages, with nobody blocked getting from it;
  - ``send`` on a pipe nobody is blocked receiving from at the other end;
  - ``queue_join`` (``q.join()``) while the queue has unfinished tasks;
  - ``acquire`` of a lock somebody holds (the process itself included);
  - ``join`` of a live process, or of a pool with tasks still queued or running;
  - main at its end, where `multiprocessing`'s exit handler joins the non-daemon processes still
    alive: blocked for good while one is (and no manager is left to shut down: shutting it down
    wakes the processes waiting on its objects, with an error);

* **passive**: the manager's server process (it only answers the others) and an idle pool worker
  (it only runs what main submits), unless its pool has a task queued;

* anything else can still move: a process running, sleeping, working or starting, or one that
  was asked to terminate (it is about to end, which lets a process joining it move on).

A daemon that main's exit handler terminated counts for nothing: it is about to end, which only
lets main on to join the next process; and main may be joining another one first, for good, so
that the daemon's end is never reported.

A snapshot is built from events that many processes report, so for an instant it can lag behind
what happened (a get that has returned but not reported it yet). Every rule errs towards "can
still move", and a watcher (`simulator.session.Run`) only reports a deadlock that has held for a
grace period in which no event arrived.
"""

from __future__ import annotations

from .snapshot import MAIN, ProcessState, Snapshot, other_end


def deadlock(snap: Snapshot) -> list[str] | None:
    """The processes blocked for good, if no live process can ever move again; else None."""
    if snap.run != "running":
        return None
    main = snap.processes.get(MAIN)
    if main is None or not main.alive:
        return None
    blocked = []
    for p in snap.processes.values():
        if not p.alive:
            continue
        if p.killed_at_exit:
            continue
        if p.terminate_requested:
            return None
        if p.role == "manager":
            continue
        if p.role == "pool_worker" and p.task is None and p.state == "running":
            pool = snap.pools.get(p.pool)
            if pool is not None and pool.queued:
                return None  # it is about to take the next task
            continue
        if not blocked_for_good(snap, p):
            return None
        blocked.append(p.name)
    return blocked or None


def blocked_for_good(snap: Snapshot, p: ProcessState) -> bool:
    """Whether nothing in `snap` can complete what `p` waits for."""
    if p.name == MAIN and p.state == "running" and p.step == "end":
        return _waits_at_exit(snap)
    if p.state != "blocked" or p.timeout is not None:
        return False
    rule = _RULES.get(p.op)
    return rule is not None and rule(snap, p)


def waits_at_exit(snap: Snapshot) -> list[str]:
    """The non-daemon processes main's exit handler would wait for."""
    return [p.name for p in snap.processes.values()
            if p.alive and p.role == "process" and not p.daemon]


def _waits_at_exit(snap: Snapshot) -> bool:
    manager = snap.processes.get(snap.manager) if snap.manager else None
    if manager is not None and manager.alive:
        return False
    return bool(waits_at_exit(snap))


def _blocked_on(snap: Snapshot, op: str, name: str, end: str | None = None) -> bool:
    """Whether a process is blocked in `op` on `name` (at pipe end `end`, if given)."""
    return any(p.state == "blocked" and p.op == op and p.waits_on == name
               and (end is None or p.end == end) for p in snap.processes.values())


def _empty(snap: Snapshot, p: ProcessState) -> bool:
    ch = snap.channels.get(p.waits_on)
    return ch is not None and ch.depth() == 0


def _nothing_coming(snap: Snapshot, p: ProcessState) -> bool:
    ch = snap.channels.get(p.waits_on)
    other = other_end(p.end)  # what p's recv reads was sent from there
    if ch is None or ch.kind != "pipe" or other is None:
        return _empty(snap, p)
    return not ch.in_flight.get(other)  # what was sent from the other end


def _nobody_receiving(snap: Snapshot, p: ProcessState) -> bool:
    return not _blocked_on(snap, "recv", p.waits_on, other_end(p.end))


def _full(snap: Snapshot, p: ProcessState) -> bool:
    ch = snap.channels.get(p.waits_on)
    return (ch is not None and 0 < ch.maxsize <= len(ch.contents)
            and not _blocked_on(snap, "get", p.waits_on))


def _unfinished(snap: Snapshot, p: ProcessState) -> bool:
    ch = snap.channels.get(p.waits_on)
    return ch is not None and ch.unfinished > 0


def _held(snap: Snapshot, p: ProcessState) -> bool:
    lock = snap.locks.get(p.waits_on)
    return lock is not None and lock.holder is not None


def _joined_alive(snap: Snapshot, p: ProcessState) -> bool:
    pool = snap.pools.get(p.waits_on)
    if pool is not None:
        return bool(pool.queued or pool.running)
    target = snap.processes.get(p.waits_on)
    return target is not None and target.alive


_RULES = {
    "get": _empty,
    "recv": _nothing_coming,
    "put": _full,
    "send": _nobody_receiving,
    "queue_join": _unfinished,
    "acquire": _held,
    "join": _joined_alive,
}


def describe(snap: Snapshot, names: list[str]) -> dict[str, dict]:
    """What each of the deadlocked processes waits on, for an event's detail."""
    out = {}
    for name in names:
        p = snap.processes[name]
        if p.name == MAIN and p.state == "running" and p.step == "end":
            out[name] = {"op": "exit", "waits_on": waits_at_exit(snap)}
        else:
            out[name] = {"op": p.op, "waits_on": p.waits_on}
            lock = snap.locks.get(p.waits_on) if p.op == "acquire" else None
            if lock is not None:
                out[name]["holder"] = lock.holder
    return out
