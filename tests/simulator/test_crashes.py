"""Crashing children: a process node that raises, calls os._exit(3) or dies of a segmentation
fault does so for real, the trace and the fold say why it ended, and the run still ends."""

from __future__ import annotations

import json

import pytest

from simulator import scenario_file
from simulator.captions import caption
from simulator.fold import crashed, signal_meaning, signal_name
from simulator.lessons import lesson_path
from simulator.lifeline import process_alive
from simulator.scenario import (Consumer, DictNode, Link, PipeNode, Producer, QueueNode, Scenario, Step,
                                Worker, check)


def chain(n: int, crash: str, **consumer) -> tuple[list, list[Link]]:
    """P<n> puts 2 items on q<n>; C<n> gets them and crashes its way after the first."""
    nodes = [Producer(f"P{n}", items=2, payload=f"{n}-{{i}}"), QueueNode(f"q{n}"),
             Consumer(f"C{n}", crash=crash, crash_after=1, **{"loop": "count", "count": 2, **consumer})]
    return nodes, [Link(f"P{n}", f"q{n}", "put"), Link(f"C{n}", f"q{n}", "get")]


def three_crashes() -> Scenario:
    nodes, links = [], []
    for n, crash in enumerate(("exception", "exit", "segfault"), 1):
        more_nodes, more_links = chain(n, crash)
        nodes += more_nodes
        links += more_links
    return Scenario(title="Three crashes", start_method="fork", nodes=nodes, links=links)


def assert_nothing_left(run) -> None:
    pids = {e.pid for e in run.events if e.process != "ipcsim"}
    assert pids and not any(process_alive(pid) for pid in pids)


def exit_caption(run, name: str) -> str:
    exited = run.first("process_exited", object=name)
    return caption(exited, run.at(exited))


def test_each_crash_kind_is_shown_with_its_cause(run_scenario):
    run = run_scenario(three_crashes())
    assert run.outcome == "finished"  # main joined them all and ended
    final = run.final.processes
    assert {name: final[name].state for name in ("main", "P1", "P2", "P3")} == dict.fromkeys(
        ("main", "P1", "P2", "P3"), "finished")

    raised = final["C1"]
    assert (raised.state, raised.exitcode, raised.error) == ("failed", 1, "RuntimeError: crash after 1 item")
    assert run.first("process_failed", object="C1").detail["traceback"].rstrip().endswith(
        "RuntimeError: crash after 1 item")
    assert exit_caption(run, "C1") == "C1 failed: RuntimeError: crash after 1 item (exit code 1)"

    exited = final["C2"]
    assert (exited.state, exited.exitcode, exited.error) == ("failed", 3, None)
    assert exit_caption(run, "C2") == "C2 failed: it exited with code 3"

    segfault = final["C3"]
    assert (segfault.state, segfault.exitcode, segfault.error) == ("failed", -11, None)
    assert run.first("process_exited", object="C3").detail["signal"] == "SIGSEGV"
    assert exit_caption(run, "C3") == "C3 crashed: SIGSEGV (segmentation fault), exit code -11"

    for n in (1, 2, 3):  # each handled its first item, and crashed before getting the second
        lines = [e.detail["line"] for e in run.of("process_output", process=f"C{n}")
                 if e.detail["stream"] == "stdout"]
        assert lines == [f"C{n}: got '{n}-0'"]
    assert_nothing_left(run)


