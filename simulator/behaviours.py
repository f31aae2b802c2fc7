"""What each process node does, written with `ipc` the way a learner writes it with
`multiprocessing`: plain loops of put / get / send / recv that print what they do.

Each child starts in :func:`run_node`, which ties the child's life to the runner's, captures its
printed lines as ``process_output`` events, waits its start delay, then runs the behaviour.
Pauses are reported as ``sleep_started``/``sleep_finished`` and work on an item as
``work_started``/``work_finished``, so the canvas can show "sleeping" and "working" as reported
states rather than guesses.

Every line a behaviour prints starts with its node's name (``producer: put 'item 0'``), exactly as
in the standalone program `simulator.codegen` writes, where all processes share one terminal. A
pool's tasks print after the pool's name (``pool: task 0 done``), whichever worker runs them.

A producer may write its items into dicts and lists instead of putting them on a channel, a
consumer may read a dict or list instead of getting, and any of them may use a lock: a producer
puts (or writes) its whole burst inside ``with lock:``, a consumer or worker handles each item
inside it. The dicts, lists and lock come as `Shared` (their node's id, kind and the object).

A node with a `crash` (see "Crashes" in `simulator.scenario`) crashes for real once it has handled
`crash_after` items: `crash_if_due` is called with the count before the first item and after
each one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import random
import resource
import sys
import time
from typing import Any, NamedTuple

from ipc.trace import emit

from . import lifeline
from .scenario import CRASH_EXIT_CODE, Consumer, Pace, PoolNode, Producer, Worker


class Shared(NamedTuple):
    """A dict, list or lock given to a process, with the id and kind of its node."""

    id: str
    kind: str  # "dict", "list" or "lock"
    obj: Any


def run_node(node, inp, out, lock: Shared | None = None) -> None:
    """The target of every scenario process. `inp` is its queue or pipe end, or the `Shared` dict
    or list it reads; `out` its queue or pipe end, or the list of `Shared` it writes (or None)."""
    lifeline.die_with_parent()
    trace_lines()
    if node.start_delay:
        pause(node.start_delay, "start_delay")
    held = lock.obj if lock is not None else None
    if node.kind == "producer":
        with held or contextlib.nullcontext():
            produce(node, out)
        for _ in range(node.replies):
            print(f"{node.id}: received {out.recv()!r}")
    elif isinstance(inp, Shared):
        read_shared(node, inp, held)
    else:
        consume(node, inp, out, held)
    sys.stdout.flush()
    sys.stderr.flush()


def trace_lines() -> None:
    """Report what this process prints, line by line, as ``process_output`` events."""
    sys.stdout = _TracedLines("stdout", sys.stdout)
    sys.stderr = _TracedLines("stderr", sys.stderr)


# --------------------------------------------------------------------------- producer


def items_of(node: Producer) -> list:
    if isinstance(node.items, list):
        return list(node.items)
    return [node.payload.format(name=node.id, i=i) for i in range(node.items)]


def produce(node: Producer, out) -> None:
    """The producer's burst: its items, then its sentinels (its replies come after)."""
    rng = random.Random(node.interval.seed)
    crash_if_due(node, 0)
    for i, item in enumerate(items_of(node)):
        if i:
            pause(pace_seconds(node.interval, rng), "interval")
        if isinstance(out, list):
            for shared in out:
                write(node, shared, i, item)
        elif not put(node, out, item):
            break
        crash_if_due(node, i + 1)
    for _ in range(node.sentinels):
        out.put(None)
        print(f"{node.id}: put sentinel None")


def write(node: Producer, shared: Shared, i: int, item) -> None:
    if shared.kind == "dict":
        key = node.key.format(name=node.id, i=i)
        shared.obj[key] = item
        print(f"{node.id}: {shared.id}[{key!r}] = {item!r}")
    else:
        shared.obj.append(item)
        print(f"{node.id}: {shared.id}.append({item!r})")


def put(node, out, item) -> bool:
    """Put or send one item the node's way; False when the node should stop."""
    if not hasattr(out, "put"):  # a pipe end
        out.send(item)
        print(f"{node.id}: sent {item!r}")
        return True
    try:
        if node.put_mode == "block":
            out.put(item)
        elif node.put_mode == "timeout":
            out.put(item, timeout=node.put_timeout)
        else:
            out.put_nowait(item)
    except queue.Full:
        if node.on_full == "stop":
            print(f"{node.id}: queue.Full: could not put {item!r}; stopping")
            return False
        print(f"{node.id}: queue.Full: dropped {item!r}")
        return True
    print(f"{node.id}: put {item!r}")
    return True


# --------------------------------------------------------------------------- consumer / worker


