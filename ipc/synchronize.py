"""Traced locks: `Lock`, a subclass of `multiprocessing.synchronize.Lock`, and the ``Lock`` of a
traced `Manager()` (`SharedLock` in its server process, `LockProxy` elsewhere; see `ipc.managed`
for how a manager's objects report).

What is reported (object = the lock's ``trace_name``, which travels with the lock to children):

* ``lock_acquired`` when an acquire succeeds (``detail["waited"]`` when it had to wait);
* ``lock_acquire_blocked`` when a blocking acquire cannot succeed at once (another process or
  thread holds the lock), then ``lock_acquired``, or ``lock_acquire_failed`` when its ``timeout``
  runs out; a non-blocking acquire that finds the lock taken reports ``lock_acquire_failed``;
* ``lock_released``, stamped just before the lock is released (so it sorts before the next
  holder's ``lock_acquired``), or ``lock_release_failed`` (``ValueError``: not held).

A `multiprocessing` lock does not know which process holds it; the holder is the process of the
latest ``lock_acquired`` that has no ``lock_released`` after it. A manager's lock does know, and
names it in ``lock_acquire_blocked`` and ``lock_acquire_failed``: ``holder`` is the process that
held it (``process|thread`` for a thread other than its main one); ``via`` names the manager.

With no sink attached, ``acquire``/``release``/``with`` go straight to the semaphore (or are
the manager's plain requests).
"""

from __future__ import annotations

import threading
import time
from multiprocessing import synchronize as mpsync

from . import trace
from .managed import _Named, _NamedProxy, _simple_wait, _via
from .queues import _error, auto_name
from .trace import emit

__all__ = ["Lock", "SharedLock", "LockProxy"]


class Lock(mpsync.Lock):
    """`multiprocessing.synchronize.Lock`, traced."""

    def __init__(self, *, ctx):
        super().__init__(ctx=ctx)
        self.trace_name = auto_name("lock")

    def _make_methods(self):
        pass  # multiprocessing binds the semaphore's methods here; ours are the ones below

    def __getstate__(self):
        return super().__getstate__(), self.trace_name

    def __setstate__(self, state):
        base, self.trace_name = state
        super().__setstate__(base)

    def acquire(self, block=True, timeout=None):
        semlock = self._semlock
        if trace._sink is None:
            return semlock.acquire(block, timeout)
        name = self.trace_name
        if semlock.acquire(False):
            emit("lock_acquired", name, None, {"waited": False})
            return True
        if not block:
            emit("lock_acquire_failed", name, None, {"timeout": 0})
            return False
        emit("lock_acquire_blocked", name, None, {"timeout": timeout})
        if semlock.acquire(True, timeout):
            emit("lock_acquired", name, None, {"waited": True})
            return True
        emit("lock_acquire_failed", name, None, {"timeout": timeout})
        return False

    def release(self):
        if trace._sink is None:
            return self._semlock.release()
        t_ns = trace.stamp()  # before another process can take the lock
        try:
            self._semlock.release()
        except Exception as exc:
            emit("lock_release_failed", self.trace_name, None, _error(exc))
            raise
        emit("lock_released", self.trace_name, None, None, t_ns=t_ns)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *args):
        self.release()


# --------------------------------------------------------------------------- a manager's lock


class SharedLock(_Named):
    """threading.Lock that knows its holder (the name of the server thread serving it, which is the
    client's process name, with ``|thread`` for a thread other than its main one)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._holder = None
        self._trace_name = auto_name("lock")

    def acquire(self, *args, **kwds):
        ok = self._lock.acquire(*args, **kwds)
        if ok:
            self._holder = threading.current_thread().name
        return ok

    def release(self):
        holder, self._holder = self._holder, None
        try:
            self._lock.release()
        except BaseException:
            self._holder = holder
            raise

    def traced_acquire(self, *args):
        if self.acquire(*args):
            return True, time.monotonic_ns(), None, self._trace_name, _via()
        return False, None, self._holder, self._trace_name, _via()

    def traced_release(self):
        t_ns = time.monotonic_ns()  # before another client can take the lock
        try:
            self.release()
        except RuntimeError as exc:
            return exc, t_ns, self._trace_name, _via()
        return None, t_ns, self._trace_name, _via()


class LockProxy(_NamedProxy):
    """A proxy of a managed threading.Lock, traced (`multiprocessing`'s AcquirerProxy)."""

    _exposed_ = ("acquire", "release", "traced_acquire", "traced_release", "get_trace_name",
                 "set_trace_name")

    def acquire(self, blocking=True, timeout=None):
        args = (blocking,) if timeout is None else (blocking, timeout)
        if trace._sink is None:
            return self._callmethod("acquire", args)
        waited, simple = False, _simple_wait(blocking, timeout, forever=-1)
        if simple:
            ok, t_ns, holder, name, via = self._callmethod("traced_acquire", (False,))
            if not ok:
                emit("lock_acquire_blocked", name, None,
                     {"timeout": timeout, "holder": holder, "via": via})
                waited = True
        if not simple or waited:
            ok, t_ns, holder, name, via = self._callmethod("traced_acquire", args)
        if ok:
            emit("lock_acquired", name, None, {"waited": waited, "via": via}, t_ns=t_ns)
        else:
            emit("lock_acquire_failed", name, None,
                 {"timeout": timeout if blocking else 0, "holder": holder, "via": via})
        return ok

    def release(self):
        if trace._sink is None:
            return self._callmethod("release")
        error, t_ns, name, via = self._callmethod("traced_release")
        if error is not None:
            emit("lock_release_failed", name, None, {**_error(error), "via": via})
            raise error
        emit("lock_released", name, None, {"via": via}, t_ns=t_ns)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, exc_type, exc_val, exc_tb):
        return self.release()
