"""Exports of real recorded runs: Perfetto trace JSON, JSON Lines, and `ipcsim export-trace`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from ipc.trace import Event
from simulator.export import to_jsonl, to_perfetto
from simulator.lessons import lesson_path
from simulator.recording import TraceWriter, read_trace

ROOT = Path(__file__).resolve().parents[2]
LESSONS = range(1, 14)


def ipcsim(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "ui.main", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def perfetto(lesson_runs, number: int) -> tuple[list[dict], dict[str, int]]:
    """The lesson's Perfetto events, and each process's tid (from the thread_name metadata)."""
    events = to_perfetto(read_trace(lesson_runs(number).trace_path))["traceEvents"]
    tids = {e["args"]["name"]: e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    return events, tids


def slices(events: list[dict], tid: int, cat: str) -> list[dict]:
    return [e for e in events if e["ph"] == "X" and e["tid"] == tid and e["cat"] == cat]


@pytest.mark.parametrize("number", LESSONS)
def test_perfetto_json_has_the_documented_fields(lesson_runs, number):
    run = lesson_runs(number)
    document = to_perfetto(read_trace(run.trace_path))
    assert document["displayTimeUnit"] == "ms"
    events = json.loads(json.dumps(document))["traceEvents"]  # plain JSON, as written to a file
    for e in events:
        assert {"ph", "ts", "pid", "tid", "name"} <= set(e), e
        assert isinstance(e["ts"], float) and e["ts"] >= 0
    assert len({e["pid"] for e in events}) == 1
    for e in events:
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["cat"] in ("state", "message")
        if e["ph"] == "C":
            assert e["args"]["depth"] >= 0
        if e["ph"] == "i":
            assert e["s"] in ("g", "t") and e["name"]

    # one thread per process, main first
    names = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    tids = {e["args"]["name"]: e["tid"] for e in names}
    assert len(tids) == len(names) == len(set(tids.values()))
    assert set(run.final.processes) <= set(tids) and tids["main"] == 1
    sort = {e["tid"]: e["args"]["sort_index"] for e in events if e["name"] == "thread_sort_index"}
    assert min(sort, key=sort.get) == tids["main"]

    # slices on a track nest: each ends before (or when) the one enclosing it ends
    for tid in tids.values():
        track = sorted((e for e in events if e["ph"] == "X" and e["tid"] == tid),
                       key=lambda e: (e["ts"], -e["dur"]))
        open_: list[tuple[int, int]] = []
        for e in track:
            start, end = round(e["ts"] * 1000), round((e["ts"] + e["dur"]) * 1000)
            while open_ and open_[-1][1] <= start:
                open_.pop()
            assert not open_ or end <= open_[-1][1], (e, open_[-1])
            open_.append((start, end))


@pytest.mark.parametrize("number", LESSONS)
def test_every_flow_has_one_start_and_one_end_on_message_slices(lesson_runs, number):
    run = lesson_runs(number)
    events, _ = perfetto(lesson_runs, number)
    flows = defaultdict(list)
    for e in events:
        if e["ph"] in ("s", "f"):
            assert e["cat"] == "message"
            flows[e["id"]].append(e)
    for flow_id, pair in flows.items():
        assert sorted(e["ph"] for e in pair) == ["f", "s"], pair
        start, end = sorted(pair, key=lambda e: e["ph"] != "s")
        assert start["ts"] <= end["ts"] and end["bp"] == "e"
        for e in pair:  # bound to a message slice on its own track
            assert any(s["ts"] <= e["ts"] <= s["ts"] + s["dur"] for s in slices(events, e["tid"], "message"))
    put = {e.message for e in run.events if e.kind in ("message_put", "message_sent")}
    got = {e.message for e in run.events if e.kind in ("message_got", "message_received")}
    assert len(flows) == len(put & got)  # a message put but never got has no arrow at all


def test_lesson_1_shows_the_producer_blocked_in_put_and_every_message_as_an_arrow(lesson_runs):
    events, tids = perfetto(lesson_runs, 1)
    blocked = [s for s in slices(events, tids["producer"], "state") if s["name"].startswith("blocked")]
    assert blocked and all(s["name"] == "blocked in q.put()" for s in blocked)
    assert blocked[0]["dur"] > 1.5e6  # until the consumer, started 2 s late, gets the first item
    assert blocked[0]["args"] == {"state": "blocked", "op": "put", "waits_on": "q"}
    assert any(s["name"] == "working on 'item 0'" for s in slices(events, tids["consumer"], "state"))
    assert any(s["name"] == "blocked in join(producer)" for s in slices(events, tids["main"], "state"))
    assert sum(e["ph"] == "s" for e in events) == 5
    puts = [s["name"] for s in slices(events, tids["producer"], "message")]
    assert puts == [f"put 'item {i}' on q" for i in range(5)]
    depths = [e["args"]["depth"] for e in events if e["ph"] == "C" and e["name"] == "q"]
    assert depths[0] == 0 and max(depths) == 3 and depths[-1] == 0


def test_notable_moments_are_instants_on_the_process_they_concern(lesson_runs):
    events, tids = perfetto(lesson_runs, 3)
    dropped = [e for e in events if e["ph"] == "i" and e["args"]["kind"] == "put_failed"]
    assert [e["tid"] for e in dropped] == [tids["producer"]] * 2
    assert "'item 3' was dropped" in dropped[0]["name"]
    assert sum(e["ph"] == "s" for e in events) == 3  # the two dropped items have no arrow

    events, tids = perfetto(lesson_runs, 11)
    killed = [e for e in events if e["ph"] == "i" and e["args"]["kind"] == "daemon_killed_at_exit"]
    assert sorted(e["tid"] for e in killed) == sorted([tids["C1"], tids["C2"]])
    unfinished = [e["args"]["unfinished"] for e in events if e["ph"] == "C" and e["name"] == "q"]
    assert max(unfinished) > 0 and unfinished[-1] == 0
    run_level = [e["args"]["kind"] for e in events if e["ph"] == "i" and e["s"] == "g"]
    assert run_level == ["run_started", "run_stopped"]


def test_perfetto_export_is_stable(lesson_runs):
    recording = read_trace(lesson_runs(11).trace_path)
    assert json.dumps(to_perfetto(recording)) == json.dumps(to_perfetto(recording))


def test_jsonl_export_is_what_a_run_writes_and_round_trips(lesson_runs, tmp_path):
    recording = read_trace(lesson_runs(8).trace_path)
    out = io.StringIO()
    to_jsonl(recording, out)
    writer = TraceWriter(tmp_path / "t.ipctrace", recording.document, recording.started_ns, tmp_path / "t.jsonl")
    writer.write(recording.events)
    writer.close()
    assert out.getvalue() == (tmp_path / "t.jsonl").read_text()  # byte for byte what --jsonl writes
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records[0]["kind"] == "run_started" and records[0]["t_ns"] == 0
    back = [Event(r["t_ns"] + recording.started_ns, r["pid"], r["seq"], r["process"], r["kind"],
                  r["object"], r["message"], r["detail"]) for r in records]
    assert back == list(recording.events)


def test_cli_export_trace_writes_both_formats(lesson_runs, tmp_path):
    trace = lesson_runs(5).trace_path
    result = ipcsim("export-trace", trace, "-o", tmp_path / "run.json")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run.json").read_text()) == to_perfetto(read_trace(trace))
    result = ipcsim("export-trace", trace, "-o", tmp_path / "run.jsonl")
    assert result.returncode == 0, result.stderr
    expected = io.StringIO()
    to_jsonl(read_trace(trace), expected)
    assert (tmp_path / "run.jsonl").read_text() == expected.getvalue()
    result = ipcsim("export-trace", trace, "-o", tmp_path / "events.txt", "--format", "jsonl")
    assert result.returncode == 0 and (tmp_path / "events.txt").read_text() == expected.getvalue()
    result = ipcsim("export-trace", trace, "-o", tmp_path / "events.txt")
    assert result.returncode == 2 and "--format" in result.stderr


def test_cli_export_trace_fails_cleanly_on_a_bad_trace(lesson_runs, tmp_path):
    corrupt = tmp_path / "corrupt.ipctrace"
    header = lesson_runs(5).trace_path.read_text().splitlines()[0]
    corrupt.write_text(f"{header}\n[1, 2, 3]\n")
    for bad in (corrupt, lesson_path(1), tmp_path / "missing.ipctrace"):
        result = ipcsim("export-trace", bad, "-o", tmp_path / "out.json")
        assert result.returncode == 1, (bad, result.stderr)
        assert result.stderr.startswith(f"ipcsim export-trace: {bad}") and "Traceback" not in result.stderr
        assert not (tmp_path / "out.json").exists()
