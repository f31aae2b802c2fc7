"""Deadlock: each rule on hand-made snapshots, and real runs that deadlock through a pool, a
Manager queue and a lock, or that look stuck but are not."""

from __future__ import annotations

import pytest

from simulator.deadlock import deadlock
from simulator.scenario import (Consumer, Link, LockNode, Pace, PipeNode, PoolNode, Producer, QueueNode,
                                Scenario, Step)
from simulator.snapshot import ChannelState, Contents, LockState, PoolState, ProcessState, Snapshot


def snapshot(*processes: ProcessState, **objects) -> Snapshot:
    snap = Snapshot(0, "running", {p.name: p for p in processes})
    for ch in objects.get("channels", []):
        snap.channels[ch.name] = ch
    for lock in objects.get("locks", []):
        snap.locks[lock.name] = lock
    for pool in objects.get("pools", []):
        snap.pools[pool.name] = pool
    snap.manager = objects.get("manager")
    return snap


def inside(*ids: str) -> Contents:
    """A channel's messages (all put or sent by "P")."""
    contents = Contents()
    for mid in ids:
        contents.append(mid, "P")
    return contents


def blocked(name: str, op: str, on, timeout=None, **more) -> ProcessState:
    return ProcessState(name, "blocked", op=op, waits_on=on, timeout=timeout, **more)


MAIN_JOINS_A = ProcessState("main", "blocked", op="join", waits_on="A", role="main")


def test_a_get_on_an_empty_queue_is_stuck_one_on_a_message_is_not():
    q = ChannelState("q", "queue", "Queue")
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "get", "q"), channels=[q])) == ["main", "A"]
    q.contents = inside("1:1")  # the get is about to return
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "get", "q"), channels=[q])) is None


def test_a_timeout_always_ends_the_wait():
    q = ChannelState("q", "queue", "Queue")
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "get", "q", timeout=5.0), channels=[q])) is None
    main = ProcessState("main", "blocked", op="join", waits_on="A", timeout=2.0, role="main")
    assert deadlock(snapshot(main, blocked("A", "get", "q"), channels=[q])) is None


@pytest.mark.parametrize("state", ["running", "sleeping", "working", "starting"])
def test_a_process_that_can_move_means_no_deadlock(state):
    q = ChannelState("q", "queue", "Queue")
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "get", "q"), ProcessState("B", state),
                             channels=[q])) is None


def test_a_put_on_a_full_queue_is_stuck_unless_someone_is_getting():
    q = ChannelState("q", "queue", "Queue", maxsize=1, contents=inside("1:1"))
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "put", "q"), channels=[q])) == ["main", "A"]
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "put", "q"), blocked("B", "get", "q"),
                             channels=[q])) is None  # (a snapshot lagging behind: not stuck)
    unbounded = ChannelState("q", "queue", "Queue", contents=inside("1:1"))
    assert deadlock(snapshot(MAIN_JOINS_A, blocked("A", "put", "q"), channels=[unbounded])) is None


def test_queue_join_waits_for_unfinished_tasks():
    q = ChannelState("q", "queue", "JoinableQueue", unfinished=2)
    main = ProcessState("main", "blocked", op="queue_join", waits_on="q", role="main")
    daemon = blocked("C", "get", "q", daemon=True)
    assert deadlock(snapshot(main, daemon, channels=[q])) == ["main", "C"]
    q.unfinished = 0  # join is about to return
    assert deadlock(snapshot(main, daemon, channels=[q])) is None


def test_a_held_lock_and_a_free_one():
    lock = LockState("lock", holder="A", waiters=["B"])
    q = ChannelState("q", "queue", "Queue", maxsize=1, contents=inside("1:1"))
    procs = (MAIN_JOINS_A, blocked("A", "put", "q"), blocked("B", "acquire", "lock"))
    assert deadlock(snapshot(*procs, channels=[q], locks=[lock])) == ["main", "A", "B"]
    lock.holder = None  # released: B is about to take it
    assert deadlock(snapshot(*procs, channels=[q], locks=[lock])) is None


def test_a_terminated_process_is_about_to_end():
    q = ChannelState("q", "queue", "Queue")
    reader = blocked("A", "get", "q", terminate_requested=True)
    assert deadlock(snapshot(MAIN_JOINS_A, reader, channels=[q])) is None


