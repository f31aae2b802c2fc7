"""Every lesson cut short by every way, at many random moments: nothing may be left behind.

    python benchmarks/kills.py [--moments 2] [--seed 1] [--ways stop,runner,caller]
    python benchmarks/kills.py --moments 1 --ways gui

For each lesson, way (Stop; SIGKILL of the runner; SIGKILL of the program that started the run;
with ``gui``, which is not among the default ways, SIGKILL of the real application running the
lesson offscreen) and moment (uniform in 0.1-3 s after the start, seeded), runs the lesson and
cuts it (see tests/simulator/killing.py): counts the cuts that left a process alive 1 s later, a
/dev/shm object the run had mapped, or a trace that does not load and replay. Exit status 1 if
any did.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulator"))

import killing  # noqa: E402
from simulator.lessons import lesson_paths  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moments", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ways", default=",".join(killing.WAYS),
                        help=f"comma-separated, among {', '.join(killing.WAYS + (killing.GUI,))}")
    args = parser.parse_args()
    unknown = set(args.ways.split(",")) - {*killing.WAYS, killing.GUI}
    if unknown:
        parser.error(f"unknown ways: {', '.join(sorted(unknown))}")
    rng = random.Random(args.seed)
    bad, total, processes, shm = [], 0, 0, 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ipcsim-kills-") as tmp:
        for lesson in lesson_paths():
            for way in args.ways.split(","):
                for _ in range(args.moments):
                    at = round(rng.uniform(0.1, 3.0), 2)
                    result = killing.cut(lesson, way, at, Path(tmp))
                    total += 1
                    processes += len(result.pids)
                    shm += len(result.shm)
                    flag = "ok" if result.ok else "LEFT SOMETHING"
                    print(f"{lesson.stem[:28]:28s} {way:6s} at {at:4.2f} s: {len(result.pids):2d} processes, "
                          f"{len(result.shm):2d} shm, {result.events:5d} events: {flag}", flush=True)
                    if not result.ok:
                        bad.append(result)
    print(f"{total} cuts in {time.monotonic() - started:.0f} s; {processes} processes and {shm} /dev/shm "
          f"objects checked; cuts leaving something behind: {len(bad)}")
    for r in bad:
        print(f"  {r.lesson} {r.way} at {r.at}: alive {r.left_commands} shm {r.shm_left} trace {r.trace_error}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
