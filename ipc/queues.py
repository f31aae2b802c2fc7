"""Traced `Queue`, `JoinableQueue` and `SimpleQueue`: subclasses of `multiprocessing.queues`'.

Each item travels through the channel as ``(message_id, item)``; the id is assigned when the put
starts, so a message can be followed from the process that put it to the one that got it. The
item a caller gets back is exactly the item that was put.

What is reported (object = the queue's ``trace_name``):

* ``put_blocked`` when a put cannot complete at once (the queue is full), then ``message_put``
  when it does, or ``put_failed`` (``Full``) when it gives up. ``message_put`` is reported just
  before the item is handed to the queue (under the buffer's lock, so a process's puts on a queue
  are reported in the order its feeder thread writes them), so it always precedes the matching
  ``message_got``.
* ``get_blocked`` when nothing can be read at once (or another reader holds the queue's read
  lock), then ``message_got`` or ``get_failed`` (``Empty``). When the get found the pipe empty
  while holding the read lock, its ``get_blocked`` (or the ``get_failed`` of a non-blocking get)
  says so with ``"empty": True`` and is stamped just before it looked: every message written
  before that moment had been read, and every reader that read one had stamped its
  ``message_got`` already (it stamps before releasing the read lock).
* ``task_done`` (with the unfinished count left), ``join_blocked`` / ``join_returned``,
  ``queue_closed``; ``put_failed`` from the feeder thread when an item could not be pickled.

With no sink attached, each method defers to `multiprocessing`'s own code path (only wrapping the
item with a ``None`` id), so behaviour and cost are those of plain `multiprocessing`. Traced, a put
does what `multiprocessing`'s does, the same bytes, locks, writes and wake-ups in the same order,
with fewer layers of Python around them (`lean_dumps`, `lean_sender`, `_TracedQueue._enqueue`):
that pays back what reporting adds to it (figures: `ipc.trace`).
"""

from __future__ import annotations

import errno
import itertools
import os
import pickle
import select
import stat
import struct
import time
import types
from multiprocessing import queues as mpq
from multiprocessing.reduction import ForkingPickler
from queue import Empty, Full

from . import trace
from .trace import emit, preview, shown

__all__ = ["Queue", "JoinableQueue", "SimpleQueue", "Empty", "Full"]

_names = itertools.count(1)


def auto_name(kind: str) -> str:
    """A default, run-wide unique trace name, e.g. ``queue@4711.1``."""
    return f"{kind}@{os.getpid()}.{next(_names)}"


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "reason": str(exc)[:200]}


class Readiness:
    """Reads and writes that never block, to tell whether an operation has to wait.

    A traced get reads the first bytes of the next message without blocking (:meth:`message_now`):
    one system call that either moves bytes or says it would block, where checking first
    (``poll``) and then reading would cost a second call per message. The read end of a pipe (a
    queue's, a one-way `Pipe`'s) gets a descriptor of its own for that, opened through
    ``/proc/self/fd`` with ``O_NONBLOCK``: a new open file description of the same pipe, so no
    other reader sees the flag, and the read is a plain ``os.read``, as `multiprocessing`'s
    (~0.28 us cheaper than a ``preadv``). It is closed as its owner closes the read end
    (:meth:`close`), so that the pipe has readers exactly as long as it would without it. Other
    reads (a socket's; without ``/proc``), and all writes, use ``RWF_NOWAIT`` (Linux: pipes and
    sockets); failing that, a zero-timeout ``poll`` answers, then the bytes are moved as
    ``multiprocessing`` does. The poll object is kept (~0.4 us, where ``Connection.poll()``
    builds a selector each time, ~4 us); it cannot be polled by two threads at once, so a thread
    that finds it busy, and every blocking wait, uses a fresh one.
    """

    __slots__ = ("fd", "events", "_poll", "_own")

    def __init__(self, fd: int, events: int):
        self.fd, self.events = fd, events
        self._poll = self._fresh().poll
        self._own = _nonblocking_reader(fd) if events == select.POLLIN else None

    def close(self, _close=os.close) -> None:  # (os.close bound: also called at shutdown)
        """Close the descriptor of its own, if it has one (the owner closes `fd`)."""
        own, self._own = self._own, None
        if own is not None:
            _close(own)

    __del__ = close

    def _fresh(self):
        poller = select.poll()
        poller.register(self.fd, self.events)
        return poller

    def now(self) -> bool:
        try:
            return bool(self._poll(0))
        except RuntimeError:  # "concurrent poll() invocation": another thread is checking too
            return bool(self._fresh().poll(0))

    def wait(self) -> None:
        """Block until the descriptor is ready."""
        self._fresh().poll()

    def read_now(self, n: int) -> bytes | bytearray | None:
        """Up to `n` bytes if there are some to read now (empty at end of file), else None."""
        if self._own is not None:
            try:
                return os.read(self._own, n)
            except BlockingIOError:
                return None
        if _nowait:
            buf = bytearray(n)
            try:
                k = os.preadv(self.fd, (buf,), -1, _nowait)
                return buf if k == n else buf[:k]
            except BlockingIOError:
                return None
            except OSError as exc:
                if not _nowait_unsupported(exc):
                    raise
        return os.read(self.fd, n) if self.now() else None

    def message_now(self) -> bytes | None:
        """The next message in `multiprocessing`'s framing (what `Connection.recv_bytes` returns)
        if its first bytes are there to read now, else None, having read nothing: `read_now` and
        `recv_rest` in one call, the one every traced get makes."""
        head = self.read_now(4)
        if head is None:
            return None
        if len(head) == 4:
            (size,) = FRAME_SIZE.unpack(head)
            if size > 0:  # (-1: a large message's size follows)
                body = os.read(self.fd, size)  # a small message is all there: one read
                return body if len(body) == size else read_exactly(self.fd, size, body)
        return recv_rest(self.fd, head)

    def write_now(self, chunks: list) -> int:
        """Write what fits now of `chunks`, in order (without RWF_NOWAIT: all of them if the
        descriptor is writable, else nothing); the number of bytes written."""
        if _nowait:
            try:
                return os.pwritev(self.fd, chunks, -1, _nowait)
            except BlockingIOError:
                return 0
            except OSError as exc:
                if not _nowait_unsupported(exc):
                    raise
        if not self.now():
            return 0
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(self.fd, view):]
        return sum(map(len, chunks))