def test_the_manager_and_idle_pool_workers_only_wait_to_serve():
    mq = ChannelState("mq", "queue", "Manager.Queue")
    manager = ProcessState("manager", "running", role="manager")
    idle = ProcessState("pool-worker-1", "running", role="pool_worker", pool="pool")
    pool = PoolState("pool", 1, "closed", ["pool-worker-1"])
    procs = (MAIN_JOINS_A, blocked("A", "get", "mq"), manager, idle)
    assert deadlock(snapshot(*procs, channels=[mq], pools=[pool], manager="manager")) == ["main", "A"]
    pool.queued = ["1:t0.0"]  # the idle worker is about to take it
    assert deadlock(snapshot(*procs, channels=[mq], pools=[pool], manager="manager")) is None


def test_joining_a_pool_waits_for_its_tasks():
    main = ProcessState("main", "blocked", op="join", waits_on="pool", role="main")
    worker = blocked("pool-worker-1", "get", "q", role="pool_worker", pool="pool", task="1:t0.0")
    q = ChannelState("q", "queue", "Queue")
    pool = PoolState("pool", 1, "closed", ["pool-worker-1"], running={"1:t0.0": "pool-worker-1"})
    assert deadlock(snapshot(main, worker, channels=[q], pools=[pool])) == ["main", "pool-worker-1"]
    done = PoolState("pool", 1, "closed", ["pool-worker-1"])
    idle = ProcessState("pool-worker-1", "running", role="pool_worker", pool="pool")
    assert deadlock(snapshot(main, idle, pools=[done])) is None  # the workers are about to exit


def test_main_at_its_end_waits_for_the_non_daemon_processes():
    main = ProcessState("main", "running", step="end", role="main")
    q = ChannelState("q", "queue", "Queue")
    assert deadlock(snapshot(main, blocked("A", "get", "q"), channels=[q])) == ["main", "A"]
    assert deadlock(snapshot(main, blocked("A", "get", "q", daemon=True), channels=[q])) is None
    manager = ProcessState("manager", "running", role="manager")  # shutting it down wakes A
    assert deadlock(snapshot(main, blocked("A", "get", "q"), manager, channels=[q], manager="manager")) is None


def test_a_daemon_killed_at_main_exit_does_not_hide_a_stuck_child():
    """The exit handler terminated the daemon, then joins the stuck child first: the daemon's end
    is never reported, and counts for nothing."""
    main = ProcessState("main", "running", step="end", role="main")
    q = ChannelState("q", "queue", "Queue")
    daemon = blocked("D", "get", "q", daemon=True, killed_at_exit=True)
    assert deadlock(snapshot(main, daemon, blocked("C", "get", "q"), channels=[q])) == ["main", "C"]


def test_a_recv_waits_only_for_what_comes_toward_its_end():
    pipe = ChannelState("p", "pipe", in_flight={"1": inside("1:1"), "2": Contents()})
    reader = blocked("A", "recv", "p", end="1")  # what it sent itself, from end 1, goes to end 2
    assert deadlock(snapshot(MAIN_JOINS_A, reader, channels=[pipe])) == ["main", "A"]
    pipe.in_flight["2"] = inside("2:1")  # sent from end 2: about to arrive
    assert deadlock(snapshot(MAIN_JOINS_A, reader, channels=[pipe])) is None
    writer = blocked("B", "send", "p", end="2")  # a big send; A reads end 1
    assert deadlock(snapshot(MAIN_JOINS_A, writer, reader, channels=[pipe])) is None


def test_only_a_running_run_deadlocks():
    q = ChannelState("q", "queue", "Queue")
    snap = snapshot(MAIN_JOINS_A, blocked("A", "get", "q"), channels=[q])
    snap.run = "stopped"
    assert deadlock(snap) is None


