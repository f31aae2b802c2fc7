"""The objects a traced `Manager()` shares (``Queue``, ``JoinableQueue``, ``dict``, ``list``; its
``Lock`` is in `ipc.synchronize`): the ones living in its server process, and the traced proxies
other processes use.

Who reports, and when
---------------------
A shared object lives in the server; each operation on it is a request from a proxy in some
process to the server thread that serves that process. The **proxy's process reports** (it is the
one that put, got, wrote, read, waited on the lock), but each event is stamped with the time the
**server committed** the operation (under the queue's mutex or the container's lock; after a lock
is taken, before it is released): so, sorted by time, a put precedes the get that took its item,
a write precedes the read that saw it, a release precedes the next acquire, and a queue never
holds more than its ``maxsize``.

Blocking is observed, not guessed: a blocking ``put``/``get``/``acquire`` first asks the server
for the non-blocking version, and only when that cannot succeed does the proxy report
``put_blocked`` / ``get_blocked`` / ``lock_acquire_blocked`` and ask again, blocking (one extra
round trip, only when the operation would block). The blocked event is in the trace while the
process waits.

The server holds each object's ``trace_name`` (``queue@<server pid>.<n>``, ``dict@...``), so every
proxy, in every process, reports the same name; set it through any proxy (``q.trace_name = "q"``).
``detail["via"]`` names the server process the object lives in: the messages flow through it.

Events (object = the shared object's ``trace_name``):

* ``Queue`` / ``JoinableQueue``: those of `ipc.queues` (``put_blocked``, ``message_put``,
  ``put_failed``, ``get_blocked``, ``message_got``, ``get_failed``, ``task_done``,
  ``task_done_failed``, ``join_blocked``, ``join_returned``). Items are stored in the server as
  ``(message_id, item)``; a get returns exactly the item that was put, and ``qsize()``,
  ``empty()``, ``full()`` are unchanged.
* ``dict`` / ``list``: ``dict_write`` / ``list_write`` for each mutating call and ``dict_read`` /
  ``list_read`` for each other call, with ``op`` (the method, e.g. ``__setitem__``, ``append``,
  ``get``), ``args`` (a preview), ``result`` (a preview, for reads and for ``pop``-like writes),
  ``len`` after the call, and ``contents`` (a preview of the whole object) after a write;
  ``error``/``reason`` when the call raised (e.g. ``KeyError``), which the proxy raises as
  `multiprocessing` does.
* ``Lock``: see `ipc.synchronize`.

With no sink attached, a proxy sends the plain request, one round trip as in `multiprocessing`.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import threading
import time
from multiprocessing import managers as mpm
from queue import Empty, Full

from . import trace
from .queues import _error, auto_name
from .trace import emit, preview

__all__ = ["SharedQueue", "SharedDict", "SharedList", "QueueProxy", "DictProxy", "ListProxy"]


def _via() -> str:
    return multiprocessing.current_process().name


def _simple_wait(block, timeout, forever=None) -> bool:
    """Whether a blocking call may first be tried without blocking, with the same outcome: an
    invalid timeout is left to the server to refuse as it always does (a queue refuses a negative
    one, a lock one below -1, its ``forever``)."""
    if not block:
        return False
    return timeout is None or timeout == forever or (
        isinstance(timeout, (int, float)) and timeout >= 0)


# --------------------------------------------------------------------------- in the server
# (each server thread serves one client process, or one thread of it, and is named after it)


class _Named:
    _trace_name = "?"

    def get_trace_name(self):
        return self._trace_name

    def set_trace_name(self, name):
        self._trace_name = str(name)


class SharedQueue(_Named, queue.Queue):
    """queue.Queue holding ``(message_id, item)``; the plain API (un)wraps, the ``traced_`` one
    also returns the commit time, the name and the server's name."""

    def __init__(self, maxsize=0):
        super().__init__(maxsize)
        self._trace_name = auto_name("queue")
        self._stamps = threading.local()  # each server thread serves one client

    def _put(self, item):  # under self.mutex
        self._stamps.put = time.monotonic_ns()
        super()._put(item)

    def _get(self):  # under self.mutex
        self._stamps.get = time.monotonic_ns()
        return super()._get()

    def put(self, item, block=True, timeout=None):
        super().put((None, item), block, timeout)

    def get(self, block=True, timeout=None):
        return super().get(block, timeout)[1]

    def traced_put(self, mid, item, block, timeout):
        try:
            super().put((mid, item), block, timeout)
        except Full:
            return False, None, self._trace_name, _via()
        return True, self._stamps.put, self._trace_name, _via()

    def traced_get(self, block, timeout):
        try:
            mid, item = super().get(block, timeout)
        except Empty:
            return False, None, None, None, self._trace_name, _via()
        return True, mid, item, self._stamps.get, self._trace_name, _via()

    def traced_task_done(self):
        with self.all_tasks_done:  # queue.Queue.task_done, stamped
            unfinished = self.unfinished_tasks - 1
            if unfinished < 0:
                return False, 0, None, self._trace_name, _via()
            if unfinished == 0:
                self.all_tasks_done.notify_all()
            self.unfinished_tasks = unfinished
            return True, unfinished, time.monotonic_ns(), self._trace_name, _via()

    def traced_unfinished(self):
        with self.mutex:
            return self.unfinished_tasks, self._trace_name, _via()


