"""Traced `Pipe` and its `Connection`s (a subclass of `multiprocessing.connection.Connection`).

Every message carries a small tag in front of its bytes: ``0xFF``, a length byte and the message
id (empty when untraced). ``0xFF`` can never start a pickle, so an untagged message from a plain
`multiprocessing` peer is still read correctly. The receiving end strips the tag, so
``send``/``recv``, ``send_bytes``/``recv_bytes`` and ``recv_bytes_into`` return exactly what
`multiprocessing` returns.

What is reported (object = the pipe's ``trace_name``; ``detail["end"]`` = ``trace_end``):
``send_called`` (with the message id) just before a message's first byte is written,
``send_blocked`` when the pipe cannot take the whole message at once, ``message_sent`` once it is
all written (stamped when the writing began), ``recv_blocked`` when nothing is there yet,
``message_received``, ``connection_closed``, and ``connection_error`` for every exception a send
or receive raises (``OSError`` on a closed or one-way end, ``EOFError``, pickling errors...).

A sender killed between writing and ``message_sent`` has reported ``send_called``: a receive of
that message is still explained, and if none comes the fold counts it lost with the sender. A
receiver killed between reading and ``message_received`` leaves the message shown in flight until
a later message of the same sender is received (a pipe is FIFO: it is then provably gone).
"""

from __future__ import annotations

import io
import os
import select
import socket
import struct
from multiprocessing import connection as mpc
from multiprocessing import reduction
from multiprocessing.reduction import ForkingPickler

from . import trace
from .queues import (FRAME_LARGE_SIZE, FRAME_SIZE, Readiness, auto_name, forget_readable, lean_dumps,
                     read_exactly)
from .trace import emit, preview, shown

__all__ = ["Connection", "Pipe"]

_TAG = 0xFF
_UNTRACED_TAG = bytes((_TAG, 0))
_RAW = object()  # "the caller sent bytes, not an object"
_SMALL = 1 << 16  # messages up to this size are read in one piece


