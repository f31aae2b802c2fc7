"""How fast the fold is, and how cheap seeking is, on a 1,000,000-event trace.

    python benchmarks/fold_seek.py [--events 1000000] [--seeks 200]

The trace is synthetic but shaped like a real run: two producers and two consumers on a
Queue(8), with blocked puts and gets, task-free work spans and printed lines. Prints the fold's
throughput (events/s) and the time of `state_at(t)` at random moments (median, p95, max);
the target is a seek anywhere in <= 50 ms.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipc.trace import Event  # noqa: E402
from simulator.fold import Timeline  # noqa: E402
from simulator.scenario import Consumer, Link, Producer, QueueNode, Scenario  # noqa: E402


def scenario() -> Scenario:
    return Scenario(
        nodes=[Producer("P1"), Producer("P2"), QueueNode("q", maxsize=8), Consumer("C1"), Consumer("C2")],
        links=[Link("P1", "q", "put"), Link("P2", "q", "put"), Link("C1", "q", "get"), Link("C2", "q", "get")],
    )


def synthetic_events(n: int, seed: int = 1) -> list[Event]:
    rng = random.Random(seed)
    t = 1_000_000_000
    events: list[Event] = []
    seqs = dict.fromkeys(["main", "P1", "P2", "C1", "C2"], 0)
    pids = {"main": 100, "P1": 101, "P2": 102, "C1": 103, "C2": 104}
    queue: list[str] = []
    counter = 0

    def add(proc, kind, obj=None, msg=None, detail=None):
        nonlocal t
        t += rng.randint(200, 5000)
        seqs[proc] += 1
        events.append(Event(t, pids[proc], seqs[proc], proc, kind, obj, msg, detail))

    add("main", "run_started")
    for name in ("P1", "P2", "C1", "C2"):
        add("main", "process_start_requested", name)
        add(name, "process_started", name)
    while len(events) < n:
        producer, consumer = rng.choice(("P1", "P2")), rng.choice(("C1", "C2"))
        if len(queue) < 8 and rng.random() < 0.55:
            counter += 1
            mid = f"{pids[producer]}:{counter}"
            if len(queue) == 7:
                add(producer, "put_blocked", "q", mid, {"timeout": None, "preview": f"'{mid}'"})
            add(producer, "message_put", "q", mid, {"preview": f"'{mid}'"})
            queue.append(mid)
        elif queue:
            mid = queue.pop(0)
            add(consumer, "message_got", "q", mid, {"preview": f"'{mid}'"})
            add(consumer, "process_output", None, None, {"line": f"got {mid}", "stream": "stdout"})
            add(consumer, "work_started", None, None, {"seconds": 0.01})
            add(consumer, "work_finished")
        else:
            add(consumer, "get_blocked", "q", None, {"timeout": None})
    return events[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seeks", type=int, default=200)
    args = parser.parse_args()

    events = synthetic_events(args.events)
    n = len(events)
    start = time.perf_counter()
    timeline = Timeline(scenario(), events)
    fold_s = time.perf_counter() - start
    del events  # the timeline keeps them compactly; a window holds no other copy, so neither do
    gc.collect()  # the seeks (its full garbage collections would walk a million objects)

    rng = random.Random(2)
    times = []
    for _ in range(args.seeks):
        t = rng.randint(timeline.start_ns, timeline.end_ns)
        start = time.perf_counter()
        timeline.state_at(t)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"events folded:      {n:,} in {fold_s:.2f} s = {n / fold_s:,.0f} events/s")
    print(f"seek (state_at):    median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, "
          f"max {times[-1]:.2f} ms over {len(times)} random moments (target <= 50 ms)")


if __name__ == "__main__":
    main()
