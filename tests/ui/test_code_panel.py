"""The Code panel: the generated program, the selected node's function, the lines running."""

from __future__ import annotations

import pytest

from simulator.codegen import generate
from simulator.lessons import lesson_path


@pytest.fixture
def window(live_window):
    return live_window


def marked_lines(panel) -> list[tuple[int, int]]:
    out = []
    for sel in panel.text.extraSelections():
        start = panel.text.document().findBlock(sel.cursor.selectionStart()).blockNumber() + 1
        end = panel.text.document().findBlock(sel.cursor.selectionEnd()).blockNumber() + 1
        out.append((start, end))
    return out


def test_shows_the_program_and_the_selected_function(window):
    window.open_lesson(lesson_path(1))
    panel = window.code
    program = generate(window.editor.model.scenario)
    assert panel.text.toPlainText() == program.source
    compile(panel.text.toPlainText(), "lesson1.py", "exec")
    window.editor.set_selection(["consumer"])
    assert program.functions["consumer"] in marked_lines(panel)


def test_follows_edits(window, qtbot):
    window.open_lesson(lesson_path(1))
    window.editor.set_selection(["q"])
    window.act_rename.trigger()
    from PySide6.QtWidgets import QLineEdit

    line = window.view.viewport().findChild(QLineEdit)
    line.setText("jobs")
    line.returnPressed.emit()
    qtbot.waitUntil(lambda: "jobs = " in window.code.text.toPlainText(), timeout=3000)


def test_marks_the_line_each_process_is_on(window, qtbot):
    window.open_lesson(lesson_path(1))
    window.run_bar.act_run.trigger()
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    controller, panel = window.controller, window.code
    blocked = next(e for e in controller.timeline.events if e.kind == "put_blocked")
    controller.seek(blocked.t_ns)
    program = panel.program
    lines = panel.executing_lines()
    assert lines["producer"] == program.operations[("producer", "put")]
    assert lines["main"] in program.steps
    assert (lines["producer"], lines["producer"]) in marked_lines(panel)
