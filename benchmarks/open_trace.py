"""Opening a recorded trace: the time it takes, and the memory it needs per event.

    python benchmarks/open_trace.py [--events 1000000] [--window]

Writes a synthetic trace of N events (benchmarks/fold_seek.py's run shape) with the recorder's
own `TraceWriter`, in the order a recorder writes them (its collector reads each process's ring
in turn, about once a millisecond: within each millisecond, events grouped by process), then, in
a fresh interpreter, opens it the way `ipcsim export-trace` and the window's replay do:
`read_trace`, which reads it into the compact event store and folds it (a `Timeline`: that is
how it checks every event replays). Prints the time that takes and the peak resident memory
above the interpreter's before opening, per event. With ``--window`` (and
``QT_QPA_PLATFORM=offscreen``), the main window opens it instead, as File > Open trace does:
the time until it shows the trace, and how much more resident memory the window holds then.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fold_seek import scenario, synthetic_events  # noqa: E402
from simulator.recording import TraceWriter, read_trace  # noqa: E402
from simulator.scenario import Document  # noqa: E402


def write_trace(path: Path, n: int) -> None:
    events = synthetic_events(n)
    events.sort(key=lambda e: (e.t_ns // 1_000_000, e.pid, e.seq))  # as a collector's looks deliver them
    writer = TraceWriter(path, Document(scenario()), events[0].t_ns)
    for i in range(0, len(events), 5000):
        writer.write(events[i:i + 5000])
    writer.close()


def memory_mib(field: str) -> float:
    """A figure of this process's memory from Linux's /proc/self/status: "VmRSS" (resident now) or
    "VmHWM" (its peak: unlike ru_maxrss, not carried over from the parent across exec)."""
    return int(Path("/proc/self/status").read_text().split(f"{field}:")[1].split()[0]) / 1024  # (kB)


def measure(path: Path) -> None:
    """Runs in a fresh interpreter: open the trace, print one line of figures."""
    before = memory_mib("VmHWM")
    start = time.perf_counter()
    recording = read_trace(path)
    read_s = time.perf_counter() - start
    n = len(recording.events)
    grown = memory_mib("VmHWM") - before
    print(f"{n:,} events read and folded in {read_s:.1f} s ({n / read_s:,.0f} events/s); "
          f"peak memory +{grown:,.0f} MiB = {grown * 2 ** 20 / n:,.0f} B/event")


def measure_window(path: Path) -> None:
    """Runs in a fresh interpreter: the main window opens the trace."""
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication([])
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    before = memory_mib("VmRSS")
    start = time.perf_counter()
    window.open_trace(path)
    app.processEvents()
    took = time.perf_counter() - start
    n = len(window.controller.timeline)
    grown = memory_mib("VmRSS") - before
    print(f"the window opened {n:,} events in {took:.1f} s; resident memory +{grown:,.0f} MiB "
          f"= {grown * 2 ** 20 / n:,.0f} B/event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--window", action="store_true", help="open it in the main window")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # (the fresh interpreter)
    args = parser.parse_args()
    if args.measure:
        (measure_window if args.window else measure)(args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.ipctrace"
        write_trace(path, args.events)
        print(f"trace file: {path.stat().st_size / 2 ** 20:,.0f} MiB, {args.events:,} events")
        subprocess.run([sys.executable, __file__, "--measure", str(path), *(["--window"] * args.window)],
                       check=True, env={**os.environ, "PYTHONHASHSEED": "0"})


if __name__ == "__main__":
    main()
