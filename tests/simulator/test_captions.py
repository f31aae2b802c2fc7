"""Captions of real recorded runs: each lesson's moment in plain words, and never an exception."""

from __future__ import annotations

import pytest

from ipc.trace import Event
from simulator.captions import NOISE, caption, latest_caption
from simulator.fold import initial_snapshot
from simulator.scenario import Scenario

# Every kind the README documents, to be captioned from odd details without raising.
KINDS = """run_started run_stopped process_start_requested process_started process_exited
process_failed process_output process_terminate_requested process_kill_requested
daemon_killed_at_exit main_step_started main_step_finished sleep_started sleep_finished
work_started work_finished put_blocked message_put put_failed get_blocked message_got get_failed
task_done task_done_failed join_blocked join_returned queue_closed send_blocked message_sent
recv_blocked message_received connection_closed connection_error lock_acquire_blocked
lock_acquired lock_acquire_failed lock_released lock_release_failed pool_worker_added
task_submitted task_started task_finished task_failed pool_closed pool_terminate_requested
pool_join_blocked pool_joined dict_write dict_read list_write list_read deadlock_detected""".split()


def caption_of(run, kind: str, **match) -> str:
    event = run.first(kind, **match)
    return caption(event, run.at(event))


def test_lesson_1_producer_blocked_on_a_full_queue(lesson_runs):
    run = lesson_runs(1)
    text = caption_of(run, "put_blocked", process="producer")
    assert text == "producer is blocked: queue q is full (3/3), put() waits for a consumer to get()"
    assert caption_of(run, "message_put", process="producer") == "producer put 'item 0' on q (1/3 now)"
    assert caption_of(run, "message_got", process="consumer") == "consumer got 'item 0' from q"
    assert caption_of(run, "main_step_started", object="join(producer)") == \
        "main: join(producer) waits for producer to finish"


def test_lesson_2_consumer_blocked_on_an_empty_queue(lesson_runs):
    text = caption_of(lesson_runs(2), "get_blocked", process="consumer")
    assert text == "consumer is blocked: queue q is empty, get() waits for a producer to put()"


def test_lessons_3_and_4_nowait_and_timeouts(lesson_runs):
    assert caption_of(lesson_runs(3), "put_failed") == "put_nowait() raised queue.Full: 'item 3' was dropped"
    assert caption_of(lesson_runs(3), "get_failed") == \
        "consumer: get_nowait() raised queue.Empty: q is empty"
    run = lesson_runs(4)
    assert caption_of(run, "put_blocked").endswith("put(timeout=2) waits up to 2 s for a consumer to get()")
    assert caption_of(run, "put_failed") == "put() timed out with queue.Full: 'item 2' was dropped"
    assert caption_of(run, "get_failed") == "consumer: get() timed out with queue.Empty: q stayed empty"


def test_lesson_7_terminate(lesson_runs):
    run = lesson_runs(7)
    assert caption_of(run, "process_terminate_requested") == "main calls reader.terminate(): SIGTERM"
    assert caption_of(run, "process_exited", object="reader") == "main terminated reader: exit code -15"


def test_lessons_8_and_9_pipes(lesson_runs):
    run = lesson_runs(8)
    assert caption_of(run, "message_sent", process="parent") == \
        "parent sent ['a', 'b', 'c'] through end 1 of pipe"
    assert caption_of(run, "message_received", process="child") == \
        "child received ['a', 'b', 'c'] on end 2 of pipe"
    run = lesson_runs(9)
    assert caption_of(run, "process_failed") == "reader failed: OSError: connection is read-only"
    assert caption_of(run, "process_exited", object="reader") == \
        "reader failed: OSError: connection is read-only (exit code 1)"


def test_lesson_11_queue_join_and_daemon_kill(lesson_runs):
    run = lesson_runs(11)
    assert caption_of(run, "join_blocked").startswith("main is blocked: q.join() waits until every task is done")
    assert caption_of(run, "join_returned") == "main: q.join() returned: every task is done"
    assert caption_of(run, "task_done", process="C1").startswith("C1 called q.task_done(): ")
    assert caption_of(run, "daemon_killed_at_exit", object="C1") == "main is exiting: it terminates daemon C1"
    assert caption_of(run, "process_exited", object="C1") == "C1 was killed when main exited (it was a daemon)"


def test_unknown_kinds_and_odd_details_get_a_generic_sentence():
    snap = initial_snapshot(Scenario())
    odd = Event(1, 2, 3, "P1", "frobnicated", "q", None, {"x": 1})
    assert caption(odd, snap) == "P1: frobnicated (q)"
    for kind in KINDS:
        for detail in (None, {}, {"timeout": "soon", "exitcode": "?", "end": [], "unfinished": {}},
                       {"blocked": 3, "preview": None, "op": 7}):
            text = caption(Event(1, 2, 3, "P1", kind, "nowhere", "2:1", detail), snap)
            assert isinstance(text, str) and text, (kind, detail)


@pytest.mark.parametrize("number", range(1, 14))
def test_latest_caption_never_raises_and_skips_noise(lesson_runs, number):
    run = lesson_runs(number)
    timeline = run.timeline
    assert latest_caption(timeline, run.events[0].t_ns - 1) == "The run has not started yet."
    for i, event in enumerate(run.events):
        text = latest_caption(timeline, event.t_ns)
        assert isinstance(text, str) and text
        if event.kind in NOISE and run.events[i - 1].kind not in NOISE:
            last = run.events[i - 1]  # a printed line (say) leaves the event before it captioned
            if i + 1 == len(run.events) or run.events[i + 1].t_ns > event.t_ns:
                assert text == caption(last, timeline.state_after(i)), (event, text)
