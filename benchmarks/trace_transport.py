"""Trace-event transports from N writer processes to one collector, end to end.

Each writer process makes one write per event, of the same record (what `ipc.trace.emit` writes:
``marshal.dumps((t_ns, kind number, object number, message, detail), 2)``, names sent once, under a
per-process lock); the collector, a thread of this process, decodes the records into
`ipc.trace.Event` with `ipc.trace`'s own code (a batch as one marshal list) and keeps them. Throughput is events delivered and decoded per second,
from the moment the writers leave a start barrier to the moment the collector has decoded the
last event. Transports:

* ``ring``    `ipc.trace` itself: `ipc.trace.emit` and `ipc.trace.Collector` (a shared-memory ring
              per process, no system call per event, its socket kept only to tell the process
              ended; the collector reads every ring once per millisecond while events flow);
* ``socket``  a Unix stream socket per process, one ``sendall`` per event (`ipc.trace`'s transport
              before the ring); the collector waits in ``poll`` and reads what has arrived;
* ``pipe``    a pipe per process, one ``os.write`` per event; the same reader. (A pipe must be
              handed to each child explicitly: spawn and forkserver children inherit none.)

Socket and pipe frames start with a 5-byte length that is itself a marshal int, so the reader
finds the complete frames and still decodes them in one marshal call.

Reported per transport: events/s; the writer's wall and CPU time per emit; the CPU time of this
process (essentially the collector thread) per event. Then a loss check of ``ring``: writers emit
K events each and SIGKILL themselves as soon as their last ``emit`` returns; the collector must
still get all K from each, in order, and see every stream end (``lost: 0``).

    python benchmarks/trace_transport.py                  # defaults: about a minute on 2 cores
    python benchmarks/trace_transport.py -e 100000 -r 1   # quicker
"""

from __future__ import annotations

import argparse
import marshal
import multiprocessing
import os
import platform
import resource
import select
import signal
import socket
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

TRANSPORTS = ("ring", "socket", "pipe")
FRAME = struct.Struct("<ci")  # b"i" + the record's length: a marshal int
BARRIER_TIMEOUT = 120.0
# A typical event: what a traced Queue.put of the int 123456 reports (the int is the detail: its
# preview is made by the collector, see ipc.trace.shown).
KIND, OBJ, MSG, SHOWN = "message_put", "queue@4711.1", "4711:123456", 123456


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------- writers


class StreamWriter:
    """`ipc.trace.emit`'s work (lock, clock, names sent once, the same records), with one write
    per event."""

    def __init__(self, write, name):
        self._write, self._lock, self._ids = write, threading.Lock(), {None: 0}
        self._send(marshal.dumps((os.getpid(), name), 2))  # the hello: who this stream is

    def _send(self, data):
        self._write(FRAME.pack(b"i", len(data)) + data)

    def emit(self, kind, obj=None, msg=None, detail=None, t_ns=None):
        self._lock.acquire()
        try:
            ids = self._ids
            kind_id, obj_id = ids.get(kind), ids.get(obj)
            if kind_id is None or obj_id is None:
                for name in (kind, obj):
                    if name not in ids:
                        ids[name] = len(ids)
                        self._send(marshal.dumps((name, 0, 0, 0), 2))
                kind_id, obj_id = ids[kind], ids[obj]
            self._send(marshal.dumps((time.monotonic_ns() if t_ns is None else t_ns, kind_id, obj_id,
                                      msg, detail), 2))
        finally:
            self._lock.release()


def _socket_write(address):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    return sock.sendall


def _pipe_write(fd):
    def write(data):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    return write


def writer(transport, target, n, barrier, results):
    """One writer process: n events, one write each. Reports its emitting's wall and CPU time."""
    name = multiprocessing.current_process().name
    if transport == "ring":
        ipc.trace.attach(target, identity=name)
        emit = ipc.trace.emit
    elif transport == "socket":
        emit = StreamWriter(_socket_write(target), name).emit
    else:
        emit = StreamWriter(_pipe_write(target.fileno()), name).emit
    emit("writer_ready")  # opens the stream; counted as an event like the others
    barrier.wait(BARRIER_TIMEOUT)
    t0, c0 = time.monotonic_ns(), time.thread_time_ns()
    for _ in range(n):
        emit(KIND, OBJ, MSG, SHOWN)
    t1, c1 = time.monotonic_ns(), time.thread_time_ns()
    results.put((t0, t1, c1 - c0))


def writer_then_sigkill(address, k):
    """Emit k events, then die by SIGKILL the moment the last emit has returned."""
    ipc.trace.attach(address, identity=multiprocessing.current_process().name)
    emit = ipc.trace.emit
    for i in range(k):
        emit("loss_check", OBJ, str(i), {"i": i})
    os.kill(os.getpid(), signal.SIGKILL)