class Connection(mpc.Connection):
    """A connection end that reports what it sends and receives."""

    trace_name = "pipe"
    trace_end = "?"
    _last_mid = None
    _trace_readable = _trace_writable = None  # Readiness of the handle, made on first use

    # -- sending

    def send(self, obj):
        """Send a (picklable) object"""
        try:
            self._check_closed()
            self._check_writable()
            dumps = ForkingPickler.dumps if trace._sink is None else lean_dumps
            self._send_bytes(dumps(obj), obj)
        except Exception as exc:
            self._report_error("send", exc)
            raise

    def send_bytes(self, buf, offset=0, size=None):
        """Send the bytes data from a bytes-like object"""
        try:
            super().send_bytes(buf, offset, size)
        except Exception as exc:
            self._report_error("send_bytes", exc)
            raise

    def _send_bytes(self, buf, obj=_RAW):
        if trace._sink is None:
            for chunk in _frame(None, buf)[0]:
                self._send(chunk)
            return
        mid = trace.new_message_id()
        # {"end": ..., "preview": ...}, sent as a cheaper stand-in (see trace.emit)
        detail = (self.trace_end, shown(obj) if obj is not _RAW else _bytes_preview(buf))
        writable = self._trace_writable
        if writable is None:
            writable = self._trace_writable = Readiness(self._handle, select.POLLOUT)
        chunks, total = _frame(mid, buf)
        # Reported before the first byte is written: a receive of `mid` is then never of a
        # message nobody reported sending, even if this process is killed before `message_sent`.
        emit("send_called", self.trace_name, mid, detail)
        t_ns = trace.stamp()  # before the bytes can reach the reader
        sent = writable.write_now(chunks)  # what fits now
        if sent < total:
            emit("send_blocked", self.trace_name, mid, detail)
            t_ns = trace.stamp()  # the reader cannot have the whole message before this
            for chunk in chunks:
                if sent < len(chunk):
                    self._send(chunk[sent:])
                sent = max(sent - len(chunk), 0)
        emit("message_sent", self.trace_name, mid, detail, t_ns=t_ns)

    # -- receiving

    def recv(self):
        """Receive a (picklable) object"""
        try:
            self._check_closed()
            self._check_readable()
            obj = ForkingPickler.loads(self._recv_body())
        except Exception as exc:
            self._report_error("recv", exc)
            raise
        if trace._sink is not None:
            self._report_received(shown(obj))
        return obj

    def recv_bytes(self, maxlength=None):
        """Receive bytes data as a bytes object."""
        try:
            data = super().recv_bytes(maxlength)
        except Exception as exc:
            self._report_error("recv_bytes", exc)
            raise
        if trace._sink is not None:
            self._report_received(_bytes_preview(data))
        return data

    def recv_bytes_into(self, buf, offset=0):
        """Receive bytes data into a writeable bytes-like object. Return the number of bytes read."""
        try:
            size = super().recv_bytes_into(buf, offset)
        except Exception as exc:
            self._report_error("recv_bytes_into", exc)
            raise
        if trace._sink is not None:
            self._report_received(_bytes_preview(memoryview(buf).cast("B")[offset : offset + size]))
        return size

    def _recv_bytes(self, maxsize=None):
        body = self._recv_body(maxsize)
        if body is None:
            return None
        result = io.BytesIO(body)
        result.seek(0, io.SEEK_END)  # callers read the size from the position, as in multiprocessing
        return result

    def _recv_body(self, maxsize=None):
        """The next message's bytes, its tag stripped (its message id kept in `_last_mid`), once
        `recv_blocked` is reported if it has not arrived yet; None if longer than `maxsize`."""
        head = b""
        if trace._sink is not None:
            readable = self._trace_readable
            if readable is None:
                readable = self._trace_readable = Readiness(self._handle, select.POLLIN)
            head = readable.read_now(4)  # the start of the next message, if there is one
            if head is None:
                emit("recv_blocked", self.trace_name, None, {"end": self.trace_end})
                head = b""
        (size,) = FRAME_SIZE.unpack(read_exactly(self._handle, 4, head))
        if size == -1:
            (size,) = FRAME_LARGE_SIZE.unpack(read_exactly(self._handle, 8))
        if size <= _SMALL:
            data = memoryview(read_exactly(self._handle, size))
            if not size or data[0] != _TAG:  # empty, or from a plain multiprocessing peer
                self._last_mid, body = None, data
            else:
                n = data[1]
                self._last_mid, body = (bytes(data[2 : 2 + n]).decode() or None), data[2 + n :]
            return None if maxsize is not None and len(body) > maxsize else body
        head = self._recv(2).getvalue()
        if head[0] != _TAG:
            self._last_mid, body_size = None, size - 2
        else:
            mid = self._recv(head[1]).getvalue() if head[1] else b""
            self._last_mid, body_size = (mid.decode() or None), size - 2 - head[1]
            head = b""
        if maxsize is not None and body_size + len(head) > maxsize:
            return None
        body = self._recv(body_size).getbuffer()
        return head + body if head else body

    # -- closing

    def close(self):
        """Close the connection"""
        was_open = self._handle is not None
        super().close()
        forget_readable(self)
        if was_open:
            emit("connection_closed", self.trace_name, None, {"end": self.trace_end})

    # -- reporting

    def _report_received(self, what):
        emit("message_received", self.trace_name, self._last_mid, (self.trace_end, what))

    def _report_error(self, op: str, exc: Exception):
        emit("connection_error", self.trace_name, None,
             {"end": self.trace_end, "op": op, "error": type(exc).__name__, "reason": str(exc)[:200]})


def _frame(mid: str | None, buf) -> tuple[list, int]:
    """multiprocessing's framing of `buf` (a 4-byte big-endian size, or -1 and 8 bytes) with the
    tag in front of it, as the chunks to write (a small message in one), and their total size."""
    if mid is None:
        tag = _UNTRACED_TAG
    else:
        encoded = mid.encode()
        tag = bytes((_TAG, len(encoded))) + encoded
    n = len(tag) + memoryview(buf).nbytes
    if n > 0x7FFFFFFF:
        return [struct.pack("!iQ", -1, n) + tag, buf], n + 12
    if n > 16384:
        return [struct.pack("!i", n) + tag, buf], n + 4
    return [struct.pack("!i", n) + tag + buf], n + 4


def _bytes_preview(data) -> str:
    """What shows a message sent as bytes: its first bytes."""
    return preview(bytes(memoryview(data)[:48]))


def Pipe(duplex=True):
    """Returns pair of connection objects at either end of a pipe (ends "1" and "2")."""
    if duplex:
        s1, s2 = socket.socketpair()
        s1.setblocking(True)
        s2.setblocking(True)
        c1, c2 = Connection(s1.detach()), Connection(s2.detach())
    else:
        fd1, fd2 = os.pipe()
        c1, c2 = Connection(fd1, writable=False), Connection(fd2, readable=False)
    c1.trace_name = c2.trace_name = auto_name("pipe")
    c1.trace_end, c2.trace_end = "1", "2"
    return c1, c2


def _reduce_connection(conn):
    df = reduction.DupFd(conn.fileno())
    return _rebuild_connection, (df, conn.readable, conn.writable, conn.trace_name, conn.trace_end)


def _rebuild_connection(df, readable, writable, name, end):
    conn = Connection(df.detach(), readable, writable)
    conn.trace_name, conn.trace_end = name, end
    return conn


reduction.register(Connection, _reduce_connection)
