"""One run of a scenario, seen from the program that asked for it (the GUI or the command line).

`Run` starts the runner (`simulator.runner`) in its own process group with a trace collector,
records every event to an ``.ipctrace`` file as it arrives, and ends the run in any state: Stop
kills the whole process tree at once. Nothing here blocks on the run except `Run.wait` (and
`Run.stop`, which is `request_stop` then `wait`); a GUI calls `wait` on a thread of its own.

With `deadlock_grace`, the run is followed live through the fold: once `deadlock.deadlock` has
held for that many seconds with no new event, the run records ``deadlock_detected`` (detail
``blocked``: each blocked process, the operation it is in and what it waits on) and is stopped
with the outcome ``"deadlock"``, instead of hanging until someone stops it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from ipc.trace import Collector, Event

from . import lifeline, scenario_file
from .deadlock import deadlock, describe
from .event_store import seal, unseal
from .fold import Timeline
from .recording import TraceWriter
from .scenario import Document, Scenario

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


RUNS_KEPT_BYTES = 1 << 30  # the runs folder is a cache: the oldest recordings beyond this go
RUNS_KEPT_FRESH_S = 60.0  # ... but never one written to this recently (it may still be recording)


def default_trace_path(document: Document) -> Path:
    """Where a run is recorded unless told otherwise: the user's cache, a new file per run (the
    name claimed as the file is made: runs started within the same second get a number). It is
    a cache: the oldest recordings there are deleted once all take more than `RUNS_KEPT_BYTES`
    (a run worth keeping is saved elsewhere: File > Save Trace As, or ``run --trace``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ipcsim" / "runs"
    base.mkdir(parents=True, exist_ok=True)
    prune_runs(base, RUNS_KEPT_BYTES)
    slug = "".join(c if c.isalnum() else "-" for c in document.scenario.title.lower())[:40].strip("-")
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug or 'run'}"
    for n in itertools.count(1):
        path = base / (f"{stem}.ipctrace" if n == 1 else f"{stem}-{n}.ipctrace")
        try:
            path.touch(exist_ok=False)
            return path
        except FileExistsError:
            continue


def prune_runs(folder: Path, keep_bytes: int) -> None:
    """Delete the oldest recordings in `folder` until the rest take at most `keep_bytes`, but
    none written to in the last `RUNS_KEPT_FRESH_S` seconds."""
    runs = []
    for path in folder.glob("*.ipctrace"):
        try:
            st = path.stat()
        except OSError:  # (deleted meanwhile)
            continue
        runs.append((st.st_mtime, st.st_size, path))
    total = sum(size for _, size, _ in runs)
    fresh = time.time() - RUNS_KEPT_FRESH_S
    for mtime, size, path in sorted(runs):
        if total <= keep_bytes or mtime > fresh:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError:  # not ours to delete: leave it
            continue
        total -= size