# --------------------------------------------------------------------------- socket and pipe reader


class _Stream:
    __slots__ = ("buf", "state")

    def __init__(self):
        self.buf = bytearray()
        self.state = ipc.trace._Conn(None)  # for its pid, process, seq, names and `take`


def decode(stream, events):
    """The complete frames in stream.buf, into Events (by `ipc.trace`'s own code)."""
    buf, pos, size, count = stream.buf, 0, len(stream.buf), 0
    while size - pos >= FRAME.size:
        end = pos + FRAME.size + FRAME.unpack_from(buf, pos)[1]
        if end > size:
            break
        pos, count = end, count + 1
    if not count:
        return
    records = marshal.loads(b"[" + (2 * count).to_bytes(4, "little") + buf[:pos])[1::2]
    del buf[:pos]
    if stream.state.pid is None:
        stream.state.pid, stream.state.process = records.pop(0)
    stream.state.take(records, events)


def stream_reader(listener, fds, expected_streams, sink):
    """Serve the socket listener (or the given pipe read ends) until every stream has ended."""
    poller, streams, ended = select.poll(), {}, 0
    if listener is not None:
        poller.register(listener, select.POLLIN)
    for fd in fds:
        poller.register(fd, select.POLLIN)
        streams[fd] = (fd, _Stream())
    while ended < expected_streams:
        events = []
        for fd, _ in poller.poll():
            if listener is not None and fd == listener.fileno():
                sock, _ = listener.accept()
                poller.register(sock, select.POLLIN)
                streams[sock.fileno()] = (sock, _Stream())
                continue
            owner, stream = streams[fd]
            chunk = os.read(fd, 1 << 18)
            if chunk:
                stream.buf += chunk
                decode(stream, events)
            else:
                poller.unregister(fd)
                del streams[fd]
                if listener is not None:
                    owner.close()
                else:
                    os.close(fd)
                ended += 1
        if events:
            sink(events)


class Keeping:
    """Keeps every decoded event (as a drain-less Collector would) and notes when all are in."""

    def __init__(self, expected):
        self.expected, self.count, self.t_done = expected, 0, None
        self.events: list[Event] = []
        self.done = threading.Event()

    def __call__(self, events):
        self.events += events
        self.count += len(events)
        if self.count >= self.expected and self.t_done is None:
            self.t_done = time.monotonic_ns()
            self.done.set()


# --------------------------------------------------------------------------- one measurement


def run_once(transport, writers, per_writer, method):
    ctx = multiprocessing.get_context(method)
    expected = writers * (per_writer + 1)  # + the writer_ready event
    sink = Keeping(expected)
    barrier, results = ctx.Barrier(writers + 1), ctx.Queue()
    reader = collector = listener = tmpdir = None
    targets, after_start = [], []
    if transport == "ring":
        collector = ipc.trace.Collector(on_events=sink)
        targets = [collector.address] * writers
    elif transport == "socket":
        tmpdir = tempfile.mkdtemp(prefix="ipcsim-bench-")
        address = os.path.join(tmpdir, "s")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen(writers)
        targets = [address] * writers
        reader = threading.Thread(target=stream_reader, args=(listener, [], writers, sink), daemon=True)
    else:
        fds = []
        for _ in range(writers):
            r, w = os.pipe()
            fds.append(r)
            conn = mpc.Connection(w, readable=False)  # picklable: the child gets a duplicate
            targets.append(conn)
            after_start.append(conn.close)
        reader = threading.Thread(target=stream_reader, args=(None, fds, writers, sink), daemon=True)
    if reader is not None:
        reader.start()
    procs = [ctx.Process(target=writer, args=(transport, t, per_writer, barrier, results),
                         name=f"writer-{i}") for i, t in enumerate(targets)]
    try:
        for p in procs:
            p.start()
        for f in after_start:
            f()
        barrier.wait(BARRIER_TIMEOUT)  # every writer is connected and ready
        c0 = cpu_seconds()
        spans = [results.get(timeout=BARRIER_TIMEOUT) for _ in procs]
        if not sink.done.wait(120):
            raise RuntimeError(f"{transport}: only {sink.count:,} of {expected:,} events arrived")
        collector_cpu = cpu_seconds() - c0
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        if collector is not None:
            collector.close()
        if reader is not None:
            reader.join(10)
        if listener is not None:
            listener.close()
        if tmpdir is not None:
            os.unlink(os.path.join(tmpdir, "s"))
            os.rmdir(tmpdir)
    t_start = min(t0 for t0, _, _ in spans)
    n = writers * per_writer
    return {
        "rate": n / ((sink.t_done - t_start) / 1e9),
        "emit_ns": statistics.mean((t1 - t0) / per_writer for t0, t1, _ in spans),
        "emit_cpu_ns": statistics.mean(c / per_writer for _, _, c in spans),
        "collector_ns": collector_cpu / n * 1e9,
        "count": sink.count,
        "bad": check_sequences(sink.events, writers, per_writer + 1),
    }


