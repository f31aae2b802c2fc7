"""Bad scenario and trace files: each is accepted or refused with a message naming a field or a
line; none crashes the loader, hangs it, or runs anything it contains.

A sample here (hypothesis); `benchmarks/fuzz_files.py` runs the same cases by the ten thousand.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import file_fuzz
from simulator import scenario_file
from simulator.recording import TraceError, read_trace

LESSONS = file_fuzz.lessons()
TRACES = [file_fuzz.synthetic_trace(text) for _, text in LESSONS]
MAX_SECONDS = 5.0  # per case, on a loaded 2-core machine (the benchmark's slowest is ~0.15 s)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a sentinel a payload could create would land here
    yield tmp_path
    assert not (tmp_path / file_fuzz.SENTINEL_NAME).exists(), "a file's content was executed"


def assert_handled(kind: str, data: bytes, path) -> None:
    result, message, seconds = file_fuzz.timed_verdict(kind, data, path)
    assert not result.startswith("crashed"), message
    assert seconds < MAX_SECONDS
    if result.startswith("refused"):
        assert message.strip()


@FUZZ
@given(seed=st.integers(0, 2 ** 32))
def test_mutated_lessons_are_accepted_or_refused_clearly(sandbox, seed):
    assert_handled("scenario", file_fuzz.scenario_case(random.Random(seed), LESSONS), sandbox / "case.json")


@FUZZ
@given(seed=st.integers(0, 2 ** 32))
def test_mutated_traces_are_accepted_or_refused_clearly(sandbox, seed):
    assert_handled("trace", file_fuzz.trace_case(random.Random(seed), TRACES, LESSONS), sandbox / "case.ipctrace")


@FUZZ
@given(value=json_values, header=st.booleans())
def test_random_json_shapes(sandbox, value, header):
    data = {"format": "ipcsim-scenario", "version": 1, "scenario": value} if header else value
    assert_handled("scenario", json.dumps(data).encode(), sandbox / "case.json")


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes(sandbox, data):
    assert_handled("scenario", data, sandbox / "case.json")
    assert_handled("trace", data, sandbox / "case.ipctrace")


@pytest.mark.parametrize("name,text", LESSONS, ids=[n for n, _ in LESSONS])
def test_every_lesson_truncated_at_every_tenth_is_refused_by_field_or_line(tmp_path, name, text):
    trace = file_fuzz.synthetic_trace(text)
    for k in range(1, 10):
        cut = text[: len(text) * k // 10]
        with pytest.raises(scenario_file.ScenarioError, match="not valid JSON"):
            scenario_file.loads(cut)
    (tmp_path / "t.ipctrace").write_bytes(trace[: len(trace.split(b"\n")[0]) // 2])
    with pytest.raises(TraceError, match=r"line 1: not JSON|empty file"):
        read_trace(tmp_path / "t.ipctrace")


@pytest.mark.parametrize("code", file_fuzz.CODE_STRINGS)
def test_code_in_a_file_is_only_data(sandbox, code):
    """Code-looking strings in every text field a file has: loaded as text (or refused as a
    template), never run, even when the scenario is then used to make its items."""
    code = code.replace("{sentinel}", file_fuzz.SENTINEL_NAME)
    data = json.loads(dict(LESSONS)["13-sentinel-shutdown"])
    data["scenario"]["title"] = data["scenario"]["explanation"] = code
    for node in data["scenario"]["nodes"]:
        for field in ("payload", "key", "result"):
            if field in node:
                node[field] = code
    try:
        doc = scenario_file.loads(json.dumps(data))
    except scenario_file.ScenarioError as exc:
        assert all("unknown field" in e or "Single '}'" in e or "expected '}'" in e or ": " in e for e in exc.errors)
    else:
        assert doc.scenario.title == code
        from simulator.behaviours import items_of
        for node in doc.scenario.processes():
            if node.kind == "producer":
                items_of(node)
    assert not os.path.exists(file_fuzz.SENTINEL_NAME)
