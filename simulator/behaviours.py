"""What each process node does, written with `ipc` the way a learner writes it with
`multiprocessing`: plain loops of put / get / send / recv that print what they do.

Each child starts in :func:`run_node`, which ties the child's life to the runner's, captures its
printed lines as ``process_output`` events, waits its start delay, then runs the behaviour.
Pauses are reported as ``sleep_started``/``sleep_finished`` and work on an item as
``work_started``/``work_finished``, so the canvas can show "sleeping" and "working" as reported
states rather than guesses.

Every line a behaviour prints starts with its node's name (``producer: put 'item 0'``), exactly as
in the standalone program `simulator.codegen` writes, where all processes share one terminal.
"""

from __future__ import annotations

import queue
import random
import sys
import time

from ipc.trace import emit

from . import lifeline
from .scenario import Consumer, Pace, Producer, Worker


def run_node(node, inp, out) -> None:
    """The target of every scenario process. `inp`/`out` are its queue or pipe end (or None)."""
    lifeline.die_with_parent()
    sys.stdout = _TracedLines("stdout", sys.stdout)
    sys.stderr = _TracedLines("stderr", sys.stderr)
    if node.start_delay:
        pause(node.start_delay, "start_delay")
    if node.kind == "producer":
        produce(node, out)
    else:
        consume(node, inp, out)
    sys.stdout.flush()
    sys.stderr.flush()


# --------------------------------------------------------------------------- producer


def items_of(node: Producer) -> list:
    if isinstance(node.items, list):
        return list(node.items)
    return [node.payload.format(name=node.id, i=i) for i in range(node.items)]


def produce(node: Producer, out) -> None:
    rng = random.Random(node.interval.seed)
    for i, item in enumerate(items_of(node)):
        if i:
            pause(pace_seconds(node.interval, rng), "interval")
        if not put(node, out, item):
            break
    for _ in range(node.sentinels):
        out.put(None)
        print(f"{node.id}: put sentinel None")
    for _ in range(node.replies):
        print(f"{node.id}: received {out.recv()!r}")


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


def consume(node: Consumer, inp, out) -> None:
    rng = random.Random(node.work.seed)
    done = 0
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
        if node.work.seconds or node.work.up_to:
            seconds = pace_seconds(node.work, rng)
            emit("work_started", None, None, {"seconds": seconds, "item": repr(item)[:60]})
            time.sleep(seconds)
            emit("work_finished", None, None, None)
        if node.echo:
            inp.send(item)
            print(f"{node.id}: echoed {item!r}")
        if isinstance(node, Worker):
            result = node.result.format(item=item, name=node.id, i=done)
            if not put(node, out, result):
                break
        if node.task_done:
            inp.task_done()
        done += 1


def get(node: Consumer, inp):
    if not hasattr(inp, "get"):  # a pipe end
        return inp.recv()
    if node.get_mode == "block":
        return inp.get()
    if node.get_mode == "timeout":
        return inp.get(timeout=node.get_timeout)
    return inp.get_nowait()


# --------------------------------------------------------------------------- helpers


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