class _SharedContainer(_Named):
    """Runs a dict's or list's method and stamps it, atomically, for the traced proxy."""

    _WRITES: frozenset = frozenset()
    _CALLS: frozenset = frozenset()

    def traced_call(self, op, args, kwds):
        if op not in self._CALLS:
            raise AttributeError(f"method {op!r} of {type(self)!r} object is not exposed")
        with self._trace_lock:
            try:
                result = getattr(self, op)(*args, **kwds)
            except Exception as exc:
                result, ok = exc, False
            else:
                ok = True
            t_ns = time.monotonic_ns()
            size = len(self)
            contents = self._contents() if op in self._WRITES else None
        return ok, result, t_ns, self._trace_name, _via(), size, contents


class SharedDict(_SharedContainer, dict):
    _WRITES = frozenset({"__delitem__", "__setitem__", "clear", "pop", "popitem", "setdefault",
                         "update"})
    _CALLS = _WRITES | {"__contains__", "__getitem__", "__len__", "__repr__", "copy", "get",
                        "items", "keys", "values"}

    def __init__(self, *args, **kwds):
        super().__init__(*args, **kwds)
        self._trace_name = auto_name("dict")
        self._trace_lock = threading.Lock()

    def _contents(self):  # in insertion order, as printing the dict shows it; bounded
        first = itertools.islice(self.items(), 6)
        shown = ", ".join(f"{preview(k)}: {preview(v)}" for k, v in first)
        return "{" + shown + (", ...}" if len(self) > 6 else "}")

    def __reduce__(self):  # a copy (e.g. ``_getvalue()``) is a plain dict, as with multiprocessing
        return dict, (dict(self),)


class SharedList(_SharedContainer, list):
    _WRITES = frozenset({"__delitem__", "__imul__", "__setitem__", "append", "extend", "insert",
                         "pop", "remove", "reverse", "sort"})
    _CALLS = _WRITES | {"__add__", "__contains__", "__getitem__", "__len__", "__mul__", "__repr__",
                        "__reversed__", "__rmul__", "count", "index"}

    def __init__(self, *args):
        super().__init__(*args)
        self._trace_name = auto_name("list")
        self._trace_lock = threading.Lock()

    def _contents(self):  # the first items (a plain list: the subclass would show in full)
        return preview(list.__getitem__(self, slice(0, 7)))

    def __reduce__(self):
        return list, (list(self),)


# --------------------------------------------------------------------------- in the clients


class _NamedProxy(mpm.BaseProxy):
    @property
    def trace_name(self) -> str:
        return self._callmethod("get_trace_name")

    @trace_name.setter
    def trace_name(self, name: str) -> None:
        self._callmethod("set_trace_name", (name,))


