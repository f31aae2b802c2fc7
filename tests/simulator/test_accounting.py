"""Every message is accounted for exactly once: random scenarios (`scenario_strategies`) run in
real processes, and every message put or sent is, in the final snapshot, got exactly once, still
inside its channel, or lost (by a feeder thread, or with the killed process holding it); nothing
is got that was never put, nothing twice. `benchmarks/accounting.py` runs many more.

Then the forced reproducers: a process killed exactly between an operation's effect and its
report (or its report and its effect), each accounted for, and folded as it happened."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time

import pytest
from hypothesis import given, settings

import ipc
import ipc.connection
import ipc.queues
import ipc.trace
from ipc.trace import Collector, Event
from scenario_strategies import account, run_and_account, scenarios
from simulator.fold import apply
from simulator.scenario import Scenario
from simulator.scenario_checks import check
from simulator.snapshot import Snapshot, initial_snapshot


def test_the_strategy_builds_only_valid_scenarios():
    @settings(max_examples=300, deadline=None, database=None)
    @given(scenarios())
    def valid(scenario):
        assert check(scenario) == []

    valid()


@settings(max_examples=30, deadline=None, database=None)
@given(scenarios())
def test_every_message_is_accounted_for_exactly_once(scenario):
    checked = run_and_account(scenario)
    assert checked.ledger.problems == [], (checked.outcome, checked.ledger)


# --------------------------------------------------------------------------- forced reproducers
# A process killed at the worst moment of an operation: between its effect and its report, or
# between its report and its effect. Forced, not raced for: the child replaces `emit` (or the
# write) of the module that reports with one that SIGKILLs the child first, so the kill lands
# exactly there. Each run is folded and must be accounted for with zero problems, and the fold
# must show what really happened.

FORK = ipc.get_context("fork")


@pytest.fixture
def collected():
    """The events of everything this test runs (the test process and its children)."""
    with Collector() as collector:
        ipc.trace.attach(collector.address)
        try:
            yield collector
        finally:
            ipc.trace.detach()


def _events(collector: Collector, *children) -> list[Event]:
    """Every event so far: once every child's stream has ended, and this process's own events
    have all arrived (up to a marker it reports last, left out)."""
    ipc.trace.emit("test_marker")
    events, ended, deadline = [], set(), time.monotonic() + 20
    pids = {p.pid for p in children}
    while not (pids <= ended and any(e.kind == "test_marker" for e in events)):
        assert time.monotonic() < deadline, "the trace streams did not end"
        collector.wait(0.5)
        batch = collector.drain()
        events += batch.events
        ended |= {s.pid for s in batch.ended}
    return sorted(e for e in events if e.kind != "test_marker")


def _fold(events: list[Event]) -> tuple[Snapshot, list[str]]:
    """The final snapshot and the ledger's problems; the test's own process is taken to end
    (exit code 0) after its last event, as a run's main does, so it is done with what it got."""
    me = multiprocessing.current_process().name
    events = events + [Event(events[-1].t_ns + 1, os.getpid(), 1 << 30, me, "process_exited", me,
                             None, {"exitcode": 0})]
    scenario = Scenario(title="forced")
    snap = initial_snapshot(scenario)
    for e in events:
        apply(snap, e)
    return snap, account(scenario, events, snap).problems


def _dying_before(kind: str, module) -> None:
    """From now on, this process SIGKILLs itself just before `module` reports `kind`."""
    real = module.emit

    def emit(k, *args, **kwargs):
        if k == kind:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(k, *args, **kwargs)

    module.emit = emit


def _send_then_die(conn):
    _dying_before("message_sent", ipc.connection)  # the bytes are written, then the kill
    conn.send("x")


def _die_while_sending(conn):
    def write_now(self, chunks):
        os.kill(os.getpid(), signal.SIGKILL)

    ipc.queues.Readiness.write_now = write_now  # send_called reported, then the kill
    conn.send("x")


@pytest.mark.parametrize("receive_first", [True, False])
def test_a_sender_killed_after_writing_but_before_reporting(collected, receive_first):
    mine, theirs = FORK.Pipe()
    sender = FORK.Process(target=_send_then_die, args=(theirs,), name="sender")
    sender.start()
    if receive_first:  # received before main sees the sender's end, or after it
        assert mine.recv() == "x"
    sender.join()
    assert sender.exitcode == -signal.SIGKILL
    if not receive_first:
        assert mine.recv() == "x"
    events = _events(collected, sender)
    assert [e.kind for e in events if e.message and e.process == "sender"] == ["send_called"]
    snap, problems = _fold(events)
    assert problems == []
    assert (snap.counts["sent"], snap.counts["received"], snap.counts["lost"]) == (1, 1, 0)
    assert snap.channels[mine.trace_name].depth() == 0 and not snap.unconfirmed


