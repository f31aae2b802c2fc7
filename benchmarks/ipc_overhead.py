"""Throughput of `ipc`'s traced primitives against plain `multiprocessing`, side by side.

For each primitive (Queue, JoinableQueue with a task_done per item, duplex Pipe with one end
sending and the other receiving) one producer process hands N small ints to one consumer process,
in three variants:

* ``raw``       plain `multiprocessing` (no `ipc` at all),
* ``untraced``  `ipc` with no trace sink attached,
* ``traced``    `ipc` with an `ipc.trace.Collector` attached (in this, the parent, process).

The variants are interleaved over several rounds (raw, untraced, traced, raw, untraced, ...) so
that drift in the machine's load hits all of them alike, and the median per variant is reported.
One round's figure is a poor guide: on a 2-core machine the same transfer varies by a third from
one round to the next (how a producer's puts and its feeder thread take turns at the GIL, and
where the scheduler puts the three busy threads, differ each time), hence 11 rounds by default.

Only the transfer is timed: both children wait at a barrier after they have started and set up,
the clock starts when the first of them leaves it and stops when the consumer has got (and, for
JoinableQueue, task_done'd) the N-th item. Clocks are CLOCK_MONOTONIC, which is system-wide.

The traced variant's events are kept in this process until the round is checked; like the
window's process while a run is live (`ui/run_controller`), it makes no full garbage collection
during the transfer (young ones go on), so that walking the events kept so far is not counted as
what tracing costs. The setting is the same for all three variants. The collector keeps them as
the records it read and decodes them when the round is checked: that drain's CPU per event is
printed apart (it comes after the transfer).

In the traced variant the collector must have received every event: for each round the script
counts the events by kind, checks there is one put/got (sent/received, task_done) event per item
with matching message ids, and that each process's sequence numbers have no gap. A round that
loses anything is reported and makes the script exit with status 1.

    python benchmarks/ipc_overhead.py                 # defaults: about a minute on 2 cores
    python benchmarks/ipc_overhead.py -n 20000 -r 3   # quicker
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python benchmarks/ipc_overhead.py` from a checkout
    sys.path.insert(0, ROOT)

import ipc  # noqa: E402
import ipc.trace  # noqa: E402

PRIMITIVES = ("Queue", "JoinableQueue", "Pipe")
VARIANTS = ("raw", "untraced", "traced")
BARRIER_TIMEOUT = 120.0

# The events that must appear exactly once per item, per primitive.
PER_ITEM_KINDS = {
    "Queue": ("message_put", "message_got"),
    "JoinableQueue": ("message_put", "message_got", "task_done"),
    "Pipe": ("message_sent", "message_received"),
}


# --------------------------------------------------------------------------- child processes


def cpu_seconds():
    """CPU time (user + system) of this process, all its threads (e.g. a Queue's feeder thread)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def producer(primitive, chan, n, barrier, results):
    barrier.wait(BARRIER_TIMEOUT)
    c0 = cpu_seconds()
    t0 = time.monotonic_ns()
    if primitive == "Pipe":
        send = chan.send
        for i in range(n):
            send(i)
    else:
        put = chan.put
        for i in range(n):
            put(i)
    t_done = time.monotonic_ns()
    if primitive == "JoinableQueue":
        chan.join()  # not timed: just checks the consumer's task_done calls add up
    if primitive != "Pipe":  # not timed either; for the CPU count: the feeder thread's work
        chan.close()
        chan.join_thread()
    results.put(("producer", t0, t_done, 0, cpu_seconds() - c0))


def consumer(primitive, chan, n, barrier, results):
    barrier.wait(BARRIER_TIMEOUT)
    c0 = cpu_seconds()
    t0 = time.monotonic_ns()
    total = 0
    if primitive == "Pipe":
        recv = chan.recv
        for _ in range(n):
            total += recv()
    elif primitive == "JoinableQueue":
        get, task_done = chan.get, chan.task_done
        for _ in range(n):
            total += get()
            task_done()
    else:
        get = chan.get
        for _ in range(n):
            total += get()
    t_done = time.monotonic_ns()
    results.put(("consumer", t0, t_done, total, cpu_seconds() - c0))


# --------------------------------------------------------------------------- one measurement


@contextlib.contextmanager
def no_full_collections():
    """No full garbage collection in this process meanwhile (see the module docstring)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def make_channel(primitive, ctx):
    """The channel, and what the producer and the consumer each get of it."""
    if primitive == "Pipe":
        a, b = ctx.Pipe(duplex=True)
        return (a, b), a, b
    q = getattr(ctx, primitive)()
    return (q,), q, q


def run_once(primitive, variant, n, method):
    """One transfer of n items. Returns (items/s, CPU us per item per role, event check or None).

    CPU: the producer's (with its feeder thread) and the consumer's from the barrier on; this
    process's from the children's start until every trace stream has ended, i.e. essentially
    the collector thread (the main thread just waits)."""
    mp_ctx = multiprocessing.get_context(method)
    collector = None
    if variant == "traced":
        collector = ipc.trace.Collector()
        ipc.trace.attach(collector.address)
    ctx = mp_ctx if variant == "raw" else ipc.get_context(method)
    barrier = mp_ctx.Barrier(2)
    results = mp_ctx.SimpleQueue()
    owned, prod_end, cons_end = make_channel(primitive, ctx)
    procs = [
        ctx.Process(target=producer, args=(primitive, prod_end, n, barrier, results), name="producer"),
        ctx.Process(target=consumer, args=(primitive, cons_end, n, barrier, results), name="consumer"),
    ]
    try:
        for p in procs:
            p.start()
        parent_c0 = cpu_seconds()
        with no_full_collections():
            got = dict((role, rest) for role, *rest in (results.get(), results.get()))
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"{primitive}/{variant}: {p.name} exited with {p.exitcode}")
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        for obj in owned:
            obj.close()
    if got["consumer"][2] != n * (n - 1) // 2:
        raise RuntimeError(f"{primitive}/{variant}: the consumer got the wrong items")
    t_start = min(got["producer"][0], got["consumer"][0])
    t_end = got["consumer"][1]
    rate = n / ((t_end - t_start) / 1e9)
    check = None
    if collector is not None:
        check = check_events(primitive, n, collector, [p.pid for p in procs])
    parent_c1 = cpu_seconds() if check is None else check["cpu_end"]
    cpu = {"producer": got["producer"][3] / n * 1e6, "consumer": got["consumer"][3] / n * 1e6,
           "collector": (parent_c1 - parent_c0) / n * 1e6}
    return rate, cpu, check


def check_events(primitive, n, collector, child_pids):
    """Wait for every stream to end, then check that nothing was lost."""
    ipc.trace.detach()  # closes this process's own stream too
    deadline = time.monotonic() + 30
    while collector.open_streams() and time.monotonic() < deadline:
        time.sleep(0.01)
    still_open = collector.open_streams()
    collector.close()
    cpu_end = cpu_seconds()  # the collector's work is done; the records it kept are decoded now
    events = collector.drain().events
    drain_us = (cpu_seconds() - cpu_end) / max(1, len(events)) * 1e6
    kinds = Counter(e.kind for e in events)
    problems = []
    if still_open:
        problems.append(f"streams still open after 30 s: {still_open}")
    for kind in PER_ITEM_KINDS[primitive]:
        if kinds[kind] != n:
            problems.append(f"{kind}: {kinds[kind]} events for {n} items")
    out_kind, in_kind = PER_ITEM_KINDS[primitive][:2]
    sent = {e.message for e in events if e.kind == out_kind}
    received = {e.message for e in events if e.kind == in_kind}
    if len(sent) != n or sent != received:
        problems.append(f"message ids: {len(sent)} distinct put/sent, {len(received)} got/received, "
                        f"{len(sent ^ received)} unmatched")
    seqs: dict[int, list[int]] = {}
    for e in events:
        seqs.setdefault(e.pid, []).append(e.seq)
    for pid, s in seqs.items():
        s.sort()
        if s != list(range(1, len(s) + 1)):
            problems.append(f"pid {pid}: gaps in the sequence numbers")
    missing = [pid for pid in child_pids if pid not in seqs]
    if missing:
        problems.append(f"no events from pids {missing}")
    return {"total": len(events), "kinds": kinds, "problems": problems, "cpu_end": cpu_end,
            "drain_us": drain_us}


# --------------------------------------------------------------------------- report


def describe_check(primitive, check):
    kinds = check["kinds"]
    per_item = ", ".join(f"{k} {kinds[k]:,}" for k in PER_ITEM_KINDS[primitive])
    other = check["total"] - sum(kinds[k] for k in PER_ITEM_KINDS[primitive])
    other_kinds = ", ".join(f"{k} {c}" for k, c in sorted(kinds.items())
                            if k not in PER_ITEM_KINDS[primitive])
    status = "OK, nothing lost" if not check["problems"] else "LOST: " + "; ".join(check["problems"])
    return f"events {check['total']:,} ({per_item}; other {other:,}: {other_kinds}) -> {status}"


def git_state():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "ipc"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{head}{' (ipc/ has uncommitted changes)' if dirty else ''}"
    except Exception:
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--items", type=int, default=50_000, help="items per round (default 50000)")
    parser.add_argument("-r", "--rounds", type=int, default=11, help="rounds per variant (default 11)")
    parser.add_argument("--start-method", default="spawn", choices=multiprocessing.get_all_start_methods(),
                        help="start method of the producer and consumer (default spawn)")
    parser.add_argument("--primitives", default=",".join(PRIMITIVES),
                        help=f"comma-separated subset of {','.join(PRIMITIVES)}")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up round")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    primitives = [p for p in args.primitives.split(",") if p]
    for p in primitives:
        if p not in PRIMITIVES:
            parser.error(f"unknown primitive {p!r}")
    ipc.trace.detach()  # in case IPCSIM_TRACE was set in the environment

    print(f"ipc overhead: {args.items:,} ints per round, {args.rounds} rounds, start method "
          f"{args.start_method}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"commit {git_state()}")
    print("one producer process -> one consumer process; the traced variant's collector is a "
          "thread of this process\n")

    if not args.no_warmup:  # first imports, page faults, CPU frequency: not part of any result
        for primitive in primitives:
            for variant in VARIANTS:
                run_once(primitive, variant, min(args.items, 5_000), args.start_method)

    rates = {(p, v): [] for p in primitives for v in VARIANTS}
    cpus = {(p, v): [] for p in primitives for v in VARIANTS}
    checks = {p: [] for p in primitives}
    t_begin = time.monotonic()
    for rnd in range(1, args.rounds + 1):
        for primitive in primitives:
            for variant in VARIANTS:
                rate, cpu, check = run_once(primitive, variant, args.items, args.start_method)
                rates[primitive, variant].append(rate)
                cpus[primitive, variant].append(cpu)
                line = (f"round {rnd} {primitive:<13} {variant:<9} {rate:>10,.0f} items/s  CPU us/item "
                        f"{cpu['producer']:5.1f} + {cpu['consumer']:5.1f} + {cpu['collector']:5.1f}")
                if check is not None:
                    checks[primitive].append(check)
                    line += "   " + describe_check(primitive, check)
                if not args.quiet:
                    print(line, flush=True)

    print(f"\nmedian of {args.rounds} rounds ({time.monotonic() - t_begin:.0f} s):\n")
    header = (f"{'primitive':<14}{'raw items/s':>13}{'untraced':>13}{'traced':>13}"
              f"{'untraced/raw':>14}{'traced/raw':>12}{'traced/untraced':>17}  events per traced round")
    print(header)
    print("-" * len(header))
    for primitive in primitives:
        med = {v: statistics.median(rates[primitive, v]) for v in VARIANTS}
        events = statistics.median(c["total"] for c in checks[primitive])
        print(f"{primitive:<14}{med['raw']:>13,.0f}{med['untraced']:>13,.0f}{med['traced']:>13,.0f}"
              f"{med['untraced'] / med['raw']:>14.2f}{med['traced'] / med['raw']:>12.2f}"
              f"{med['traced'] / med['untraced']:>17.2f}  {events:,.0f} (median)")
    print()
    print("spread (min..max items/s), and traced/raw within each round (the two ran seconds apart):")
    for primitive in primitives:
        per_round = [t / r for t, r in zip(rates[primitive, "traced"], rates[primitive, "raw"])]
        print(f"  {primitive:<14}" + "   ".join(
            f"{v} {min(rates[primitive, v]):,.0f}..{max(rates[primitive, v]):,.0f}" for v in VARIANTS)
            + f"   traced/raw per round: median {statistics.median(per_round):.2f}, "
              f"{min(per_round):.2f}..{max(per_round):.2f}")

    print("\nCPU time per item, us (median; user + system, all threads): producer (with its feeder "
          "thread) + consumer + this process (the collector thread; ~0 untraced)")
    for primitive in primitives:
        parts = []
        for v in VARIANTS:
            med = {role: statistics.median(c[role] for c in cpus[primitive, v])
                   for role in ("producer", "consumer", "collector")}
            parts.append(f"{v} {med['producer']:.1f} + {med['consumer']:.1f} + {med['collector']:.1f}"
                         f" = {sum(med.values()):.1f}")
        print(f"  {primitive:<14}" + "   ".join(parts))

    print("  after each traced round, its drain (this process decoding what the collector kept), "
          "us per event: " + "   ".join(
              f"{p} {statistics.median(c['drain_us'] for c in checks[p]):.1f}" for p in primitives))

    lost_rounds = sum(1 for cs in checks.values() for c in cs if c["problems"])
    total_events = sum(c["total"] for cs in checks.values() for c in cs)
    print(f"\ncollector: {total_events:,} events received over all traced rounds; "
          f"rounds that lost events: {lost_rounds}")
    if "Queue" in primitives:
        ratio = statistics.median(rates["Queue", "traced"]) / statistics.median(rates["Queue", "raw"])
        verdict = "met" if ratio >= 0.85 else "NOT met"
        print(f"target: traced Queue >= 0.85x raw -> {ratio:.2f}x, {verdict}")
    return 1 if lost_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
