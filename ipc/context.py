"""Traced start-method contexts: ``ipc.get_context("spawn").Queue()`` etc. build `ipc` objects.

The synchronisation objects *inside* a queue or an `Event` (its locks and semaphores) are built
with multiprocessing's own context of the same start method, so that only what the program itself
uses is traced: ``ctx.Lock()`` is a traced `ipc.synchronize.Lock`, a queue's read lock is not.
"""

from __future__ import annotations

from multiprocessing import context as mpctx
from multiprocessing import get_context as _mp_get_context
from multiprocessing import synchronize as mpsync

from . import connection, process, queues

__all__ = ["get_context"]


class _TracedContext:
    """The traced constructors; everything else is the wrapped `multiprocessing` context's."""

    @property
    def _mp(self):
        """multiprocessing's own context for the same start method."""
        return _mp_get_context(self._name)

    def Queue(self, maxsize=0):
        """Returns a queue object"""
        return queues.Queue(maxsize, ctx=self._mp)

    def JoinableQueue(self, maxsize=0):
        """Returns a queue object"""
        return queues.JoinableQueue(maxsize, ctx=self._mp)

    def SimpleQueue(self):
        """Returns a queue object"""
        return queues.SimpleQueue(ctx=self._mp)

    def Pipe(self, duplex=True):
        """Returns two connection object connected by a pipe"""
        return connection.Pipe(duplex)

    def Lock(self):
        """Returns a non-recursive lock object"""
        from .synchronize import Lock

        return Lock(ctx=self._mp)

    def Event(self):
        """Returns an event object"""
        return mpsync.Event(ctx=self._mp)

    def Pool(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None, *,
             trace_name=None):
        """Returns a process pool object"""
        from .pool import Pool

        return Pool(processes, initializer, initargs, maxtasksperchild, context=self,
                    trace_name=trace_name)

    def Manager(self, *, trace_name=None):
        """Returns a manager associated with a running server process

        The managers methods such as `Lock()`, `Condition()` and `Queue()`
        can be used to create shared objects.
        """
        from .managers import SyncManager

        manager = SyncManager(ctx=self, trace_name=trace_name)
        manager.start()
        return manager

    def get_context(self, method=None):
        return self if method is None else get_context(method)


class ForkContext(_TracedContext, mpctx.ForkContext):
    Process = process.ForkProcess


class SpawnContext(_TracedContext, mpctx.SpawnContext):
    Process = process.SpawnProcess


class ForkServerContext(_TracedContext, mpctx.ForkServerContext):
    Process = process.ForkServerProcess


_contexts = {"fork": ForkContext(), "spawn": SpawnContext(), "forkserver": ForkServerContext()}


def get_context(method=None):
    """Like `multiprocessing.get_context`; None means multiprocessing's current default method."""
    # multiprocessing's own function, bound at import: it validates `method` exactly as
    # multiprocessing does, and keeps working when `multiprocessing.get_context` is replaced by
    # this very function (``import ipc as multiprocessing`` done by monkeypatching).
    concrete = _mp_get_context(method)
    return _contexts[concrete.get_start_method()]
