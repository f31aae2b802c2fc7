"""Running lessons live in the window: the canvas follows the real processes, and replays."""

from __future__ import annotations

import gc

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QFileDialog
from simulator.lessons import lesson_path
from simulator.lifeline import process_alive
from ui import theme
from ui.commands import ChangeNode


@pytest.fixture
def window(live_window):
    return live_window


def state_of(window, name: str) -> str | None:
    item = window.scene.nodes[name]
    p = item.process_state()
    return p.state if p else None


def run_lesson(window, number: int) -> None:
    window.open_lesson(lesson_path(number))
    window.run_bar.act_run.trigger()
    assert window.controller.live and window.editor.read_only


def test_lesson_1_producer_blocks_then_unblocks(window, qtbot):
    full_every = gc.get_threshold()[2]
    run_lesson(window, 1)
    assert gc.get_threshold()[2] > 1_000_000  # no full garbage collection while a run is live
    qtbot.waitUntil(lambda: state_of(window, "producer") == "blocked", timeout=20_000)
    queue = window.scene.nodes["q"].snapshot.channels["q"]
    assert len(queue.contents) == 3  # drawn full: 3 of 3
    assert window.scene.nodes["producer"].process_state().waits_on == "q"
    qtbot.waitUntil(lambda: state_of(window, "consumer") in ("running", "working"), timeout=20_000)
    qtbot.waitUntil(lambda: state_of(window, "producer") in ("running", "finished"), timeout=20_000)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    assert window.controller.outcome == "finished"
    assert not window.editor.read_only
    assert gc.get_threshold()[2] == full_every


def test_lesson_11_daemons_are_shown_killed(window, qtbot):
    run_lesson(window, 11)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    window.controller.seek(window.controller.end_ns)
    qtbot.waitUntil(lambda: state_of(window, "C1") == "daemon_killed", timeout=5_000)
    assert state_of(window, "C2") == "daemon_killed"
    assert state_of(window, "P1") == "finished"


def test_seeking_backwards_shows_state_at_t(window, qtbot):
    run_lesson(window, 1)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    controller = window.controller
    timeline = controller.timeline
    start, end = controller.started_ns, controller.end_ns
    for fraction in (0.9, 0.6, 0.45, 0.3, 0.1, 0.0):
        t = start + int((end - start) * fraction)
        controller.seek(t)
        expected = timeline.state_at(t)
        for name, item in window.scene.nodes.items():
            shown = item.snapshot
            if name in expected.processes:
                assert shown.processes[name] == expected.processes[name], (fraction, name)
            if name in expected.channels:
                assert shown.channels[name] == expected.channels[name], (fraction, name)
        assert window.scene.main_item.snapshot.processes["main"] == expected.processes["main"]


def test_stop_while_blocked_ends_every_process(window, qtbot):
    run_lesson(window, 7)  # the reader blocks on get() forever until main terminates it
    qtbot.waitUntil(lambda: state_of(window, "writer") == "finished"
                    and state_of(window, "reader") == "blocked", timeout=20_000)
    pids = {e.pid for e in window.controller.timeline.events if e.process != "ipcsim"}
    assert len(pids) >= 3
    window.run_bar.act_stop.trigger()
    assert gc.get_threshold()[2] < 1_000_000  # full garbage collections again, were its end never seen
    qtbot.waitUntil(lambda: not window.controller.live, timeout=10_000)
    assert window.controller.outcome == "stopped"
    qtbot.waitUntil(lambda: not any(process_alive(p) for p in pids), timeout=1_000)
    window.controller.seek(window.controller.end_ns)
    assert state_of(window, "reader") == "stopped"


def test_step_moves_event_by_event(window, qtbot):
    run_lesson(window, 5)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    controller = window.controller
    controller.seek(controller.started_ns)
    seen = []
    for _ in range(5):
        window.run_bar.act_step.trigger()
        seen.append(controller.timeline.index_at(controller.playhead))
    assert seen == sorted(seen) and len(set(seen)) == 5
    window.run_bar.act_step_back.trigger()
    assert controller.timeline.index_at(controller.playhead) == seen[-2]


