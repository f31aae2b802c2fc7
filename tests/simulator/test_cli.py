"""The headless command line: validate and run, with their exit codes and JSON Lines output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from simulator.lessons import lesson_path

ROOT = Path(__file__).resolve().parents[2]


def ipcsim(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "ui.main", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_validate_ok_and_errors(tmp_path):
    ok = ipcsim("validate", lesson_path(1))
    assert ok.returncode == 0 and ok.stdout.strip().endswith(": OK")
    data = json.loads(lesson_path(1).read_text())
    data["scenario"]["nodes"][1]["maxsize"] = -3
    data["scenario"]["nodes"][0]["kind"] = "robot"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = ipcsim("validate", bad)
    assert result.returncode == 1
    assert "scenario.nodes[1].maxsize: Input should be greater than or equal to 0" in result.stderr
    assert "scenario.nodes[0]: Input tag 'robot'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_headless_prints_each_process_and_writes_jsonl(tmp_path):
    jsonl, trace = tmp_path / "run.jsonl", tmp_path / "run.ipctrace"
    result = ipcsim("run", lesson_path(5), "--headless", "--jsonl", jsonl, "--trace", trace)
    assert result.returncode == 0, result.stderr
    assert "writer | put 'A'" in result.stdout and "reader | got 'C'" in result.stdout
    assert "reader   finished (exit code 0)" in result.stdout
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert set(records[0]) == {"t_ns", "pid", "seq", "process", "kind", "object", "message", "detail"}
    assert records[0]["kind"] == "run_started" and records[0]["t_ns"] == 0
    assert records[-1]["kind"] == "run_stopped"
    got = [r for r in records if r["kind"] == "message_got"]
    assert [r["process"] for r in got] == ["reader"] * 3 and all(r["object"] == "q" for r in got)
    puts = {r["message"] for r in records if r["kind"] == "message_put"}
    assert {r["message"] for r in got} == puts


def test_run_that_never_ends_is_stopped_by_its_timeout(tmp_path):
    result = ipcsim("run", lesson_path(1), "--headless", "--timeout", "1",
                    "--trace", tmp_path / "t.ipctrace")
    assert result.returncode == 3
    assert "stopped after --timeout 1 s" in result.stderr
