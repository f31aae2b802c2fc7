"""Reading a recorded trace back: a chunk at a time into a compact store, in time order whatever
order its lines are in, refusing a damaged line by its number."""

from __future__ import annotations

import json

import pytest

from simulator import event_store, fold, recording
from simulator.recording import TraceError, read_trace


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 4 events, 2 kept whole, a checkpoint every 4 events, 16 lines read at a time: a
    lesson's few hundred events then fill many sealed blocks and many chunks."""
    monkeypatch.setattr(event_store, "BLOCK", 4)
    monkeypatch.setattr(fold, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(event_store, "TAIL_BLOCKS", 2)
    monkeypatch.setattr(recording, "READ_CHUNK", 16)


@pytest.fixture
def lesson_lines(lesson_runs):
    """Lesson 11's trace: its header line and its event lines (each with its newline)."""
    header, *events = lesson_runs(11).trace_path.read_text().splitlines(keepends=True)
    return header, events


def test_lines_in_any_order_read_as_the_events_in_time_order(tmp_path, small_blocks, lesson_lines):
    header, lines = lesson_lines
    path = tmp_path / "t.ipctrace"
    path.write_text(header + "".join(lines))
    in_order = list(read_trace(path).events)
    assert in_order == sorted(in_order) and len(in_order) == len(lines) > 100
    path.write_text(header + "".join(reversed(lines)))  # every chunk lands before all the others
    backwards = read_trace(path)
    assert list(backwards.events) == in_order
    assert backwards.timeline.final() == read_trace(tmp_path / "t.ipctrace").timeline.final()


def test_reading_keeps_all_but_the_newest_events_sealed(tmp_path, small_blocks, lesson_lines):
    header, lines = lesson_lines
    path = tmp_path / "t.ipctrace"
    path.write_text(header + "".join(lines))
    store = read_trace(path).events
    whole = (fold.WHOLE_CHECKPOINTS + 1) * fold.CHECKPOINT_EVERY  # (a late event refolds from there)
    assert len(store._tail) <= whole + (event_store.TAIL_BLOCKS + 1) * event_store.BLOCK < len(store)


def test_a_repeated_line_is_refused_by_its_number_however_far_apart(tmp_path, small_blocks, lesson_lines):
    header, lines = lesson_lines
    path = tmp_path / "t.ipctrace"
    path.write_text(header + "".join(lines) + lines[3])  # sealed long before the copy is read
    with pytest.raises(TraceError, match=rf"line {len(lines) + 2}: repeats another event's t_ns, pid and seq"):
        read_trace(path)
    path.write_text(header + lines[0] + lines[0] + "".join(lines[1:]))  # in one chunk
    with pytest.raises(TraceError, match="line 3: repeats"):
        read_trace(path)


def test_an_event_the_fold_cannot_use_is_refused_by_its_line(tmp_path, small_blocks, lesson_lines):
    header, lines = lesson_lines
    n, exited = next((n, json.loads(line)) for n, line in enumerate(lines) if '"process_exited"' in line)
    exited[7] = {"exitcode": [1]}  # the right type of detail, of a shape the fold cannot use
    lines[n] = json.dumps(exited) + "\n"
    path = tmp_path / "t.ipctrace"
    path.write_text(header + "".join(reversed(lines)))  # (line numbers are the file's)
    with pytest.raises(TraceError, match=rf"line {len(lines) - n + 1}: a 'process_exited' event the replay cannot use"):
        read_trace(path)


def test_a_last_line_the_run_never_finished_is_left_out(tmp_path, lesson_lines):
    header, lines = lesson_lines
    path = tmp_path / "t.ipctrace"
    path.write_text(header + "".join(lines) + lines[-1][:10])
    assert len(read_trace(path).events) == len(lines)
    path.write_bytes(header.encode() + b"\n\n" + "".join(lines).encode() + b"[1, \xff]\n")
    with pytest.raises(TraceError, match=rf"line {len(lines) + 4}: 'utf-8' codec can't decode"):
        read_trace(path)


def test_an_event_is_written_as_json_dumps_writes_it():
    """The writer keeps json's C encoder; what it writes is what `json.dumps` would."""
    from ipc.trace import Event

    events = [
        Event(1, 2, 3, "P", "message_put", "q", "2:1", {"preview": "'ünïcode ✓ \"quoted\"\\n'"}),
        Event(2**62, 2, 4, "main", "main_step_started", "sleep(0.5)", None,
              {"op": "sleep", "seconds": 0.1 + 0.2, "nested": {"list": [1, None, True, -1.5e300]}}),
        Event(5, 2, 5, "C", "process_exited", "C", None, None),
    ]
    for e in events:
        assert recording._encode(e) == json.dumps(e, separators=(",", ":"))