class QueueProxy(_NamedProxy):
    """A proxy for a managed queue.Queue (``Queue`` and ``JoinableQueue``), traced."""

    _exposed_ = ("empty", "full", "get", "get_nowait", "join", "put", "put_nowait", "qsize",
                 "task_done", "traced_put", "traced_get", "traced_task_done", "traced_unfinished",
                 "get_trace_name", "set_trace_name")

    def put(self, obj, block=True, timeout=None):
        if trace._sink is None:
            return self._callmethod("put", (obj, block, timeout))
        mid, shown, simple = trace.new_message_id(), preview(obj), _simple_wait(block, timeout)
        name = via = None
        try:
            if simple:  # try without blocking first, to see whether it blocks
                ok, t_ns, name, via = self._callmethod("traced_put", (mid, obj, False, None))
                if not ok:
                    emit("put_blocked", name, mid,
                         {"timeout": timeout, "preview": shown, "via": via})
            if not simple or not ok:
                ok, t_ns, name, via = self._callmethod("traced_put", (mid, obj, block, timeout))
        except Exception as exc:  # e.g. the item cannot be pickled
            emit("put_failed", name, mid, {**_error(exc), "preview": shown})
            raise
        if not ok:
            emit("put_failed", name, mid, {"error": "Full", "preview": shown, "via": via})
            raise Full
        emit("message_put", name, mid, {"preview": shown, "via": via}, t_ns=t_ns)

    def get(self, block=True, timeout=None):
        if trace._sink is None:
            return self._callmethod("get", (block, timeout))
        simple = _simple_wait(block, timeout)
        if simple:
            ok, mid, item, t_ns, name, via = self._callmethod("traced_get", (False, None))
            if not ok:
                emit("get_blocked", name, None, {"timeout": timeout, "via": via})
        if not simple or not ok:
            ok, mid, item, t_ns, name, via = self._callmethod("traced_get", (block, timeout))
        if not ok:
            emit("get_failed", name, None, {"error": "Empty", "via": via})
            raise Empty
        emit("message_got", name, mid, {"preview": preview(item), "via": via}, t_ns=t_ns)
        return item

    def put_nowait(self, obj):
        return self.put(obj, False)

    def get_nowait(self):
        return self.get(False)

    def qsize(self):
        return self._callmethod("qsize")

    def empty(self):
        return self._callmethod("empty")

    def full(self):
        return self._callmethod("full")

    def task_done(self):
        if trace._sink is None:
            return self._callmethod("task_done")
        ok, unfinished, t_ns, name, via = self._callmethod("traced_task_done")
        if not ok:
            emit("task_done_failed", name, None, {"error": "ValueError", "via": via})
            raise ValueError("task_done() called too many times")
        emit("task_done", name, None, {"unfinished": unfinished, "via": via}, t_ns=t_ns)

    def join(self):
        if trace._sink is None:
            return self._callmethod("join")
        unfinished, name, via = self._callmethod("traced_unfinished")
        if unfinished:
            emit("join_blocked", name, None, {"unfinished": unfinished, "via": via})
        self._callmethod("join")
        emit("join_returned", name, None, {"via": via})


def _container_method(op: str):
    def method(self, /, *args, **kwds):
        if trace._sink is None:
            return self._callmethod(op, args, kwds)
        return self._traced_call(op, args, kwds)

    method.__name__ = op
    return method


class _ContainerProxy(_NamedProxy):
    """A proxy of a managed dict or list: each exposed method is a traced call."""

    _KIND = "?"
    _WRITES: frozenset = frozenset()

    def _traced_call(self, op, args, kwds):
        ok, result, t_ns, name, via, size, contents = self._callmethod(
            "traced_call", (op, args, kwds))
        write = op in self._WRITES
        detail = {"op": op, "args": preview((args, kwds) if kwds else args), "len": size,
                  "via": via}
        if not ok:
            detail.update(_error(result))
        elif not write or op in ("pop", "popitem", "setdefault"):
            detail["result"] = preview(result)
        if write:
            detail["contents"] = contents
        emit(f"{self._KIND}_write" if write else f"{self._KIND}_read", name, None, detail,
             t_ns=t_ns)
        if not ok:
            raise result
        return result

    def __str__(self):
        if trace._sink is None:
            return super().__str__()
        try:
            return self._traced_call("__repr__", (), {})
        except Exception:
            return repr(self)[:-1] + "; '__str__()' failed>"


def _add_methods(proxy_cls, server_cls) -> None:
    ops = sorted(server_cls._CALLS - {"__repr__"})
    for op in ops:
        if op not in proxy_cls.__dict__:
            setattr(proxy_cls, op, _container_method(op))
    proxy_cls._exposed_ = (*ops, *proxy_cls._exposed_)
    proxy_cls._WRITES = server_cls._WRITES


class DictProxy(_ContainerProxy):
    """A proxy of a managed dict, traced (iterating it is not: it yields from an iterator proxy)."""

    _KIND = "dict"
    _exposed_ = ("__iter__", "__repr__", "traced_call", "get_trace_name", "set_trace_name")
    _method_to_typeid_ = {"__iter__": "Iterator"}

    def __iter__(self):
        return self._callmethod("__iter__")


class ListProxy(_ContainerProxy):
    """A proxy of a managed list, traced."""

    _KIND = "list"
    _exposed_ = ("__repr__", "traced_call", "get_trace_name", "set_trace_name")

    def __iadd__(self, value):
        self.extend(value)
        return self

    def __imul__(self, value):
        _list_imul(self, value)
        return self


_list_imul = _container_method("__imul__")


_add_methods(DictProxy, SharedDict)
_add_methods(ListProxy, SharedList)
