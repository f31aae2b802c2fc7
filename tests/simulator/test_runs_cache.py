"""The folder runs are recorded into by default: a new file per run, kept as a cache."""

from __future__ import annotations

import os
import time

from simulator import session
from simulator.scenario import Document, Scenario


def test_each_run_gets_a_file_of_its_own_even_within_a_second(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    doc = Document(Scenario(title="Same title"))
    paths = [session.default_trace_path(doc) for _ in range(3)]
    assert len(set(paths)) == 3 and all(p.exists() and p.parent == tmp_path / "ipcsim" / "runs" for p in paths)


def test_the_oldest_recordings_go_once_all_take_too_much_but_never_a_fresh_one(tmp_path):
    now = time.time()
    ages = {"a": 3600, "b": 1800, "c": 600, "d": 5}  # seconds since each was last written
    for name, age in ages.items():
        path = tmp_path / f"{name}.ipctrace"
        path.write_bytes(b"x" * 100)
        os.utime(path, (now - age, now - age))
    (tmp_path / "notes.txt").write_bytes(b"x" * 1000)  # not a recording: never touched

    session.prune_runs(tmp_path, keep_bytes=250)  # 400 bytes of recordings: the two oldest go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ipctrace", "d.ipctrace", "notes.txt"]
    session.prune_runs(tmp_path, keep_bytes=0)  # d was written 5 s ago: it may be recording still
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.ipctrace", "notes.txt"]
