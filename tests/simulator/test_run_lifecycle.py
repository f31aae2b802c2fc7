"""A run ends cleanly in every way it can end, and never leaves a process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from simulator import scenario_file
from simulator.lifeline import process_alive
from simulator.recording import read_trace
from simulator.scenario import Consumer, Document, Link, Producer, QueueNode, Scenario
from simulator.session import Run


def stuck_scenario(start_method="spawn") -> Document:
    """A producer blocked on a full queue nobody reads, a consumer blocked on an empty one,
    and main blocked joining them: nothing here ever ends by itself."""
    return Document(Scenario(
        title="stuck", start_method=start_method,
        nodes=[Producer("P", items=5), QueueNode("full", maxsize=1),
               QueueNode("empty"), Consumer("C"),
               Producer("F", items=200_000, payload="{i}"), QueueNode("flood")],
        links=[Link("P", "full", "put"), Link("C", "empty", "get"), Link("F", "flood", "put")],
    ))


def wait_dead(pids, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(process_alive(p) for p in pids):
            return []
        time.sleep(0.02)
    return [p for p in pids if process_alive(p)]


class Watch:
    """Collects a run's events; `until` waits for a condition on them."""

    def __init__(self):
        self.events, self.cond = [], threading.Condition()

    def __call__(self, events):
        with self.cond:
            self.events.extend(events)
            self.cond.notify_all()

    def until(self, predicate, timeout=30):
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.events), timeout), "timed out"

    def pids(self):
        return {e.pid for e in self.events if e.process != "ipcsim"}


def is_stuck(events) -> bool:
    kinds = {(e.process, e.kind) for e in events}
    puts = sum(1 for e in events if e.process == "F" and e.kind == "message_put")
    return {("P", "put_blocked"), ("C", "get_blocked")} <= kinds and puts > 100


@pytest.mark.parametrize("start_method", ["spawn", "fork", "forkserver"])
def test_stop_kills_every_process_at_once(tmp_path, start_method):
    watch = Watch()
    run = Run(stuck_scenario(start_method), tmp_path / "t.ipctrace", on_events=watch)
    run.start()
    watch.until(is_stuck)  # blocked on put, blocked on get, and F in the middle of its puts
    pids = watch.pids() | {run.pid}
    assert len(pids) >= 4
    started = time.monotonic()
    assert run.stop() == "stopped"
    assert time.monotonic() - started < 2
    assert wait_dead(pids, 1.0) == []
    stopped = [e for e in watch.events if e.kind == "run_stopped"]
    assert stopped and stopped[0].detail["reason"] == "stopped"


def test_a_timeout_stops_the_run(tmp_path):
    run = Run(stuck_scenario(), tmp_path / "t.ipctrace")
    run.start()
    assert run.wait(timeout=1.5) == "timeout"
    assert not process_alive(run.pid)


@pytest.mark.parametrize("victim", ["caller", "runner"])
def test_sigkill_leaves_no_process_behind(tmp_path, victim):
    scenario = tmp_path / "stuck.json"
    scenario_file.save(stuck_scenario(), scenario)
    jsonl = tmp_path / "events.jsonl"
    cli = subprocess.Popen(
        [sys.executable, "-m", "ui.main", "run", str(scenario), "--headless", "--timeout", "120",
         "--jsonl", str(jsonl), "--trace", str(tmp_path / "t.ipctrace")],
        stdout=subprocess.DEVNULL, start_new_session=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        events = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not is_stuck(events):
            time.sleep(0.05)  # polling a file another process writes
            if jsonl.exists():
                events = [_Rec(json.loads(x)) for x in jsonl.read_text().splitlines() if x.endswith("}")]
        assert is_stuck(events)
        pids = {e.pid for e in events if e.process != "ipcsim"}
        runner = next(e.pid for e in events if e.process == "main")
        os.kill(cli.pid if victim == "caller" else runner, signal.SIGKILL)
        assert wait_dead(pids, 1.5) == []
        if victim == "caller":  # the trace it was writing is cut short, and still loads
            assert len(read_trace(tmp_path / "t.ipctrace").events) >= len(events) - 1
        if victim == "runner":  # the caller notices, sweeps, and still finishes its recording
            assert cli.wait(timeout=20) == 1
            recording = read_trace(tmp_path / "t.ipctrace")
            assert recording.events[-1].kind == "run_stopped"
            assert recording.events[-1].detail["exitcode"] == -signal.SIGKILL
    finally:
        cli.kill()
        cli.wait()


class _Rec:
    def __init__(self, d):
        self.__dict__.update(d)
