"""Trace-event transports from N writer processes to one collector, end to end.

Each writer process makes one write per event; the collector (a thread of this process) reads,
frames and decodes every event into an `ipc.trace.Event`. Throughput is events delivered and
decoded per second, from the moment the writers leave a start barrier to the moment the collector
has decoded the last event. Transports:

* ``socket``  `ipc.trace` itself: `ipc.trace.Collector` and `ipc.trace.emit` (a Unix stream socket
              per process, one ``sendall`` per event, length-prefixed `marshal` frames);
* ``pipe``    a pipe per process, one ``os.write`` per event, the same framing and the same
              emit code path (lock, pid check, sequence number, clock, marshal);
* ``ring``    a shared-memory ring per process (a file in /dev/shm, mmap + struct; one writer,
              one reader, no syscall per event), same framing; the reader polls, and sleeps
              briefly when every ring is empty.

Then a loss check for ``socket``: writers each emit K events and SIGKILL themselves as soon as
the last ``emit`` returns; the collector must still get all K from each (``lost: 0``).

    python benchmarks/trace_transport.py                  # defaults: about a minute on 2 cores
    python benchmarks/trace_transport.py -e 100000 -r 1   # quicker
"""

from __future__ import annotations

import argparse
import marshal
import mmap
import multiprocessing
import os
import platform
import selectors
import signal
import statistics
import struct
import sys
import tempfile
import threading
import time
from multiprocessing import connection as mpc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python benchmarks/trace_transport.py` from a checkout
    sys.path.insert(0, ROOT)

import ipc.trace  # noqa: E402
from ipc.trace import Event  # noqa: E402

TRANSPORTS = ("socket", "pipe", "ring")
FRAME = struct.Struct("<I")
BARRIER_TIMEOUT = 120.0
# A typical event: what a traced Queue.put reports.
KIND, OBJ, MSG = "message_put", "queue@4711.1", "4711:123456"


# --------------------------------------------------------------------------- emitting side


class _FdSink:
    """`ipc.trace._Sink.emit`'s code path, writing each frame with one `write` to `write`."""

    def __init__(self, write, name):
        self._write, self._lock, self._seq = write, threading.Lock(), 0
        self._pid = os.getpid()
        hello = marshal.dumps((os.getpid(), name))
        write(FRAME.pack(len(hello)) + hello)

    def emit(self, kind, obj, msg, detail, t_ns=None):
        with self._lock:
            if self._pid != os.getpid():
                raise RuntimeError("forked")
            self._seq += 1
            data = marshal.dumps(
                (self._seq, time.monotonic_ns() if t_ns is None else t_ns, kind, obj, msg, detail))
            self._write(FRAME.pack(len(data)) + data)


def _pipe_writer(fd):
    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    return write


# A ring: the writer's position (total bytes written, u64) at 0, the reader's at 64 (another cache
# line), data from 128. The positions are read and written through a memoryview cast to "Q": one
# aligned 8-byte load or store, so never torn (struct's "<Q" writes byte by byte: a reader could
# see half an update). x86-64 keeps stores in order, so a reader that sees the new write position
# also sees the bytes written before it; other CPUs would need barriers.
RING_HEAD, RING_W, RING_R = 128, 0, 8  # RING_W, RING_R: indices of u64 slots (bytes 0 and 64)


class RingWriter:
    def __init__(self, path):
        with open(path, "r+b") as f:
            self.mm = mmap.mmap(f.fileno(), 0)
        self.pos = memoryview(self.mm)[:RING_HEAD].cast("Q")
        self.cap = len(self.mm) - RING_HEAD
        self.wpos = self.rpos = 0

    def write(self, data):
        n, mm, cap = len(data), self.mm, self.cap
        while cap - (self.wpos - self.rpos) < n:  # full: wait for the reader
            self.rpos = self.pos[RING_R]
            if cap - (self.wpos - self.rpos) < n:
                time.sleep(0.0001)
        off = self.wpos % cap
        first = min(n, cap - off)
        mm[RING_HEAD + off:RING_HEAD + off + first] = data[:first]
        if first < n:
            mm[RING_HEAD:RING_HEAD + n - first] = data[first:]
        self.wpos += n
        self.pos[RING_W] = self.wpos


class RingReader:
    def __init__(self, path):
        with open(path, "r+b") as f:
            self.mm = mmap.mmap(f.fileno(), 0)
        self.pos = memoryview(self.mm)[:RING_HEAD].cast("Q")
        self.cap = len(self.mm) - RING_HEAD
        self.rpos = 0

    def read(self) -> bytes:
        mm, cap = self.mm, self.cap
        wpos = self.pos[RING_W]
        n = wpos - self.rpos
        if not n:
            return b""
        off = self.rpos % cap
        first = min(n, cap - off)
        data = mm[RING_HEAD + off:RING_HEAD + off + first]
        if first < n:
            data += mm[RING_HEAD:RING_HEAD + n - first]
        self.rpos = self.pos[RING_R] = wpos
        return data

    def close(self):
        self.pos.release()
        self.mm.close()


def writer(transport, target, n, barrier, results):
    """One writer process: n events, one write each. Reports (start, end) of its emitting."""
    name = multiprocessing.current_process().name
    if transport == "socket":
        ipc.trace.attach(target, identity=name)
        emit = ipc.trace.emit
    elif transport == "pipe":
        emit = _FdSink(_pipe_writer(target.fileno()), name).emit
    else:
        emit = _FdSink(RingWriter(target).write, name).emit
    emit("writer_ready", None, None, None)  # connects; counted as an event like the others
    barrier.wait(BARRIER_TIMEOUT)
    t0 = time.monotonic_ns()
    for i in range(n):
        emit(KIND, OBJ, MSG, {"preview": "123456"})
    t1 = time.monotonic_ns()
    results.put((t0, t1))


def writer_then_sigkill(address, k):
    """Emit k events, then die by SIGKILL the moment the last emit has returned."""
    ipc.trace.attach(address, identity=multiprocessing.current_process().name)
    emit = ipc.trace.emit
    for i in range(k):
        emit("loss_check", OBJ, str(i), {"i": i})
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- collecting side


class _Stream:
    __slots__ = ("buf", "pid", "process")

    def __init__(self):
        self.buf, self.pid, self.process = bytearray(), None, None


def decode(stream, events):
    """`ipc.trace.Collector._decode`: whole frames out of stream.buf, into Events."""
    buf, pos, size = stream.buf, 0, len(stream.buf)
    loads, unpack, header = marshal.loads, FRAME.unpack_from, FRAME.size
    while size - pos >= header:
        (n,) = unpack(buf, pos)
        end = pos + header + n
        if end > size:
            break
        record = loads(buf[pos + header:end])
        pos = end
        if stream.pid is None:
            stream.pid, stream.process = record
            continue
        seq, t_ns, kind, obj, msg, detail = record
        events.append(Event(t_ns, stream.pid, seq, stream.process, kind, obj, msg, detail))
    del buf[:pos]


class Counting:
    """Keeps every decoded event (as the Collector does) and notes when `expected` have arrived."""

    def __init__(self, expected):
        self.expected, self.count, self.t_done = expected, 0, None
        self.events: list[Event] = []
        self.done = threading.Event()

    def __call__(self, events):
        self.events.extend(events)
        self.count += len(events)
        if self.count >= self.expected and self.t_done is None:
            self.t_done = time.monotonic_ns()
            self.done.set()


def pipe_reader(fds, sink, stop):
    sel = selectors.DefaultSelector()
    for fd in fds:
        sel.register(fd, selectors.EVENT_READ, _Stream())
    while sel.get_map() and not stop.is_set():
        events = []
        for key, _ in sel.select(timeout=0.1):
            chunk = os.read(key.fd, 1 << 18)
            if chunk:
                key.data.buf += chunk
                decode(key.data, events)
            else:
                sel.unregister(key.fd)
                os.close(key.fd)
        if events:
            sink(events)
    sel.close()


def ring_reader(paths, sink, stop):
    readers = [(RingReader(p), _Stream()) for p in paths]
    while not stop.is_set():
        events = []
        for ring, stream in readers:
            chunk = ring.read()
            if chunk:
                stream.buf += chunk
                decode(stream, events)
        if events:
            sink(events)
        else:
            time.sleep(0.0001)  # nothing anywhere: a ring cannot wake its reader
    for ring, _ in readers:
        ring.close()


# --------------------------------------------------------------------------- one measurement


def run_once(transport, writers, per_writer, method, ring_bytes):
    ctx = multiprocessing.get_context(method)
    expected = writers * (per_writer + 1)  # + the writer_ready event
    sink = Counting(expected)
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    stop = threading.Event()
    reader = collector = tmpdir = None
    targets, after_start = [], []
    if transport == "socket":
        collector = ipc.trace.Collector(on_events=sink)
        targets = [collector.address] * writers
    elif transport == "pipe":
        fds = []
        for _ in range(writers):
            r, w = os.pipe()
            fds.append(r)
            conn = mpc.Connection(w, readable=False)  # picklable: the child gets a duplicate fd
            targets.append(conn)
            after_start.append(conn.close)
        reader = threading.Thread(target=pipe_reader, args=(fds, sink, stop), daemon=True)
    else:
        tmpdir = tempfile.mkdtemp(prefix="ipcsim-ring-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        for i in range(writers):
            path = os.path.join(tmpdir, f"ring{i}")
            with open(path, "wb") as f:
                f.truncate(RING_HEAD + ring_bytes)
            targets.append(path)
        reader = threading.Thread(target=ring_reader, args=(targets, sink, stop), daemon=True)
    if reader is not None:
        reader.start()
    procs = [ctx.Process(target=writer, args=(transport, t, per_writer, barrier, results),
                         name=f"writer-{i}") for i, t in enumerate(targets)]
    try:
        for p in procs:
            p.start()
        for f in after_start:
            f()
        spans = [results.get(timeout=BARRIER_TIMEOUT) for _ in procs]
        if not sink.done.wait(120):
            raise RuntimeError(f"{transport}: only {sink.count:,} of {expected:,} events arrived")
        for p in procs:
            p.join()
    finally:
        stop.set()
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        if collector is not None:
            collector.close()
        if reader is not None:
            reader.join()
        if tmpdir is not None:
            for name in os.listdir(tmpdir):
                os.unlink(os.path.join(tmpdir, name))
            os.rmdir(tmpdir)
    t_start = min(t0 for t0, _ in spans)
    events_per_s = writers * per_writer / ((sink.t_done - t_start) / 1e9)
    emit_ns = statistics.mean((t1 - t0) / per_writer for t0, t1 in spans)
    bad = check_sequences(sink.events, writers, per_writer + 1)
    return events_per_s, emit_ns, sink.count, bad


def check_sequences(events, writers, per_writer):
    seqs = {}
    for e in events:
        seqs.setdefault(e.pid, []).append(e.seq)
    bad = 0 if len(seqs) == writers else abs(writers - len(seqs))
    for s in seqs.values():
        bad += s != list(range(1, per_writer + 1))
    return bad


def loss_check(writers, k, method):
    """Writers emit k events each and SIGKILL themselves: returns (received per pid, exit codes)."""
    ctx = multiprocessing.get_context(method)
    with ipc.trace.Collector() as collector:
        procs = [ctx.Process(target=writer_then_sigkill, args=(collector.address, k), name=f"killed-{i}")
                 for i in range(writers)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        pids = {p.pid for p in procs}
        ended, events = set(), []
        deadline = time.monotonic() + 60
        while not pids <= ended and time.monotonic() < deadline:
            collector.wait(0.1)
            batch = collector.drain()
            events += batch.events
            ended |= {s.pid for s in batch.ended}
    events += collector.drain().events  # whatever close() read last
    got = {pid: [] for pid in pids}
    for e in events:
        if e.kind == "loss_check" and e.pid in got:
            got[e.pid].append(e.seq)
    intact = {pid: sorted(s) == list(range(1, k + 1)) for pid, s in got.items()}
    return ({pid: len(s) for pid, s in got.items()}, [p.exitcode for p in procs], intact,
            pids <= ended)


# --------------------------------------------------------------------------- report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-e", "--events", type=int, default=500_000,
                        help="events per measurement, split across the writers (default 500000)")
    parser.add_argument("-w", "--writers", default="1,4", help="writer counts to try (default 1,4)")
    parser.add_argument("-r", "--rounds", type=int, default=3, help="rounds, transports interleaved (default 3)")
    parser.add_argument("-t", "--transports", default=",".join(TRANSPORTS),
                        help=f"comma-separated subset of {','.join(TRANSPORTS)}")
    parser.add_argument("--ring-kib", type=int, default=1024, help="ring size per writer (default 1024 KiB)")
    parser.add_argument("-k", "--kill-events", type=int, default=100_000,
                        help="events per writer in the SIGKILL loss check (default 100000; 0 skips it)")
    parser.add_argument("--kill-writers", type=int, default=4, help="writers in the loss check (default 4)")
    parser.add_argument("--start-method", default="spawn", choices=multiprocessing.get_all_start_methods())
    args = parser.parse_args(argv)
    writer_counts = [int(w) for w in args.writers.split(",")]
    transports = [t for t in args.transports.split(",") if t]
    for t in transports:
        if t not in TRANSPORTS:
            parser.error(f"unknown transport {t!r}")
    ipc.trace.detach()

    print(f"trace transport: {args.events:,} events per measurement, {args.rounds} rounds, start method "
          f"{args.start_method}, Python {platform.python_version()}, {os.cpu_count()} CPUs\n")
    t_begin = time.monotonic()
    results = {}
    for rnd in range(1, args.rounds + 1):
        for w in writer_counts:
            for transport in transports:
                per_writer = args.events // w
                rate, emit_ns, count, bad = run_once(transport, w, per_writer, args.start_method,
                                                     args.ring_kib * 1024)
                results.setdefault((w, transport), []).append((rate, emit_ns, count, bad))
                print(f"round {rnd} writers {w} {transport:<6} {rate:>10,.0f} events/s  "
                      f"writer {emit_ns:>6,.0f} ns/emit  received {count:,}"
                      f"{'' if not bad else f'  {bad} streams with gaps'}", flush=True)

    print(f"\nmedian of {args.rounds} rounds ({time.monotonic() - t_begin:.0f} s); events/s = delivered and "
          f"decoded by the collector; writer ns/emit = a writer's wall time per emit call:\n")
    header = f"{'writers':>7}  {'transport':<10}{'events/s':>12}{'vs socket':>11}{'writer ns/emit':>17}{'received':>12}  check"
    print(header)
    print("-" * len(header))
    for w in writer_counts:
        base = statistics.median(r[0] for r in results.get((w, "socket"), [(float("nan"),)]))
        for transport in transports:
            rs = results[w, transport]
            rate = statistics.median(r[0] for r in rs)
            emit_ns = statistics.median(r[1] for r in rs)
            bad = sum(r[3] for r in rs)
            print(f"{w:>7}  {transport:<10}{rate:>12,.0f}{rate / base:>10.2f}x{emit_ns:>17,.0f}"
                  f"{rs[-1][2]:>12,}  {'all, in order' if not bad else f'{bad} streams with gaps'}")

    lost = 0
    if args.kill_events:
        counts, codes, intact, all_ended = loss_check(args.kill_writers, args.kill_events, args.start_method)
        lost = sum(args.kill_events - c for c in counts.values())
        print(f"\nloss check (socket): {args.kill_writers} writers x {args.kill_events:,} events, each "
              f"SIGKILLed right after its last emit returned (exit codes {codes})")
        print(f"  received per writer: {sorted(counts.values())}; sequences intact: {all(intact.values())}; "
              f"streams ended: {all_ended}")
        print(f"  lost: {lost}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
