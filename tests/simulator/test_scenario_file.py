"""Scenario files: round trips, errors that name the field, atomic saves, no code run on load."""

from __future__ import annotations

import json
import os

import pytest

from simulator import scenario_file
from simulator.lessons import lesson_paths
from simulator.scenario_file import ScenarioError


def lesson_dict(n=1):
    return json.loads(lesson_paths()[n - 1].read_text())


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda p: p.stem)
def test_lessons_round_trip(path, tmp_path):
    doc = scenario_file.load(path)
    scenario_file.save(doc, tmp_path / "copy.json")
    assert scenario_file.load(tmp_path / "copy.json") == doc


def errors_of(data) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_file.from_dict(data)
    return info.value.errors


def test_unknown_kind_is_named():
    data = lesson_dict()
    data["scenario"]["nodes"][0]["kind"] = "thread"
    [error] = errors_of(data)
    assert error.startswith("scenario.nodes[0]:") and "'thread'" in error


def test_negative_maxsize_is_named():
    data = lesson_dict()
    data["scenario"]["nodes"][1]["maxsize"] = -1
    assert errors_of(data) == ["scenario.nodes[1].maxsize: Input should be greater than or equal to 0"]


def test_wrong_types_are_refused_not_coerced():
    data = lesson_dict()
    data["scenario"]["nodes"][0]["items"] = "5"
    data["scenario"]["nodes"][2]["daemon"] = "yes"
    errors = errors_of(data)
    assert any(e.startswith("scenario.nodes[0].items:") for e in errors)
    assert any(e.startswith("scenario.nodes[2].daemon:") for e in errors)


def test_dangling_link_is_named():
    data = lesson_dict()
    data["scenario"]["links"][1]["process"] = "ghost"
    assert errors_of(data) == ["scenario.links[1].process: no node 'ghost'",
                               "scenario.nodes[2]: a consumer gets from 1 channel(s), this one from 0"]


def test_producer_on_a_one_way_pipes_receive_end_is_refused():
    data = json.loads(lesson_paths()[8].read_text())  # lesson 9: one-way pipe
    data["scenario"]["links"][0]["end"] = 1
    errors = errors_of(data)
    assert "scenario.links[0].op: a one-way pipe's end 1 only receives; it cannot send" in errors


@pytest.mark.parametrize("version, message", [
    (2, "version: 2 is newer than this ipcsim understands (1)"),
    ("1", "version: expected a whole number >= 1, found '1'"),
])
def test_unknown_versions_are_refused(version, message):
    data = lesson_dict()
    data["version"] = version
    assert errors_of(data) == [message]


def test_not_json_and_not_a_scenario(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        scenario_file.load(bad)
    with pytest.raises(ScenarioError, match="format"):
        scenario_file.loads('{"format": "something-else"}')
    with pytest.raises(ScenarioError, match="No such file"):
        scenario_file.load(tmp_path / "missing.json")


def test_payload_templates_cannot_reach_into_objects(tmp_path):
    data = lesson_dict()
    data["scenario"]["nodes"][0]["payload"] = "{i.__class__.__mro__}"
    [error] = errors_of(data)
    assert error.startswith("scenario.nodes[0].payload: unknown field")


def test_save_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "s.json"
    doc = scenario_file.load(lesson_paths()[0])
    scenario_file.save(doc, target)
    before = target.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    doc.scenario.title = "changed"
    with pytest.raises(OSError):
        scenario_file.save(doc, target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.json"]  # no temporary file left behind


def test_sentinels_only_go_on_queues():
    data = json.loads(lesson_paths()[8].read_text())  # lesson 9: writer on a pipe
    data["scenario"]["nodes"][0]["sentinels"] = 1
    assert errors_of(data) == ["scenario.nodes[0].sentinels: sentinels are put on a queue; "
                               "a pipe's reader stops on EOFError"]
