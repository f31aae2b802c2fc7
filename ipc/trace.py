"""Trace events, and their transport from every process of a run to one collector.

Every traced operation in `ipc` calls :func:`emit`. With no sink attached that is one global
lookup and a return, so untraced code runs at the speed of plain `multiprocessing`.

Attaching a sink
----------------
A :class:`Collector` listens on a Unix socket. A process attaches with :func:`attach` (which also
exports the address in ``IPCSIM_TRACE`` so that children started by any method inherit it), and
every `ipc.Process` carries the address to its child explicitly, which also covers a forkserver
that was started before the sink was attached::

    with ipc.trace.Collector() as collector:
        ipc.trace.attach(collector.address)
        ...                                  # use ipc.Queue, ipc.Process, ...
        batch = collector.drain()            # never blocks: what has arrived so far

Transport: a shared-memory ring per process, and a socket that tells when the process ended
-----------------------------------------------------------------------------------------
On its first event (again after a fork) a process connects to the collector's Unix socket and
hands it, over that connection, the descriptor of its ring: 1 MiB of anonymous shared memory
(``memfd_create``: nothing in any file system, freed when both ends have closed it). An event is
one record, ``marshal.dumps((t_ns, kind, object, message, detail), 2)`` with the kind and the
object as small numbers (each name is sent once per stream, in a record of its own), copied into
the ring under a per-process lock and published by storing the new write position: no system
call. The hot paths send their detail as a cheaper stand-in that the collector turns into the
dict it stands for; a payload that is a number travels as itself and the collector writes its
preview (see `emit` and `shown`). Why:

* **Nothing is lost on SIGKILL.** When ``emit`` returns, the record is in shared memory that the
  collector has mapped; it stays readable after the writer dies. Not in a user-space buffer or a
  thread (`multiprocessing.Queue` loses items on kill: its feeder thread buffers them; that is
  what we observe, not how we report).
* **End of stream is exact.** The kernel closes a process's socket when it dies, however it dies;
  the collector then reads the ring one last time, delivers what it held, and only then reports
  the stream ended. A record is published only once it is whole: a half-written one belongs to
  an operation that never returned.
* **Connect by address.** A child started by spawn or forkserver inherits no descriptors; a socket
  path works for all three start methods, and the ring's descriptor travels over it.
* **Cheapest for the traced program**, which is what must not be slowed. A ``sendall`` per event
  (this module's previous transport) is a system call in the writer, and a wake-up of the
  collector whenever it was waiting; a pipe per process, the same; a shared FIFO would still
  need a socket per process to tell ends apart. `benchmarks/trace_transport.py`, all three
  writing the same records, a traced ``Queue.put`` of an int's (2026-11-21, 2 cores, load
  average 0.1-0.8):

  ============  ==========  ====================  =======================
  1 writer      events/s    writer CPU per emit   collector CPU per event
  ============  ==========  ====================  =======================
  ring          383,000     1.25 us               2.6 us
  socket        298,000     2.5 us                3.3 us
  pipe          326,000     2.2 us                3.0 us
  ============  ==========  ====================  =======================

  (4 writers: 394,000, 255,000 and 347,000 events/s; 4 writers SIGKILLed right after their
  100,000th emit returned: nothing lost, every stream reported ended. The collector keeps every
  event here, so its figure includes the garbage collector walking them.) The collector reads every
  ring once per millisecond while events flow and decodes each ring's batch as one marshal list
  (records padded with Nones to a count that is surely enough), far cheaper per event than frame
  by frame; when a look finds nothing it raises a flag in each ring and sleeps, and the first
  writer to publish after that pokes it with one byte on its socket. So events reach the
  collector within about a millisecond, and a steady stream costs no system call at all.

The ring: a u64 write position W (bytes, mod 2**30) written only by the writer, a read position
R written only by the collector, each on its own cache line, then the data. The writer copies a
record at W, then stores W; the collector loads W, copies up to it, then stores R; the writer
reuses space only below R (when the ring is full it pokes the collector and waits). This relies
on x86-64's ordering (TSO): stores become visible in program order, loads are not reordered with
loads, and a store is not reordered before an earlier load, so a collector that sees W also sees
the bytes below it, and a writer that sees R knows those bytes were copied. The positions are
aligned 8-byte words accessed through a ``memoryview`` cast to ``"Q"``: a single load or store,
never torn. The C code between them (the interpreter's) is opaque enough to the compiler that it
reorders nothing across them. Other architectures would need barriers (the sleep flag already
has one: see `Collector._sleep`). A record larger than the ring goes in pieces into the emptied
ring, its size announced in another header word. The collector numbers each stream's records
1, 2, 3... as it reads them: that is ``seq``, so seq order is stream order by construction.

What tracing still costs, measured with `benchmarks/ipc_overhead.py`'s Queue of ints (one
producer process, one consumer process, the collector a thread of the parent; callgrind
instructions per item, user space only, 2026-11-22):

==========================================  =====  ======
                                            raw    traced
==========================================  =====  ======
producer: the put, on the program's thread  7.6k   15.7k
producer: its feeder thread                 26.0k  9.3k
consumer                                    17.0k  20.9k
collector                                   --     ~8k per event (x2)
==========================================  =====  ======

``emit`` costs about 6k; near the floor in Python: taking and releasing the lock 1.1k, the
timestamp 0.6k, the record's tuple and its marshalling 2.6k, the copy into the ring 1.1k, the
store that publishes it 0.6k. The message id costs the put 2.2k more. The traced channels pay
that back with leaner plumbing than `multiprocessing`'s: the same bytes and operations without
the Python layers around them (see `ipc.queues`). Most of it is the pickling: a plain payload
is pickled by `pickle.dumps` (the same bytes) where `ForkingPickler.dumps` builds a pickler, with
its own copy of the reducers' table, per message (17k). The collector's ~8k is decoding the
record and building the Event, its dict and texts (the repr of a number included), and for
events kept in a process that makes full garbage collections, walking them: a tuple holding a
dict is never untracked (the window makes none while a run is live, and neither does the
benchmark during a transfer).

Where the time goes (``perf sched`` over 100,000 items): the producer's main thread keeps the GIL
through its loop of puts, its feeder thread gets it about once a switch interval, so a transfer
mostly has two phases. First the puts, the main thread nearly alone (there tracing costs twice what
the put costs). Then the feeding: the feeder pickling and writing, the consumer reading; raw, the
feeder is the slower; traced, the consumer was, until a get's first read (the one that can also say
it would block) became an ``os.read`` on a non-blocking descriptor of its own, not a ``preadv``
(~0.28 us less; see `ipc.queues.Readiness`). A collector without `on_events` keeps what it read as
the records themselves (about 43 bytes an event) and decodes them when drained: keeping an Event
per operation (~400 bytes: the tuple, its dict, the texts) cost this process a page fault every few
events on this machine (~4 us each, first touch), and made the collector thread a third busy thread
beside the feeder and the consumer; now it takes ~0.25 us of CPU per item, and the drain ~1 us per
event, after the transfer. Measured on 2 cores (2026-12-07, load average 0.1-1.8), 25 runs of 11
rounds: traced/raw Queue from 0.85 to 1.21, median 0.90, at least 0.85 in every one; CPU per item
(one run), producer (both threads) + consumer, traced 4.1 + 3.2 us, raw 5.1 + 3.6. The code before (the
``preadv``), alternated with nine of them: 0.76 to 0.99, median 0.86, at least 0.85 in 5. A round's
figure varies by a third, hence the rounds (see the benchmark).
Tried and measured, not kept: a message's report packed with `struct` instead of marshalled, with
message ids as numbers (a put 0.9k cheaper, a get no cheaper: packing nine fields costs what
marshalling does); the stores and loads of the ring's header through `ctypes` (no cheaper than the
memoryview's); the lock as a context manager (0.9k dearer).

Timestamps are ``time.monotonic_ns()`` (CLOCK_MONOTONIC, comparable across processes). An operation
that hands a message over is stamped at the moment it commits (``message_put`` before the item
enters the queue, ``message_got`` before the slot it freed can be taken, ``message_sent`` before
the bytes are written), so across processes a message's put always sorts before its get and a
queue never appears to hold more than its ``maxsize``. An event whose process had to wait for
room in its ring (the collector behind) is stamped again after the wait, unless it was given its
time: the operation goes on only once ``emit`` returns; one stamped ahead of its report takes its
time from :func:`stamp`, which waits for room first. Some reports come after their effect (a
get or receive reports once it has the bytes, ``message_sent`` once they are written), so a
process killed in between leaves an effect unreported; what is reported before it makes that
deducible: ``send_called`` names the message before its first byte is written, a process's puts
on a queue are reported in the order its feeder thread writes them, and a get that finds the
queue empty says so (``"empty": True``), stamped before it looked (see `simulator.fold`). The
collector delivers events in arrival order; sort by ``(t_ns, pid, seq)`` where order across
processes matters.
"""

