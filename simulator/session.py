"""One run of a scenario, seen from the program that asked for it (the GUI or the command line).

`Run` starts the runner (`simulator.runner`) in its own process group with a trace collector,
records every event to an ``.ipctrace`` file as it arrives, and ends the run in any state: Stop
kills the whole process tree at once. Nothing here blocks on the run except `Run.wait` (and
`Run.stop`, which is `request_stop` then `wait`); a GUI calls `wait` on a thread of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from ipc.trace import Collector, Event

from . import lifeline, scenario_file
from .recording import TraceWriter
from .scenario import Document

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def default_trace_path(document: Document) -> Path:
    """Where a run is recorded unless told otherwise: the user's cache, one file per run."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ipcsim" / "runs"
    base.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in document.scenario.title.lower())[:40].strip("-")
    return base / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug or 'run'}.ipctrace"


class Run:
    """A scenario running in real processes. Call `start`, then `wait` or `stop`."""

    def __init__(self, document: Document, trace_path: str | os.PathLike | None = None,
                 jsonl: str | os.PathLike | None = None,
                 on_events: Callable[[list[Event]], None] | None = None):
        self.document = document
        self.trace_path = Path(trace_path) if trace_path else default_trace_path(document)
        self._jsonl = jsonl
        self._on_events = on_events
        self._proc: subprocess.Popen | None = None
        self._stop_reason: str | None = None
        self.outcome: str | None = None  # "finished", "failed", "stopped", "timeout"
        self.started_ns = 0

    # -- control

    def start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ipcsim-run-")
        scenario_path = Path(self._tmp.name) / "scenario.json"
        scenario_file.save(self.document, scenario_path)
        self.started_ns = time.monotonic_ns()
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

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None


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
        if self._on_events is not None:
            self._on_events(events)

    def _finish(self, outcome: str, code: int) -> str:
        if self.outcome is not None:
            return self.outcome
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