def test_editing_after_a_run_returns_to_the_scenario(window, qtbot):
    run_lesson(window, 5)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    assert window.scene.nodes["writer"].snapshot is not None
    window.editor.set_selection(["writer"])
    window.act_delete.trigger()
    assert window.controller.timeline is None
    assert window.scene.nodes["reader"].snapshot is None


def test_a_saved_trace_replays_without_running(window, qtbot, tmp_path, monkeypatch):
    run_lesson(window, 5)
    assert not window.act_save_trace.isEnabled()  # (not while it is still recording)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    path = tmp_path / "kept.ipctrace"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(path), ""))
    window.act_save_trace.trigger()  # File > Save Trace As...
    assert path.read_bytes() == window.controller.trace_path.read_bytes()
    window.new_file()
    assert window.open_trace(path)
    assert window.controller.run is None and window.controller.timeline is not None
    assert [n.id for n in window.editor.model.scenario.nodes] == ["writer", "q", "reader"]
    window.controller.seek(window.controller.end_ns)
    assert state_of(window, "reader") == "finished"


def test_presentation_mode_keeps_showing_the_run(window, qtbot):
    """Presentation mode redraws the canvas larger (new node items): they must show the run's
    state at the playhead as the old ones did, not the editor's look."""
    run_lesson(window, 7)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    window.controller.seek(window.controller.end_ns)
    qtbot.waitUntil(lambda: state_of(window, "reader") == "terminated", timeout=5_000)
    window.set_presentation(True)
    try:
        assert window.caption.isVisible()
        assert state_of(window, "reader") == "terminated" and state_of(window, "writer") == "finished"
        main = window.scene.main_item  # in the larger font, its note still fits inside its box
        assert 14 + QFontMetricsF(theme.font(9.5)).horizontalAdvance(main.note) < main.WIDTH
    finally:
        window.set_presentation(False)
    assert state_of(window, "reader") == "terminated"