_nowait = getattr(os, "RWF_NOWAIT", 0)


def forget_readable(owner) -> None:
    """Close the descriptor of its own that `owner`'s read `Readiness` holds, as `owner` closes
    its read end (see `Readiness`)."""
    readable, owner._trace_readable = owner._trace_readable, None
    if readable is not None:
        readable.close()


def _nonblocking_reader(fd: int) -> int | None:
    """A new, non-blocking read descriptor of the pipe `fd` reads, or None if it is no pipe or
    this system cannot open one (no ``/proc``)."""
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            return os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        pass
    return None


def _nowait_unsupported(exc: OSError) -> bool:
    """Whether `exc` says this kernel cannot do RWF_NOWAIT here (then it is never tried again)."""
    global _nowait
    if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
        _nowait = 0
        return True
    return False


class _QueueBase:
    """What every traced queue does alike: carries its `trace_name` with it when it is pickled
    for a child, and reports its closing."""

    _trace_readable = None  # Readiness of the read end, made on first use

    def __getstate__(self):
        return super().__getstate__(), self.trace_name

    def __setstate__(self, state):
        base, self.trace_name = state
        super().__setstate__(base)

    def close(self):
        super().close()
        forget_readable(self)
        emit("queue_closed", self.trace_name)


class _TracedQueue(_QueueBase):
    """Put/get tracing shared by `Queue` and `JoinableQueue` (mixed in before the mp class)."""

    def __init__(self, maxsize=0, *, ctx):
        super().__init__(maxsize, ctx=ctx)
        self.trace_name = auto_name("queue")

    def put(self, obj, block=True, timeout=None):
        if trace._sink is None:
            return super().put((None, obj), block, timeout)
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        name, mid = self.trace_name, trace.new_message_id()
        if not self._sem.acquire(False):
            if block:
                emit("put_blocked", name, mid, {"timeout": timeout, "preview": preview(obj)})
            if not block or not self._sem.acquire(True, timeout):
                emit("put_failed", name, mid, {"error": "Full", "preview": preview(obj)})
                raise Full
        self._enqueue(mid, obj, shown(obj))

    def _enqueue(self, mid, obj, what):
        """Report `message_put` and hand the item to the feeder thread, under the buffer's lock:
        so a process's puts on this queue are reported in the order its feeder writes them.
        (What `multiprocessing`'s put does, with the condition's lock taken directly and its
        ``notify()``, a no-op then, skipped while the feeder is busy rather than waiting: two
        layers of Python less on a path every put takes.)"""
        notempty = self._notempty
        with notempty._lock:
            if self._thread is None:
                self._start_thread()
            emit("message_put", self.trace_name, mid, what)
            self._buffer.append((mid, obj))
            if notempty._waiters:
                notempty.notify()

    def get(self, block=True, timeout=None):
        if trace._sink is None:
            return super().get(block, timeout)[1]
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        name = self.trace_name
        deadline = None if timeout is None else time.monotonic() + timeout
        blocked = False
        if not self._rlock.acquire(False):  # another reader is reading
            if not block:
                raise _get_failed(name)
            emit("get_blocked", name, None, {"timeout": timeout})
            blocked = True
            if not self._rlock.acquire(True, timeout):
                raise _get_failed(name)
        try:
            readable = self._trace_readable
            if readable is None:
                readable = self._trace_readable = Readiness(self._reader.fileno(), select.POLLIN)
            t_empty = time.monotonic_ns()  # before the pipe can be found empty
            res = readable.message_now()
            if res is None:
                if not block:
                    raise _get_failed(name, t_empty)
                if not blocked:
                    emit("get_blocked", name, None, {"timeout": timeout, "empty": True}, t_ns=t_empty)
                if deadline is not None and not self._poll(deadline - time.monotonic()):
                    raise _get_failed(name)
                res = recv_rest(readable.fd, b"")
            t_ns = trace.stamp()  # before a blocked putter can take the freed slot
            self._sem.release()
        finally:
            self._rlock.release()
        return _unpack_got(name, res, t_ns)

    def _start_thread(self):
        if trace._sink is None:  # untraced: multiprocessing's own feeder
            return super()._start_thread()
        self._send_bytes = lean_sender(self._writer)
        _lean_start_thread(self)

    @staticmethod
    def _on_queue_feeder_error(e, obj):
        # The feeder thread could not send the item (e.g. it cannot be pickled): it is lost.
        mid, item = obj
        emit("put_failed", None, mid, {**_error(e), "lost": True})
        mpq.Queue._on_queue_feeder_error(e, item)