from __future__ import annotations

import bisect
import itertools
import marshal
import mmap
import operator
import os
import reprlib
import select
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
import types
from typing import Any, Callable, NamedTuple

ENV_VAR = "IPCSIM_TRACE"

_RING_BYTES = 1 << 20  # each process's ring; a power of two
_HEAD = 192  # the ring's header: u64 words on three cache lines, one per writing side
_W, _BIG, _R, _ASLEEP = 0, 1, 8, 16  # their indices in the header viewed as u64s
_POS = (1 << 30) - 1  # W and R count bytes mod 2**30: small ints, cheap in Python
_MARSHAL = 2  # the marshal version without back-references: records can be concatenated
_MIN_RECORD = 18  # no record is shorter (a 5-tuple's header, two 5-byte ints, three 1-byte items)
_HELLO = struct.Struct("<I")
_BATCH_MS = 1  # while events flow, the collector reads every ring this often
_BACKSTOP_MS = 20  # the longest an asleep collector goes without looking (see _sleep), and so
# how often `Collector.complete_ns` moves on in a quiet run
_SEND_FLAGS = socket.MSG_DONTWAIT | getattr(socket, "MSG_NOSIGNAL", 0)


class Event(NamedTuple):
    """One thing that happened in one process."""

    t_ns: int  # time.monotonic_ns() in the emitting process
    pid: int
    seq: int  # 1, 2, 3, ... per process
    process: str  # the emitting process's name (multiprocessing's Process.name)
    kind: str  # e.g. "message_put", "get_blocked", "process_exited"
    object: str | None  # the channel, process or main step it concerns
    message: str | None  # message id, where there is one
    detail: dict[str, Any] | None  # small JSON-able values


