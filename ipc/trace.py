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

Transport: one Unix stream connection per process, one ``send`` per event
------------------------------------------------------------------------
Each process connects to the collector on its first event (again after a fork) and writes each
event with a single blocking ``sendall`` of a length-prefixed `marshal` frame, under a per-process
lock. Why this design:

* **Nothing is lost on SIGKILL.** When ``emit`` returns, the event is in the kernel's socket buffer,
  not in a user-space buffer or a thread; the kernel keeps it for the reader after the writer dies.
  (`multiprocessing.Queue` loses events on kill: its feeder thread buffers them. It is what we
  observe, not how we report.)
* **End of stream is exact.** The kernel closes a process's connection when it dies, however it
  dies, so the collector can tell when each process's stream has ended.
* **Connect by address.** A child started by spawn or forkserver inherits no descriptors; a socket
  path works for all three start methods without passing file descriptors around.
* **Fast enough, and batched on the read side.** One syscall per event on the writer; the reader
  takes up to 256 KiB per ``recv``. `benchmarks/trace_transport.py` measures it against a pipe
  per process and a shared-memory ring: the ring avoids the syscall but cannot signal a death and
  must be polled; the pipe needs descriptor inheritance. The socket costs about the same as the
  pipe. Figures are in that script's output and the README.

Timestamps are ``time.monotonic_ns()`` (CLOCK_MONOTONIC, comparable across processes). An operation
that hands a message over is stamped at the moment it commits (``message_put`` before the item
enters the queue, ``message_got`` before the slot it freed can be taken, ``message_sent`` before
the bytes are written), so across processes a message's put always sorts before its get and a
queue never appears to hold more than its ``maxsize``. The collector delivers events in arrival
order; sort by ``(t_ns, pid, seq)`` where order across processes matters.
"""

from __future__ import annotations

import itertools
import marshal
import os
import reprlib
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from typing import Any, Callable, NamedTuple

ENV_VAR = "IPCSIM_TRACE"

_FRAME = struct.Struct("<I")
_RECV_SIZE = 1 << 18


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


class _Sink:
    """This process's connection to a collector. Reconnects lazily after a fork."""

    def __init__(self, address: str):
        self.address = address
        self.identity: str | None = None  # process name, when set explicitly by ipc.Process
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pid = -1
        self._seq = 0
        self.broken = False

    def _connect(self) -> None:
        if self._sock is not None:
            self._sock.close()
        name = self.identity
        if name is None:
            import multiprocessing

            name = multiprocessing.current_process().name
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.connect(self.address)
        hello = marshal.dumps((os.getpid(), name))
        sock.sendall(_FRAME.pack(len(hello)) + hello)
        self._sock, self._pid, self._seq = sock, os.getpid(), 0

    def emit(self, kind, obj, msg, detail, t_ns=None) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                if self._pid != os.getpid():
                    self._connect()
                self._seq += 1
                data = marshal.dumps(
                    (self._seq, time.monotonic_ns() if t_ns is None else t_ns, kind, obj, msg, detail)
                )
                self._sock.sendall(_FRAME.pack(len(data)) + data)
            except OSError as exc:
                # The collector is gone (its run was stopped): keep the program's own
                # behaviour intact rather than failing inside a traced operation.
                self.broken = True
                print(f"ipc.trace: collector unreachable ({exc}); tracing stopped", file=sys.stderr)

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at fork time
        if self._sock is not None:
            self._sock.close()  # the parent's connection; ours opens on the next event
            self._sock = None
        self._pid = -1
        self.identity = None


_sink: _Sink | None = None


def attach(address: str, identity: str | None = None) -> None:
    """Send this process's events, and by default its children's, to the collector at `address`."""
    global _sink
    if _sink is not None and _sink.address == address and not _sink.broken:
        if identity is not None:
            _sink.identity = identity
        return
    _sink = _Sink(address)
    _sink.identity = identity
    os.environ[ENV_VAR] = address


def detach() -> None:
    global _sink
    if _sink is not None and _sink._sock is not None:
        _sink._sock.close()
    _sink = None
    os.environ.pop(ENV_VAR, None)


def address() -> str | None:
    """The collector this process reports to, or None when tracing is off."""
    return None if _sink is None else _sink.address


def enabled() -> bool:
    return _sink is not None


def emit(kind: str, obj: str | None = None, msg: str | None = None, detail=None, t_ns=None) -> None:
    """Report one event. Returns once the event is in the kernel (or at once when untraced)."""
    sink = _sink
    if sink is not None:
        sink.emit(kind, obj, msg, detail, t_ns)


_msg_counter = itertools.count(1)


def new_message_id() -> str | None:
    """A run-wide unique id ("<pid>:<n>") for a message being put or sent; None when untraced."""
    if _sink is None:
        return None
    return f"{os.getpid()}:{next(_msg_counter)}"


_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_SCALARS = (str, int, float, bool, type(None))


def preview(obj: Any) -> str:
    """A short, bounded repr of a payload (never slow on large objects)."""
    if isinstance(obj, _SCALARS):
        text = repr(obj)
        return text if len(text) <= 60 else text[:57] + "..."
    try:
        return _repr.repr(obj)
    except Exception:  # a user object with a broken __repr__ must not break the operation
        return f"<{type(obj).__name__}>"