def check_sequences(events, writers, per_writer):
    """How many streams are missing, or have events missing, out of order or repeated."""
    seqs = {}
    for e in events:
        seqs.setdefault(e.pid, []).append(e.seq)
    bad = abs(writers - len(seqs))
    for s in seqs.values():
        bad += s != list(range(1, per_writer + 1))
    return bad


def loss_check(writers, k, method):
    """Writers emit k events each and SIGKILL themselves: (received per pid, exit codes, whether
    each pid's events are 1..k in order, whether every stream was reported ended)."""
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
            got[e.pid].append((e.seq, e.message))
    intact = {pid: [m for _, m in s] == [str(i) for i in range(k)] and
              [q for q, _ in s] == list(range(1, k + 1)) for pid, s in got.items()}
    return ({pid: len(s) for pid, s in got.items()}, [p.exitcode for p in procs], intact,
            pids <= ended)


# --------------------------------------------------------------------------- report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-e", "--events", type=int, default=400_000,
                        help="events per measurement, split across the writers (default 400000)")
    parser.add_argument("-w", "--writers", default="1,4", help="writer counts to try (default 1,4)")
    parser.add_argument("-r", "--rounds", type=int, default=3, help="rounds, transports interleaved (default 3)")
    parser.add_argument("-t", "--transports", default=",".join(TRANSPORTS),
                        help=f"comma-separated subset of {','.join(TRANSPORTS)}")
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
                r = run_once(transport, w, args.events // w, args.start_method)
                results.setdefault((w, transport), []).append(r)
                wrong = f"  {r['bad']} streams wrong" if r["bad"] else ""
                print(f"round {rnd} writers {w} {transport:<6} {r['rate']:>10,.0f} events/s  writer "
                      f"{r['emit_ns']:>6,.0f} ns/emit ({r['emit_cpu_ns']:,.0f} CPU)  collector CPU "
                      f"{r['collector_ns']:,.0f} ns/event  received {r['count']:,}{wrong}", flush=True)

    print(f"\nmedian of {args.rounds} rounds ({time.monotonic() - t_begin:.0f} s); events/s = delivered and "
          "decoded by the collector; writer = a writer's wall (CPU) time per emit call; collector = "
          "CPU time of this process per event:\n")
    header = (f"{'writers':>7}  {'transport':<10}{'events/s':>12}{'vs ring':>9}{'writer ns/emit':>16}"
              f"{'writer CPU':>12}{'collector CPU':>15}{'received':>11}  check")
    print(header)
    print("-" * len(header))
    for w in writer_counts:
        base = statistics.median(r["rate"] for r in results.get((w, "ring"), [{"rate": float("nan")}]))
        for transport in transports:
            rs = results[w, transport]
            med = {k: statistics.median(r[k] for r in rs) for k in ("rate", "emit_ns", "emit_cpu_ns",
                                                                     "collector_ns")}
            bad = sum(r["bad"] for r in rs)
            print(f"{w:>7}  {transport:<10}{med['rate']:>12,.0f}{med['rate'] / base:>8.2f}x"
                  f"{med['emit_ns']:>16,.0f}{med['emit_cpu_ns']:>12,.0f}{med['collector_ns']:>15,.0f}"
                  f"{rs[-1]['count']:>11,}  {'all, in order' if not bad else f'{bad} streams wrong'}")
    print("\nspread (min..max events/s):")
    for w in writer_counts:
        for transport in transports:
            rates = [r["rate"] for r in results[w, transport]]
            print(f"  writers {w} {transport:<7} {min(rates):,.0f}..{max(rates):,.0f}")

    lost = 0
    if args.kill_events:
        counts, codes, intact, all_ended = loss_check(args.kill_writers, args.kill_events, args.start_method)
        lost = sum(args.kill_events - c for c in counts.values())
        print(f"\nloss check (ring): {args.kill_writers} writers x {args.kill_events:,} events, each "
              f"SIGKILLed right after its last emit returned (exit codes {codes})")
        print(f"  received per writer: {sorted(counts.values())}; in order: {all(intact.values())}; "
              f"streams ended: {all_ended}")
        print(f"  lost: {lost}")
        lost += not all(intact.values()) or not all_ended
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