class Stream(NamedTuple):
    """A process's connection to the collector; ended when the process closed it or died."""

    pid: int
    process: str


class Batch(NamedTuple):
    events: list[Event]
    ended: list[Stream]  # streams that ended since the previous batch


# --------------------------------------------------------------------------- emitting side


def _shared_memory(size: int) -> int:
    """A descriptor of `size` bytes of shared memory that no file system can see."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ipcsim-trace", os.MFD_CLOEXEC)
    else:
        with tempfile.TemporaryFile() as f:  # unlinked as it is made
            fd = os.dup(f.fileno())
    try:
        os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


class _Ring:
    """The writing end of this process's stream: its connection and its ring."""

    __slots__ = ("sock", "mm", "word", "cap", "w", "limit", "ids")

    def __init__(self, address: str, process: str):
        cap = _RING_BYTES
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.connect(address)
            fd = _shared_memory(_HEAD + cap)
            try:
                self.mm = mmap.mmap(fd, _HEAD + cap)
                hello = marshal.dumps((os.getpid(), process))
                hello = _HELLO.pack(len(hello)) + hello
                sent = socket.send_fds(sock, [hello], [fd])
                if sent < len(hello):
                    sock.sendall(hello[sent:])
            finally:
                os.close(fd)  # the collector has its own descriptor now; the mapping stays
        except BaseException:
            sock.close()
            raise
        self.sock, self.word = sock, memoryview(self.mm)[:_HEAD].cast("Q")
        self.mm.seek(_HEAD)
        self.cap, self.w, self.limit = cap, 0, cap
        self.ids = {None: 0}  # kind and object names sent so far, by the number records use

    def define(self, kind: str, obj: str | None) -> tuple[int, int]:
        """The numbers of `kind` and `obj`, sending the names not sent yet: a record
        ``(name, 0, 0, 0)`` each (four items, so that it is no shorter than an event's), which the
        collector numbers 1, 2, 3... in the order they come."""
        ids = self.ids
        for name in (kind, obj):
            if name not in ids:
                self.write(_dumps((name, 0, 0, 0), _MARSHAL))  # (raises if it cannot be sent)
                ids[name] = len(ids)
        return ids[kind], ids[obj]

    def write(self, data) -> None:
        """Write a record `emit` could not write at once (no room, or past the ring's end)."""
        n, cap = len(data), self.cap
        if n <= cap:
            self.wait_for_room(n)
            self._put(data)
        else:
            # Larger than the ring: in pieces, into the emptied ring, announced in BIG (before
            # the first piece is published, cleared after the last), so that the collector
            # knows what it takes is not whole records yet.
            self.wait_for_room(cap)
            self.word[_BIG] = n
            view = memoryview(data)
            while len(view) > cap:
                self._put(view[:cap])
                view = view[cap:]
                self.wait_for_room(min(len(view), cap))
            self._put(view)
            self.word[_BIG] = 0
        # What `emit` may write without looking: up to the reader, and up to the ring's end.
        off = self.w & (cap - 1)
        self.limit = self.w + min(cap - ((self.w - self.word[_R]) & _POS), cap - off)

    def _put(self, data) -> None:
        n, cap, mm = len(data), self.cap, self.mm
        off = self.w & (cap - 1)
        if off + n <= cap:
            mm[_HEAD + off:_HEAD + off + n] = data
        else:  # wraps around
            mm[_HEAD + off:_HEAD + cap] = data[:cap - off]
            mm[_HEAD:_HEAD + n - (cap - off)] = data[cap - off:]
        self.w = (self.w + n) & _POS
        self.word[_W] = self.w
        mm.seek(_HEAD + (self.w & (cap - 1)))

    def wait_for_room(self, n: int) -> bool:
        """Wait until `n` bytes (at most the whole ring) are free; whether that took waiting."""
        delay, poked, n = 50e-6, False, min(n, self.cap)
        while self.cap - ((self.w - self.word[_R]) & _POS) < n:
            if not poked:  # the collector may be asleep; a dead one makes this raise
                self.poke()
                poked = True
            time.sleep(delay)
            delay = min(2 * delay, 0.001)
        return poked

    def poke(self) -> None:
        """Wake the collector up (one byte on the connection)."""
        try:
            self.sock.send(b"!", _SEND_FLAGS)
        except (BlockingIOError, InterruptedError):
            pass  # unread wake-ups are queued already


