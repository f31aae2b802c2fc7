"""Every shipped lesson runs headless in real processes and shows its point in the trace."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import scenario_file
from simulator.deadlock import deadlock
from simulator.fold import apply, initial_snapshot
from simulator.lessons import lesson_path, lesson_paths

ROOT = Path(__file__).resolve().parents[2]
PLAIN_QUEUE_ERROR = "RuntimeError: Queue objects should only be shared between processes through inheritance"


def test_every_lesson_file_is_valid_and_explained():
    paths = lesson_paths()
    assert [p.name[:2] for p in paths] == [f"{n:02d}" for n in range(1, 21)]
    for path in paths:
        scenario = scenario_file.load(path).scenario
        assert scenario.title and len(scenario.explanation) > 80, path.name


def test_01_bounded_queue_blocks_the_producer(lesson_runs):
    run = lesson_runs(1)
    assert run.outcome == "finished"
    blocked = run.first("put_blocked", process="producer")
    assert len(run.at(blocked).channels["q"].contents) == 3  # the queue is full: 3 of 3
    assert run.at(blocked).processes["producer"].op == "put"
    released = run.first("message_put", message=blocked.message)
    first_get = run.first("message_got", process="consumer")
    assert blocked.t_ns < first_get.t_ns < released.t_ns  # a get, and only a get, unblocks it
    assert released.t_ns - first_get.t_ns < 0.5e9


def test_02_get_on_empty_blocks(lesson_runs):
    run = lesson_runs(2)
    blocked = run.first("get_blocked", process="consumer")
    first_put = run.first("message_put", process="producer")
    assert blocked.t_ns < first_put.t_ns
    assert first_put.t_ns - blocked.t_ns > 1e9  # waited for the late producer
    assert run.first("message_got").message == first_put.message


def test_03_nowait_raises_full_and_empty(lesson_runs):
    run = lesson_runs(3)
    dropped = run.of("put_failed", process="producer")
    assert [e.detail["error"] for e in dropped] == ["Full", "Full"]
    entered = {e.message for e in run.of("message_put")}
    assert not entered & {e.message for e in dropped}  # the dropped items never entered the queue
    assert run.first("get_failed", process="consumer").detail["error"] == "Empty"
    assert run.final.counts["dropped"] == 2
    assert not run.of("put_blocked") and not run.of("get_blocked")  # nowait never waits


def test_04_timeouts_wait_then_fail(lesson_runs):
    run = lesson_runs(4)
    blocked, failed = run.first("put_blocked"), run.first("put_failed")
    assert blocked.message == failed.message and failed.detail["error"] == "Full"
    assert 2.0e9 <= failed.t_ns - blocked.t_ns < 3.0e9
    got_blocked = run.of("get_blocked", process="consumer")[-1]
    empty = run.first("get_failed", process="consumer")
    assert empty.detail["error"] == "Empty" and 1.0e9 <= empty.t_ns - got_blocked.t_ns < 2.0e9


def test_05_writer_then_reader(lesson_runs):
    run = lesson_runs(5)
    steps = [e.object for e in run.of("main_step_started")]
    assert steps == ["start(writer)", "join(writer)", "start(reader)", "join(reader)", "end"]
    assert [e.detail["preview"] for e in run.of("message_got")] == ["'A'", "'B'", "'C'"]
    writer_exit = run.first("process_exited", object="writer")
    assert writer_exit.t_ns < run.first("process_start_requested", object="reader").t_ns


def test_06_empty_is_a_race(lesson_runs):
    run = lesson_runs(6)
    reader_exit = run.first("process_exited", object="reader")
    last_put = run.of("message_put", process="writer")[-1]
    assert reader_exit.t_ns < last_put.t_ns  # it quit while the writer was still producing
    assert run.final.channels["q"].contents  # ...leaving messages behind


def test_07_endless_reader_is_terminated(lesson_runs):
    run = lesson_runs(7)
    terminate = run.first("process_terminate_requested", object="reader")
    state = run.at(terminate).processes["reader"]
    assert (state.state, state.op, state.waits_on) == ("blocked", "get", "q")
    exited = run.first("process_exited", object="reader")
    assert exited.detail["exitcode"] == -15
    assert run.final.processes["reader"].state == "terminated"


def test_08_pipe_carries_messages_both_ways(lesson_runs):
    run = lesson_runs(8)
    sent = {e.process: e for e in run.of("message_sent")}
    received = {e.process: e for e in run.of("message_received")}
    assert sent["child"].detail["end"] == "2" and sent["parent"].detail["end"] == "1"
    assert received["parent"].message == sent["child"].message
    assert received["child"].message == sent["parent"].message
    assert received["parent"].detail["preview"].startswith("[0, 1, 2, 3")  # a bounded preview


def test_09_one_way_pipe_refuses_to_send_on_its_receive_end(lesson_runs):
    run = lesson_runs(9)
    error = run.first("connection_error", process="reader")
    assert error.detail["error"] == "OSError" and "read-only" in error.detail["reason"]
    assert run.first("process_failed", object="reader").detail["error"] == "OSError"
    assert run.final.processes["reader"].state == "failed"


def test_10_two_writers_on_one_end(lesson_runs):
    run = lesson_runs(10)
    arrived = [e.detail["preview"] for e in run.of("message_received")]
    assert sorted(arrived) == sorted([f"'A{i}'" for i in range(5)] + [f"'B{i}'" for i in range(5)])
    senders = [run.first("message_sent", message=e.message).process for e in run.of("message_received")]
    assert set(senders) == {"writer_a", "writer_b"}


def test_11_daemons_killed_after_queue_join(lesson_runs):
    run = lesson_runs(11)
    returned = run.first("join_returned", process="main")
    assert run.at(returned).channels["q"].unfinished == 0
    kills = run.of("daemon_killed_at_exit")
    assert sorted(e.object for e in kills) == ["C1", "C2"]
    assert all(k.t_ns > returned.t_ns for k in kills)
    for name in ("C1", "C2"):
        assert run.final.processes[name].state == "daemon_killed"
        assert run.final.processes[name].exitcode == -15
    assert run.final.counts["delivered"] == 9 and run.final.counts["lost"] == 0


def test_12_daemons_killed_with_work_unfinished(lesson_runs):
    run = lesson_runs(12)
    kill = run.first("daemon_killed_at_exit")
    at_kill = run.at(kill)
    assert at_kill.channels["q"].unfinished > 0
    assert not run.of("join_returned")
    final = run.final
    assert final.channels["q"].contents or final.counts["lost"]  # visibly lost work
    assert final.counts["lost"] >= 1 and len(final.channels["q"].contents) >= 1


def test_13_sentinels_stop_consumers(lesson_runs):
    run = lesson_runs(13)
    assert not run.of("process_terminate_requested") and not run.of("daemon_killed_at_exit")
    for name in ("C1", "C2"):
        assert run.final.processes[name].state == "finished"
        got = [e.detail["preview"] for e in run.of("message_got", process=name)]
        assert got[-1] == "None"
    assert run.final.counts["put"] == run.final.counts["got"] == 8
    assert not run.final.channels["q"].contents


def printed(run, process: str, stream: str = "stdout") -> list[str]:
    return [e.detail["line"] for e in run.of("process_output", process=process)
            if e.detail["stream"] == stream]


def test_14_a_plain_queue_cannot_go_to_a_pool(lesson_runs):
    run = lesson_runs(14)
    assert run.outcome == "failed"  # main died of the exception, as the program would
    failures = run.of("task_failed", object="pool")
    assert len(failures) == 2 and not run.of("task_started") and not run.of("message_put")
    assert {(e.process, e.detail["stage"], f"{e.detail['error']}: {e.detail['reason']}")
            for e in failures} == {("main", "submit", PLAIN_QUEUE_ERROR)}
    main = run.final.processes["main"]  # shown at the process that called get()
    assert (main.state, main.exitcode, main.error) == ("failed", 1, PLAIN_QUEUE_ERROR)
    assert printed(run, "main", "stderr")[-1] == PLAIN_QUEUE_ERROR
    assert run.first("task_failed").t_ns < run.first("process_failed", object="main").t_ns
    assert set(run.final.pools["pool"].failed.values()) == {PLAIN_QUEUE_ERROR}
    at_end = run.at(run.first("main_step_started", object="end")).processes["main"]
    assert (at_end.state, at_end.error) == ("running", PLAIN_QUEUE_ERROR)  # its exit handler runs


def test_15_a_manager_queue_works_with_a_pool(lesson_runs):
    run = lesson_runs(15)
    assert run.outcome == "finished"
    manager = run.first("process_started", object="manager")
    assert run.final.processes["manager"].role == "manager" and run.final.manager == "manager"
    puts, gets = run.of("message_put", object="results"), run.of("message_got", object="results")
    assert len(puts) == len(gets) == 4
    assert all(e.process.startswith("pool-worker-") for e in puts)
    assert {e.process for e in gets} == {"collector"}
    assert {e.detail["via"] for e in puts + gets} == {"manager"}  # every message goes through it
    assert {e.message for e in puts} == {e.message for e in gets}
    assert manager.t_ns < min(e.t_ns for e in puts)
    assert printed(run, "main") == ["main: pool results ['pool-0', 'pool-1', 'pool-2', 'pool-3']"]
    assert len(run.final.pools["pool"].done) == 4


def test_16_a_pool_of_four_runs_four_tasks_at_once(lesson_runs):
    run = lesson_runs(16)
    assert run.outcome == "finished"
    running, most = 0, 0
    for e in run.events:
        running += {"task_started": 1, "task_finished": -1}.get(e.kind, 0)
        most = max(most, running)
    assert most == 4  # four at once, never more
    submitted = run.of("task_submitted")
    started = run.of("task_started")
    first_done = run.first("task_finished")
    assert len(submitted) == len(started) == 5
    assert max(e.t_ns for e in submitted) < first_done.t_ns  # all five were handed to the pool at once
    fifth = started[-1]
    assert fifth.t_ns > first_done.t_ns  # ...and the fifth waited for a free worker
    before = run.timeline.state_after(run.events.index(first_done)).pools["pool"]
    assert len(before.running) == 4 and before.queued == [fifth.message]
    # a worker that had finished its task took it (whichever of the freed ones reached the task
    # queue first: multiprocessing does not promise the first freed)
    assert any(e.process == fifth.process and e.t_ns < fifth.t_ns for e in run.of("task_finished"))


def test_17_main_sees_the_childs_writes(lesson_runs):
    run = lesson_runs(17)
    assert run.outcome == "finished"
    items = {"writer-0": "item 0", "writer-1": "item 1", "writer-2": "item 2"}
    assert printed(run, "main") == [f"main: d = {items!r}", f"main: l = {list(items.values())!r}"]
    writes = run.of("dict_write", process="writer") + run.of("list_write", process="writer")
    reads = run.of("dict_read", process="main") + run.of("list_read", process="main")
    assert len(writes) == 6 and len(reads) == 2
    assert max(e.t_ns for e in writes) < min(e.t_ns for e in reads)
    d, lst = run.final.shared["d"], run.final.shared["l"]
    assert (d.contents, d.writes, d.last_read.process) == (repr(items), 3, "main")
    assert (lst.contents, lst.length, lst.last_write.op) == (repr(list(items.values())), 3, "append")


def test_18_one_writer_holds_the_lock_while_the_other_waits(lesson_runs):
    run = lesson_runs(18)
    assert run.outcome == "finished"
    first, second = [e.process for e in run.of("lock_acquired")]
    assert {first, second} == {"A", "B"}
    [blocked] = run.of("lock_acquire_blocked")
    assert blocked.process == second and blocked.detail["holder"] == first
    at = run.at(blocked)
    assert (at.locks["lock"].holder, at.locks["lock"].waiters) == (first, [second])
    waiting = at.processes[second]
    assert (waiting.state, waiting.op, waiting.waits_on) == ("blocked", "acquire", "lock")
    released = run.first("lock_released", process=first)
    assert run.first("lock_acquired", process=second).t_ns > released.t_ns > blocked.t_ns
    got = [e.detail["preview"] for e in run.of("message_got", process="reader")]
    assert got == [f"'{first}{i}'" for i in range(4)] + [f"'{second}{i}'" for i in range(4)]


def start_latencies(run) -> dict[str, float]:
    requested = {e.object: e.t_ns for e in run.of("process_start_requested")}
    return {e.object: (e.t_ns - requested[e.object]) / 1e9 for e in run.of("process_started")}


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_19_start_methods_differ(start_method_runs, method):
    run, spawn, fork = start_method_runs(method), start_method_runs("spawn"), start_method_runs("fork")
    assert run.outcome == "finished"
    for name in ("P1", "C1", "P2", "C2"):  # the same program, the same output
        assert printed(run, name) == printed(spawn, name)
    main_pid = run.of("main_step_started")[0].pid
    parents = {e.object: e.detail["ppid"] for e in run.of("process_started")}
    latency = start_latencies(run)
    spawned = statistics.median(start_latencies(spawn).values())
    if method in ("fork", "spawn"):  # main's own children
        assert set(parents.values()) == {main_pid}
    if method == "fork":  # a copy of main: no interpreter to start, nothing to import
        assert statistics.median(latency.values()) * 5 < spawned
    if method == "spawn":  # a new interpreter, every time
        assert min(latency.values()) > 3 * statistics.median(start_latencies(fork).values())
    if method == "forkserver":  # forked by the server: the first start pays for starting it
        assert len(set(parents.values())) == 1 and main_pid not in parents.values()
        later = statistics.median(latency[name] for name in ("C1", "P2", "C2"))
        assert latency["P1"] > 3 * later and later * 3 < spawned


def test_20_the_deadlock_is_found(lesson_runs):
    run = lesson_runs(20)
    assert run.outcome == "deadlock"
    found = run.first("deadlock_detected")
    assert found.detail == run.deadlock == {"blocked": {
        "main": {"op": "join", "waits_on": "A"},
        "A": {"op": "get", "waits_on": "inbox_a"},
        "B": {"op": "get", "waits_on": "inbox_b"}}}
    before = run.timeline.state_after(run.events.index(found))
    assert deadlock(before) == ["main", "A", "B"] and before.deadlock is None
    assert run.at(found).deadlock == ["main", "A", "B"]
    last = run.events[run.events.index(found) - 1]
    assert 0.5e9 <= found.t_ns - last.t_ns < 3e9  # it held for the grace period, then was reported
    assert run.final.run == "deadlock"


def test_20_headless_run_reports_the_deadlock_with_exit_status_4(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ui.main", "run", lesson_path(20), "--headless",
                             "--trace", tmp_path / "t.ipctrace", "--timeout", "60"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 4, result.stderr
    assert "deadlock: every live process is blocked, and nothing can wake any of them:" in result.stdout
    assert re.search(r"main   blocked in join\(\) of A\n +A   blocked in get\(\) on inbox_a, which is empty",
                     result.stdout)
    assert "deadlock: every process is blocked for good" in result.stderr


@pytest.mark.parametrize("number", range(1, 20))
def test_no_lesson_but_20_is_ever_deadlocked(lesson_runs, number):
    """At no moment of the run: every state the fold goes through, not only the last."""
    run = lesson_runs(number)
    snap = initial_snapshot(run.timeline.scenario)
    for e in run.events:
        apply(snap, e)
        assert deadlock(snap) is None, (number, e)


@pytest.mark.parametrize("number", [*range(1, 14), 15, 16, 17, 18, 19])
def test_every_lesson_ends_cleanly_with_every_process_accounted(lesson_runs, number):
    run = lesson_runs(number)
    assert run.outcome == "finished"
    final = run.final
    assert final.run == "finished"
    for p in final.processes.values():
        assert p.state in ("finished", "failed", "terminated", "daemon_killed"), (p.name, p.state)
    c = final.counts
    left = sum(ch.depth() for ch in final.channels.values())
    # every message put or sent is settled exactly once, or still in a channel
    assert c["put"] + c["sent"] + c["dropped"] == c["delivered"] + c["dropped"] + c["lost"] + left