def test_a_pool_a_manager_queue_and_a_lock_deadlock_together(run_scenario):
    """The pool's second task blocks on a full Manager queue nobody reads while main joins the
    pool; one writer holds the lock while blocked on a full queue, the other waits on the lock."""
    scenario = Scenario(title="stuck together", start_method="fork", nodes=[
        PoolNode("pool", size=1, tasks=2, work=Pace(0.0)), QueueNode("mq", "queue", "Manager.Queue", 1),
        Producer("A", items=3), Producer("B", items=3), QueueNode("q", maxsize=1), LockNode("lock")],
        links=[Link("pool", "mq", "put"), Link("A", "q", "put"), Link("B", "q", "put"),
               Link("A", "lock", "use"), Link("B", "lock", "use")],
        steps=[Step("start", "pool"), Step("start", "A"), Step("start", "B"), Step("join", "pool"),
               Step("join", "A"), Step("join", "B"), Step("end")])
    run = run_scenario(scenario, timeout=30)
    assert run.outcome == "deadlock"
    found = run.deadlock["blocked"]
    holder = found["A"] if found["A"]["op"] == "put" else found["B"]
    waiter = found["B"] if holder is found["A"] else found["A"]
    assert holder == {"op": "put", "waits_on": "q"}
    assert waiter["op"] == "acquire" and waiter["waits_on"] == "lock" and waiter["holder"] in ("A", "B")
    assert found["main"] == {"op": "join", "waits_on": "pool"}
    assert found["pool-worker-1"] == {"op": "put", "waits_on": "mq"}
    assert "manager" not in found  # it only serves


def test_a_reader_waiting_forever_is_no_deadlock_while_main_sleeps(run_scenario):
    """Lesson 7's shape: the reader is blocked for good, but main still has steps to take."""
    scenario = Scenario(title="not stuck", start_method="fork", nodes=[
        Producer("P", items=1), QueueNode("q"), Consumer("C")],
        links=[Link("P", "q", "put"), Link("C", "q", "get")],
        steps=[Step("start", "P"), Step("start", "C"), Step("join", "P"), Step("sleep", seconds=1.5),
               Step("terminate", "C"), Step("join", "C"), Step("end")])
    run = run_scenario(scenario, timeout=30)
    assert run.outcome == "finished" and run.deadlock is None


def test_main_at_its_end_waiting_for_a_stuck_child_is_a_deadlock(run_scenario):
    """No join step: multiprocessing's exit handler joins the consumer, which waits forever."""
    scenario = Scenario(title="stuck at exit", start_method="fork", nodes=[
        Producer("P", items=1), QueueNode("q"), Consumer("C", loop="count", count=2)],
        links=[Link("P", "q", "put"), Link("C", "q", "get")],
        steps=[Step("start", "P"), Step("start", "C"), Step("end")])
    run = run_scenario(scenario, timeout=30)
    assert run.outcome == "deadlock"
    assert run.deadlock["blocked"] == {"main": {"op": "exit", "waits_on": ["C"]},
                                       "C": {"op": "get", "waits_on": "q"}}


def test_main_exit_with_a_terminated_daemon_and_a_stuck_child_is_a_deadlock(run_scenario):
    """The exit handler terminates the daemon, then joins both in any order: joining the stuck
    child first, the daemon's end is never reported."""
    scenario = Scenario(title="stuck at exit with a daemon", start_method="fork", nodes=[
        Producer("P", items=1), QueueNode("q"), Consumer("C", loop="count", count=2),
        Consumer("D", daemon=True)],
        links=[Link("P", "q", "put"), Link("C", "q", "get"), Link("D", "q", "get")],
        steps=[Step("start", "P"), Step("join", "P"), Step("start", "C"), Step("start", "D"), Step("end")])
    run = run_scenario(scenario, timeout=30)
    assert run.outcome == "deadlock"
    assert run.deadlock["blocked"]["main"] == {"op": "exit", "waits_on": ["C"]}
    assert run.deadlock["blocked"]["C"] == {"op": "get", "waits_on": "q"}


def test_a_recv_with_messages_going_the_other_way_is_a_deadlock(run_scenario):
    """A sends on end 1, then waits for a reply on end 1 that nobody sends: its own message is
    in flight the other way."""
    scenario = Scenario(title="waiting for a reply", start_method="fork", nodes=[
        Producer("A", items=1, replies=1), PipeNode("pipe", duplex=True)],
        links=[Link("A", "pipe", "send", end=1)],
        steps=[Step("start", "A"), Step("join", "A"), Step("end")])
    run = run_scenario(scenario, timeout=30)
    assert run.outcome == "deadlock"
    assert run.deadlock["blocked"]["A"] == {"op": "recv", "waits_on": "pipe"}