class _NoRing:
    """Stands for the ring while the stream is not open: it knows no names, so `emit` calls
    `_Sink.open`, which opens the stream (or declines, once the collector is unreachable)."""

    ids = types.MappingProxyType({})


class _Sink:
    """This process's way to a collector. The stream opens on the first event, again after a fork."""

    __slots__ = ("address", "identity", "lock", "ring", "broken")

    def __init__(self, address: str):
        self.address = address
        self.identity: str | None = None  # process name, when set explicitly by ipc.Process
        self.lock = threading.Lock()
        self.ring: _Ring | _NoRing = _NoRing()
        self.broken = False

    def open(self) -> _Ring | None:
        """The open stream (with the lock held): connects if need be; None once the collector has
        been found unreachable."""
        if isinstance(self.ring, _Ring):
            return self.ring
        if self.broken:
            return None
        name = self.identity
        if name is None:
            import multiprocessing

            name = multiprocessing.current_process().name
        try:
            self.ring = ring = _Ring(self.address, name)
        except OSError as exc:
            self.fail(exc)
            return None
        return ring

    def fail(self, exc: OSError) -> None:
        # The collector is gone (its run was stopped): keep the program's own behaviour intact
        # rather than failing inside a traced operation.
        if not self.broken:
            self.broken = True
            print(f"ipc.trace: collector unreachable ({exc}); tracing stopped", file=sys.stderr)
        self.close()

    def wake(self, ring: _Ring) -> None:
        ring.word[_ASLEEP] = 0
        try:
            ring.poke()
        except OSError as exc:
            if ring is self.ring:
                self.fail(exc)

    def close(self) -> None:
        """End this process's stream (the ring is unmapped once unreferenced)."""
        ring, self.ring = self.ring, _NoRing()
        if isinstance(ring, _Ring):
            ring.sock.close()

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()  # another thread may have held it at fork time
        self.close()  # the parent's stream; ours opens on the next event
        self.identity = None


_sink: _Sink | None = None
_now = time.monotonic_ns
_dumps = marshal.dumps


def attach(address: str, identity: str | None = None) -> None:
    """Send this process's events, and by default its children's, to the collector at `address`."""
    global _sink
    if _sink is not None and _sink.address == address and not _sink.broken:
        if identity is not None:
            _sink.identity = identity
        return
    if _sink is not None:
        with _sink.lock:
            _sink.close()
    _sink = _Sink(address)
    _sink.identity = identity
    os.environ[ENV_VAR] = address


def detach() -> None:
    global _sink
    if _sink is not None:
        with _sink.lock:
            _sink.close()
    _sink = None
    os.environ.pop(ENV_VAR, None)


def address() -> str | None:
    """The collector this process reports to, or None when tracing is off."""
    return None if _sink is None else _sink.address


def enabled() -> bool:
    return _sink is not None