def consume(node: Consumer, inp, out, lock=None) -> None:
    rng = random.Random(node.work.seed)
    done = 0
    crash_if_due(node, 0)
    while node.loop != "count" or done < node.count:
        if node.loop == "while_not_empty" and inp.empty():
            print(f"{node.id}: empty() is True: stopping")
            break
        try:
            item = get(node, inp)
        except queue.Empty:
            print(f"{node.id}: queue.Empty")
            if node.on_empty == "stop":
                break
            continue
        except EOFError:
            print(f"{node.id}: EOFError: the other end is closed; stopping")
            break
        if item is None and node.loop == "until_sentinel":
            print(f"{node.id}: got sentinel None: stopping")
            if node.task_done:
                inp.task_done()
            break
        print(f"{node.id}: got {item!r}")
        with lock or contextlib.nullcontext():
            if node.work.seconds or node.work.up_to:
                do_work(pace_seconds(node.work, rng), item)
            if node.echo:
                inp.send(item)
                print(f"{node.id}: echoed {item!r}")
            stop = False
            if isinstance(node, Worker):
                result = node.result.format(item=item, name=node.id, i=done)
                stop = not put(node, out, result)
        if stop:
            break
        if node.task_done:
            inp.task_done()
        done += 1
        crash_if_due(node, done)


def read_shared(node: Consumer, shared: Shared, lock=None) -> None:
    """Read the whole dict or list `count` times (or forever), pausing `work` between reads."""
    rng = random.Random(node.work.seed)
    i = 0
    crash_if_due(node, 0)
    while node.loop != "count" or i < node.count:
        if i:
            pause(pace_seconds(node.work, rng), "interval")
        with lock or contextlib.nullcontext():
            print(f"{node.id}: {shared.id} = {shared.obj}")
        i += 1
        crash_if_due(node, i)


def get(node: Consumer, inp):
    if not hasattr(inp, "get"):  # a pipe end
        return inp.recv()
    if node.get_mode == "block":
        return inp.get()
    if node.get_mode == "timeout":
        return inp.get(timeout=node.get_timeout)
    return inp.get_nowait()


# --------------------------------------------------------------------------- pool tasks

_pool: tuple[PoolNode, bool, bool] | None = None  # in a pool's worker: its node, has out, has lock


def init_pool_worker(node: PoolNode, has_out: bool, has_lock: bool) -> None:
    """The pool's initializer: each worker reports its lines and knows what its tasks do."""
    global _pool
    lifeline.die_with_parent()
    trace_lines()
    _pool = (node, has_out, has_lock)


def run_task(i: int, *shared) -> str:
    """One task of the pool: work, then return its result, after putting it on the pool's queue
    (inside ``with lock:`` when the pool uses one). `shared`: the queue and/or the lock."""
    node, has_out, has_lock = _pool
    out = shared[0] if has_out else None
    lock = shared[-1] if has_lock else None
    rng = random.Random(node.work.seed + i)  # each task its own reproducible delay
    with lock or contextlib.nullcontext():
        if node.work.seconds or node.work.up_to:
            do_work(pace_seconds(node.work, rng), i)
        result = node.result.format(name=node.id, i=i)
        if out is not None:
            out.put(result)
            print(f"{node.id}: task {i} put {result!r}")
        else:
            print(f"{node.id}: task {i} done")
    return result


# --------------------------------------------------------------------------- crashes


def crash_if_due(node, handled: int) -> None:
    """Crash the node's way if it has a crash due after `handled` items."""
    if node.crash == "none" or handled != node.crash_after:
        return
    if node.crash == "exception":  # multiprocessing prints the traceback; exit code 1
        raise RuntimeError(node.crash_message())
    if node.crash == "exit":
        os._exit(CRASH_EXIT_CODE)  # no cleanup: no exit handlers, no flushing of queues
    segfault()


def segfault() -> None:
    """Die of a real segmentation fault (SIGSEGV, exit code -11), leaving no core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    ctypes.string_at(0)  # reads memory at address 0


# --------------------------------------------------------------------------- helpers


def do_work(seconds: float, item) -> None:
    emit("work_started", None, None, {"seconds": seconds, "item": repr(item)[:60]})
    time.sleep(seconds)
    emit("work_finished", None, None, None)



def pace_seconds(pace: Pace, rng: random.Random) -> float:
    if pace.up_to is None:
        return pace.seconds
    return round(rng.uniform(pace.seconds, pace.up_to), 3)


def pause(seconds: float, why: str) -> None:
    if seconds <= 0:
        return
    emit("sleep_started", None, None, {"seconds": seconds, "why": why})
    time.sleep(seconds)
    emit("sleep_finished", None, None, {"why": why})


class _TracedLines:
    """A stand-in for sys.stdout / sys.stderr that reports each complete line it is given."""

    def __init__(self, stream: str, original):
        self.stream = stream
        self.original = original
        self.partial = ""

    def write(self, text: str) -> int:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            emit("process_output", None, None, {"line": line[:2000], "stream": self.stream})
        return len(text)

    def flush(self) -> None:
        if self.partial:
            emit("process_output", None, None, {"line": self.partial[:2000], "stream": self.stream})
            self.partial = ""

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"
