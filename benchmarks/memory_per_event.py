"""Memory per recorded event in the window's Timeline, and what a long run would need.

    python benchmarks/memory_per_event.py [--events 500000]

Builds a Timeline (events + checkpoints, as the live view and replay hold them) from the
synthetic trace of benchmarks/fold_seek.py and measures the memory it holds (tracemalloc), in
bytes per event; then extrapolates a 1-hour run at 10,000 events/s (36 M events). The Timeline
keeps every event in memory (and one snapshot per CHECKPOINT_EVERY events, or fewer when the
queues are deep), so its memory grows linearly with the run; the trace file on disk grows with it
too.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fold_seek import scenario, synthetic_events  # noqa: E402
from simulator.fold import CHECKPOINT_EVERY, Timeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    args = parser.parse_args()
    events = synthetic_events(args.events)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    timeline = Timeline(scenario(), [])
    for i in range(0, len(events), 5000):  # as a live run delivers them
        timeline.extend(events[i:i + 5000])
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # the events themselves (tuples, strings, detail dicts) were built before tracing started:
    # measure them separately
    tracemalloc.start()
    copy = synthetic_events(args.events)
    events_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_event = (held + events_bytes) / len(copy)
    total_36m = per_event * 36_000_000
    print(f"{len(timeline)} events; a checkpoint every {CHECKPOINT_EVERY} events or more")
    print(f"events themselves: {events_bytes / len(copy):.0f} B/event; timeline index and checkpoints: "
          f"{held / len(copy):.0f} B/event; total {per_event:.0f} B/event")
    print(f"1 hour at 10,000 events/s = 36,000,000 events -> {total_36m / 2 ** 30:.1f} GiB held by the Timeline")


if __name__ == "__main__":
    main()