def emit(kind: str, obj: str | None = None, msg: str | None = None, detail=None, t_ns=None) -> None:
    """Report one event. Returns once the event is in the collector's reach: in this process's
    ring, shared memory the collector reads even after this process died (at once when untraced).

    `detail` is a dict of small JSON-able values, or None. The hot paths send cheaper stand-ins,
    which arrive as the dict they stand for: a payload as :func:`shown` gives it for
    ``{"preview": ...}`` (a str is the preview; an int or a float arrives as its repr), and a
    pipe end's ``(end, shown)`` for ``{"end": end, "preview": ...}``. `t_ns` is the time the
    event happened, when that is not now.
    """
    sink = _sink
    if sink is None:
        return
    lock = sink.lock
    lock.acquire()
    try:
        ring = sink.ring
        try:
            ids = ring.ids
            kind_id, obj_id = ids[kind], ids[obj]
        except KeyError:  # a name not sent yet, or the stream not open
            ring = sink.open()
            if ring is None:
                return
            kind_id, obj_id = ring.define(kind, obj)
        data = _dumps((t_ns or _now(), kind_id, obj_id, msg, detail), _MARSHAL)
        w = ring.w + len(data)
        if w <= ring.limit:  # the common case: room, and short of the ring's end
            ring.mm.write(data)
            ring.w = w
            ring.word[_W] = w  # publishes the record
        else:
            if ring.wait_for_room(len(data)) and t_ns is None:
                # The collector was behind and this process waited: what it reports happens as
                # emit returns, so it is stamped again (else it would come seconds behind events
                # other processes stamped while it waited).
                data = _dumps((_now(), kind_id, obj_id, msg, detail), _MARSHAL)
            ring.write(data)
    except OSError as exc:
        sink.fail(exc)
        return
    finally:
        lock.release()  # also a full memory barrier, before the load below (see _sleep)
    if ring.word[_ASLEEP]:
        sink.wake(ring)


_ROOM = 512  # bytes of ring a report stamped ahead of its emit (see `stamp`) is sure to find


def stamp() -> int:
    """Now, as the time of an event reported a little later (a get's ``message_got``, stamped
    before a blocked putter can take the slot it freed, is emitted once the item is unpickled).
    Waits first, if need be, for room in this process's ring: a report that waited after its
    stamp would reach the collector behind what other processes did meanwhile."""
    sink = _sink
    if sink is not None:
        ring = sink.ring
        if ring.__class__ is _Ring and ring.limit - ring.w < _ROOM:
            with sink.lock:
                ring.wait_for_room(_ROOM)
    return _now()


_msg_counter = itertools.count(1)
_msg_prefix = f"{os.getpid()}:"


def new_message_id() -> str | None:
    """A run-wide unique id ("<pid>:<n>") for a message being put or sent; None when untraced."""
    if _sink is None:
        return None
    return f"{_msg_prefix}{next(_msg_counter)}"


_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_SCALARS = (str, int, float, bool, type(None))
_SHOWN_AS_IS = 1 << 62  # ints below this in magnitude have a short repr (at most 20 characters)


def preview(obj: Any) -> str:
    """A short, bounded repr of a payload (never slow on large objects)."""
    try:
        if isinstance(obj, _SCALARS):
            text = repr(obj)
            return text if len(text) <= 60 else text[:57] + "..."
        return _repr.repr(obj)
    except Exception:  # a broken __repr__, an int too long to print: not the operation's failure
        return f"<{type(obj).__name__}>"


def shown(obj: Any):
    """What an event's detail carries to show a payload: an int or a float as itself, whose
    preview the collector makes (``{"preview": repr(obj)}``, exactly what :func:`preview` gives),
    anything else as its preview. A number costs the traced program nothing to show and little
    to record; its text would cost a repr and a str to record."""
    cls = obj.__class__
    if cls is int:
        if -_SHOWN_AS_IS < obj < _SHOWN_AS_IS:
            return obj
    elif cls is float:
        return obj
    return preview(obj)


def _after_fork_in_child() -> None:
    global _msg_counter, _msg_prefix
    _msg_counter = itertools.count(1)
    _msg_prefix = f"{os.getpid()}:"
    if _sink is not None:
        _sink.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)

if os.environ.get(ENV_VAR):
    attach(os.environ[ENV_VAR])


# --------------------------------------------------------------------------- collecting side


