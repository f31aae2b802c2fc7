"""The fold: seeking through checkpoints and live, out-of-order arrival give the same states."""

from __future__ import annotations

import random

import pytest

from simulator import event_store, fold, snapshot
from simulator.fold import Timeline, apply, initial_snapshot
from simulator.snapshot import Contents


def brute_force(scenario, events, t_ns):
    snap = initial_snapshot(scenario)
    for e in events:
        if e.t_ns > t_ns:
            break
        apply(snap, e)
    snap.t_ns = t_ns
    return snap


@pytest.fixture
def small_checkpoints(monkeypatch):
    """Checkpoints every few events, frozen in parts of two messages, and events sealed in blocks
    of five: a lesson's run seeks across many of each, and late events unseal blocks."""
    monkeypatch.setattr(fold, "CHECKPOINT_EVERY", 7)
    monkeypatch.setattr(snapshot, "FREEZE_ROWS", 2)
    monkeypatch.setattr(event_store, "BLOCK", 5)
    monkeypatch.setattr(event_store, "TAIL_BLOCKS", 1)


@pytest.mark.parametrize("lesson", [1, 11, 12, 15, 17, 18])
def test_state_at_equals_folding_from_the_start(lesson_runs, small_checkpoints, lesson):
    run = lesson_runs(lesson)
    scenario = run.timeline.scenario
    timeline = Timeline(scenario, run.events)
    times = [e.t_ns for e in run.events]
    rng = random.Random(lesson)
    moments = sorted(rng.sample(times, 25)) + [times[0] - 1, times[-1] + 1]
    for t in reversed(moments):  # seeking backwards too
        assert timeline.state_at(t) == brute_force(scenario, run.events, t)


def test_live_out_of_order_batches_fold_like_a_replay(lesson_runs, small_checkpoints):
    run = lesson_runs(11)
    arrival = list(run.events)
    rng = random.Random(7)
    for i in range(0, len(arrival) - 3, 3):  # events from different processes arrive late
        if rng.random() < 0.5:
            arrival[i], arrival[i + 2] = arrival[i + 2], arrival[i]
    live = Timeline(run.timeline.scenario)
    pos = 0
    while pos < len(arrival):
        size = rng.randint(1, 9)
        live.extend(arrival[pos:pos + size])
        pos += size
        if rng.random() < 0.3:  # as a live view does, now and then (see Timeline.tidy)
            live.tidy()
    replay = Timeline(run.timeline.scenario, run.events)
    assert list(live.events) == list(replay.events)
    assert live.final() == replay.final()
    for e in run.events[::len(run.events) // 10]:
        assert live.state_at(e.t_ns) == replay.state_at(e.t_ns)
    live.tidy(None)
    assert sum(isinstance(c, fold.Snapshot) for c in live._checkpoints) <= fold.WHOLE_CHECKPOINTS + 1  # (+ the start)


@pytest.mark.parametrize("lesson", [11, 12])
def test_a_checkpoint_is_frozen_a_slice_per_tidy_and_thaws_to_its_state(lesson_runs, small_checkpoints,
                                                                       monkeypatch, lesson):
    """A live view retires checkpoints in its frames: each `tidy` freezes a few messages more."""
    run = lesson_runs(lesson)
    tidy = Timeline.tidy
    monkeypatch.setattr(Timeline, "tidy", lambda self, seconds=0.0: None)  # (none retired yet)
    timeline = Timeline(run.timeline.scenario, run.events)
    monkeypatch.setattr(Timeline, "tidy", tidy)
    calls = 0
    while timeline._retired < len(timeline._checkpoints) - fold.WHOLE_CHECKPOINTS:
        before = (timeline._retired, len(timeline._parts) if timeline._freezing else 0)
        timeline.tidy()
        calls += 1
        if timeline._freezing is not None:  # (a slice more of the same checkpoint)
            assert (timeline._retired, len(timeline._parts)) == (before[0], before[1] + 1)
    frozen = [(k, c) for k, c in enumerate(timeline._checkpoints) if not isinstance(c, fold.Snapshot)]
    assert calls > len(frozen) and any(len(parts) > 2 for _, parts in frozen)  # (several slices)
    for k, parts in frozen:
        at = timeline._checkpoint_at[k]
        expected = brute_force(run.timeline.scenario, run.events[:at], run.events[at - 1].t_ns)
        state = snapshot.thawed(parts)
        state.t_ns = expected.t_ns
        assert state == expected


@pytest.mark.parametrize("lesson", [8, 9, 15, 17, 18])
def test_every_state_thaws_as_it_was_frozen(lesson_runs, small_checkpoints, lesson):
    """Pipes' messages in flight, pools, locks, shared objects, messages counted lost."""
    run = lesson_runs(lesson)
    snap = initial_snapshot(run.timeline.scenario)
    for e in run.events:
        apply(snap, e)
        assert snapshot.thawed(list(snapshot.frozen_parts(snap))) == snap


def test_blocked_state_names_the_operation_and_channel(lesson_runs):
    run = lesson_runs(1)
    blocked = run.first("put_blocked")
    p = run.at(blocked).processes["producer"]
    assert (p.state, p.op, p.waits_on) == ("blocked", "put", "q")
    assert run.at(blocked).messages[blocked.message].where == "held"
    got = run.first("message_got")
    c = run.at(got).processes["consumer"]
    assert c.state == "running" and c.holding == got.message


def test_main_shows_its_current_step(lesson_runs):
    run = lesson_runs(7)
    join = run.first("main_step_started", object="join(writer)")
    main = run.at(join).processes["main"]
    assert (main.state, main.op, main.waits_on, main.step) == ("blocked", "join", "writer", "join(writer)")


def test_a_copy_of_channel_contents_answers_as_the_original_after_changes_on_both():
    """A copy (a checkpoint) shares nothing that changes with the original; ids taken out from
    among a sender's, not its oldest, are skipped wherever its ids are read."""
    original = Contents()
    for i in range(6):
        original.append(f"m{i}", "AB"[i % 2])
    copy = original.copy()
    for contents in (original, copy):
        contents.remove("m2")
        contents.append("m6", "C")
        assert contents.before("m4") == ["m0"] and contents.of("B") == ["m1", "m3", "m5"]
        assert contents.senders() == ["A", "B", "C"] and list(contents) == ["m0", "m1", "m3", "m4", "m5", "m6"]
    assert copy == original
    copy.remove("m3")  # B's middle one
    assert copy.before("m5") == ["m1"] and copy.of("B") == ["m1", "m5"] and original.of("B") == ["m1", "m3", "m5"]
    for mid in ("m1", "m5"):
        copy.remove(mid)
    assert copy.senders() == ["A", "C"] and copy.of("B") == [] and list(copy) == ["m0", "m4", "m6"]