_PLAIN = frozenset((int, float, str, bytes, bool, type(None)))


def lean_dumps(obj):
    """`ForkingPickler.dumps(obj)`'s bytes, for what a traced channel sends. The pickler writes
    a scalar (int, float, str, bytes, bool, None), and a tuple or a list of them (such as a
    queue's ``(message id, item)``), by itself, never looking at ForkingPickler's reducers: for
    those `pickle.dumps` makes the same bytes without building a ForkingPickler (a copy of its
    table of reducers and a BytesIO per message, ~1.6 us). Anything else goes to
    `ForkingPickler.dumps`."""
    cls = obj.__class__
    if cls in _PLAIN or (cls is tuple or cls is list) and _PLAIN.issuperset(map(type, obj)):
        return pickle.dumps(obj)
    return ForkingPickler.dumps(obj)


def _with_globals(function, **names):
    """`function`'s own code, finding `names` where its module's globals of those names were."""
    return types.FunctionType(function.__code__, {**function.__globals__, **names},
                              function.__name__, function.__defaults__, function.__closure__)


class _LeanFed(mpq.Queue):
    """What `_lean_start_thread` finds as `Queue`: its feeder is multiprocessing's own
    ``Queue._feed``, pickling with `lean_dumps`."""

    _feed = staticmethod(_with_globals(mpq.Queue._feed, _ForkingPickler=types.SimpleNamespace(
        dumps=lean_dumps)))


# multiprocessing's own `Queue._start_thread` (whatever this Python's is), starting that feeder.
_lean_start_thread = _with_globals(mpq.Queue._start_thread, Queue=_LeanFed)

FRAME_SIZE = struct.Struct("!i")
FRAME_LARGE_SIZE = struct.Struct("!Q")
_LEAN_MAX = 16384  # Connection._send_bytes writes messages up to this size in one piece


def lean_sender(conn):
    """`conn.send_bytes` for the pickled messages of a traced queue's feeder thread: the same
    bytes in the same writes (a 4-byte big-endian size and the body in one ``write``, as
    `Connection._send_bytes` makes them), without the Python layers of argument checks and
    slicing around them: about 5,000 fewer instructions a message, which pay for part of what
    tracing adds. A larger message, or a closed connection, goes to `conn.send_bytes` itself."""

    def send_bytes(data):
        n, fd = len(data), conn._handle
        if n > _LEAN_MAX or fd is None:
            return conn.send_bytes(data)
        frame = FRAME_SIZE.pack(n) + data
        sent = os.write(fd, frame)
        if sent < n + 4:  # interrupted by a signal part way: the rest as Connection._send would
            conn._send(frame[sent:])

    return send_bytes


def recv_rest(fd: int, head) -> bytes:
    """The message `Connection.recv_bytes()` on `fd` would return, its first bytes `head` read
    already: a 4-byte big-endian size (-1: an 8-byte size follows), then the body. Raises as it
    would."""
    (size,) = FRAME_SIZE.unpack(head if len(head) == 4 else read_exactly(fd, 4, head))
    if size == -1:
        (size,) = FRAME_LARGE_SIZE.unpack(read_exactly(fd, 8))
    body = os.read(fd, size) if size else b""  # a small message is all there: one read
    return body if len(body) == size else read_exactly(fd, size, body)


