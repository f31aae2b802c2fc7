"""Recording a run's trace to disk as it happens, and reading it back.

``.ipctrace`` is JSON Lines: a header object, then one event per line as a compact array::

    {"format": "ipcsim-trace", "version": 1, "started_ns": 123, "scenario": {...scenario file...}}
    [t_ns, pid, seq, process, kind, object, message, detail]
    ...

Lines are appended and flushed in batches as the collector delivers them, so a run cut short
(Stop, a crash, a kill) leaves a readable file: the reader ignores an unfinished last line.

``--jsonl`` output uses one self-describing object per line instead (fields in the README), with
``t_ns`` counted from the start of the run.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ipc.trace import Event

from . import scenario_file
from .event_store import EventStore
from .fold import Timeline, apply
from .scenario import Document
from .snapshot import initial_snapshot

FORMAT = "ipcsim-trace"
VERSION = 1


class TraceError(ValueError):
    """A trace file that cannot be read; the message names the line and the reason."""


@dataclass
class Recording:
    document: Document
    started_ns: int
    timeline: Timeline  # its events folded (which is how reading it checked they replay)

    @property
    def events(self) -> EventStore:
        """In time order: sorted by (t_ns, pid, seq)."""
        return self.timeline.events


def _event_encoder():
    """An event's line, as ``json.dumps(event, separators=(",", ":"))`` writes it. json's C
    encoder made once and kept, where each `dumps` makes one: 1.6 us an event instead of 2.9
    (a flood's recorder writes 100,000 a second, on the cores the run needs)."""
    encoder = json.JSONEncoder(separators=(",", ":"))
    make = json.encoder.c_make_encoder
    if make is None:  # a Python built without json's accelerator
        return encoder.encode
    encode = make(None, encoder.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    return lambda event: "".join(encode(event, 0))


_encode = _event_encoder()


class TraceWriter:
    """Appends events to an ``.ipctrace`` file (and optionally a JSON Lines file) as they come."""

    def __init__(self, path: str | os.PathLike, document: Document, started_ns: int,
                 jsonl: str | os.PathLike | None = None):
        self.started_ns = started_ns
        self._lock = threading.Lock()
        self._file: IO[str] = open(path, "w", encoding="utf-8")
        header = {"format": FORMAT, "version": VERSION, "started_ns": started_ns,
                  "scenario": scenario_file.to_dict(document)}
        self._file.write(json.dumps(header) + "\n")
        self._file.flush()
        self._jsonl: IO[str] | None = open(jsonl, "w", encoding="utf-8") if jsonl else None

    def write(self, events: list[Event]) -> None:
        if not events:
            return
        lines = "\n".join(map(_encode, events)) + "\n"  # an event is a tuple: a JSON array
        with self._lock:
            if self._file.closed:
                return
            self._file.write(lines)
            self._file.flush()
            if self._jsonl is not None:
                self._jsonl.write("".join(json.dumps(jsonl_record(e, self.started_ns)) + "\n" for e in events))
                self._jsonl.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
            if self._jsonl is not None:
                self._jsonl.close()


def jsonl_record(e: Event, started_ns: int) -> dict[str, Any]:
    return {"t_ns": e.t_ns - started_ns, "pid": e.pid, "seq": e.seq, "process": e.process,
            "kind": e.kind, "object": e.object, "message": e.message, "detail": e.detail}


def read_trace(path: str | os.PathLike) -> Recording:
    """Read an ``.ipctrace`` and fold it, refusing (`TraceError`, naming the line) what the replay
    could not use. The file is read a chunk of lines at a time and folded into a `Timeline`, whose
    store keeps the events compactly, so opening a long run takes about the memory the window that
    recorded it held, not its text and an object per event; a file written by a live run is in
    arrival order, nearly time order (see `_add`)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            lines = _lines(path, f)
            n, text = next(lines, (0, ""))
            if not text:
                raise TraceError(f"{path}: empty file")
            if len(text) > scenario_file.MAX_BYTES:
                raise TraceError(f"{path}: line {n}: the header is larger than "
                                 f"{scenario_file.MAX_BYTES // 1024 // 1024} MiB")
            document, started = _header(path, n, _parse(path, n, text))
            timeline = Timeline(document.scenario)
            chunk: list[tuple[Event, int]] = []
            for n, line in lines:
                chunk.append((_event(path, n, _parse(path, n, line)), n))
                if len(chunk) == READ_CHUNK:
                    chunk = _add(path, timeline, chunk, keep=READ_CHUNK // 4)
            _add(path, timeline, chunk, keep=0)
    except OSError as exc:
        raise TraceError(f"{path}: {exc}") from None
    return Recording(document, started, timeline)


READ_CHUNK = 8192  # lines parsed, then sorted and folded (but the newest quarter), at a time


def _lines(path: Path, f: IO[bytes]):
    """The file's non-empty lines, numbered from 1, but a last one the run never finished writing."""
    for n, raw in enumerate(f, start=1):
        if not raw.endswith(b"\n"):
            return
        if raw != b"\n":
            try:
                yield n, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TraceError(f"{path}: line {n}: {exc}") from None


def _header(path: Path, n: int, header) -> tuple[Document, int]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceError(f"{path}: line {n}: not an ipcsim trace (format must be {FORMAT!r})")
    if header.get("version") != VERSION:
        raise TraceError(f"{path}: line {n}: version {header.get('version')!r} is not supported ({VERSION})")
    started = header.get("started_ns")
    if not isinstance(started, int):
        raise TraceError(f"{path}: line {n}: started_ns must be an integer")
    try:
        return scenario_file.from_dict(header.get("scenario"), f"{path}: scenario"), started
    except scenario_file.ScenarioError as exc:
        raise TraceError(str(exc)) from None


def _add(path: Path, timeline: Timeline, chunk: list[tuple[Event, int]], keep: int) -> list[tuple[Event, int]]:
    """Fold `chunk`'s events (each with its line) into `timeline`, but the newest `keep`, which
    it returns to go with the next lines: a file is in the order the recorder received events,
    nearly time order. Refuses an event that repeats another's (t_ns, pid, seq), or that the fold
    cannot use. As in a live run, one that lands before events already folded (lines further
    out of order) is sorted into its place and folded again from there."""
    chunk.sort(key=lambda en: en[0][:3])  # (t_ns, pid, seq): see `sort_key`
    store, previous = timeline.events, None
    last = store.time(-1) if len(store) else None
    for e, n in chunk:
        key = e[:3]
        if key == previous or (last is not None and e.t_ns <= last and any(
                store[j][:3] == key for j in range(store.count_before(e.t_ns), store.count_until(e.t_ns)))):
            raise TraceError(f"{path}: line {n}: repeats another event's t_ns, pid and seq")
        previous = key
    ready = len(chunk) - keep
    try:
        timeline.extend([e for e, _ in chunk[:ready]])
    except Exception:  # noqa: BLE001 - any failure of the fold means a damaged event
        _refuse_unreplayable(path, timeline)  # (folds again, to find it)
        raise
    return chunk[ready:]


def _refuse_unreplayable(path: Path, timeline: Timeline) -> None:
    """Refuse, naming its line, the first event whose details have a shape the fold cannot use."""
    snap = initial_snapshot(timeline.scenario)
    for e in timeline.events:
        try:
            apply(snap, e)
        except Exception as exc:  # noqa: BLE001 - any failure of the fold means a damaged event
            raise TraceError(f"{path}: line {_line_of(path, e)}: a {e.kind!r} event the replay cannot use "
                             f"({type(exc).__name__}: {exc})"[:500]) from None


def _line_of(path: Path, event: Event) -> int:
    """The number of the line that holds `event` (read again: only to name it in an error)."""
    with open(path, "rb") as f:
        lines = _lines(path, f)
        next(lines)  # the header
        return next(n for n, line in lines if _parse(path, n, line)[:3] == list(event[:3]))


def _parse(path: Path, n: int, line: str):
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise TraceError(f"{path}: line {n}: not JSON ({exc})") from None


_FIELD_TYPES = (int, int, int, str, str, (str, type(None)), (str, type(None)), (dict, type(None)))


def _event(path: Path, n: int, record) -> Event:
    if record.__class__ is list and len(record) == 8:  # (what JSON gives: exact types, bool not int)
        t_ns, pid, seq, process, kind, obj, msg, detail = record
        if (t_ns.__class__ is int and pid.__class__ is int and seq.__class__ is int
                and process.__class__ is str and kind.__class__ is str
                and (obj is None or obj.__class__ is str) and (msg is None or msg.__class__ is str)
                and (detail is None or detail.__class__ is dict)):
            return Event(t_ns, pid, seq, process, kind, obj, msg, detail)
    if not isinstance(record, list) or len(record) != 8:
        raise TraceError(f"{path}: line {n}: an event is an array of 8 fields")
    for name, value, types in zip(Event._fields, record, _FIELD_TYPES):
        if not isinstance(value, types) or isinstance(value, bool):
            raise TraceError(f"{path}: line {n}: field {name!r} has the wrong type")
    return Event(*record)
