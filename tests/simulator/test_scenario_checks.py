"""Pools, Manager queues, dicts, lists and locks: validation names the field, the editing model
refuses what validation would, and a scenario file using them round-trips."""

from __future__ import annotations

import pytest

from simulator import scenario_file
from simulator.model import EditError, ScenarioModel, new_node
from simulator.scenario import (Consumer, DictNode, Document, Link, ListNode, LockNode, Pace, PoolNode,
                                Producer, QueueNode, Scenario, Step, Worker, check)


def shared_scenario() -> Scenario:
    return Scenario(title="everything new", nodes=[
        PoolNode("pool", size=2, tasks=3, work=Pace(0.1)),
        QueueNode("mq", queue_type="Manager.JoinableQueue", maxsize=2),
        Consumer("C", task_done=True),
        Producer("W", items=2), DictNode("d"), ListNode("l"),
        LockNode("lk", lock_type="Manager.Lock"),
        Consumer("R", loop="count", count=2, work=Pace(0.1)),
    ], links=[Link("pool", "mq", "put"), Link("pool", "lk", "use"), Link("C", "mq", "get"),
              Link("W", "d", "write"), Link("W", "l", "write"), Link("W", "lk", "use"),
              Link("R", "d", "read")],
        steps=[Step("start", "pool"), Step("start", "C"), Step("start", "W"), Step("start", "R"),
               Step("join", "pool"), Step("queue_join", "mq"), Step("join", "W"), Step("read", "l"),
               Step("read", "d"), Step("end")])


def test_a_sound_scenario_with_every_new_kind(tmp_path):
    s = shared_scenario()
    assert check(s) == []
    assert s.uses_manager() and s.manager_name() == "manager"
    assert [n.id for n in s.channels()] == ["mq"] and [n.id for n in s.pools()] == ["pool"]
    assert [n.id for n in s.shared()] == ["d", "l"] and s.lock_of("W").channel == "lk"
    scenario_file.save(Document(s), tmp_path / "s.json")
    assert scenario_file.load(tmp_path / "s.json").scenario == s


def test_the_manager_is_started_only_when_needed():
    plain = Scenario(nodes=[QueueNode("q"), LockNode("lk"), PoolNode("pool")])
    assert not plain.uses_manager()
    assert Scenario(nodes=[QueueNode("q", queue_type="Manager.Queue")]).uses_manager()
    assert Scenario(nodes=[LockNode("lk", lock_type="Manager.Lock")]).uses_manager()
    assert Scenario(nodes=[ListNode("manager")]).manager_name() == "manager-server"


def test_default_steps_start_and_join_pools():
    s = Scenario(nodes=[Producer("P", daemon=True), QueueNode("q"), PoolNode("pool")],
                 links=[Link("P", "q", "put")])
    assert [step.label() for step in s.effective_steps()] == ["start(P)", "start(pool)", "join(pool)", "end"]


@pytest.mark.parametrize("change, error", [
    (lambda s: s.links.append(Link("pool", "d", "write")),
     "scenario.links[7].op: a pool's tasks put on a queue or use a lock; they cannot write"),
    (lambda s: s.links.append(Link("C", "lk", "put")),
     "scenario.links[7].op: a lock is used with use, not put"),
    (lambda s: s.links.append(Link("W", "mq", "put")),
     "scenario.nodes[3]: a producer puts to one channel or writes to dicts and lists, not both"),
    (lambda s: s.links.append(Link("W", "pool", "put")),
     "scenario.links[7].channel: 'pool' is a pool, not a channel"),
    (lambda s: setattr(s.nodes[0], "result", "{item}"),
     "scenario.nodes[0].result: unknown field {item} (use {i}, {name})"),
    (lambda s: setattr(s.nodes[3], "key", "{os}"),
     "scenario.nodes[3].key: unknown field {os} (use {i}, {name})"),
    (lambda s: setattr(s.nodes[3], "sentinels", 1),
     "scenario.nodes[3].sentinels: sentinels are put on a queue"),
    (lambda s: setattr(s.nodes[7], "loop", "until_sentinel"),
     "scenario.nodes[7].loop: a reader of a dict reads count times or forever"),
    (lambda s: setattr(s.nodes[7], "task_done", True),
     "scenario.nodes[7].task_done: only a JoinableQueue has task_done()"),
    (lambda s: s.steps.insert(0, Step("join", "pool")),
     "scenario.steps[0].target: start pool 'pool' before you join it"),
    (lambda s: s.steps.insert(1, Step("start", "pool")),
     "scenario.steps[1].target: pool 'pool' is already started"),
    (lambda s: s.steps.insert(0, Step("read", "mq")),
     "scenario.steps[0].target: 'mq' is a queue, not a dict or list"),
    (lambda s: s.steps.insert(0, Step("start", "d")),
     "scenario.steps[0].target: 'd' is a dict, not a process or a pool"),
    (lambda s: s.steps.insert(1, Step("join", "pool", 2.0)),
     "scenario.steps[1].seconds: a pool's join() has no timeout"),
])
def test_errors_name_the_field(change, error):
    s = shared_scenario()
    change(s)
    assert error in check(s)


def test_a_worker_does_not_read_or_write_shared_objects():
    s = Scenario(nodes=[Worker("W"), DictNode("d"), QueueNode("q")],
                 links=[Link("W", "d", "read"), Link("W", "q", "put")])
    assert "scenario.nodes[0]: a worker gets from a queue or a pipe and puts to one, not a dict or list" in check(s)


def test_the_editing_model_knows_the_new_kinds():
    model = ScenarioModel(Document(Scenario()))
    for kind, node_id in [("Pool", "pool"), ("Manager.Queue", "mq"), ("dict", "d"), ("list", "l"),
                          ("Manager.Lock", "lk"), ("Lock", "plain"), ("producer", "P"), ("consumer", "C")]:
        model.add_node(new_node(kind, node_id), (0, 0))
    assert model.node("mq").queue_type == "Manager.Queue" and model.node("mq").maxsize == 3
    assert model.node("lk").lock_type == "Manager.Lock" and model.node("pool").size == 4
    assert model.link_problem(Link("pool", "mq", "put")) is None
    assert model.link_problem(Link("pool", "d", "write")) == "a pool's tasks only put their result on a queue"
    assert model.link_problem(Link("P", "d", "write")) is None
    model.add_link(Link("P", "d", "write"))
    assert model.link_problem(Link("P", "l", "write")) is None  # a producer may write to several
    assert model.link_problem(Link("P", "mq", "put")) == "P already writes to d"
    assert model.link_problem(Link("C", "d", "read")) is None
    assert model.link_problem(Link("C", "d", "write")).startswith("a consumer only gets or receives")
    assert model.link_problem(Link("P", "lk", "put")) == "a lock is used (with lock: ...)"
    model.add_link(Link("P", "lk", "use"))
    assert model.link_problem(Link("P", "plain", "use")) == "P already uses lk"
    assert model.link_problem(Link("P", "pool", "put")).startswith("a process talks to another process")
    with pytest.raises(EditError, match="unknown field"):
        model.change_node("pool", result="{item}")
    assert model.problems() == ["scenario.nodes[7]: a consumer gets from 1 channel(s), this one from 0"]