def test_a_sender_killed_before_writing_loses_its_message(collected):
    mine, theirs = FORK.Pipe()
    sender = FORK.Process(target=_die_while_sending, args=(theirs,), name="sender")
    sender.start()
    sender.join()
    assert sender.exitcode == -signal.SIGKILL
    assert not mine.poll(0)  # nothing came, and nothing can come any more
    snap, problems = _fold(_events(collected, sender))
    assert problems == []
    assert (snap.counts["sent"], snap.counts["received"], snap.counts["lost"]) == (0, 0, 1)
    assert snap.channels[mine.trace_name].depth() == 0


def _put_all(q, items):
    for item in items:
        q.put(item)


def _get_then_die(q):
    _dying_before("message_got", ipc.queues)  # the item is taken, then the kill
    q.get()


def _recv_then_die(conn):
    _dying_before("message_received", ipc.connection)
    conn.recv()


def _put_then_get_and_die(q, items):
    """A producer process puts `items` and ends; then a getter process takes the first and is
    SIGKILLed before it reports it."""
    producer = FORK.Process(target=_put_all, args=(q, items), name="producer")
    producer.start()
    producer.join()
    getter = FORK.Process(target=_get_then_die, args=(q,), name="getter")
    getter.start()
    getter.join()
    assert getter.exitcode == -signal.SIGKILL
    return producer, getter


@pytest.mark.parametrize("queue_type", ["Queue", "JoinableQueue", "SimpleQueue"])
def test_a_getter_killed_after_taking_but_before_reporting(collected, queue_type):
    """The producer's next item got shows the taken one gone (a producer's items come out in
    the order it put them)."""
    q = getattr(FORK, queue_type)()
    producer, getter = _put_then_get_and_die(q, [0, 1, 2])
    assert [q.get(), q.get()] == [1, 2]
    snap, problems = _fold(_events(collected, producer, getter))
    assert problems == []
    assert (snap.counts["put"], snap.counts["got"], snap.counts["lost"]) == (3, 2, 1)
    assert not snap.channels[q.trace_name].contents


@pytest.mark.parametrize("queue_type", ["Queue", "JoinableQueue"])
def test_a_getter_killed_with_the_last_item_taken(collected, queue_type):
    """A get that finds the queue empty after its putter ended shows the item gone."""
    q = getattr(FORK, queue_type)()
    producer, getter = _put_then_get_and_die(q, [0])
    with pytest.raises(queue.Empty):
        q.get_nowait()
    snap, problems = _fold(_events(collected, producer, getter))
    assert problems == []
    assert (snap.counts["put"], snap.counts["got"], snap.counts["lost"]) == (1, 0, 1)
    assert not snap.channels[q.trace_name].contents


def test_a_receiver_killed_after_reading_but_before_reporting(collected):
    mine, theirs = FORK.Pipe()
    receiver = FORK.Process(target=_recv_then_die, args=(theirs,), name="receiver")
    receiver.start()
    mine.send("a")
    receiver.join()
    assert receiver.exitcode == -signal.SIGKILL
    mine.send("b")
    assert theirs.recv() == "b"  # main reads that end itself now
    snap, problems = _fold(_events(collected, receiver))
    assert problems == []
    assert (snap.counts["sent"], snap.counts["received"], snap.counts["lost"]) == (2, 1, 1)
    assert snap.channels[mine.trace_name].depth() == 0


def _put_and_die(q, n, size):
    for i in range(n):
        q.put(str(i) * size)
    os.kill(os.getpid(), signal.SIGKILL)  # with items its feeder thread has not written


def test_a_putter_killed_with_items_in_its_feeder_buffer(collected):
    """Its items that were never written are settled lost by the first get that finds the queue
    empty after its death; the others are got."""
    q = FORK.Queue()
    n = 100  # 100 items of ~2 KiB: far more than the pipe holds while nobody reads
    putter = FORK.Process(target=_put_and_die, args=(q, n, 2000), name="putter")
    putter.start()
    putter.join()
    assert putter.exitcode == -signal.SIGKILL
    got = []
    while True:
        try:
            got.append(q.get_nowait())
        except queue.Empty:
            break
    assert len(got) < n
    snap, problems = _fold(_events(collected, putter))
    assert problems == []
    assert (snap.counts["put"], snap.counts["got"], snap.counts["lost"]) == (n, len(got), n - len(got))
    assert not snap.channels[q.trace_name].contents
