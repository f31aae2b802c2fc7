"""Running scenarios for real in tests, and reading what they did."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest

from ipc.trace import Event
from simulator import scenario_file
from simulator.fold import Snapshot, Timeline
from simulator.lessons import lesson_path
from simulator.recording import read_trace
from simulator.scenario import Document
from simulator.session import Run


DEADLOCK_GRACE = 0.5  # as `ipcsim run --headless`: every test run is watched for deadlocks


@dataclass
class Outcome:
    outcome: str
    timeline: Timeline
    events: list[Event]
    trace_path: Path
    deadlock: dict | None = None  # the deadlock_detected detail, if the run deadlocked

    def of(self, kind: str, **match) -> list[Event]:
        return [e for e in self.events if e.kind == kind
                and all(getattr(e, k) == v for k, v in match.items())]

    def first(self, kind: str, **match) -> Event:
        found = self.of(kind, **match)
        assert found, f"no {kind} {match} in the trace"
        return found[0]

    def at(self, event: Event) -> Snapshot:
        """The state just after `event`."""
        return self.timeline.state_after(self.events.index(event) + 1)

    @property
    def final(self) -> Snapshot:
        return self.timeline.final()


def run_document(document: Document, trace_path: Path, timeout: float = 60) -> Outcome:
    run = Run(document, trace_path, deadlock_grace=DEADLOCK_GRACE)
    run.start()
    outcome = run.wait(timeout)
    recording = read_trace(trace_path)
    return Outcome(outcome, recording.timeline, recording.events, trace_path, run.deadlock)


@pytest.fixture(scope="session")
def lesson_runs(tmp_path_factory):
    """Each lesson run once per test session, on demand."""
    cache: dict[str, Outcome] = {}
    folder = tmp_path_factory.mktemp("lessons")

    def run(number: int) -> Outcome:
        path = lesson_path(number)
        if path.stem not in cache:
            cache[path.stem] = run_document(scenario_file.load(path), folder / f"{path.stem}.ipctrace")
        return cache[path.stem]

    return run


@pytest.fixture(scope="session")
def start_method_runs(tmp_path_factory):
    """Lesson 19, run once per start method, on demand."""
    cache: dict[str, Outcome] = {}
    folder = tmp_path_factory.mktemp("start-methods")

    def run(method: str) -> Outcome:
        if method not in cache:
            document = scenario_file.load(lesson_path(19))
            scenario = dataclasses.replace(document.scenario, start_method=method)
            cache[method] = run_document(dataclasses.replace(document, scenario=scenario),
                                         folder / f"{method}.ipctrace")
        return cache[method]

    return run


@pytest.fixture
def run_scenario(tmp_path):
    """Run a scenario for real (watched for deadlocks, as lessons are) and read what it did."""

    def run(scenario, timeout: float = 60) -> Outcome:
        return run_document(Document(scenario), tmp_path / "run.ipctrace", timeout)

    return run
