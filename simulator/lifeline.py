"""No process of a run outlives the program that started it.

Three layers, so that any one process can be SIGKILLed without leaving orphans:

* the caller starts the runner in its own session (process group); Stop kills that whole group
  at once, and the caller sweeps the group again whenever the runner ends, however it ended;
* the runner holds the read end of a pipe from the caller (its stdin) and kills its own process
  group when that pipe reaches end-of-file, which is exactly when the caller dies;
* every process of the run asks the kernel (PR_SET_PDEATHSIG) for SIGKILL when its parent dies,
  covering a runner that was itself SIGKILLed while its caller also died.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send `sig` (SIGKILL) to this process when its parent dies (Linux only;
    else a no-op)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    if not process_alive(os.getpgrp()):
        # The runner (the leader of the run's process group) is already gone: it was killed while
        # this child was still starting, before the request above could be tied to it.
        os._exit(1)


def kill_group_when_caller_exits(stream=None) -> None:
    """Start a thread that kills this process group as soon as `stream` (stdin) hits EOF."""
    fd = (stream or sys.stdin).fileno()

    def watch() -> None:
        while True:
            try:
                if not os.read(fd, 4096):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="caller-lifeline", daemon=True).start()


def kill_group_when_parent_dies() -> None:
    """For the runner: when its caller dies, kill the whole group, not just itself. (SIGKILLed
    alone, it would leave behind the processes that do not die with it: the manager's server,
    a child still starting.)"""
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    # Not in the children it forks (fork start method, pool workers, the manager's server): there,
    # terminate() must end the child alone, as SIGTERM does by default. SIGTERM stays blocked
    # across the fork until the child has its default back, so one sent at once (main's exit
    # killing a daemon it just started) is neither handled as the runner's nor lost.
    term = {signal.SIGTERM}
    os.register_at_fork(before=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, term),
                        after_in_parent=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, term),
                        after_in_child=_default_sigterm_in_child)
    die_with_parent(signal.SIGTERM)


def _default_sigterm_in_child() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # a pending one ends the child now


def kill_group(pgid: int) -> None:
    """SIGKILL every process left in the group `pgid` (nothing if it is already empty)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def process_alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return True


def start_resource_tracker_in_own_session() -> None:
    """Start `multiprocessing`'s resource tracker now, in a session of its own (returns once it is).

    With spawn and forkserver, every Queue, Lock and Event owns a named semaphore
    (``/dev/shm/sem.mp-*``) that the resource tracker unlinks when the program that made it dies
    without cleaning up. Killed with the run's process group, the tracker could not: every Stop
    left the run's semaphores in /dev/shm. Out of the group, it outlives the kill, sees its pipe
    reach end-of-file once every process of the run is gone, unlinks what they left, and exits.
    """
    from multiprocessing import resource_tracker, util

    original = util.spawnv_passfds

    def spawn_in_own_session(path, args, passfds):
        args = list(args)
        i = args.index("-c") + 1
        args[i] = "import os; os.setsid(); " + args[i]
        return original(path, args, passfds)

    util.spawnv_passfds = spawn_in_own_session
    try:
        resource_tracker.ensure_running()
    finally:
        util.spawnv_passfds = original
    # It leaves our group only once its interpreter runs os.setsid(), tens of milliseconds later
    # (more on a busy machine); a Stop or a kill of the caller before that would kill it with the
    # group, and the semaphores made meanwhile would stay. So wait until it has left.
    tracker, deadline = resource_tracker._resource_tracker._pid, time.monotonic() + 10
    while tracker is not None and time.monotonic() < deadline:
        try:
            if os.getpgid(tracker) != os.getpgid(0):
                break
        except ProcessLookupError:
            break
        time.sleep(0.001)