class _Conn:
    """The collector's end of one process's stream."""

    __slots__ = ("sock", "hello", "fds", "pid", "process", "mm", "word", "cap", "w", "seq", "big",
                 "pending", "names", "broken")

    def __init__(self, sock):
        self.sock, self.hello, self.fds = sock, b"", []
        self.pid = self.process = self.mm = self.word = None
        self.cap = self.w = self.seq = 0  # W as last seen (and R: all of it is read), last seq
        self.big, self.pending = 0, b""  # a record larger than the ring: its size, what came so far
        self.names: list[str | None] = [None]  # kind and object names, by number
        self.broken = False  # its records could not be read: the rest of its stream is dropped

    def receive(self) -> bool:
        """Read what the connection brings (the hello and its ring, then wake-ups); False at its end."""
        try:
            if self.pid is None:
                data, fds, _, _ = socket.recv_fds(self.sock, 4096, 1)
                self.fds += fds
            else:
                data = self.sock.recv(4096)  # wake-ups: nothing to read in them
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            data = b""
        if not data:
            return False
        if self.pid is None:
            self.hello += data
            if len(self.hello) >= _HELLO.size:
                (n,) = _HELLO.unpack_from(self.hello)
                if len(self.hello) >= _HELLO.size + n and self.fds:
                    try:
                        self._map(*marshal.loads(self.hello[_HELLO.size:_HELLO.size + n]))
                    except (ValueError, TypeError, EOFError, OSError):
                        return False  # not a stream of ours: hang up
        return True

    def _map(self, pid: int, process: str) -> None:
        fd = self.fds.pop(0)
        try:
            size = os.fstat(fd).st_size
            cap = size - _HEAD
            if cap <= 0 or cap & (cap - 1) or cap > _POS >> 1:
                raise ValueError(f"ring of {size} bytes")
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.mm, self.word, self.cap = mm, memoryview(mm)[:_HEAD].cast("Q"), cap
        self.pid, self.process = int(pid), str(process)

    def read(self) -> bytes:
        """The whole records the writer has published since the last read (possibly none)."""
        w = self.word[_W]
        n = (w - self.w) & _POS
        if not n:
            return b""
        if self.broken:  # given up on (see Collector._decode): only let the writer go on
            self.w = self.word[_R] = w
            return b""
        cap, mm = self.cap, self.mm
        off = self.w & (cap - 1)
        if off + n <= cap:
            data = mm[_HEAD + off:_HEAD + off + n]
        else:
            data = mm[_HEAD + off:_HEAD + cap] + mm[_HEAD:_HEAD + off + n - cap]
        if self.big or self.word[_BIG]:  # (BIG is read after W, as the writer set it before)
            self.big = self.big or self.word[_BIG]
            data = self.pending + data
            if len(data) < self.big:
                self.pending = data
                data = b""
            else:
                self.big, self.pending = 0, b""
        self.w = w
        self.word[_R] = w  # the writer may reuse the space now
        return data

    def decode(self, data: bytes, events: list[Event]) -> None:
        """Whole records `read` returned, in stream order, as Events: read as one marshal list of
        `k` items, `k` being at least their number, padded with Nones."""
        k = len(data) // _MIN_RECORD + 1
        records = marshal.loads(b"[" + k.to_bytes(4, "little") + data + b"N" * k)
        del records[bisect.bisect_left(records, True, key=operator.not_):]
        self.take(records, events)

    def take(self, records: list[tuple], events: list[Event]) -> None:
        """Decoded records, in stream order, into Events (numbering them); a detail sent as a
        stand-in becomes the dict it stands for (see `emit`)."""
        pid, process, seq, names = self.pid, self.process, self.seq, self.names
        try:  # events only, (t_ns, kind number, object number, message, detail): in one go
            events += [_tuple_new(Event, (
                t_ns, pid, seq, process, names[kind], names[obj],
                msg, {"preview": repr(detail)} if detail.__class__ is int else
                {"preview": detail} if detail.__class__ is str else
                detail if detail.__class__ not in _STAND_INS else _detail(detail)))
                for seq, (t_ns, kind, obj, msg, detail) in enumerate(records, seq + 1)]
            self.seq = seq + len(records)
        except ValueError:  # names too, (name, 0, 0, 0): one by one
            for record in records:
                if len(record) == 4:
                    names.append(record[0])
                    continue
                seq += 1
                t_ns, kind, obj, msg, detail = record
                events.append(_tuple_new(Event, (
                    t_ns, pid, seq, process, names[kind], names[obj],
                    msg, detail if detail.__class__ not in _STAND_INS else _detail(detail))))
            self.seq = seq

    def close(self) -> None:
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
        if self.mm is not None:
            self.word.release()
            self.mm.close()


_tuple_new = tuple.__new__
_STAND_INS = frozenset((str, int, float, tuple))  # details that stand for a dict (see emit)


