"""The simulator: scenarios, the behaviours run in child processes, the runner, the trace
recorder and the fold from events to state. No Qt here (see tests/test_layering.py)."""
