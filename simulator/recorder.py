"""A run recorded in a process of its own, for a caller with a user interface to keep responsive.

`RecordedRun` has `session.Run`'s interface, but the run, its trace collector, its recording and
its deadlock watch live in a recorder process (``python -m simulator.recorder``), which streams
the events to the caller. The caller's only work per event is decoding it: no thread of its own
competes with the caller's other threads for the interpreter while a flood is being recorded.

The stream, on the recorder's stdout: frames of a 4-byte length and a `marshal`-ed tuple,
``("events", count, data, complete_ns)``, `data` the `marshal`-ed event tuples (at most
`FRAME_EVENTS` a frame; what the collector delivered at once goes in frames of which the last
carries the run's `complete_ns` as it was before that delivery, the others None: every event
stamped before then is in that delivery or an earlier one, nearly always; with nothing to
deliver, an empty frame carries `complete_ns` on every `HEARTBEAT_S`), then one
``("finished", outcome, deadlock)``. The caller gets each events frame still encoded, as a
`Frame`: a backlog kept that way is several times smaller than as events.

The recorder reads its stdin: a line ``stop`` stops the run; end of file (its caller is gone,
however it died) stops the run too, which is then recorded to its end (``run_stopped``) before
the recorder exits, if that is quick (see `_stop_on_request`). It runs at its caller's priority,
above the run's processes (see `runner`): it must keep up with what it records.
"""

from __future__ import annotations

import argparse
import marshal
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from itertools import starmap
from pathlib import Path
from typing import Callable, NamedTuple

from ipc.trace import Event

from . import scenario_file
from .scenario import Document
from .session import _PACKAGE_ROOT, Run, default_trace_path

FRAME_EVENTS = 1000  # events per frame: each decodes in well under a millisecond
_LENGTH = struct.Struct("<I")


class Frame(NamedTuple):
    """Events as the recorder sent them, not decoded yet."""

    count: int
    data: bytes  # the event tuples, marshal-ed
    complete_ns: int | None  # on a delivery's last frame (see the stream above), else None

    def events(self) -> list[Event]:
        return list(starmap(Event, marshal.loads(self.data)))


class RecordedRun:
    """A scenario running in real processes, recorded by a recorder process."""

    def __init__(self, document: Document, trace_path: str | os.PathLike | None = None,
                 on_frame: Callable[[Frame], None] | None = None, deadlock_grace: float | None = None):
        """`on_frame(frame)` is called on a thread of its own with each `Frame` of events."""
        self.document = document
        self.trace_path = Path(trace_path) if trace_path else default_trace_path(document)
        self._on_frame = on_frame
        self._grace = deadlock_grace
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self.deadlock: dict | None = None
        self.outcome: str | None = None
        self.started_ns = 0

    def start(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            scenario_path = Path(f.name)
        scenario_file.save(self.document, scenario_path)
        self.started_ns = time.monotonic_ns()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "simulator.recorder", str(scenario_path), str(self.trace_path),
                   "--started-ns", str(self.started_ns)]
        if self._grace is not None:
            command += ["--deadlock-grace", str(self._grace)]
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._reader = threading.Thread(target=self._read, args=(scenario_path,), name="recorder-reader",
                                        daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def request_stop(self, reason: str = "stopped") -> None:
        """Ask the recorder to stop the run (never blocks)."""
        if self.outcome is None and self._proc is not None:
            try:
                os.write(self._proc.stdin.fileno(), b"stop\n")
            except OSError:
                pass  # the recorder has ended already

    def wait(self) -> str:
        """Wait for the run to end and its recording to be complete; returns the outcome."""
        self._reader.join()
        self._proc.wait()
        self._proc.stdin.close()
        return self.outcome

    def _read(self, scenario_path: Path) -> None:
        stream = self._proc.stdout
        outcome = "failed"  # unless the recorder says otherwise before its stream ends
        try:
            while len(header := stream.read(_LENGTH.size)) == _LENGTH.size:
                size = _LENGTH.unpack(header)[0]
                body = stream.read(size)
                if len(body) < size:
                    break  # the recorder died mid-frame
                frame = marshal.loads(body)
                if frame[0] == "events":
                    if self._on_frame is not None:
                        self._on_frame(Frame(*frame[1:]))
                else:
                    _, outcome, self.deadlock = frame
        finally:
            stream.close()
            scenario_path.unlink(missing_ok=True)
            self.outcome = outcome


# --------------------------------------------------------------------------- the recorder process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.recorder", description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("trace")
    parser.add_argument("--started-ns", type=int, required=True)
    parser.add_argument("--deadlock-grace", type=float)
    args = parser.parse_args(argv)
    sender = _Sender(os.fdopen(os.dup(sys.stdout.fileno()), "wb"))  # the stream is ours alone:
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything printed goes to stderr
    sys.stdout = sys.stderr
    run = Run(scenario_file.load(args.scenario), args.trace,
              on_events=lambda events: sender.events(events, run.complete_ns),  # (the look before)
              deadlock_grace=args.deadlock_grace, started_ns=args.started_ns)
    run.start()
    threading.Thread(target=_stop_on_request, args=(run,), name="stop-requests", daemon=True).start()
    threading.Thread(target=_heartbeat, args=(run, sender), name="heartbeat", daemon=True).start()
    outcome = run.wait()
    sender.finished(outcome, run.deadlock)
    return 0


class _Sender:
    """The recorder's stream: each delivery's frames written together, one writer at a time."""

    def __init__(self, out):
        self._out = out
        self._lock = threading.Lock()
        self.complete_ns = 0  # as the latest delivery said
        self.finished_sent = False

    def events(self, events: list[Event], complete_ns: int) -> None:
        with self._lock:
            if self.finished_sent:
                return
            for i in range(0, max(len(events), 1), FRAME_EVENTS):
                chunk = [tuple(e) for e in events[i:i + FRAME_EVENTS]]
                last = i + FRAME_EVENTS >= len(events)
                self._write(("events", len(chunk), marshal.dumps(chunk), complete_ns if last else None))
            self.complete_ns = max(self.complete_ns, complete_ns)

    def finished(self, outcome: str, deadlock: dict | None) -> None:
        with self._lock:
            self._write(("finished", outcome, deadlock))
            self.finished_sent = True

    def _write(self, frame: tuple) -> None:
        data = marshal.dumps(frame)
        self._out.write(_LENGTH.pack(len(data)) + data)
        self._out.flush()


HEARTBEAT_S = 0.02  # with no event to send, how complete the run is goes on this often


def _heartbeat(run: Run, sender: _Sender) -> None:
    """Tell the caller how far the run is complete when there are no events to say it with, so
    that it tells a quiet run from a recording held up (on a busy machine this process can be
    kept waiting for seconds) and folds events in as far as that, never further."""
    while not sender.finished_sent:
        time.sleep(HEARTBEAT_S)
        complete_ns = run.complete_ns
        if complete_ns > sender.complete_ns:
            sender.events([], complete_ns)


ORPHANED_EXIT_S = 0.8  # with its caller gone, the recorder is gone this soon, finished or not


def _stop_on_request(run: Run) -> None:
    """Stop the run at a ``stop`` line, or when the caller is gone (end of file). Then nobody
    waits for the recording: it is finished if that takes under `ORPHANED_EXIT_S` (it usually
    does), else left cut short, which `recording.read_trace` reads as it is."""
    for line in sys.stdin:
        if line.strip() == "stop":
            run.request_stop()
            return
    run.request_stop()
    time.sleep(ORPHANED_EXIT_S)
    os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
