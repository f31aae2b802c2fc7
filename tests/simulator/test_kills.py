"""Every lesson cut short at a random (seeded) moment, by Stop, by SIGKILL of the runner or of
the program that started the run (one way per lesson here, in rotation; `benchmarks/kills.py`
does every way for every lesson): within 1 s no process of the run is left, nothing it had in
/dev/shm is left, and the cut-short trace still loads and replays."""

from __future__ import annotations

import random

import pytest

from killing import WAYS, assert_nothing_left, cut
from simulator.lessons import lesson_paths

CASES = [(path, WAYS[i % len(WAYS)]) for i, path in enumerate(lesson_paths())]


@pytest.mark.parametrize("lesson,way", CASES, ids=[f"{p.stem[:2]}-{w}" for p, w in CASES])
def test_a_run_cut_short_leaves_nothing_behind(tmp_path, lesson, way):
    at = random.Random(lesson.stem).uniform(0.2, 2.0)
    result = cut(lesson, way, at, tmp_path)
    assert_nothing_left(result, at)
