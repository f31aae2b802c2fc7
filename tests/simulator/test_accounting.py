"""Every message is accounted for exactly once: random scenarios (`scenario_strategies`) run in
real processes, and every message put or sent is, in the final snapshot, got exactly once, still
inside its channel, or lost (by a feeder thread, or with the killed process holding it); nothing
is got that was never put, nothing twice (but for `scenario_strategies.KNOWN_GAP`, a gap in
`ipc` counted apart). `benchmarks/accounting.py` runs many more."""

from __future__ import annotations

from hypothesis import given, settings

from scenario_strategies import run_and_account, scenarios
from simulator.scenario_checks import check


def test_the_strategy_builds_only_valid_scenarios():
    @settings(max_examples=300, deadline=None, database=None)
    @given(scenarios())
    def valid(scenario):
        assert check(scenario) == []

    valid()


@settings(max_examples=30, deadline=None, database=None)
@given(scenarios())
def test_every_message_is_accounted_for_exactly_once(scenario):
    checked = run_and_account(scenario)
    assert checked.ledger.problems == [], (checked.outcome, checked.ledger)
