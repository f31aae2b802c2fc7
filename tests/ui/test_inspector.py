"""The inspector edits the selected node (or the scenario) through undo commands, shows invalid
values inline without applying them, and follows the model."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from simulator.lessons import lesson_path
from simulator.scenario import Pace
from ui.commands import ChangeNode
from ui.editor import Editor
from ui.inspector import Inspector


@pytest.fixture
def editor(qtbot):
    editor = Editor()
    editor.open(lesson_path(1))  # producer -> q (Queue, maxsize 3) -> consumer
    return editor


@pytest.fixture
def inspector(qtbot, editor):
    inspector = Inspector(editor)
    qtbot.addWidget(inspector)
    return inspector


def field(inspector, name):
    return inspector.node_form.fields[name]


def choose(combo, value):
    """What picking an entry with the mouse does."""
    combo.setCurrentIndex(combo.findData(value))
    combo.activated.emit(combo.currentIndex())


def type_text(qtbot, line, text, enter=True):
    line.selectAll()
    qtbot.keyClicks(line, text)
    if enter:
        qtbot.keyClick(line, Qt.Key.Key_Return)


def row_visible(inspector, name):
    return field(inspector, name).isVisibleTo(inspector.node_form)


def test_change_maxsize_then_undo(qtbot, editor, inspector):
    editor.set_selection(["q"])
    spin = field(inspector, "maxsize").spin
    assert spin.value() == 3
    spin.setValue(5)
    assert editor.model.node("q").maxsize == 5
    assert editor.undo_stack.count() == 1
    editor.undo_stack.undo()
    qtbot.waitUntil(lambda: spin.value() == 3)
    assert editor.model.node("q").maxsize == 3


def test_edits_elsewhere_show_without_pushing(qtbot, editor, inspector):
    editor.set_selection(["consumer"])
    editor.push(ChangeNode(editor.model, "consumer", count=9, start_delay=0.5))
    assert field(inspector, "count").spin.value() == 9
    assert field(inspector, "start_delay").spin.value() == 0.5
    assert editor.undo_stack.count() == 1  # showing the change pushed nothing
    editor.undo_stack.undo()
    assert field(inspector, "count").spin.value() == 5


def test_invalid_payload_is_shown_and_not_applied(qtbot, editor, inspector):
    editor.set_selection(["producer"])
    payload = field(inspector, "payload")
    type_text(qtbot, payload.line, "item {oops}", enter=False)
    assert "unknown field {oops}" in payload.error  # checked while typing
    qtbot.keyClick(payload.line, Qt.Key.Key_Return)
    assert payload.error and payload._frame.property("error") is True
    assert editor.model.node("producer").payload == "item {i}"
    assert editor.undo_stack.count() == 0
    type_text(qtbot, payload.line, "{name}#{i}")
    assert payload.error == ""
    assert editor.model.node("producer").payload == "{name}#{i}"


def test_explicit_items_list(qtbot, editor, inspector):
    editor.set_selection(["producer"])
    items = field(inspector, "items")
    choose(items.mode, "list")
    assert editor.model.node("producer").items == [f"item {i}" for i in range(5)]
    assert not row_visible(inspector, "payload")  # a list does not use the payload template
    assert items.list.item(0).text() == '"item 0"'

    items.list.item(0).setText("[1, 2]")
    items.list.item(1).setText("plain word")
    assert editor.model.node("producer").items[:2] == [[1, 2], "plain word"]
    qtbot.waitUntil(lambda: items.list.item(1).text() == '"plain word"')

    items.list.item(2).setText("[1, 2")
    assert items.error.startswith("item 3: not a JSON value")
    assert editor.model.node("producer").items[2] == "item 2"

    items.list.item(2).setText("3")
    assert items.error == ""
    items.list.setCurrentRow(2)
    items.up_button.click()
    assert editor.model.node("producer").items[:3] == [[1, 2], 3, "plain word"]
    items.remove_button.click()  # removes 3, the moved item
    items.add_button.click()  # after the selected item
    assert editor.model.node("producer").items == [[1, 2], "plain word", "item 5", "item 3", "item 4"]

    editor.undo_stack.undo()  # successive edits of the items merge into one step
    assert editor.model.node("producer").items == 5
    assert items.mode.currentData() == "count" and items.count.value() == 5
    editor.undo_stack.redo()
    assert items.mode.currentData() == "list" and items.list.count() == 5
    choose(items.mode, "count")
    assert editor.model.node("producer").items == 5


def test_rename_and_invalid_names(qtbot, editor, inspector):
    editor.set_selection(["q"])
    name = inspector.node_form.name
    type_text(qtbot, name.line, "1q")
    assert "not a valid name" in name.error
    type_text(qtbot, name.line, "consumer")
    assert "already a node named 'consumer'" in name.error
    assert editor.undo_stack.count() == 0
    type_text(qtbot, name.line, "jobs")
    assert name.error == ""
    assert editor.model.has_node("jobs") and not editor.model.has_node("q")
    assert inspector.node_form.node_id == "jobs"
    editor.undo_stack.undo()
    assert name.line.text() == "q"


def test_fields_shown_only_where_they_apply(qtbot, editor, inspector):
    editor.set_selection(["producer"])
    assert not row_visible(inspector, "put_timeout")
    assert not row_visible(inspector, "replies")  # the producer writes to a queue, not a pipe
    choose(field(inspector, "put_mode").combo, "timeout")
    assert editor.model.node("producer").put_mode == "timeout"
    assert row_visible(inspector, "put_timeout") and row_visible(inspector, "on_full")

    editor.set_selection(["consumer"])
    assert row_visible(inspector, "count")
    assert not row_visible(inspector, "task_done")  # q is not a JoinableQueue
    choose(field(inspector, "loop").combo, "forever")
    assert not row_visible(inspector, "count")


def test_simple_queue_drops_maxsize_in_one_step(qtbot, editor, inspector):
    editor.set_selection(["q"])
    choose(field(inspector, "queue_type").combo, "SimpleQueue")
    q = editor.model.node("q")
    assert (q.queue_type, q.maxsize) == ("SimpleQueue", 0)
    assert not field(inspector, "maxsize").isEnabled()
    editor.undo_stack.undo()
    assert field(inspector, "maxsize").isEnabled() and field(inspector, "maxsize").spin.value() == 3


def test_change_that_breaks_another_node_is_refused(qtbot, editor, inspector):
    editor.open(lesson_path(11))  # consumers call task_done on the JoinableQueue q
    editor.set_selection(["q"])
    queue_type = field(inspector, "queue_type")
    choose(queue_type.combo, "Queue")
    assert queue_type.error == "C1: only a JoinableQueue has task_done()"
    assert editor.model.node("q").queue_type == "JoinableQueue"
    assert editor.undo_stack.count() == 0


def test_random_pace(qtbot, editor, inspector):
    editor.set_selection(["consumer"])
    work = field(inspector, "work")
    work.random.click()
    assert editor.model.node("consumer").work == Pace(0.5, 1.0, 0)
    work.up_to.setValue(0.2)
    assert "at least" in work.error
    assert editor.model.node("consumer").work.up_to == 1.0
    work.up_to.setValue(2.0)
    work.seed.setValue(7)
    assert editor.model.node("consumer").work == Pace(0.5, 2.0, 7) and work.error == ""


def test_scenario_settings_when_nothing_is_selected(qtbot, editor, inspector):
    form = inspector.scenario_form
    assert inspector.pages.currentWidget() is form
    assert form.fields["title"].line.text() == "A bounded queue blocks the producer"
    choose(form.fields["start_method"].combo, "fork")
    assert editor.model.scenario.start_method == "fork"
    editor.undo_stack.undo()
    assert editor.model.scenario.start_method == "spawn"
    assert form.fields["start_method"].combo.currentData() == "spawn"

    explanation = form.fields["explanation"].text
    explanation.clear()
    qtbot.keyClicks(explanation, "Watch q.")
    assert editor.model.scenario.explanation == "Watch q."
    assert editor.undo_stack.index() == 1  # typing merged into one step


def test_several_selected_and_document_replaced(qtbot, editor, inspector):
    editor.set_selection(["producer", "q"])
    assert inspector.pages.currentWidget() is inspector.multi_label
    assert "2 nodes selected" in inspector.multi_label.text()
    editor.set_selection(["q"])
    editor.open(lesson_path(8))
    assert inspector.pages.currentWidget() is inspector.scenario_form
    assert inspector.node_form is None
    assert inspector.scenario_form.fields["title"].value() == "A pipe carries messages both ways"
    editor.set_selection(["parent"])
    assert row_visible(inspector, "replies")  # a duplex pipe end
    assert field(inspector, "items").list.item(0).text() == '["a", "b", "c"]'


def test_read_only(qtbot, editor, inspector):
    editor.set_selection(["q"])
    inspector.set_read_only(True)
    assert not field(inspector, "maxsize").isEnabled()
    editor.set_selection([])
    assert not inspector.scenario_form.isEnabled()
    inspector.set_read_only(False)
    assert inspector.scenario_form.fields["title"].isEnabled()


def test_worker_result_template(qtbot, editor, inspector):
    from simulator.model import new_node
    from simulator.scenario import Link
    from ui.commands import AddLink, AddNode

    editor.push(AddNode(editor.model, new_node("worker", "W"), (0, 0)))
    editor.push(AddLink(editor.model, Link("W", "q", "get")))
    editor.set_selection(["W"])
    result = field(inspector, "result")
    assert row_visible(inspector, "put_mode")  # W writes nowhere yet: every mode may apply
    type_text(qtbot, result.line, "{item} by {nobody}")
    assert result.error == "unknown field {nobody} (use {i}, {item}, {name})"
    assert editor.model.node("W").result == "{item}*"
    type_text(qtbot, result.line, "{item} by {name}")
    assert editor.model.node("W").result == "{item} by {name}" and result.error == ""


def test_a_huge_count_is_not_turned_into_a_list(qtbot, editor, inspector):
    editor.set_selection(["producer"])
    items = field(inspector, "items")
    items.count.setValue(50_000)
    choose(items.mode, "list")
    assert "too many items" in items.error
    assert items.mode.currentData() == "count" and editor.model.node("producer").items == 50_000
