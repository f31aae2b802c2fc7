"""Deadlock: a run in which no process can ever move again.

`deadlock(snapshot)` is a pure function of a snapshot (`simulator.fold`). It returns the names of
the blocked processes when every live process, main included, is blocked for good or passive, and
None otherwise:

* **blocked for good**: blocked with no timeout (a timeout always ends a wait) in an operation
  that nothing in the snapshot can complete:

  - ``get`` from a queue holding no message (with a message in it, the get is about to return);
  - ``recv`` on a pipe with no message in flight;
  - ``put`` on a bounded queue holding ``maxsize`` messages, with nobody blocked getting from it;
  - ``send`` on a pipe nobody is blocked receiving from;
  - ``queue_join`` (``q.join()``) while the queue has unfinished tasks;
  - ``acquire`` of a lock somebody holds (the process itself included);
  - ``join`` of a live process, or of a pool with tasks still queued or running;
  - main at its end, where `multiprocessing`'s exit handler joins the non-daemon processes still
    alive: blocked for good while one is (and no manager is left to shut down: shutting it down
    wakes the processes waiting on its objects, with an error);

* **passive**: the manager's server process (it only answers the others) and an idle pool worker
  (it only runs what main submits), unless its pool has a task queued;

* anything else can still move: a process running, sleeping, working or starting, or one that
  was asked to terminate (it is about to end).

A snapshot is built from events that many processes report, so for an instant it can lag behind
what happened (a get that has returned but not reported it yet). Every rule errs towards "can
still move", and a watcher (`simulator.session.Run`) only reports a deadlock that has held for a
grace period in which no event arrived.
"""

from __future__ import annotations

from .snapshot import MAIN, ProcessState, Snapshot


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
        if p.terminate_requested or p.killed_at_exit:
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
    return rule is not None and rule(snap, p.waits_on)


def waits_at_exit(snap: Snapshot) -> list[str]:
    """The non-daemon processes main's exit handler would wait for."""
    return [p.name for p in snap.processes.values()
            if p.alive and p.role == "process" and not p.daemon]


def _waits_at_exit(snap: Snapshot) -> bool:
    manager = snap.processes.get(snap.manager) if snap.manager else None
    if manager is not None and manager.alive:
        return False
    return bool(waits_at_exit(snap))


def _blocked_on(snap: Snapshot, op: str, name: str) -> bool:
    return any(p.state == "blocked" and p.op == op and p.waits_on == name
               for p in snap.processes.values())


def _empty(snap: Snapshot, name: str) -> bool:
    ch = snap.channels.get(name)
    return ch is not None and ch.depth() == 0


def _full(snap: Snapshot, name: str) -> bool:
    ch = snap.channels.get(name)
    return (ch is not None and 0 < ch.maxsize <= len(ch.contents)
            and not _blocked_on(snap, "get", name))


def _unfinished(snap: Snapshot, name: str) -> bool:
    ch = snap.channels.get(name)
    return ch is not None and ch.unfinished > 0


def _held(snap: Snapshot, name: str) -> bool:
    lock = snap.locks.get(name)
    return lock is not None and lock.holder is not None


def _joined_alive(snap: Snapshot, name: str) -> bool:
    pool = snap.pools.get(name)
    if pool is not None:
        return bool(pool.queued or pool.running)
    target = snap.processes.get(name)
    return target is not None and target.alive


_RULES = {
    "get": _empty,
    "recv": _empty,
    "put": _full,
    "send": lambda snap, name: not _blocked_on(snap, "recv", name),
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
