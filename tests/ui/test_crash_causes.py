"""Crashing children in the window: the inspector sets a process's crash (with undo), the canvas
shows each crash's cause under the process, and the window runs again afterwards."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from simulator import scenario_file
from simulator.lessons import lesson_path
from simulator.lifeline import process_alive
from simulator.scenario import Consumer, Document, Link, Producer, QueueNode, Scenario
from ui.canvas.state_badges import state_detail, state_text
from ui.commands import ChangeNode
from ui.editor import Editor
from ui.inspector import Inspector

CAUSES = {"raiser": ("failed · RuntimeError", "crash after 1 item"), "exiter": ("failed · exited with code 3", None),
          "segfaulter": ("crashed · SIGSEGV", "segmentation fault")}  # (the badge's words, the line under it)


def choose(combo, value):
    """What picking an entry with the mouse does."""
    combo.setCurrentIndex(combo.findData(value))
    combo.activated.emit(combo.currentIndex())


def test_the_inspector_sets_a_crash_with_undo(qtbot):
    editor = Editor()
    editor.open(lesson_path(1))  # producer (5 items) -> q -> consumer (count 5)
    inspector = Inspector(editor)
    qtbot.addWidget(inspector)
    editor.set_selection(["consumer"])
    fields = inspector.node_form.fields
    crash_after = fields["crash_after"]
    assert not crash_after.isVisibleTo(inspector.node_form)  # no crash: nothing to count
    choose(fields["crash"].combo, "segfault")
    assert editor.model.node("consumer").crash == "segfault"
    assert crash_after.isVisibleTo(inspector.node_form)
    crash_after.spin.setValue(6)  # more than the 5 items it gets
    assert crash_after.error == "it handles only 5 items, so it would never crash"
    assert editor.model.node("consumer").crash_after == 0
    crash_after.spin.setValue(2)
    assert not crash_after.error and editor.model.node("consumer").crash_after == 2
    assert editor.undo_stack.count() == 2
    editor.undo_stack.undo()
    assert crash_after.spin.value() == 0
    editor.undo_stack.undo()
    assert fields["crash"].value() == "none" and not crash_after.isVisibleTo(inspector.node_form)
    editor.undo_stack.redo()
    assert editor.model.node("consumer").crash == "segfault"


def crashing_consumers() -> Scenario:
    """P puts 3 items on q; three consumers get one each and crash after it, each its own way."""
    kinds = {"raiser": "exception", "exiter": "exit", "segfaulter": "segfault"}
    return Scenario(title="Crashing consumers", start_method="fork", nodes=[
        Producer("P", items=3), QueueNode("q"),
        *(Consumer(name, loop="count", count=1, crash=kind, crash_after=1) for name, kind in kinds.items())],
        links=[Link("P", "q", "put")] + [Link(name, "q", "get") for name in kinds])


def shown(window, name: str) -> tuple[str, str | None] | None:
    item = window.scene.nodes[name]
    p = item.process_state()
    return (state_text(p, item.snapshot), state_detail(p)) if p is not None else None


def run_to_the_end(window, qtbot) -> None:
    window.run_bar.act_run.trigger()
    assert window.controller.live
    qtbot.waitUntil(lambda: not window.controller.live, timeout=20_000)
    window.controller.seek(window.controller.end_ns)


def test_crashes_are_shown_with_their_cause_then_the_window_runs_again(live_window, qtbot, tmp_path):
    window = live_window
    path = tmp_path / "crashes.json"
    scenario_file.save(Document(crashing_consumers()), path)
    assert window.open_path(path)

    run_to_the_end(window, qtbot)
    assert window.controller.outcome == "finished"
    qtbot.waitUntil(lambda: {name: shown(window, name) for name in CAUSES} == CAUSES, timeout=5_000)
    assert shown(window, "P") == ("finished · exit 0", None)
    for name, (text, detail) in CAUSES.items():  # the badge is whole (not elided), inside the item's bounds
        item = window.scene.nodes[name]
        badge = item.badge(item.process_state(), item.snapshot)
        assert (badge.text, badge.detail) == (text, detail)
        assert item.boundingRect().contains(QRectF(QPointF(8, item.HEIGHT + 6), badge.extent))
    pids = {e.pid for e in window.controller.timeline.events if e.process != "ipcsim"}
    assert not any(process_alive(pid) for pid in pids)

    for name in CAUSES:  # fixed: they no longer crash
        window.editor.push(ChangeNode(window.editor.model, name, crash="none"))
    run_to_the_end(window, qtbot)
    assert window.controller.outcome == "finished"
    qtbot.waitUntil(lambda: all(shown(window, name) == ("finished · exit 0", None) for name in CAUSES),
                    timeout=5_000)
