"""Every shipped lesson runs headless in real processes and shows its point in the trace."""

from __future__ import annotations

import pytest

from simulator import scenario_file
from simulator.lessons import lesson_paths


def test_every_lesson_file_is_valid_and_explained():
    paths = lesson_paths()
    assert [p.name[:2] for p in paths][:13] == [f"{n:02d}" for n in range(1, 14)]
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


@pytest.mark.parametrize("number", range(1, 14))
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
