"""Saving never leaves a half-written scenario: a process saving over the same file again and
again is SIGKILLed at random moments; the file is always a complete old or new version."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from simulator import scenario_file
from simulator.lessons import lesson_path

SAVER = """
import sys
from simulator import scenario_file
a, b, target = scenario_file.load(sys.argv[1]), scenario_file.load(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
while True:
    scenario_file.save(a, target)
    scenario_file.save(b, target)
"""


def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_file(tmp_path):
    a, b = lesson_path(1), lesson_path(20)
    valid = {scenario_file.dumps(scenario_file.load(a)), scenario_file.dumps(scenario_file.load(b))}
    target = tmp_path / "scenario.json"
    target.write_text(scenario_file.dumps(scenario_file.load(a)))
    rng = random.Random(7)
    root = Path(__file__).resolve().parents[2]
    for _ in range(12):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(a), str(b), str(target)],
                                 stdout=subprocess.PIPE, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
        assert saver.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0, 0.05))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        saver.stdout.close()
        assert target.read_text() in valid  # whole, and loads
        scenario_file.load(target)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "scenario.json"]
    assert len(leftovers) <= 12  # a killed save can leave its temporary file, never a broken target
