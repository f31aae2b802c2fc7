"""Every message accounted for exactly once, over many random scenarios run for real.

    python benchmarks/accounting.py [--scenarios 200] [--seed 1] [--verbose]

Draws scenarios from the strategy of tests/simulator/scenario_strategies.py (the one
tests/simulator/test_accounting.py uses), runs each in real processes, and checks its trace and
final snapshot with the same ledger: every message put or sent is got exactly once, still inside
its channel, or lost; nothing is got that was never put. Prints the tally and each discrepancy;
exit status 1 if there was any.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulator"))

from hypothesis import Phase, given, seed, settings  # noqa: E402

import scenario_strategies  # noqa: E402
from simulator.scenario_checks import check  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="one line per scenario")
    args = parser.parse_args()
    tally, outcomes, methods = Counter(), Counter(), Counter()
    discrepancies: list[str] = []
    started = time.monotonic()

    @seed(args.seed)
    @settings(max_examples=args.scenarios, deadline=None, database=None, phases=[Phase.generate])
    @given(scenario_strategies.scenarios())
    def one(scenario):
        if check(scenario):
            tally["invalid"] += 1
            return
        checked = scenario_strategies.run_and_account(scenario)
        ledger = checked.ledger
        tally["scenarios"] += 1
        tally["events"] += checked.events
        for name in ("messages", "delivered", "in_channels", "lost", "dropped"):
            tally[name] += getattr(ledger, name)
        outcomes[checked.outcome] += 1
        methods[scenario.start_method] += 1
        discrepancies.extend(f"scenario {tally['scenarios']}: {p}" for p in ledger.problems)
        if args.verbose or ledger.problems:
            print(f"{tally['scenarios']:4d} {scenario.start_method:5s} {checked.outcome:8s} "
                  f"{checked.events:4d} events, {ledger.messages:2d} messages: "
                  f"{ledger.problems or 'ok'}", flush=True)
        if ledger.problems:
            print(f"     {scenario}", flush=True)

    one()
    print(f"{tally['scenarios']} scenarios ({dict(methods)}; outcomes {dict(outcomes)}; "
          f"{tally['invalid']} invalid skipped) in {time.monotonic() - started:.0f} s, {tally['events']:,} events")
    print(f"{tally['messages']:,} messages put or sent: {tally['delivered']:,} got and delivered, "
          f"{tally['in_channels']:,} still inside a channel, {tally['lost']:,} lost (with a killed process, "
          f"or by a feeder thread); {tally['dropped']:,} more puts or sends dropped (Full, or the send raised)")
    print(f"discrepancies: {len(discrepancies)}")
    for line in discrepancies:
        print(f"  {line}")
    return 1 if discrepancies else 0


if __name__ == "__main__":
    sys.exit(main())
