"""Traced start-method contexts: ``ipc.get_context("spawn").Queue()`` etc. build `ipc` objects."""

from __future__ import annotations

from multiprocessing import context as mpctx
from multiprocessing import get_context as _mp_get_context

from . import connection, process, queues

__all__ = ["get_context"]


class _TracedContext:
    """The traced constructors; everything else is the wrapped `multiprocessing` context's."""

    def Queue(self, maxsize=0):
        """Returns a queue object"""
        return queues.Queue(maxsize, ctx=self)

    def JoinableQueue(self, maxsize=0):
        """Returns a queue object"""
        return queues.JoinableQueue(maxsize, ctx=self)

    def SimpleQueue(self):
        """Returns a queue object"""
        return queues.SimpleQueue(ctx=self)

    def Pipe(self, duplex=True):
        """Returns two connection object connected by a pipe"""
        return connection.Pipe(duplex)

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
