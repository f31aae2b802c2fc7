"""The editing model: every mutation is validated and announced."""

from __future__ import annotations

import pytest

from simulator import scenario_file
from simulator.lessons import lesson_path
from simulator.model import EditError, ScenarioModel, new_node, node_from_dict
from simulator.scenario import Consumer, Document, Layout, Link, Producer, QueueNode, Scenario, Step, Worker


@pytest.fixture
def model():
    m = ScenarioModel(scenario_file.load(lesson_path(1)))
    m.events = []
    m.subscribe(lambda event, payload: m.events.append((event, payload)))
    return m


def test_add_and_remove_node(model):
    model.add_node(new_node("consumer", "late"), (10, 20))
    assert model.events == [("node_added", {"id": "late"})]
    assert model.positions["late"] == (10.0, 20.0)
    node, index, pos = model.remove_node("late")
    assert (node.id, index, pos) == ("late", 3, (10.0, 20.0))
    with pytest.raises(EditError, match="still has links"):
        model.remove_node("q")


def test_invalid_values_are_refused_without_change(model):
    with pytest.raises(EditError, match="maxsize"):
        model.change_node("q", maxsize=-1)
    with pytest.raises(EditError, match="unknown field"):
        model.change_node("producer", payload="{os}")
    assert model.node("q").maxsize == 3 and model.events == []
    old = model.change_node("q", maxsize=5)
    assert old == {"maxsize": 3} and model.node("q").maxsize == 5
    assert model.events == [("node_changed", {"id": "q", "fields": ["maxsize"]})]


def test_rename_follows_links_steps_and_layout(model):
    model.set_steps([Step("start", "producer"), Step("end")])
    model.rename_node("producer", "writer")
    assert [k.process for k in model.scenario.links] == ["writer", "consumer"]
    assert model.scenario.steps[0].target == "writer" and "writer" in model.positions
    with pytest.raises(EditError, match="not a valid name"):
        model.rename_node("writer", "2 bad")
    with pytest.raises(EditError, match="already"):
        model.rename_node("writer", "q")


@pytest.mark.parametrize("link, reason", [
    (Link("consumer", "q", "put"), "a consumer only gets or receives"),
    (Link("producer", "q", "get"), "a producer only puts or sends"),
    (Link("producer", "q", "send", 1), "a queue is used with put() or get()"),
    (Link("producer", "q", "put"), "that link is already there"),
])
def test_invalid_links_are_refused_with_a_reason(model, link, reason):
    assert model.link_problem(link).startswith(reason)
    with pytest.raises(EditError):
        model.add_link(link)


def test_one_way_pipe_ends(model):
    model.add_node(new_node("Pipe", "p", duplex=False), (0, 0))
    model.add_node(new_node("producer", "w"), (0, 0))
    assert model.link_problem(Link("w", "p", "send", 1)) == "a one-way pipe's receive end cannot send"
    assert model.link_problem(Link("w", "p", "send", 2)) is None


def test_fragment_round_trips_nodes(model):
    fragment = model.fragment(["producer", "q"])
    assert [n["id"] for n in fragment["nodes"]] == ["producer", "q"]
    assert fragment["links"] == [{"process": "producer", "channel": "q", "op": "put", "end": None}]
    assert node_from_dict(fragment["nodes"][1]) == model.node("q")
    assert model.unique_id("q") == "q2"


def test_nodes_the_layout_leaves_out_are_placed_by_role_below_the_others():
    doc = Document(Scenario(
        nodes=[Producer("P"), QueueNode("q"), Consumer("C"), Producer("P2"), Worker("W")],
        links=[Link("P", "q", "put"), Link("C", "q", "get"), Link("P2", "q", "put"), Link("W", "q", "get")]),
        Layout({"P": (0.0, 40.0)}))
    model = ScenarioModel(doc)
    assert model.positions == {"P": (0.0, 40.0), "P2": (0.0, 170.0), "q": (300.0, 170.0),
                               "C": (600.0, 170.0), "W": (600.0, 300.0)}
