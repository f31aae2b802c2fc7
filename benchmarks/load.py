"""50 processes x 10,000 messages in the real window: the run goes to its end, the window stays
responsive, and the memory each recorded event takes is measured.

    QT_QPA_PLATFORM=offscreen python benchmarks/load.py [--producers 50] [--items 10000]
                                         [--queues 5] [--consumers 10] [--timeout 1800]

The scenario (start method fork, main's default steps): `producers` producer processes each put
`items` small items ('0', '1', ...) on one of `queues` unbounded queues, in turn; `consumers`
consumer processes, spread over the queues the same way, each get exactly their share (a
``count`` loop), so the run ends by itself once every message has been got. By default 50
producers x 10,000 items = 500,000 messages (10 consumers besides: 60 processes and main); each
message makes 4 events (its put, its get, and the line each of them prints).

For a long run at a smaller scale, one producer, queue and consumer at about 10,000 events/s
(``--producers 1 --queues 1 --consumers 1 --items 600000 --interval 0.0005``: 3.6 M events, six
per item with the producer's sleep, a tenth of an hour) shows what the window keeps per event;
the script extrapolates both processes' memory to an hour at 10,000 events/s from what it
measured.

The scenario runs in the real `MainWindow` (offscreen), started by its Run action, while the
window's event loop runs freely. A precise 10 ms timer measures its own lateness: how long past
its due time the event loop was busy elsewhere, which is how long a click or a key press would
have waited. Afterwards it checks that the run went to its end (outcome ``finished``, every
process finished, as many events in the window as in the trace file, every message got and no
queue holding any) and reports the wall time, the events, the growth of the window process's
resident memory (RSS) per recorded event, and the peak RSS of the recorder process
(`simulator.recorder`). While it runs, it prints every 30 s how many events the window has
folded in and how many wait. Exit status 1 if the run did not go to its end in the window
within the timeout.

While the producers run, the 60 busy processes leave the window little of the two cores: it
folds a few thousand events a second, then catches up at ~15,000 a second once they end (what
it took to get there: docs/reliability.md).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from simulator.scenario import Consumer, Document, Link, Pace, Producer, QueueNode, Scenario  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

TICK_MS = 10
PROGRESS_S = 30


def load_document(producers: int, items: int, queues: int, consumers: int, interval: float = 0.0) -> Document:
    """Producers and consumers spread over the queues in turn; each consumer gets its share.
    Each producer sleeps `interval` seconds before each put."""
    nodes, links = [QueueNode(f"q{k + 1}") for k in range(queues)], []
    for i in range(producers):
        nodes.append(Producer(f"P{i + 1}", items=items, payload="{i}", interval=Pace(interval)))
        links.append(Link(f"P{i + 1}", f"q{i % queues + 1}", "put"))
    for k in range(queues):
        sent = items * len(range(k, producers, queues))
        readers = list(range(k, consumers, queues))
        if not readers or sent % len(readers):
            raise SystemExit(f"q{k + 1} gets {sent} items: its {len(readers)} consumers cannot share them evenly")
        for j in readers:
            nodes.append(Consumer(f"C{j + 1}", loop="count", count=sent // len(readers)))
            links.append(Link(f"C{j + 1}", f"q{k + 1}", "get"))
    return Document(Scenario(title="load", start_method="fork", nodes=nodes, links=links))


def rss_kib(pid: int | str = "self", field: str = "VmRSS") -> int:
    """A process's resident memory (or its peak, field VmHWM), in KiB; 0 once it has ended."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


class LatenessProbe:
    """A precise timer every TICK_MS that records how late each of its ticks came, samples the
    recorder process's peak memory every 100 ms, and prints the window's progress every
    PROGRESS_S (events folded in, events received but not yet folded in, RSS)."""

    def __init__(self, controller, recorder_pid: int):
        self.lateness_ms: list[float] = []
        self.controller = controller
        self.recorder_pid = recorder_pid
        self.recorder_peak_kib = 0
        self._started = self._last = self._shown = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now
        if len(self.lateness_ms) % 10 == 0:
            self.recorder_peak_kib = max(self.recorder_peak_kib, rss_kib(self.recorder_pid, "VmHWM"))
        if now - self._shown >= PROGRESS_S:
            self._shown = now
            print(f"  {now - self._started:6.0f} s: {len(self.controller.timeline):,} events in the window, "
                  f"{self.controller.backlog:,} waiting, RSS {rss_kib() / 1024:,.0f} MiB "
                  f"(recorder {rss_kib(self.recorder_pid) / 1024:,.0f} MiB)", flush=True)


