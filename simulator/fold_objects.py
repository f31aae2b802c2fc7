"""The fold's handlers for pools, locks, a manager's dicts and lists, and a detected deadlock
(one handler per event kind; `simulator.fold` applies them with its own).

* A pool's workers are processes like any other (``role`` ``pool_worker``, ``pool`` names their
  pool); a task is queued from ``task_submitted`` until a worker's ``task_started`` (then it is
  running, and the worker's ``task`` names it), then done or failed. A task that could not even
  be handed to the workers (a plain ``Queue`` among its arguments) fails from the queue.
* A lock's holder is the process of the last ``lock_acquired`` not followed by its
  ``lock_released``; a process in ``lock_acquire_blocked`` is blocked with op ``acquire``,
  waiting on the lock, and listed among its waiters.
* A dict or list shows its contents as its last write left them (the manager reports a preview
  of the whole object after each write), and the last write and read made on it.
"""

from __future__ import annotations

from ipc.trace import Event

from .snapshot import Access, LockState, PoolState, ProcessState, SharedState, Snapshot, set_state


def _error(d: dict) -> str:
    return f"{d.get('error')}: {d.get('reason', '')}".rstrip(": ")


def ended_with_objects(snap: Snapshot, p: ProcessState) -> None:
    """A process ended: the pool task it was running is lost; it waits on no lock any more."""
    if p.task is not None:
        pool = snap.pools.get(p.pool)
        if pool is not None and pool.running.pop(p.task, None) is not None:
            pool.failed[p.task] = f"lost: {p.name} ended"
        p.task = None
    for lock in snap.locks.values():
        if p.name in lock.waiters:
            lock.waiters.remove(p.name)


# -- pools


def _pool(snap: Snapshot, name: str) -> PoolState:
    pool = snap.pools.get(name)
    if pool is None:
        pool = snap.pools[name] = PoolState(name)
    return pool


def _worker_added(snap, e: Event):
    d = e.detail or {}
    pool = _pool(snap, e.object)
    pool.size = d.get("processes") or pool.size
    if pool.state == "not_started":
        pool.state = "running"
    worker = d.get("worker")
    if worker and worker not in pool.workers:
        pool.workers.append(worker)
        p = snap.process(worker)
        p.role, p.pool, p.daemon = "pool_worker", e.object, True


def _task_submitted(snap, e: Event):
    _pool(snap, e.object).queued.append(e.message)


def _task_started(snap, e: Event):
    pool = _pool(snap, e.object)
    if e.message in pool.queued:
        pool.queued.remove(e.message)
    pool.running[e.message] = e.process
    set_state(snap, e.process, "running", e.t_ns).task = e.message


def _task_finished(snap, e: Event):
    pool = _pool(snap, e.object)
    pool.running.pop(e.message, None)
    pool.done.append(e.message)
    p = snap.process(e.process)
    if p.task == e.message:
        p.task = None


def _task_failed(snap, e: Event):
    pool = _pool(snap, e.object)
    if e.message in pool.queued:
        pool.queued.remove(e.message)
    pool.running.pop(e.message, None)
    pool.failed[e.message] = _error(e.detail or {})
    p = snap.process(e.process)
    if p.task == e.message:
        p.task = None


def _pool_closed(snap, e: Event):
    pool = _pool(snap, e.object)
    if pool.state in ("not_started", "running"):
        pool.state = "closed"


def _pool_terminate_requested(snap, e: Event):
    pool = _pool(snap, e.object)
    pool.state = "terminated"
    for worker in pool.workers:
        snap.process(worker).terminate_requested = True


def _pool_joined(snap, e: Event):
    _pool(snap, e.object).state = "joined"


# -- locks


def _lock(snap: Snapshot, name: str) -> LockState:
    lock = snap.locks.get(name)
    if lock is None:
        lock = snap.locks[name] = LockState(name)
    return lock


def _acquire_blocked(snap, e: Event):
    set_state(snap, e.process, "blocked", e.t_ns, "acquire", e.object, (e.detail or {}).get("timeout"))
    lock = _lock(snap, e.object)
    if e.process not in lock.waiters:
        lock.waiters.append(e.process)


def _acquired(snap, e: Event):
    set_state(snap, e.process, "running", e.t_ns)
    lock = _lock(snap, e.object)
    lock.holder = e.process
    if e.process in lock.waiters:
        lock.waiters.remove(e.process)


def _acquire_failed(snap, e: Event):
    set_state(snap, e.process, "running", e.t_ns)
    lock = _lock(snap, e.object)
    if e.process in lock.waiters:
        lock.waiters.remove(e.process)


def _released(snap, e: Event):
    _lock(snap, e.object).holder = None


# -- a manager's dicts and lists


def _shared(snap: Snapshot, e: Event) -> SharedState:
    shared = snap.shared.get(e.object)
    if shared is None:
        shared = snap.shared[e.object] = SharedState(e.object, e.kind.split("_")[0])
    return shared


def _access(e: Event) -> Access:
    d = e.detail or {}
    result = _error(d) if "error" in d else d.get("result")
    return Access(e.process, d.get("op", "?"), d.get("args", ""), result, e.t_ns)


def _shared_write(snap, e: Event):
    d = e.detail or {}
    shared = _shared(snap, e)
    shared.writes += 1
    shared.last_write = _access(e)
    shared.length = d.get("len", shared.length)
    if d.get("contents") is not None:
        shared.contents = d["contents"]


def _shared_read(snap, e: Event):
    shared = _shared(snap, e)
    shared.reads += 1
    shared.last_read = _access(e)
    shared.length = (e.detail or {}).get("len", shared.length)


# -- the run


def _deadlock_detected(snap, e: Event):
    snap.deadlock = list((e.detail or {}).get("blocked", {}))


def _running(snap, e: Event):
    set_state(snap, e.process, "running", e.t_ns)


OBJECT_HANDLERS = {
    "pool_worker_added": _worker_added,
    "task_submitted": _task_submitted,
    "task_started": _task_started,
    "task_finished": _task_finished,
    "task_failed": _task_failed,
    "pool_closed": _pool_closed,
    "pool_terminate_requested": _pool_terminate_requested,
    "pool_joined": _pool_joined,
    "lock_acquire_blocked": _acquire_blocked,
    "lock_acquired": _acquired,
    "lock_acquire_failed": _acquire_failed,
    "lock_released": _released,
    "lock_release_failed": _running,
    "dict_write": _shared_write,
    "list_write": _shared_write,
    "dict_read": _shared_read,
    "list_read": _shared_read,
    "deadlock_detected": _deadlock_detected,
}
