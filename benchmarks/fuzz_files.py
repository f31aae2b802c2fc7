"""Bad files by the ten thousand: the scenario and trace loaders accept or refuse every one.

    python benchmarks/fuzz_files.py [--cases 10000] [--seed 1]

Half the cases are damaged scenario files (every shipped lesson mutated: fields deleted,
replaced, retyped, huge numbers, deep nesting, code-looking strings, truncated text, garbage and
invalid UTF-8, random JSON shapes), half damaged traces (a synthetic trace headed by each lesson,
with its header, its event lines and its bytes damaged). Each goes through the app's loader
(`scenario_file.load`, `recording.read_trace` and the fold of what it read). Prints the tally:
accepted, refused by reason, crashed (must be 0), the slowest case; and checks that no
code-looking string was ever executed (a sentinel file must not appear). Exit status 1 if any
case crashed or the sentinel appeared. The cases are the ones `tests/simulator/test_fuzz_files.py`
samples (tests/simulator/file_fuzz.py).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulator"))

import file_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    base = file_fuzz.lessons()
    traces = [file_fuzz.synthetic_trace(text) for _, text in base]
    tally: collections.Counter[str] = collections.Counter()
    crashes: list[tuple[int, str, str]] = []
    slowest = (0.0, -1, "")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ipcsim-fuzz-") as tmp:
        os.chdir(tmp)  # a sentinel a payload would create lands here (relative path)
        path = Path(tmp) / "case"
        for n in range(args.cases):
            rng = random.Random(args.seed * 1_000_003 + n)
            kind = "scenario" if n % 2 == 0 else "trace"
            data = (file_fuzz.scenario_case(rng, base) if kind == "scenario"
                    else file_fuzz.trace_case(rng, traces, base))
            result, message, seconds = file_fuzz.timed_verdict(kind, data, path)
            tally[f"{kind} {result}"] += 1
            if result.startswith("crashed"):
                crashes.append((n, kind, message))
            if seconds > slowest[0]:
                slowest = (seconds, n, kind)
        sentinel = (Path(tmp) / file_fuzz.SENTINEL_NAME).exists() or Path(file_fuzz.SENTINEL_NAME).exists()
    elapsed = time.perf_counter() - started

    print(f"{args.cases} cases in {elapsed:.1f} s (seed {args.seed})")
    for key in sorted(tally):
        print(f"  {key:45s} {tally[key]:6d}")
    crashed = sum(v for k, v in tally.items() if "crashed" in k)
    print(f"crashed: {crashed}")
    print(f"slowest case: {slowest[0] * 1000:.0f} ms (case {slowest[1]}, {slowest[2]})")
    print(f"code executed (sentinel file appeared): {'YES' if sentinel else 'no'}")
    for n, kind, message in crashes[:20]:
        print(f"  CRASH case {n} ({kind}): {message}")
    return 1 if crashed or sentinel else 0


if __name__ == "__main__":
    sys.exit(main())
