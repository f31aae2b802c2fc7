"""Memory per recorded event in the window's Timeline, and what a long run would need.

    python benchmarks/memory_per_event.py [--events 500000]

Builds a Timeline (its event store and checkpoints, as the live view and replay hold them) from
the synthetic trace of benchmarks/fold_seek.py, delivered in batches of 5,000 fresh events as a
live run delivers them, and measures the memory it holds (tracemalloc), in bytes per event; then
extrapolates a 1-hour run at 10,000 events/s (36 M events). The store keeps its newest events
and a few decoded blocks as objects, everything older compressed (simulator/event_store.py), so
the figure per event falls as the run grows towards its compressed size.
"""

from __future__ import annotations

import argparse
import gc
import marshal
import sys
import tracemalloc
from itertools import starmap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fold_seek import scenario, synthetic_events  # noqa: E402
from ipc.trace import Event  # noqa: E402
from simulator.fold import CHECKPOINT_EVERY, Timeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    args = parser.parse_args()
    events = synthetic_events(args.events)
    gc.collect()
    tracemalloc.start()
    timeline = Timeline(scenario(), [])
    for i in range(0, len(events), 5000):  # fresh objects, as a live run delivers them
        timeline.extend(list(starmap(Event, marshal.loads(marshal.dumps([tuple(e) for e in events[i:i + 5000]])))))
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    per_event = held / len(timeline)
    print(f"{len(timeline):,} events; a checkpoint every {CHECKPOINT_EVERY} events or more")
    print(f"held by the Timeline (store, checkpoints, head state): {held / 2 ** 20:.1f} MiB, "
          f"{per_event:.0f} B/event")
    print(f"1 hour at 10,000 events/s = 36,000,000 events -> at most {per_event * 36e6 / 2 ** 30:.1f} GiB "
          f"held by the Timeline (at this run's rate per event)")


if __name__ == "__main__":
    main()