def _detail(sent) -> dict:
    """The detail a stand-in sent by `emit` stands for."""
    if sent.__class__ is tuple:
        end, shown = sent
        return {"end": end, "preview": shown if shown.__class__ is str else repr(shown)}
    return {"preview": sent if sent.__class__ is str else repr(sent)}


class Collector:
    """Receives every process's event stream on a background thread.

    Without `on_events`, what the processes published is kept as the records read from their
    rings (a tenth of the memory the Events take: a process that keeps an Event per operation
    makes page faults and garbage collections on the way) until :meth:`drain` decodes it and hands
    it over, on the caller's thread (it never blocks). With `on_events`, each look's batch is
    decoded at once and goes to that callback, on the collector thread (e.g. to append it to a
    trace file and to a view's inbox); only stream ends are kept.
    """

    def __init__(self, on_events: Callable[[list[Event]], None] | None = None):
        self._dir = tempfile.mkdtemp(prefix="ipcsim-trace-")
        self.address = os.path.join(self._dir, "trace.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self._listener.bind(self.address)
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._on_events = on_events
        self._cond = threading.Condition()
        # Not handed over yet, in arrival order: a look's records from a process, or a note.
        self._pending: list[tuple[_Conn, bytes] | tuple[None, list[Event]]] = []
        self._ended: list[Stream] = []
        self._open: dict[int, Stream] = {}
        self._notes = 0
        self._draining = threading.Lock()  # drains decode one at a time, in stream order
        # Every event stamped before this moment has been received (ready to drain, or given to
        # `on_events`), a new process's too (see `_serve`), unless its process was held up
        # between stamping and publishing it: events come in stream order, not time order.
        self.complete_ns = 0
        self._found_ns = time.monotonic_ns()  # the latest look that found events began then
        self._fence = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="ipc-trace-collector", daemon=True)
        self._thread.start()

    # -- public API

    def drain(self) -> Batch:
        """Everything received since the last drain (possibly nothing), decoded now. Never
        blocks on the processes or the collector thread."""
        with self._draining:
            with self._cond:
                pending, ended = self._pending, self._ended
                self._pending, self._ended = [], []
            return Batch(self._decode(pending), ended)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until something is ready to drain (or `timeout`); for tests and headless use."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending or self._ended or self._closed, timeout)

    def note(self, kind: str, obj: str | None = None, detail=None, process: str = "ipcsim",
             t_ns: int | None = None) -> Event:
        """Record an event observed by the collecting program itself (e.g. "run_stopped")."""
        with self._cond:
            self._notes += 1
            seq = self._notes
        t_ns = time.monotonic_ns() if t_ns is None else t_ns
        event = Event(t_ns, os.getpid(), seq, process, kind, obj, None, detail)
        self._publish([(None, [event])], [])
        return event

    def quiet_ns(self) -> int:
        """How long the processes have published nothing, as far as the collector has looked:
        from the latest look that found events to the latest look. A collector held up (on a
        busy machine, or by its `on_events`) has not looked: that is not quiet."""
        complete_ns = self.complete_ns  # (first: a look sets `_found_ns` before it)
        return max(0, complete_ns - self._found_ns)

    def wait_streams_ended(self, timeout: float | None = None) -> bool:
        """Wait until every process that connected has closed its stream (or `timeout`)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._open, timeout)

    def open_streams(self) -> list[Stream]:
        with self._cond:
            return list(self._open.values())

    def close(self) -> None:
        """Read whatever the processes have reported, then stop and remove the socket."""
        if self._closed:
            return
        os.write(self._stop_w, b"x")
        self._thread.join()
        os.close(self._stop_r)
        os.close(self._stop_w)
        shutil.rmtree(self._dir, ignore_errors=True)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __enter__(self) -> "Collector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- collector thread

    def _serve(self) -> None:
        poller = select.poll()
        listener, stop = self._listener.fileno(), self._stop_r
        poller.register(listener, select.POLLIN)
        poller.register(stop, select.POLLIN)
        conns: dict[int, _Conn] = {}
        rings: list[_Conn] = []  # the connections whose ring is mapped
        busy = False  # the last look found events: look again after _BATCH_MS
        stop_by = None  # once asked to stop: read what there is, for at most a second
        while True:
            asleep = False
            if stop_by is not None:
                timeout = 0
            elif not rings:
                timeout = None
            elif busy:
                timeout = _BATCH_MS
            else:
                asleep = self._sleep(rings)
                timeout = _BACKSTOP_MS if asleep else 0
            poller.poll(timeout)  # wait for something to happen, or for the time to look again
            # The look's moment, then what is ready then (poll is level-triggered: what woke us
            # still is): a process that connected before this moment, and so stamped its first
            # event after, is mapped and read in this very look. That keeps `complete_ns` true.
            looked_ns = time.monotonic_ns()
            ready = poller.poll(0)
            if asleep:
                for conn in rings:
                    conn.word[_ASLEEP] = 0
            heard: list[_Conn] = []
            for fd, _ in ready:
                if fd == stop:
                    stop_by = time.monotonic() + 1.0
                    poller.unregister(stop)
                elif fd == listener:
                    heard += self._accept(poller, conns)  # (their hello has come, if they stamped)
                else:
                    heard.append(conns[fd])
            closing: list[_Conn] = []
            for conn in heard:
                mapped = conn.mm is not None
                if not conn.receive():
                    poller.unregister(conn.sock)
                    del conns[conn.sock.fileno()]
                    closing.append(conn)
                if not mapped and conn.mm is not None:
                    rings.append(conn)
                    with self._cond:
                        self._open[conn.pid] = Stream(conn.pid, conn.process)
            chunks: list[tuple[_Conn, bytes]] = []
            for conn in rings:
                try:
                    data = conn.read()
                except Exception as exc:  # a damaged ring (never expected): serve the others
                    _give_up(conn, exc)
                    continue
                if data:
                    chunks.append((conn, data))
            ended: list[Stream] = []
            for conn in closing:  # read above: their writers wrote before they ended
                if conn.mm is not None:
                    rings.remove(conn)
                    ended.append(Stream(conn.pid, conn.process))
                conn.close()  # a trailing part of a record belongs to an operation that never returned
            busy = bool(chunks)
            self._publish(chunks, ended)
            if chunks:
                self._found_ns = looked_ns
            self.complete_ns = looked_ns
            if stop_by is not None and ((not ready and not chunks) or time.monotonic() > stop_by):
                break
        for conn in conns.values():
            if conn.mm is not None:
                conn.word[_ASLEEP] = 1  # a writer still running pokes, finds us gone and stops
            conn.close()
        self._listener.close()

    def _sleep(self, rings: list[_Conn]) -> bool:
        """Ask every writer to wake us up with its next event; False if one just wrote.

        The classic race: a writer publishes a record, then reads the flag; we set the flag, then
        read the writer's position. If each side's read could overtake its own earlier write (x86
        allows exactly that reordering), both could miss the other and the event would wait for the
        backstop. A full barrier between the write and the read on each side rules it out: the
        writer releases its lock there, we take and release a lock here, and on x86-64 each is a
        locked instruction (CPython's locks are POSIX semaphores). Elsewhere, or should that ever
        change, the backstop bounds the delay at _BACKSTOP_MS.
        """
        for conn in rings:
            conn.word[_ASLEEP] = 1
        with self._fence:
            pass
        for conn in rings:
            if conn.word[_W] != conn.w:
                return False
        return True

    def _accept(self, poller, conns: dict[int, _Conn]) -> list[_Conn]:
        """The connections waiting to be accepted, accepted."""
        accepted = []
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return accepted
            sock.setblocking(False)
            conns[sock.fileno()] = conn = _Conn(sock)
            poller.register(sock, select.POLLIN)
            accepted.append(conn)

    def _publish(self, chunks: list, ended: list[Stream]) -> None:
        """Hand over what a look found: decoded at once for `on_events`, else kept for `drain`."""
        if not chunks and not ended:
            return
        if chunks and self._on_events is not None:
            events = self._decode(chunks)
            chunks = []
            if events:
                self._on_events(events)
        with self._cond:
            self._pending += chunks
            self._ended += ended
            for stream in ended:
                self._open.pop(stream.pid, None)
            self._cond.notify_all()

    @staticmethod
    def _decode(chunks: list) -> list[Event]:
        """The Events that records read (and notes) stand for, in the order they came."""
        events: list[Event] = []
        for conn, data in chunks:
            if conn is None:
                events += data
            elif not conn.broken:
                try:
                    conn.decode(data, events)
                except Exception as exc:  # a damaged ring (never expected): serve the others
                    _give_up(conn, exc)
        return events


def _give_up(conn: _Conn, exc: Exception) -> None:
    print(f"ipc.trace: cannot read pid {conn.pid}'s events ({exc!r}); "
          "dropping the rest of its stream", file=sys.stderr)
    conn.broken = True
