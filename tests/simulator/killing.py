"""Cutting a lesson's run short at a chosen moment, in one of four ways, and checking what is
left: used by `test_kills.py` (each lesson once), `tests/ui/test_gui_kill.py` (the GUI way, a
sample of lessons) and `benchmarks/kills.py` (every lesson, every way, many moments).

Ways: ``stop`` (`Run.request_stop`, the Stop button), ``runner`` (SIGKILL of the runner process),
``caller`` (SIGKILL of the program that started the run: ``python -m ui.main run LESSON
--headless`` in its own session, as a GUI would be killed), and ``gui`` (SIGKILL of the real
application, ``python -m ui.main LESSON --run`` offscreen in its own session, recording to the
trace file it chooses under its own ``XDG_CACHE_HOME``). The moment counts from the run's start:
the first line of the JSON Lines output for ``caller``, the runner process appearing for ``gui``.

Just before the cut, every process descending from the run's caller is listed from /proc, with
the /dev/shm objects each has mapped. Afterwards: none of those processes is alive after 1 s, none
of those /dev/shm names exists any more, and the trace (cut short or finished) loads with
`read_trace` and folds to a final snapshot.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulator import scenario_file
from simulator.fold import Timeline
from simulator.lifeline import process_alive
from simulator.recording import read_trace
from simulator.session import Run

ROOT = Path(__file__).resolve().parents[2]
WAYS = ("stop", "runner", "caller")  # test_kills.py takes them in turn
GUI = "gui"
RUNNER_MODULE = b"simulator.runner"


def _stat(pid: int):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> set[int]:
    """`root` and every live process below it (ppid chains read from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st is not None and st[0] != "Z":
                children.setdefault(int(st[1]), []).append(int(d))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.add(pid)
            todo += children.get(pid, [])
    return out


def shm_names(pids) -> set[str]:
    """The /dev/shm objects the processes have mapped (named semaphores, shared memory)."""
    names = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    m = re.search(r"/dev/shm/(\S+)", line)
                    if m:
                        names.add(m.group(1))
        except OSError:
            pass
    return names


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _command(pid: int) -> str:
    return f"{pid}: " + (_cmdline(pid).replace(b"\0", b" ").decode(errors="replace")[:160] or "?")


def start_gui(lesson: Path, folder: Path) -> tuple[subprocess.Popen, Path]:
    """Start the application on `lesson`, running it at once, offscreen, in its own session,
    with its own cache and settings under `folder`; return it once its runner exists, with the
    folder where it records the run's trace."""
    home = Path(tempfile.mkdtemp(prefix=f"{lesson.stem[:2]}-gui-", dir=folder))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(home / "cache"),
           "XDG_CONFIG_HOME": str(home / "config")}
    proc = subprocess.Popen([sys.executable, "-m", "ui.main", str(lesson), "--run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(RUNNER_MODULE in _cmdline(p) for p in descendants(proc.pid) - {proc.pid}):
            break
        time.sleep(0.02)
    return proc, home / "cache" / "ipcsim" / "runs"


def wait_dead(pids, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        alive = [p for p in pids if process_alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def wait_gone(names, within: float) -> list[str]:
    deadline = time.monotonic() + within
    while True:
        left = sorted(n for n in names if os.path.exists(f"/dev/shm/{n}"))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


@dataclass
class Cut:
    lesson: str
    way: str
    at: float
    pids: set[int] = field(default_factory=set)
    shm: set[str] = field(default_factory=set)
    alive_after_1s: list[int] = field(default_factory=list)
    shm_left: list[str] = field(default_factory=list)
    events: int = 0
    trace_error: str | None = None
    outcome: str | None = None

    left_commands: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.alive_after_1s and not self.shm_left and self.trace_error is None


def cut(lesson: Path, way: str, at: float, folder: Path) -> Cut:
    """Run `lesson`, cut it short `at` seconds after it started, by `way`; report what is left."""
    result = Cut(lesson.stem, way, at)
    trace = folder / f"{lesson.stem}-{way}.ipctrace"
    if way == GUI:
        proc, runs = start_gui(lesson, folder)
        root = proc.pid
    elif way == "caller":
        jsonl = folder / f"{lesson.stem}.jsonl"
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.main", "run", str(lesson), "--headless", "--timeout", "60",
             "--jsonl", str(jsonl), "--trace", str(trace)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
        root = proc.pid
        deadline = time.monotonic() + 30  # `at` counts from the run's start, not the program's
        while time.monotonic() < deadline and not (jsonl.exists() and jsonl.stat().st_size):
            time.sleep(0.02)
    else:
        run = Run(scenario_file.load(lesson), trace)
        run.start()
        root = run.pid
        waiter = threading.Thread(target=run.wait, args=(60,), daemon=True)  # as the GUI waits
        waiter.start()
    try:
        time.sleep(at)
        result.pids = descendants(root)
        result.shm = shm_names(result.pids)
        if way == "stop":
            run.request_stop()
        else:
            try:
                os.kill(root, signal.SIGKILL)
            except ProcessLookupError:
                pass  # the run had already ended
        result.alive_after_1s = wait_dead(result.pids, 1.0)
        result.left_commands = [_command(p) for p in result.alive_after_1s]
        result.shm_left = wait_gone(result.shm, 1.0)
    finally:
        if way in ("caller", GUI):
            proc.kill()
            proc.wait()
        else:
            waiter.join(30)
            result.outcome = run.outcome
    if way == GUI:
        traces = list(runs.glob("*.ipctrace"))
        if len(traces) != 1:
            result.trace_error = f"{len(traces)} traces recorded in {runs}, not 1"
            return result
        trace = traces[0]
    try:
        recording = read_trace(trace)
        Timeline(recording.document.scenario, recording.events).final()
        result.events = len(recording.events)
    except Exception as exc:  # noqa: BLE001 - reported, and the test fails on it
        result.trace_error = f"{type(exc).__name__}: {exc}"
    return result


def assert_nothing_left(result, at: float) -> None:
    """What every way of cutting a run must leave: no process 1 s later, nothing in /dev/shm, a
    trace that loads and holds events."""
    assert result.alive_after_1s == [], f"processes left 1 s after the cut at {at:.2f} s: {result.left_commands}"
    assert result.shm_left == [], "left in /dev/shm"
    assert result.trace_error is None
    assert result.events > 0
