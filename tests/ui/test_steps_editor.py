"""Main's steps: shown as code, edited through one named SetSteps command per change."""

from __future__ import annotations

import pytest

from simulator.lessons import lesson_path
from simulator.scenario import Step
from ui.commands import RenameNode
from ui.editor import Editor
from ui.steps_editor import DEFAULT_NOTE, StepsEditor


@pytest.fixture
def editor(qtbot):
    return Editor()


@pytest.fixture
def steps_editor(qtbot, editor):
    widget = StepsEditor(editor)
    qtbot.addWidget(widget)
    return widget


def labels(widget):
    return [widget.list.item(i).text() for i in range(widget.list.count())]


def last_command(editor):
    return editor.undo_stack.text(editor.undo_stack.index() - 1)


def test_defaults_shown_greyed_then_made_explicit(qtbot, editor, steps_editor):
    editor.open(lesson_path(1))
    assert labels(steps_editor) == ["start(producer)", "start(consumer)", "join(producer)",
                                    "join(consumer)", "end"]
    assert not steps_editor.list.item(0).flags()  # greyed, not selectable
    assert steps_editor.note.text() == DEFAULT_NOTE and steps_editor.note.isVisibleTo(steps_editor)
    steps_editor.explicit_button.click()
    assert editor.model.scenario.steps == editor.model.scenario.effective_steps()
    assert len(editor.model.scenario.steps) == 5
    assert not steps_editor.note.isVisibleTo(steps_editor)
    editor.undo_stack.undo()
    assert editor.model.scenario.steps == []
    assert steps_editor.note.isVisibleTo(steps_editor)


def test_add_move_remove_and_undo(qtbot, editor, steps_editor):
    editor.open(lesson_path(1))
    steps_editor.add_step("sleep")  # to the defaults, before their end
    assert labels(steps_editor)[-2:] == ["sleep(1)", "end"]
    assert last_command(editor) == "Add step sleep(1)"
    assert steps_editor.list.currentRow() == 4

    steps_editor.up_button.click()
    assert labels(steps_editor)[3:] == ["sleep(1)", "join(consumer)", "end"]
    assert last_command(editor) == "Move step up"
    assert steps_editor.list.currentRow() == 3

    steps_editor.add_step("terminate")  # after the selected step
    assert labels(steps_editor)[4] == "terminate(producer)"
    assert last_command(editor) == "Add step terminate(producer)"

    steps_editor.list.setCurrentRow(3)
    steps_editor.remove_button.click()
    assert last_command(editor) == "Remove step sleep(1)"
    assert "sleep(1)" not in labels(steps_editor)

    for _ in range(3):
        editor.undo_stack.undo()
    assert labels(steps_editor)[3:] == ["join(consumer)", "sleep(1)", "end"]
    editor.undo_stack.undo()
    assert editor.model.scenario.steps == []
    assert labels(steps_editor)[-1] == "end"


def test_edit_the_selected_step(qtbot, editor, steps_editor):
    editor.open(lesson_path(11))
    steps = editor.model.scenario.steps
    steps_editor.list.setCurrentRow(5)  # join(P1)
    assert steps_editor.target.isVisibleTo(steps_editor)
    assert [steps_editor.target.itemData(i) for i in range(steps_editor.target.count())] == \
        ["P1", "P2", "P3", "C1", "C2"]
    steps_editor.timeout_check.click()
    assert steps[5] == Step("join", "P1", seconds=1.0)
    steps_editor.timeout.setValue(2.5)
    assert labels(steps_editor)[5] == "join(P1, timeout=2.5)"
    assert last_command(editor) == "Change step to join(P1, timeout=2.5)"
    steps_editor.target.setCurrentIndex(1)
    steps_editor.target.activated.emit(1)
    assert editor.model.scenario.steps[5] == Step("join", "P2", seconds=2.5)

    steps_editor.list.setCurrentRow(8)  # q.join()
    assert steps_editor.target.count() == 1 and steps_editor.target.currentData() == "q"
    assert not steps_editor.seconds.isVisibleTo(steps_editor)

    steps_editor.add_step("sentinels")
    assert labels(steps_editor)[9] == "q.put(None) x1"
    steps_editor.count.setValue(2)
    assert labels(steps_editor)[9] == "q.put(None) x2"

    steps_editor.add_step("sleep")
    steps_editor.seconds.setValue(0.25)
    assert labels(steps_editor)[10] == "sleep(0.25)"
    assert last_command(editor) == "Change step to sleep(0.25)"


def test_follows_renames_and_new_documents(qtbot, editor, steps_editor):
    editor.open(lesson_path(11))
    editor.push(RenameNode(editor.model, "P1", "first"))
    assert labels(steps_editor)[0] == "start(first)"
    editor.open(lesson_path(5))
    assert labels(steps_editor) == [step.label() for step in editor.model.scenario.steps]


def test_add_menu_offers_only_steps_with_a_target(qtbot, editor, steps_editor):
    editor.open(lesson_path(1))  # a plain Queue: no q.join()
    steps_editor._update_add_menu()
    enabled = {a.data(): a.isEnabled() for a in steps_editor.add_menu.actions()}
    assert enabled["queue_join"] is False and enabled["sentinels"] is True
    steps_editor.add_step("queue_join")
    assert editor.undo_stack.count() == 0


def test_use_defaults_and_read_only(qtbot, editor, steps_editor):
    editor.open(lesson_path(5))
    assert editor.model.scenario.steps
    steps_editor.default_button.click()
    assert editor.model.scenario.steps == []
    assert last_command(editor) == "Use the default steps"
    steps_editor.set_read_only(True)
    assert not steps_editor.explicit_button.isEnabled()