def test_lesson_15_shows_the_manager_process_beside_main(window, qtbot):
    """Its Manager() starts a server process of its own: drawn next to main, with its state."""
    run_lesson(window, 15)
    manager, main = window.scene.manager_item, window.scene.main_item
    assert manager.isVisible() and manager.pos().y() == main.pos().y() and manager.pos().x() > main.pos().x()
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    controller = window.controller
    controller.seek((controller.started_ns + controller.end_ns) // 2)  # the tasks are running
    qtbot.waitUntil(lambda: manager.snapshot is not None
                    and manager.snapshot.processes[manager.name].state == "running", timeout=5_000)
    window.open_lesson(lesson_path(1))  # no Manager(): no manager
    assert not manager.isVisible()
    window.editor.push(ChangeNode(window.editor.model, "q", queue_type="Manager.Queue"))
    assert manager.isVisible()  # until its queue lives in one


def test_a_pool_shows_which_task_each_worker_runs(window, qtbot):
    """Lesson 16: four workers busy at once, each chip naming its own task, 0 to 3, as they were
    given (a map's chunks); the 5th waits."""
    from ui.canvas.object_items import task_numbers

    run_lesson(window, 16)
    pool = window.scene.nodes["pool"]
    qtbot.waitUntil(lambda: pool.snapshot is not None and len(pool.snapshot.pools["pool"].running) == 4
                    and len(pool.snapshot.pools["pool"].queued) == 1, timeout=30_000)
    state = pool.snapshot.pools["pool"]
    numbers = task_numbers(state)
    assert sorted(numbers[task] for task in state.running) == [0, 1, 2, 3]
    assert [numbers[task] for task in state.queued] == [4]


def test_main_points_from_its_badge_at_what_it_joins_and_around_other_nodes(window, qtbot):
    """Lesson 11, main blocked in join(P1): its pointer runs from its badge straight down to P1's
    top. With P1 moved below P3, it goes around P2 and P3, not through them."""
    from PySide6.QtGui import QPainterPath
    from ui.commands import MoveNodes

    main, layer, nodes = window.scene.main_item, window.scene.run_layer, window.scene.nodes

    def pointer_while_main_joins_p1():
        window.run_bar.act_run.trigger()
        qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
        steps = {(e.kind, e.object): e.t_ns for e in window.controller.timeline.events
                 if e.kind.startswith("main_step")}
        join = steps["main_step_started", "join(P1)"], steps["main_step_finished", "join(P1)"]
        window.controller.seek(sum(join) // 2)
        qtbot.waitUntil(lambda: main.process() is not None and main.process().state == "blocked", timeout=5_000)
        pointers = [path for path in layer.blocked_pointers() if path.intersects(main.sceneBoundingRect())]
        assert len(pointers) == 1
        path = pointers[0]
        points = [QPointF(path.elementAt(i).x, path.elementAt(i).y) for i in range(path.elementCount())]
        return points, nodes["P1"].mapRectToScene(nodes["P1"].body())

    window.open_lesson(lesson_path(11))
    points, p1 = pointer_while_main_joins_p1()
    badge = main.mapRectToScene(main.badge_rect())
    assert [(p.x(), p.y()) for p in points] == [(points[0].x(), badge.bottom()), (points[0].x(), p1.top())]
    assert badge.left() < points[0].x() < badge.right() and p1.left() < points[0].x() < p1.right()

    model = window.editor.model
    below_p3 = (model.positions["P1"][0], model.positions["P3"][1] + 150)
    window.editor.push(MoveNodes(model, {"P1": (model.positions["P1"], below_p3)}))
    points, p1 = pointer_while_main_joins_p1()
    for a, b in zip(points, points[1:]):
        segment = QPainterPath(a)
        segment.lineTo(b)
        assert not any(segment.intersects(nodes[name].footprint()) for name in ("P2", "P3"))
    assert (points[-1].x(), points[-1].y()) == (p1.left(), p1.center().y())


def test_a_deadlock_comes_into_view_whole(window, qtbot):
    """Lesson 20 deadlocks: the view, fitted to the scenario before, fits its frame and its words
    above it as they appear (the words were above the top of the view); the window says the run
    deadlocked."""
    window.open_lesson(lesson_path(20))
    window.run_bar.act_run.trigger()
    layer, view = window.scene.run_layer, window.view
    qtbot.waitUntil(lambda: not layer.deadlock_area.isEmpty(), timeout=30_000)
    qtbot.waitUntil(lambda: view.mapToScene(view.viewport().rect()).boundingRect().contains(
        layer.deadlock_area), timeout=5_000)
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    assert window.statusBar().currentMessage().startswith("The run deadlocked. ")
    assert "· run deadlocked" in window.run_bar.time_label.text()


def test_a_blocked_process_points_along_the_link_it_waits_on(window, qtbot):
    """Lesson 20: A, blocked getting from inbox_a, points along its get link (from the port it
    gets through, on its left), not straight from its right side."""
    window.open_lesson(lesson_path(20))
    window.run_bar.act_run.trigger()
    qtbot.waitUntil(lambda: not window.controller.live, timeout=30_000)
    detected = next(e.t_ns for e in window.controller.timeline.events if e.kind == "deadlock_detected")
    window.controller.seek(detected)
    qtbot.waitUntil(lambda: state_of(window, "A") == "blocked", timeout=5_000)
    link = next(item for item in window.scene.links.values()
                if (item.link.process, item.link.channel, item.link.op) == ("A", "inbox_a", "get"))
    along = link.mapToScene(link.path())
    assert any(path == along for path in window.scene.run_layer.blocked_pointers())