def trace_events(path: Path) -> int:
    """Events in an .ipctrace file: its complete lines but the header."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.endswith(b"\n")) - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=50)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--queues", type=int, default=5)
    parser.add_argument("--consumers", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.0,
                        help="seconds each producer sleeps before each put (default 0: as fast as it can)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds; then stop, the run not having gone to its end (in the window)")
    args = parser.parse_args()
    document = load_document(args.producers, args.items, args.queues, args.consumers, args.interval)
    messages = args.producers * args.items
    with tempfile.TemporaryDirectory(prefix="ipcsim-load-") as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp  # where the window records the run
        app = QApplication.instance() or QApplication(["load"])
        window = MainWindow(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1280, 720)
        window.show()
        window.editor.open_document(document, None)
        for _ in range(20):
            app.processEvents()
        controller = window.controller
        gc.collect()
        rss_before = rss_kib()
        outcome: list[str] = []
        controller.run_finished.connect(lambda o: (outcome.append(o), app.quit()))
        started = time.monotonic()
        window.run_scenario()
        QTimer.singleShot(int(args.timeout * 1000), app.quit)
        probe = LatenessProbe(controller, controller.run.pid)  # the recorder process
        app.exec()
        wall = time.monotonic() - started
        probe.timer.stop()
        gc.collect()
        rss_after, rss_peak = rss_kib(), rss_kib("self", "VmHWM")
        final = controller.timeline.final()
        in_ui, in_file = len(controller.timeline), trace_events(controller.trace_path)
        run_s = (controller.timeline.end_ns - controller.started_ns) / 1e9
        window.editor.undo_stack.setClean()
        window.close()  # stops the run, if the timeout came first
        controller.run.wait()  # its recording complete before its folder goes

    processes = [p for p in final.processes.values() if p.role in ("main", "process")]
    unfinished = [f"{p.name}: {p.state}" for p in processes if p.state != "finished"]
    left = sum(ch.depth() for ch in final.channels.values())
    counts = final.counts
    lateness = probe.lateness_ms
    ok = (outcome == ["finished"] and not unfinished and in_ui == in_file
          and counts["put"] == counts["got"] == messages and not left)
    grew = (rss_after - rss_before) * 1024
    print(f"load: {args.producers} producers x {args.items:,} items over {args.queues} queues, "
          f"{args.consumers} consumers: {len(processes) - 1} processes and main, {messages:,} messages")
    print(f"outcome {outcome[0] if outcome else None}; processes not finished: {unfinished or 'none'}")
    print(f"messages put {counts['put']:,}, got {counts['got']:,}, left in queues {left:,}")
    print(f"events in the window {in_ui:,}, in the trace file {in_file:,}: "
          f"{'the same' if in_ui == in_file else 'MISMATCH'}")
    print(f"wall time {wall:.1f} s (the run's own events span {run_s:.1f} s; the rest is the window catching up "
          f"and the run's start and end); {in_ui / wall:,.0f} events/s into the window")
    print(f"event loop lateness over {len(lateness):,} ticks of {TICK_MS} ms: median {statistics.median(lateness):.1f} ms, "
          f"p95 {percentile(lateness, 0.95):.1f} ms, p99 {percentile(lateness, 0.99):.1f} ms, max {max(lateness):.0f} ms")
    print(f"window process RSS {rss_before / 1024:.0f} MiB before, {rss_after / 1024:.0f} MiB after "
          f"(peak {rss_peak / 1024:.0f} MiB): {grew / in_ui:.0f} B per recorded event")
    print(f"recorder process peak RSS {probe.recorder_peak_kib / 1024:.0f} MiB")
    hour = 36_000_000  # 1 hour at 10,000 events/s
    if in_ui >= 1_000_000:  # (a shorter run's figures per event are mostly its start-up's)
        print(f"at these rates, 1 hour at 10,000 events/s ({hour:,} events): window "
              f"{(rss_before * 1024 + grew / in_ui * hour) / 2 ** 30:.1f} GiB, recorder "
              f"{probe.recorder_peak_kib * 1024 / in_ui * hour / 2 ** 30:.1f} GiB at most (its whole peak "
              f"counted per event)")
    print("ran to the end" if ok else "DID NOT RUN TO THE END")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
