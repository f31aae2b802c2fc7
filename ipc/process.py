"""Traced processes: `multiprocessing`'s Process classes, reporting their own life.

Who reports what (object = the process's name):

* the parent: ``process_start_requested`` when ``start()`` is called, ``process_terminate_requested``
  / ``process_kill_requested``, and ``daemon_killed_at_exit`` for each daemonic child still alive
  when the parent's own exit handler is about to terminate it (as `multiprocessing` does at exit);
* the child itself: ``process_started`` as it begins, ``process_failed`` with the traceback when
  ``run()`` raises, and ``process_exited`` with its exit code as the very last thing it does;
* the parent again, ``process_exited``, for an exit the child could not report itself (killed by
  a signal, giving a negative exit code, or ``os._exit()``), as soon as the parent observes it
  through ``join()``, ``is_alive()``, ``exitcode`` or ``close()``. A one-byte shared flag tells the
  parent whether the child already reported, so each exit is reported exactly once.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
import weakref
from multiprocessing import context as mpctx
from multiprocessing import sharedctypes, util

from . import trace
from .trace import emit

__all__ = ["Process", "ForkProcess", "SpawnProcess", "ForkServerProcess"]


class _TracedProcess:
    """Mixed in before one of multiprocessing's concrete Process classes."""

    _trace_address = None
    _exit_reported = None  # shared flag: the child reported its own exit
    _exit_traced = False  # this (parent-side) object has seen the exit reported

    # -- parent side

    def start(self):
        self._trace_address = trace.address()
        if self._trace_address is not None:
            self._exit_reported = sharedctypes.RawValue("b", 0)
            method = self._start_method or multiprocessing.get_start_method()
            emit("process_start_requested", self.name, None,
                 {"start_method": method, "daemon": self.daemon})
            _register_exit_hooks()
        super().start()
        if self._trace_address is not None:
            _started.add(self)

    def terminate(self):
        emit("process_terminate_requested", self.name, None, {"pid": self.pid})
        super().terminate()

    def kill(self):
        emit("process_kill_requested", self.name, None, {"pid": self.pid})
        super().kill()

    def join(self, timeout=None):
        super().join(timeout)
        self._observe_exit()

    def is_alive(self):
        alive = super().is_alive()
        if not alive:
            self._observe_exit()
        return alive

    @property
    def exitcode(self):
        code = super().exitcode
        if code is not None:
            self._observe_exit()
        return code

    def close(self):
        if self._popen is not None and self._popen.poll() is not None:
            self._observe_exit()
        super().close()

    def _observe_exit(self):
        popen = self._popen
        if self._exit_traced or popen is None or popen.returncode is None:
            return
        if self._trace_address is None:
            return
        self._exit_traced = True
        if self._exit_reported.value:
            return
        emit("process_exited", self.name, None, _exit_detail(popen.returncode, self.pid, "parent"))

    # -- child side

    def _bootstrap(self, parent_sentinel=None):
        address = self._trace_address
        if address is None:
            return super()._bootstrap(parent_sentinel)
        trace.attach(address, identity=self.name)
        emit("process_started", self.name, None,
             {"pid": os.getpid(), "ppid": os.getppid(), "daemon": self.daemon})
        user_run = self.run

        def traced_run():
            try:
                user_run()
            except SystemExit:
                raise
            except BaseException as exc:
                emit("process_failed", self.name, None,
                     {"error": type(exc).__name__, "reason": str(exc)[:500],
                      "traceback": traceback.format_exc()[-4000:]})
                raise

        self.run = traced_run
        exitcode = super()._bootstrap(parent_sentinel)
        emit("process_exited", self.name, None, _exit_detail(exitcode, os.getpid(), "self"))
        self._exit_reported.value = 1
        return exitcode


def _exit_detail(code: int, pid: int | None, reported_by: str) -> dict:
    detail = {"exitcode": code, "pid": pid, "reported_by": reported_by}
    if code < 0:
        detail["signal"] = signal.Signals(-code).name
    return detail


_started: "weakref.WeakSet[_TracedProcess]" = weakref.WeakSet()  # traced children of this process
_hooks_pid = None


def _register_exit_hooks() -> None:
    """Once per process, two finalizers for multiprocessing's exit handler, which runs the
    finalizers of priority >= 0, terminates the daemonic children still alive, joins the children
    it still counts as active, and finally runs the remaining finalizers:

    * priority 0 (just before the terminations): report each daemon about to be killed;
    * priority -100 (the very last): report every traced child's exit, including those the
      handler dropped without joining because they had already died.
    """
    global _hooks_pid
    if _hooks_pid == os.getpid():
        return
    _hooks_pid = os.getpid()
    _started.clear()  # after a fork: the parent's children are not ours

    def announce_daemon_kills():
        for child in multiprocessing.active_children():
            if child.daemon and child in _started:
                emit("daemon_killed_at_exit", child.name, None, {"pid": child.pid})

    def observe_exits():
        for child in list(_started):
            child.exitcode  # polls, and reports the exit if nobody has

    util.Finalize(None, announce_daemon_kills, exitpriority=0)
    util.Finalize(None, observe_exits, exitpriority=-100)


class Process(_TracedProcess, multiprocessing.Process):
    """`multiprocessing.Process` (the default start method), traced."""


class ForkProcess(_TracedProcess, mpctx.ForkProcess):
    pass


class SpawnProcess(_TracedProcess, mpctx.SpawnProcess):
    pass


class ForkServerProcess(_TracedProcess, mpctx.ForkServerProcess):
    pass
