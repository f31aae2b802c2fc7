"""Traced `Manager()`: a `SyncManager` whose server is a traced process, with traced ``Queue``,
``JoinableQueue``, ``dict``, ``list`` and ``Lock``.

The server process is an `ipc` process named ``manager`` (``manager-2``, ... for further managers
started by the same process; or ``Manager(trace_name=...)``), so it appears in the trace with its
own ``process_started`` / ``process_exited``. Its other shared types (``Event``, ``RLock``,
``Value``, ``Namespace``, ``Pool``...) are multiprocessing's, untraced.

Which objects are traced, how, and what they report: see `ipc.managed` (and `ipc.synchronize`
for the lock).
"""

from __future__ import annotations

import itertools
from multiprocessing import managers as mpm

from . import process
from .context import get_context
from .managed import DictProxy, ListProxy, QueueProxy, SharedDict, SharedList, SharedQueue
from .synchronize import LockProxy, SharedLock

__all__ = ["SyncManager"]


class _ServerProcess:
    """The manager's server process: an `ipc` process that keeps its trace name (multiprocessing
    names it ``SyncManager-<n>`` after creating it)."""

    _server_name = "manager"

    def start(self):
        self.name = self._server_name
        super().start()


class ManagerForkProcess(_ServerProcess, process.ForkProcess):
    pass


class ManagerSpawnProcess(_ServerProcess, process.SpawnProcess):
    pass


class ManagerForkServerProcess(_ServerProcess, process.ForkServerProcess):
    pass


_SERVER_PROCESSES = {"fork": ManagerForkProcess, "spawn": ManagerSpawnProcess,
                     "forkserver": ManagerForkServerProcess}


class _ServerContext:
    """What `BaseManager` uses its context for: creating the server process."""

    def __init__(self, ctx, name: str):
        self.ctx, self.name = ctx, name

    def get_start_method(self):
        return self.ctx.get_start_method()

    def Process(self, *args, **kwds):
        server = _SERVER_PROCESSES[self.get_start_method()](*args, **kwds)
        server._server_name = self.name
        return server


_manager_numbers = itertools.count(1)


def _default_name() -> str:
    n = next(_manager_numbers)
    return "manager" if n == 1 else f"manager-{n}"


class SyncManager(mpm.SyncManager):
    """`multiprocessing.managers.SyncManager` with a traced server process and traced ``Queue``,
    ``JoinableQueue``, ``dict``, ``list`` and ``Lock``; ``trace_name`` names its server process."""

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *,
                 shutdown_timeout=1.0, trace_name=None):
        traced = get_context((ctx or get_context()).get_start_method())
        super().__init__(address, authkey, serializer,
                         _ServerContext(traced, trace_name or _default_name()),
                         shutdown_timeout=shutdown_timeout)

    @property
    def trace_name(self) -> str:
        return self._ctx.name

    @trace_name.setter
    def trace_name(self, name: str) -> None:
        self._ctx.name = name


SyncManager.register("Queue", SharedQueue, QueueProxy)
SyncManager.register("JoinableQueue", SharedQueue, QueueProxy)
SyncManager.register("dict", SharedDict, DictProxy)
SyncManager.register("list", SharedList, ListProxy)
SyncManager.register("Lock", SharedLock, LockProxy)