def _after_fork_in_child() -> None:
    global _msg_counter
    _msg_counter = itertools.count(1)
    if _sink is not None:
        _sink.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)

if os.environ.get(ENV_VAR):
    attach(os.environ[ENV_VAR])


# --------------------------------------------------------------------------- collecting side


class _Conn:
    __slots__ = ("sock", "buf", "pid", "process")

    def __init__(self, sock):
        self.sock, self.buf, self.pid, self.process = sock, bytearray(), None, None


class Collector:
    """Receives every process's event stream on a background thread.

    Without `on_events`, events are kept until :meth:`drain` hands them over (it never blocks).
    With `on_events`, each decoded batch goes to that callback instead, on the collector thread
    (e.g. to append it to a trace file and to a view's inbox); only stream ends are kept.
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
        self._events: list[Event] = []
        self._ended: list[Stream] = []
        self._open: dict[int, Stream] = {}
        self._total = 0
        self._notes = 0
        self._stop_r, self._stop_w = os.pipe()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="ipc-trace-collector", daemon=True)
        self._thread.start()

    # -- public API

    def drain(self) -> Batch:
        """Everything received since the last drain (possibly nothing). Never blocks."""
        with self._cond:
            batch = Batch(self._events, self._ended)
            self._events, self._ended = [], []
        return batch

    def wait(self, timeout: float | None = None) -> bool:
        """Block until something is ready to drain (or `timeout`); for tests and headless use."""
        with self._cond:
            return self._cond.wait_for(lambda: self._events or self._ended or self._closed, timeout)

    @property
    def received(self) -> int:
        """How many events have been received in total."""
        return self._total

    def note(self, kind: str, obj: str | None = None, detail=None, process: str = "ipcsim",
             t_ns: int | None = None) -> Event:
        """Record an event observed by the collecting program itself (e.g. "run_stopped")."""
        with self._cond:
            self._notes += 1
            seq = self._notes
        t_ns = time.monotonic_ns() if t_ns is None else t_ns
        event = Event(t_ns, os.getpid(), seq, process, kind, obj, None, detail)
        self._publish([event], [])
        return event

    def wait_streams_ended(self, timeout: float | None = None) -> bool:
        """Wait until every process that connected has closed its stream (or `timeout`)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._open, timeout)

    def open_streams(self) -> list[Stream]:
        with self._cond:
            return list(self._open.values())

    def close(self) -> None:
        """Read whatever is still buffered in the kernel, then stop and remove the socket."""
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
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, None)
        sel.register(self._stop_r, selectors.EVENT_READ, "stop")
        stop_by = None  # once asked to stop: read what is buffered, for at most a second
        while True:
            ready = sel.select(timeout=None if stop_by is None else 0)
            if stop_by is not None and (not ready or time.monotonic() > stop_by):
                break
            events: list[Event] = []
            ended: list[Stream] = []
            for key, _ in ready:
                if key.data == "stop":
                    stop_by = time.monotonic() + 1.0
                    sel.unregister(self._stop_r)
                elif key.data is None:
                    self._accept(sel)
                else:
                    self._read(sel, key.data, events, ended)
            self._publish(events, ended)
        for conn in list(sel.get_map().values()):
            if isinstance(conn.data, _Conn):
                conn.data.sock.close()
        sel.close()
        self._listener.close()

    def _accept(self, sel) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, _Conn(sock))

    def _read(self, sel, conn: _Conn, events: list[Event], ended: list[Stream]) -> None:
        try:
            chunk = conn.sock.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if chunk:
            conn.buf += chunk
            self._decode(conn, events)
            return
        # End of stream. A trailing partial frame belongs to an operation that never returned.
        sel.unregister(conn.sock)
        conn.sock.close()
        if conn.pid is not None:
            ended.append(Stream(conn.pid, conn.process))

    def _decode(self, conn: _Conn, events: list[Event]) -> None:
        buf, pos, size = conn.buf, 0, len(conn.buf)
        loads, unpack, header = marshal.loads, _FRAME.unpack_from, _FRAME.size
        while size - pos >= header:
            (n,) = unpack(buf, pos)
            end = pos + header + n
            if end > size:
                break
            record = loads(buf[pos + header : end])
            pos = end
            if conn.pid is None:  # the first frame is the hello: (pid, process name)
                conn.pid, conn.process = record
                with self._cond:
                    self._open[conn.pid] = Stream(conn.pid, conn.process)
                continue
            seq, t_ns, kind, obj, msg, detail = record
            events.append(Event(t_ns, conn.pid, seq, conn.process, kind, obj, msg, detail))
        del buf[:pos]

    def _publish(self, events: list[Event], ended: list[Stream]) -> None:
        if not events and not ended:
            return
        count = len(events)
        if events and self._on_events is not None:
            self._on_events(events)
            events = []
        with self._cond:
            self._events.extend(events)
            self._ended.extend(ended)
            self._total += count
            for stream in ended:
                self._open.pop(stream.pid, None)
            self._cond.notify_all()
