"""The live view under a flood, and how many message tokens the canvas can draw at 30 fps.

    QT_QPA_PLATFORM=offscreen python benchmarks/ui_flood.py [--items 150000] [--consumer-delay S]

1. Flood: a real run where one producer fills an unbounded queue as fast as it can, shown live
   in the main window; a consumer starts `--consumer-delay` seconds after it (by default once
   the producer is likely done: the queue gets as deep as the run is long) and drains it; with
   0 the consumer drains it alongside. A frame is the controller's tick (move a batch of events
   into the timeline, fold, update the canvas and panels) and the repaint it causes, done at
   once the way the running app does it (Qt's posted events: every widget that changed repaints
   what changed). Prints the rate at which the producer and the whole run reported events while
   the producer was putting (its first to its last put, from the trace), the events/s the UI
   took in, the frame time (median, p95, max; target p95 <= 33 ms) and the GUI thread's CPU
   time per frame (the rest is waiting for one of the two cores), and whether the events in
   the UI equal the events in the trace file (nothing lost).
2. Tokens: the canvas painted with N messages in motion at once (a synthetic timeline), for
   growing N; prints the paint time per frame and the largest N that still paints in 33 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from ipc.trace import Event  # noqa: E402
from simulator.fold import Timeline  # noqa: E402
from simulator.recording import read_trace  # noqa: E402
from simulator.scenario import Consumer, Document, Link, Producer, QueueNode, Scenario  # noqa: E402
from ui.canvas import run_layer  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def flood_document(items: int, consumer_delay: float = 0.0) -> Document:
    return Document(Scenario(
        title="flood", start_method="fork",
        nodes=[Producer("P", items=items, payload="{i}"), QueueNode("q"),
               Consumer("C", loop="count", count=items, start_delay=consumer_delay)],
        links=[Link("P", "q", "put"), Link("C", "q", "get")],
    ))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def flood(app, window: MainWindow, items: int, consumer_delay: float) -> None:
    controller = window.controller
    frame_ms: list[float] = []
    cpu_ms: list[float] = []

    def frame_and_paint():
        started, cpu = time.perf_counter(), time.thread_time()
        controller.tick()
        QCoreApplication.sendPostedEvents()  # the repaints the tick asked for
        frame_ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.thread_time() - cpu) * 1000)

    controller.timer.timeout.disconnect(controller.tick)
    controller.timer.timeout.connect(frame_and_paint)
    window.editor.open_document(flood_document(items, consumer_delay), None)
    app.processEvents()
    controller.start(window.editor.model.document)
    first_ns = time.monotonic_ns()
    while controller.live:
        app.processEvents()
        time.sleep(0.001)
    wall = (time.monotonic_ns() - first_ns) / 1e9
    for _ in range(3):
        frame_and_paint()
    in_ui = len(controller.timeline)
    recording = read_trace(controller.trace_path)
    in_file = len(recording.events)
    puts = [e.t_ns for e in recording.events if e.kind == "message_put"]
    first, last = puts[0], puts[-1]
    span_s = (last - first) / 1e9
    produced = sum(e.process == "P" and first <= e.t_ns <= last for e in recording.events)
    flood = sum(first <= e.t_ns <= last for e in recording.events)
    consumer_started = next(e.t_ns for e in recording.events if e.kind == "message_got")
    busy, cpu = frame_ms[2:], cpu_ms[2:]
    print(f"flood: {items:,} items, put in {span_s:.2f} s; meanwhile the producer reported "
          f"{produced / span_s:,.0f} events/s and the run {flood / span_s:,.0f} events/s (the consumer "
          f"got its first item {abs(consumer_started - last) / 1e9:.1f} s "
          f"{'after' if consumer_started > last else 'before'} the last put); the run's {in_ui:,} "
          f"events were all in the UI {wall:.1f} s after Run = {in_ui / wall:,.0f} events/s into the UI")
    print(f"frame (tick + repaint): median {statistics.median(busy):.1f} ms, p95 {percentile(busy, 0.95):.1f} ms, "
          f"max {max(busy):.1f} ms over {len(busy)} frames (target p95 <= 33 ms); GUI thread CPU per frame: "
          f"median {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms")
    print(f"events in the UI: {in_ui:,}; events in the trace file: {in_file:,} -> "
          f"{'nothing lost' if in_ui == in_file else 'MISMATCH'}")


def tokens(app, window: MainWindow) -> None:
    window.editor.open_document(flood_document(10), None)
    app.processEvents()
    scene, view = window.scene, window.view
    scenario = window.editor.model.scenario
    best = 0
    limit = run_layer.MAX_TOKENS
    for n in (250, 500, 1000, 2000, 4000, 8000):
        run_layer.MAX_TOKENS = n  # measure what the canvas can do, past its everyday limit
        t0 = 1_000_000_000
        events = [Event(t0 + i * 1000, 1, i + 1, "P", "message_put", "q", f"1:{i}", {"preview": str(i)})
                  for i in range(n)]
        timeline = Timeline(scenario, events)
        playhead = t0 + n * 1000 + 10_000_000  # every put less than 0.3 s ago: all in motion
        times = []
        for _ in range(10):
            started = time.perf_counter()
            scene.show_run(timeline, playhead, timeline.state_at(playhead))
            view.viewport().repaint()
            times.append((time.perf_counter() - started) * 1000)
            playhead += 1_000_000
        drawn = scene.run_layer.tokens_drawn
        ms = statistics.median(times)
        print(f"tokens in motion: {drawn:5d}  paint {ms:6.1f} ms/frame  ({1000 / ms:5.0f} fps)")
        if ms <= 33:
            best = max(best, drawn)
    run_layer.MAX_TOKENS = limit
    print(f"largest number of tokens painted at >= 30 fps: {best:,} (target >= 1,000; "
          f"the canvas draws at most the {limit:,} most recent)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=150_000)
    parser.add_argument("--consumer-delay", type=float, default=None,
                        help="seconds before the consumer starts (default: items / 30,000 + 1; 0: alongside)")
    args = parser.parse_args()
    delay = args.items / 30_000 + 1 if args.consumer_delay is None else args.consumer_delay
    app = QApplication.instance() or QApplication(["ui_flood"])
    window = MainWindow(QSettings("/tmp/ipcsim-bench.ini", QSettings.Format.IniFormat))
    window.resize(1280, 720)
    window.show()
    app.processEvents()
    flood(app, window, args.items, delay)
    tokens(app, window)
    window.editor.undo_stack.setClean()
    window.close()


if __name__ == "__main__":
    main()