class Run:
    """A scenario running in real processes. Call `start`, then `wait` or `stop`."""

    def __init__(self, document: Document, trace_path: str | os.PathLike | None = None,
                 jsonl: str | os.PathLike | None = None,
                 on_events: Callable[[list[Event]], None] | None = None,
                 deadlock_grace: float | None = None, started_ns: int | None = None):
        self.document = document
        self.trace_path = Path(trace_path) if trace_path else default_trace_path(document)
        self._jsonl = jsonl
        self._on_events = on_events
        self._proc: subprocess.Popen | None = None
        self._stop_reason: str | None = None
        self._lock = threading.Lock()  # between finishing the run and noting a deadlock
        self._finishing = False
        self._watch = _DeadlockWatch(document.scenario, deadlock_grace) if deadlock_grace is not None else None
        self.deadlock: dict | None = None  # the deadlock_detected event's detail
        self.outcome: str | None = None  # "finished", "failed", "stopped", "timeout", "deadlock"
        self.started_ns = started_ns or 0  # given: the moment the caller asked for the run

    # -- control

    def start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ipcsim-run-")
        scenario_path = Path(self._tmp.name) / "scenario.json"
        scenario_file.save(self.document, scenario_path)
        self.started_ns = self.started_ns or time.monotonic_ns()
        self._writer = TraceWriter(self.trace_path, self.document, self.started_ns, self._jsonl)
        self._collector = Collector(on_events=self._received)
        self._collector.note("run_started", None, {"start_method": self.document.scenario.start_method},
                             t_ns=self.started_ns)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self._stderr = open(Path(self._tmp.name) / "runner.stderr", "w+")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "simulator.runner", str(scenario_path), self._collector.address],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr,
            start_new_session=True, env=env, cwd=self._tmp.name,
        )
        if self._watch is not None:
            threading.Thread(target=self._watch_for_deadlock, name="deadlock-watch", daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def complete_ns(self) -> int:
        """Events the run's processes published before this moment have been received (see
        `ipc.trace.Collector.complete_ns`)."""
        return self._collector.complete_ns

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the run to end (by itself, or stopped); after `timeout` seconds, stop it.
        Then finish the recording. Returns the outcome."""
        try:
            code = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.stop("timeout")
        outcome = self._stop_reason or ("finished" if code == 0 else "failed")
        return self._finish(outcome, code)

    def request_stop(self, reason: str = "stopped") -> None:
        """Kill every process of the run at once, whatever it is doing. Never blocks: the
        thread in `wait` then finishes the run with `reason` as its outcome."""
        if self.outcome is None and self._stop_reason is None:
            self._stop_reason = reason
            lifeline.kill_group(self._proc.pid)

    def stop(self, reason: str = "stopped") -> str:
        """Kill every process of the run and finish it; returns the outcome."""
        self.request_stop(reason)
        return self.wait()

    # -- internals

    def _received(self, events: list[Event]) -> None:
        self._writer.write(events)
        if self._watch is not None:
            self._watch.add(events)
        if self._on_events is not None:
            self._on_events(events)

    def _watch_for_deadlock(self) -> None:
        while True:
            time.sleep(min(0.1, self._watch.grace / 2))
            found = self._watch.check(self._collector.quiet_ns())
            with self._lock:
                if self._finishing or self._stop_reason is not None:
                    return
                if found is not None:
                    self.deadlock = found
                    self._collector.note("deadlock_detected", None, found)
                    self.request_stop("deadlock")
                    return

    def _finish(self, outcome: str, code: int) -> str:
        if self.outcome is not None:
            return self.outcome
        with self._lock:
            self._finishing = True
        lifeline.kill_group(self._proc.pid)  # sweep whatever the runner left behind
        self._proc.stdin.close()
        self._collector.wait_streams_ended(2.0)  # dead processes' last events are still in the kernel
        detail = {"reason": outcome, "exitcode": code}
        if outcome == "failed":
            self._stderr.seek(0)
            detail["stderr"] = self._stderr.read()[-4000:]
        self._collector.note("run_stopped", None, detail)
        self._collector.close()
        self._writer.close()
        self._stderr.close()
        self._tmp.cleanup()
        self.outcome = outcome
        return outcome


class _DeadlockWatch:
    """The run's events, folded once they stop coming: a deadlock needs `grace` seconds in which
    the collector looked and found no event (a recorder held up is not a quiet run), so a flood is
    only stored here, never folded while it lasts; stored compactly (`event_store.seal`, by this
    thread, not the collector's), since a flood may be long."""

    SEAL_AT = 20_000  # events held as objects (~400 B each) before they are sealed

    def __init__(self, scenario: Scenario, grace: float):
        self.grace = grace
        self._timeline = Timeline(scenario)
        self._lock = threading.Lock()
        self._added = 0  # events added so far
        self._unfolded: list[Event] = []
        self._sealed: list[bytes] = []  # older unfolded events
        self._broken = False  # the fold failed on an event: stop watching, keep recording

    def add(self, events: list[Event]) -> None:
        with self._lock:
            self._added += len(events)
            if not self._broken:
                self._unfolded.extend(events)

    def check(self, quiet_ns: int) -> dict | None:
        """The deadlock_detected detail, once a deadlock has held for `grace` with no event;
        `quiet_ns`: how long the collector has found none (`Collector.quiet_ns`)."""
        with self._lock:
            if self._broken:
                return None
            quiet = quiet_ns >= self.grace * 1e9
            if not quiet and len(self._unfolded) < self.SEAL_AT:
                return None
            events, self._unfolded, added = self._unfolded, [], self._added
        if not quiet:
            self._sealed.append(seal(events))
            return None
        try:  # only this thread folds; the collector's may go on adding meanwhile
            for block in self._sealed:  # (one at a time: a long flood's are many)
                self._timeline.extend(unseal(block))
            self._sealed.clear()
            self._timeline.extend(events)
        except Exception:  # noqa: BLE001 - never let watching break the recording
            self._broken = True
            return None
        snap = self._timeline.state_at(self._timeline.end_ns, shared=True)
        blocked = deadlock(snap)
        with self._lock:
            if blocked is None or self._added != added:  # an event came: it is not stuck
                return None
        return {"blocked": describe(snap, blocked)}