def read_exactly(fd: int, size: int, data=b"") -> bytes:
    """`size` bytes from `fd`, the first of them `data`, read as `Connection._recv` reads them
    (EOFError if the writer closed before the first byte, OSError if after it) but without its
    BytesIO."""
    if len(data) < size:
        data += os.read(fd, size - len(data))
        if len(data) < size:  # a large message comes in pieces
            data = bytearray(data)
            while len(data) < size:
                chunk = os.read(fd, size - len(data))
                if not chunk:
                    raise OSError("got end of file during message") if data else EOFError
                data += chunk
            data = bytes(data)
    return data


def _get_failed(name: str, t_empty: int | None = None) -> type[Empty]:
    """Report a get that failed with Empty; `t_empty`: the pipe was found empty, under the read
    lock, at a moment after that time."""
    if t_empty is None:
        emit("get_failed", name, None, {"error": "Empty"})
    else:
        emit("get_failed", name, None, {"error": "Empty", "empty": True}, t_ns=t_empty)
    return Empty


def _unpack_got(name: str, res: bytes, t_ns: int):
    """Unpickle a got item and report it, stamped with the time it left the channel."""
    try:
        mid, obj = ForkingPickler.loads(res)
    except Exception as exc:
        emit("get_failed", name, None, _error(exc))
        raise
    emit("message_got", name, mid, shown(obj), t_ns)
    return obj


class Queue(_TracedQueue, mpq.Queue):
    """`multiprocessing.queues.Queue`, traced."""


class JoinableQueue(_TracedQueue, mpq.JoinableQueue):
    """`multiprocessing.queues.JoinableQueue`, traced."""

    def _enqueue(self, mid, obj, what):
        notempty = self._notempty  # (as in Queue._enqueue)
        with notempty._lock, self._cond:
            if self._thread is None:
                self._start_thread()
            emit("message_put", self.trace_name, mid, what)
            self._buffer.append((mid, obj))
            self._unfinished_tasks.release()
            if notempty._waiters:
                notempty.notify()

    def task_done(self):
        if trace._sink is None:
            return super().task_done()
        with self._cond:
            if not self._unfinished_tasks.acquire(False):
                emit("task_done_failed", self.trace_name, None, {"error": "ValueError"})
                raise ValueError("task_done() called too many times")
            emit("task_done", self.trace_name, None,
                 {"unfinished": self._unfinished_tasks._semlock._get_value()})
            if self._unfinished_tasks._semlock._is_zero():
                self._cond.notify_all()

    def join(self):
        if trace._sink is None:
            return super().join()
        with self._cond:
            if not self._unfinished_tasks._semlock._is_zero():
                emit("join_blocked", self.trace_name, None,
                     {"unfinished": self._unfinished_tasks._semlock._get_value()})
                self._cond.wait()
        emit("join_returned", self.trace_name)


class SimpleQueue(_QueueBase, mpq.SimpleQueue):
    """`multiprocessing.queues.SimpleQueue`, traced. Its put writes straight to the pipe, so it
    blocks only when the pipe is full."""

    _trace_writable = None  # Readiness of the write end, made on first use

    def __init__(self, *, ctx):
        super().__init__(ctx=ctx)
        self.trace_name = auto_name("simplequeue")

    def put(self, obj):
        if trace._sink is None:
            return super().put((None, obj))
        name, mid = self.trace_name, trace.new_message_id()
        data = lean_dumps((mid, obj))
        blocked = not self._wlock.acquire(False)
        if blocked:
            emit("put_blocked", name, mid, {"timeout": None, "preview": preview(obj)})
            self._wlock.acquire()
        try:
            writable = self._trace_writable
            if writable is None:
                writable = self._trace_writable = Readiness(self._writer.fileno(), select.POLLOUT)
            if not writable.now():  # the pipe is full: wait for a reader to make room
                if not blocked:
                    emit("put_blocked", name, mid, {"timeout": None, "preview": preview(obj)})
                writable.wait()
            emit("message_put", name, mid, shown(obj))
            try:
                self._writer.send_bytes(data)
            except Exception as exc:
                emit("put_failed", name, mid, _error(exc))
                raise
        finally:
            self._wlock.release()

    def get(self):
        if trace._sink is None:
            return super().get()[1]
        name = self.trace_name
        blocked = not self._rlock.acquire(False)
        if blocked:
            emit("get_blocked", name, None, {"timeout": None})
            self._rlock.acquire()
        try:
            self._reader._check_closed()  # as recv_bytes would, before touching the descriptor
            readable = self._trace_readable
            if readable is None:
                readable = self._trace_readable = Readiness(self._reader.fileno(), select.POLLIN)
            t_empty = time.monotonic_ns()
            res = readable.message_now()
            if res is None:
                if not blocked:
                    emit("get_blocked", name, None, {"timeout": None, "empty": True}, t_ns=t_empty)
                res = recv_rest(readable.fd, b"")
            t_ns = trace.stamp()
        finally:
            self._rlock.release()
        return _unpack_got(name, res, t_ns)
