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
from .fold import apply, sort_key
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
    events: list[Event]  # sorted by (t_ns, pid, seq)


_encode = json.JSONEncoder(separators=(",", ":")).encode


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
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: {exc}") from None
    lines = text.split("\n")
    if lines and lines[-1] != "":
        lines[-1] = ""  # a last line the run never finished writing
    lines = [line for line in lines if line]
    if not lines:
        raise TraceError(f"{path}: empty file")
    if len(lines[0]) > scenario_file.MAX_BYTES:
        raise TraceError(f"{path}: line 1: the header is larger than {scenario_file.MAX_BYTES // 1024 // 1024} MiB")
    header = _parse(path, 1, lines[0])
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceError(f"{path}: line 1: not an ipcsim trace (format must be {FORMAT!r})")
    if header.get("version") != VERSION:
        raise TraceError(f"{path}: line 1: version {header.get('version')!r} is not supported ({VERSION})")
    started = header.get("started_ns")
    if not isinstance(started, int):
        raise TraceError(f"{path}: line 1: started_ns must be an integer")
    try:
        document = scenario_file.from_dict(header.get("scenario"), f"{path}: scenario")
    except scenario_file.ScenarioError as exc:
        raise TraceError(str(exc)) from None
    numbered = [(_event(path, n, _parse(path, n, line)), n) for n, line in enumerate(lines[1:], start=2)]
    numbered.sort(key=lambda en: sort_key(en[0]))
    _check_replayable(path, document, numbered)
    return Recording(document, started, [e for e, _ in numbered])


def _check_replayable(path: Path, document: Document, numbered: list[tuple[Event, int]]) -> None:
    """Refuse, naming the line, what the fold could not replay: two events with the same
    (t_ns, pid, seq) (a repeated line), or an event whose details have the wrong shape."""
    snap = initial_snapshot(document.scenario)
    previous = None
    for e, n in numbered:
        key = sort_key(e)
        if key == previous:
            raise TraceError(f"{path}: line {n}: repeats another event's t_ns, pid and seq")
        previous = key
        try:
            apply(snap, e)
        except Exception as exc:  # noqa: BLE001 - any failure of the fold means a damaged event
            raise TraceError(f"{path}: line {n}: a {e.kind!r} event the replay cannot use "
                             f"({type(exc).__name__}: {exc})"[:500]) from None


def _parse(path: Path, n: int, line: str):
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise TraceError(f"{path}: line {n}: not JSON ({exc})") from None


_FIELD_TYPES = (int, int, int, str, str, (str, type(None)), (str, type(None)), (dict, type(None)))


def _event(path: Path, n: int, record) -> Event:
    if not isinstance(record, list) or len(record) != 8:
        raise TraceError(f"{path}: line {n}: an event is an array of 8 fields")
    for name, value, types in zip(Event._fields, record, _FIELD_TYPES):
        if not isinstance(value, types) or isinstance(value, bool):
            raise TraceError(f"{path}: line {n}: field {name!r} has the wrong type")
    return Event(*record)
