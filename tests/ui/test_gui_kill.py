"""SIGKILL of the application while it runs a lesson: the real app (``python -m ui.main LESSON
--run``, offscreen) is killed at a random (seeded) moment of its run; within 1 s no process of
the run is left, nothing it had in /dev/shm is left, and the trace it was recording still loads
and replays. A sample of lessons here (queues, pipes, a pool with a manager, spawn and fork, a
deadlock); `benchmarks/kills.py --ways gui` does all 20."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "simulator"))

from killing import GUI, assert_nothing_left, cut  # noqa: E402
from simulator.lessons import lesson_path  # noqa: E402

LESSONS = (1, 7, 8, 11, 12, 15, 17, 19, 20)


@pytest.mark.parametrize("number", LESSONS)
def test_killing_the_gui_leaves_nothing_behind(tmp_path, number):
    lesson = lesson_path(number)
    at = random.Random(lesson.stem).uniform(0.1, 2.0)
    result = cut(lesson, GUI, at, tmp_path)
    assert_nothing_left(result, at)
