"""`ipc`: drop-in, traced equivalents of the `multiprocessing` primitives the lessons use.

``import ipc as multiprocessing`` and a program behaves exactly as before: same signatures,
return values, exceptions, blocking and timeouts (the classes subclass multiprocessing's own).
The only difference is that, once a trace sink is attached (see `ipc.trace`), every operation
reports what happened: see `ipc.queues`, `ipc.connection`, `ipc.process`, `ipc.synchronize`,
`ipc.pool` and `ipc.managers` for the events.
"""

from multiprocessing import (
    active_children,
    current_process,
    get_all_start_methods,
    get_start_method,
    parent_process,
    set_start_method,
)

from . import trace
from .connection import Connection, Pipe
from .context import get_context
from .process import Process

__all__ = [
    "Queue", "JoinableQueue", "SimpleQueue", "Pipe", "Connection", "Process", "Lock", "Pool",
    "Manager", "get_context",
    "active_children", "current_process", "parent_process", "get_start_method",
    "set_start_method", "get_all_start_methods", "trace",
]


def Queue(maxsize=0):
    """Returns a queue object"""
    return get_context().Queue(maxsize)


def JoinableQueue(maxsize=0):
    """Returns a queue object"""
    return get_context().JoinableQueue(maxsize)


def SimpleQueue():
    """Returns a queue object"""
    return get_context().SimpleQueue()


def Lock():
    """Returns a non-recursive lock object"""
    return get_context().Lock()


def Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None, *, trace_name=None):
    """Returns a process pool object"""
    return get_context().Pool(processes, initializer, initargs, maxtasksperchild,
                              trace_name=trace_name)


def Manager(*, trace_name=None):
    """Returns a manager associated with a running server process

    The managers methods such as `Lock()`, `Condition()` and `Queue()`
    can be used to create shared objects.
    """
    return get_context().Manager(trace_name=trace_name)
