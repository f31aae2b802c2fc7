"""Traced `Pool`: a subclass of `multiprocessing.pool.Pool` whose workers are traced processes.

Workers are `ipc` processes named ``<trace_name>-worker-<n>`` (n = 1, 2, ... for the pool's life,
so a worker started to replace one that ended gets a new number); they report their own life like
any `ipc.Process`. Give the pool its name when creating it (``ipc.Pool(4, trace_name="pool")``),
since its workers start right away; ``pool.trace_name`` can still be changed later, but only the
events that name the pool follow, not the workers' names.

A **task** is what a worker takes from the pool and runs as one unit: one ``apply`` /
``apply_async`` call, or one chunk of ``map`` / ``starmap`` / ``imap`` / ``imap_unordered``
(``chunksize`` items, chosen as `multiprocessing` chooses it). Its id, ``"<pid>:t<job>.<i>"``
(the pool owner's pid, the job number and the chunk index), is the event's ``message``, so a task
is followed like a message from the caller to a worker.

What is reported (object = the pool's ``trace_name``):

* by the pool's owner: ``pool_worker_added`` for each worker it starts (``worker``, the pool's
  ``processes``), before the worker's own ``process_start_requested``; ``pool_closed``,
  ``pool_terminate_requested``, ``pool_join_blocked`` (something was still running) and
  ``pool_joined``;
* by the pool's owner, from the pool's task thread: ``task_submitted`` as a task is handed to the
  pipe the idle workers read from (``function``, ``preview`` of its arguments, ``items`` for a
  chunk). A task stays there until a worker is free: from ``task_submitted`` to ``task_started``
  it waits for a worker. When the task cannot be handed over, ``task_failed`` with
  ``stage: "submit"`` follows, from the owner: this is where a plain ``Queue`` among the
  arguments fails (``RuntimeError: Queue objects should only be shared between processes through
  inheritance``), which `multiprocessing` then raises from the result's ``get()``;
* by the worker: ``task_started``, then ``task_finished`` (``preview`` of the result) or
  ``task_failed`` (``error``, ``reason``, ``stage: "run"``).

The pool's own pipes (tasks to the workers, results back) are plain `multiprocessing` objects: they
are the pool's machinery, reported as the task events above rather than as queue traffic.

With no sink attached, tasks go to the workers unchanged and nothing else differs from
`multiprocessing.pool.Pool`. With one, each task travels wrapped in `_run_task`, which reports its
start and end around the call (a remote traceback shows that one extra frame).
"""

from __future__ import annotations

import itertools
import os
from multiprocessing import pool as mppool

from . import trace
from .context import get_context
from .queues import _error, auto_name
from .trace import emit, preview

__all__ = ["Pool"]


class _Label:
    """The pool's name and worker numbering, shared with the pool's threads (not the pool itself,
    so that they hold no reference to it)."""

    def __init__(self, name: str, processes: int | None):
        self.name = name
        self.processes = processes
        self.numbers = itertools.count(1)


class _WorkerFactory:
    """Stands in for `Pool.Process`: starts each worker as a traced process of the pool's method."""

    def __init__(self, label: _Label):
        self.label = label

    def __call__(self, ctx, *args, **kwds):
        traced = get_context(ctx.get_start_method())
        kwds.setdefault("name", f"{self.label.name}-worker-{next(self.label.numbers)}")
        emit("pool_worker_added", self.label.name, None,
             {"worker": kwds["name"], "processes": self.label.processes})
        return traced.Process(*args, **kwds)


class _TaskSender:
    """The pool's ``_quick_put``: writes each task to the workers' pipe (traced, with a sink)."""

    def __init__(self, label: _Label, send):
        self.label = label
        self.send = send

    def __call__(self, task):
        if trace._sink is None or task is None:  # None: the sentinel that stops a worker
            return self.send(task)
        job, i, func, args, kwds = task
        if func is mppool._helper_reraises_exception:  # the iterable itself failed: not a task
            return self.send(task)
        name, tid = self.label.name, f"{os.getpid()}:t{job}.{i}"
        emit("task_submitted", name, tid, _describe(func, args, kwds))
        try:
            self.send((job, i, _run_task, (name, tid, func, args, kwds), {}))
        except Exception as exc:
            emit("task_failed", name, tid, {**_error(exc), "stage": "submit"})
            raise


def _describe(func, args, kwds) -> dict:
    if _is_chunk(func, args):
        chunk = args[0][1]
        return {"function": _func_name(func, args), "items": len(chunk), "preview": preview(chunk)}
    detail = {"function": _func_name(func), "preview": preview(args)}
    if kwds:
        detail["kwds"] = preview(kwds)
    return detail


def _is_chunk(func, args) -> bool:
    return (func is mppool.mapstar or func is mppool.starmapstar) and len(args) == 1


def _func_name(func, args=()) -> str:
    if _is_chunk(func, args):
        func = args[0][0]
    return getattr(func, "__qualname__", None) or type(func).__name__


def _run_task(name, tid, func, args, kwds):
    """Runs one task in a worker, reporting its start and its end."""
    emit("task_started", name, tid, {"function": _func_name(func, args)})
    try:
        result = func(*args, **kwds)
    except BaseException as exc:
        emit("task_failed", name, tid, {**_error(exc), "stage": "run"})
        raise
    emit("task_finished", name, tid, preview(result))
    return result


class Pool(mppool.Pool):
    """`multiprocessing.pool.Pool`, traced; ``trace_name`` names it in events."""

    def __init__(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None,
                 context=None, *, trace_name=None):
        # The pool's machinery (its pipes, its change notifier) uses multiprocessing's own context
        # of the chosen start method; only the workers are `ipc` processes (see `_WorkerFactory`).
        method = (context or get_context()).get_start_method()
        self._label = _Label(trace_name or auto_name("pool"),
                             processes if processes is not None else os.cpu_count() or 1)
        self.Process = _WorkerFactory(self._label)
        super().__init__(processes, initializer, initargs, maxtasksperchild,
                         context=get_context(method)._mp)

    @property
    def trace_name(self) -> str:
        return self._label.name

    @trace_name.setter
    def trace_name(self, name: str) -> None:
        self._label.name = name

    def _setup_queues(self):
        super()._setup_queues()
        self._quick_put = _TaskSender(self._label, self._quick_put)

    def close(self):
        if self._state == mppool.RUN:
            emit("pool_closed", self.trace_name)
        super().close()

    def terminate(self):
        emit("pool_terminate_requested", self.trace_name)
        super().terminate()

    def join(self):
        if trace._sink is None or self._state not in (mppool.CLOSE, mppool.TERMINATE):
            return super().join()  # (raises ValueError while the pool is running)
        threads = (self._worker_handler, self._task_handler, self._result_handler)
        if any(t.is_alive() for t in threads) or any(p.is_alive() for p in self._pool):
            emit("pool_join_blocked", self.trace_name, None,
                 {"workers_alive": sum(1 for p in self._pool if p.is_alive())})
        super().join()
        emit("pool_joined", self.trace_name)