def test_producers_workers_and_readers_crash_too(run_scenario):
    """A producer before its first item (exception) and after its second of three (os._exit, on a
    pipe: what it sent is not lost), a worker after its first result (segfault), a reader of a
    dict after its first read (exception); the processes they talk to end normally."""
    scenario = Scenario(title="Crashing producers, workers and readers", start_method="fork", nodes=[
        Producer("early", items=2, crash="exception"), QueueNode("unread"),
        Producer("sender", items=3, payload="s{i}", crash="exit", crash_after=2), PipeNode("pipe"),
        Consumer("receiver", loop="count", count=2),
        Producer("feeder", items=2, payload="f{i}"), QueueNode("jobs"),
        Worker("worker", loop="count", count=2, crash="segfault", crash_after=1), PipeNode("results"),
        Consumer("collector", loop="count", count=1),
        Producer("writer", items=1, payload="w"), DictNode("d"),
        Consumer("reader", loop="count", count=3, crash="exception", crash_after=1),
    ], links=[Link("early", "unread", "put"), Link("sender", "pipe", "send", 1),
              Link("receiver", "pipe", "recv", 2), Link("feeder", "jobs", "put"), Link("worker", "jobs", "get"),
              Link("worker", "results", "send", 1), Link("collector", "results", "recv", 2),
              Link("writer", "d", "write"), Link("reader", "d", "read")],
        steps=[Step("start", "writer"), Step("join", "writer")]
        + [Step(op, p) for op in ("start", "join") for p in
           ("early", "sender", "receiver", "feeder", "worker", "collector", "reader")] + [Step("end")])
    assert not check(scenario)
    run = run_scenario(scenario)
    assert run.outcome == "finished"
    final = run.final.processes
    assert (final["early"].state, final["early"].error) == ("failed", "RuntimeError: crash before the first item")
    assert not run.of("message_put", process="early")
    assert (final["sender"].state, final["sender"].exitcode) == ("failed", 3)
    assert [e.detail["preview"] for e in run.of("message_received", process="receiver")] == ["'s0'", "'s1'"]
    assert (final["worker"].state, final["worker"].exitcode) == ("failed", -11)
    assert [e.detail["preview"] for e in run.of("message_received", process="collector")] == ["'f0*'"]
    assert (final["reader"].state, final["reader"].error) == ("failed", "RuntimeError: crash after 1 item")
    assert len(run.of("dict_read", process="reader")) == 1
    for name in ("receiver", "feeder", "collector", "writer", "main"):
        assert final[name].state == "finished", name
    assert_nothing_left(run)


def test_a_consumer_left_waiting_by_a_crashed_producer_is_a_deadlock_not_a_hang(run_scenario):
    scenario = Scenario(title="The producer died", start_method="fork", nodes=[
        Producer("P", items=3, crash="exception", crash_after=1), QueueNode("q"),
        Consumer("C", loop="count", count=3)], links=[Link("P", "q", "put"), Link("C", "q", "get")])
    run = run_scenario(scenario, timeout=20)
    assert run.outcome == "deadlock"  # C waits for items nobody will ever put; main joins C
    assert run.final.processes["P"].state == "failed"
    assert set(run.deadlock["blocked"]) == {"main", "C"}
    assert_nothing_left(run)


# --------------------------------------------------------------------------- signals


@pytest.mark.parametrize("code, name, meaning, is_crash", [
    (-11, "SIGSEGV", "segmentation fault", True), (-6, "SIGABRT", "aborted", True),
    (-15, "SIGTERM", "terminated", False), (-9, "SIGKILL", "killed", False), (-200, "signal 200", "", False)])
def test_exit_codes_name_their_signal(code, name, meaning, is_crash):
    assert (signal_name(code), signal_meaning(code)) == (name, meaning)
    assert crashed(code) is is_crash
    assert not crashed(0) and not crashed(3) and not crashed(None)


# --------------------------------------------------------------------------- the file format


def test_old_files_load_with_no_crash():
    for node in scenario_file.load(lesson_path(1)).scenario.processes():
        assert (node.crash, node.crash_after) == ("none", 0)


def test_crash_fields_are_validated_and_saved(tmp_path):
    data = json.loads(lesson_path(1).read_text())
    producer = data["scenario"]["nodes"][0]  # 5 items
    producer.update(crash="reboot", crash_after=-1)
    with pytest.raises(scenario_file.ScenarioError) as info:
        scenario_file.from_dict(data)
    assert info.value.errors == [
        "scenario.nodes[0].crash: Input should be 'none', 'exception', 'exit' or 'segfault'",
        "scenario.nodes[0].crash_after: Input should be greater than or equal to 0"]
    producer.update(crash="segfault", crash_after=2)
    doc = scenario_file.from_dict(data)
    scenario_file.save(doc, tmp_path / "crash.json")
    assert scenario_file.load(tmp_path / "crash.json") == doc
    assert doc.scenario.nodes[0].crash == "segfault"


def test_a_crash_that_could_never_happen_is_refused():
    scenario = Scenario(nodes=[Producer("P", items=["a", "b"], crash="exit", crash_after=3), QueueNode("q"),
                               Consumer("C", loop="count", count=2, crash="exception", crash_after=3),
                               Consumer("D", crash="exception", crash_after=99)],
                        links=[Link("P", "q", "put"), Link("C", "q", "get"), Link("D", "q", "get")])
    assert check(scenario) == [
        "scenario.nodes[0].crash_after: it handles only 2 items, so it would never crash",
        "scenario.nodes[2].crash_after: it handles only 2 items, so it would never crash"]
    scenario.nodes[0].crash = "none"  # no crash: crash_after means nothing
    assert len(check(scenario)) == 1
