"""The editor driven as a user drives it: drop from the palette, connect, edit, undo, save, reopen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, QSettings, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from simulator import scenario_file
from simulator.lessons import lesson_path, lesson_paths
from simulator.scenario import Link
from ui.canvas.node_items import PipeItem
from ui.canvas.view import PALETTE_MIME
from ui.commands import ChangeNode
from ui.main_window import FIRST_SIZE, MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.editor.undo_stack.setClean()  # closing must not stop to ask about unsaved changes
    w.close()
    w.deleteLater()
    QApplication.clipboard().clear()  # leaving our data on the clipboard crashes Qt's exit


# -- input helpers: real events sent to the canvas's viewport


def view_point(window, scene_pos: QPointF) -> QPointF:
    return QPointF(window.view.mapFromScene(scene_pos))


def mouse(window, kind, scene_pos, button=Qt.MouseButton.LeftButton, buttons=None):
    pos = view_point(window, scene_pos)
    viewport = window.view.viewport()
    held = button if buttons is None else buttons
    event = QMouseEvent(kind, pos, QPointF(viewport.mapToGlobal(pos.toPoint())), button, held,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)


def drag(window, start: QPointF, end: QPointF, steps: int = 5):
    mouse(window, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        mouse(window, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton)
    mouse(window, QEvent.Type.MouseButtonRelease, end, buttons=Qt.MouseButton.NoButton)


def drop_from_palette(window, kind: str, scene_pos: QPointF):
    palette = window.palette_list
    item = next(palette.item(i) for i in range(palette.count())
                if palette.item(i).data(Qt.ItemDataRole.UserRole) == kind)
    mime = palette.mimeData([item])
    assert mime.hasFormat(PALETTE_MIME)
    pos = view_point(window, scene_pos).toPoint()
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    viewport = window.view.viewport()
    QApplication.sendEvent(viewport, QDragEnterEvent(pos, *args))
    QApplication.sendEvent(viewport, QDragMoveEvent(pos, *args))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), *args))


def build_pipeline(window):
    """New scenario; drop a producer, a Queue and a consumer; connect them by dragging ports."""
    window.new_file()
    drop_from_palette(window, "producer", QPointF(100, 100))
    drop_from_palette(window, "Queue", QPointF(450, 100))
    drop_from_palette(window, "consumer", QPointF(800, 100))
    scene = window.scene
    producer, queue, consumer = scene.nodes["P1"], scene.nodes["q1"], scene.nodes["C1"]
    drag(window, producer.port_scene_pos("out"), queue.center())
    drag(window, consumer.port_scene_pos("in"), queue.center())
    return producer, queue, consumer


# -- tests


def test_drag_from_palette_and_connect(window):
    build_pipeline(window)
    model = window.editor.model
    assert [(n.id, n.kind) for n in model.scenario.nodes] == [("P1", "producer"), ("q1", "queue"), ("C1", "consumer")]
    assert model.scenario.links == [Link("P1", "q1", "put"), Link("C1", "q1", "get")]
    assert model.problems() == []
    assert len(window.scene.links) == 2
    assert window.isWindowModified()


def test_invalid_links_are_refused_with_a_reason(window):
    producer, queue, consumer = build_pipeline(window)
    drag(window, producer.port_scene_pos("out"), queue.center())  # the same link again
    assert window.statusBar().currentMessage() == "Cannot connect: that link is already there."
    drag(window, producer.port_scene_pos("out"), consumer.center())
    assert "not to another process" in window.statusBar().currentMessage()
    drop_from_palette(window, "Pipe (one-way)", QPointF(450, 400))
    pipe = window.scene.nodes["pipe1"]
    assert isinstance(pipe, PipeItem)
    receive_end = pipe.mapToScene(pipe.end_rect(1).center())
    drop_from_palette(window, "producer", QPointF(100, 400))
    drag(window, window.scene.nodes["P2"].port_scene_pos("out"), receive_end)
    assert window.statusBar().currentMessage() == "Cannot connect: a one-way pipe's receive end cannot send."
    assert len(window.editor.model.scenario.links) == 2


def test_edit_undo_redo_save_and_reopen(window, tmp_path):
    build_pipeline(window)
    editor = window.editor
    editor.push(ChangeNode(editor.model, "q1", maxsize=2))
    assert window.act_undo.text() == "&Undo Change maxsize of q1"
    window.act_undo.trigger()
    assert editor.model.node("q1").maxsize == 3
    window.act_redo.trigger()
    assert editor.model.node("q1").maxsize == 2
    for _ in range(2):
        window.act_undo.trigger()  # the change, then the consumer's link
    assert editor.model.scenario.links == [Link("P1", "q1", "put")]
    window.act_redo.trigger()
    window.act_redo.trigger()
    path = tmp_path / "pipeline.json"
    assert window._save_to(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("pipeline.json")
    assert scenario_file.load(path) == editor.model.document


def test_move_select_delete_paste(window, qtbot):
    producer, queue, consumer = build_pipeline(window)
    before = producer.pos()
    drag(window, producer.center(), producer.center() + QPointF(0, 120))
    assert window.editor.model.positions["P1"] == (before.x(), before.y() + 120)
    window.act_undo.trigger()
    assert window.editor.model.positions["P1"] == (before.x(), before.y())
    assert producer.pos() == before
    # rubber band around the producer and the queue
    corner = producer.sceneBoundingRect().topLeft() - QPointF(30, 30)
    far = queue.sceneBoundingRect().bottomRight() + QPointF(10, 30)
    drag(window, corner, far)
    assert sorted(window.editor.selection) == ["P1", "q1"]
    window.act_duplicate.trigger()
    assert sorted(window.editor.selection) == ["P2", "q2"]
    assert Link("P2", "q2", "put") in window.editor.model.scenario.links
    window.act_delete.trigger()
    assert not window.editor.model.has_node("P2") and Link("P2", "q2", "put") not in window.editor.model.scenario.links
    window.act_undo.trigger()
    assert window.editor.model.has_node("q2")
    window.editor.set_selection(["C1"])
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert window.editor.selection == ["C2"]


def test_rename_in_place(window, qtbot):
    build_pipeline(window)
    window.editor.set_selection(["q1"])
    window.act_rename.trigger()
    line = window.view.viewport().findChild(QLineEdit)
    assert line is not None and line.text() == "q1"
    line.setText("jobs")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert window.editor.model.has_node("jobs")
    assert Link("P1", "jobs", "put") in window.editor.model.scenario.links
    assert window.act_undo.text() == "&Undo Rename q1 to jobs"


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda p: p.stem)
def test_every_lesson_opens_and_draws(window, path):
    window.open_lesson(path)
    model = window.editor.model
    assert len(window.scene.nodes) == len(model.scenario.nodes)
    assert len(window.scene.links) == len(model.scenario.links)
    assert model.problems() == []
    assert window.windowTitle().startswith(f"Lesson {path.name[:2]}:")
    image = window.view.grab().toImage()
    assert not image.isNull()
    assert overlapping(window.scene) == []


def overlapping(scene) -> list[tuple[str, str]]:
    """The pairs of nodes (main included) that overlap, each with its state badge's room."""
    items = list(scene.nodes.values()) + [scene.main_item] + [scene.manager_item] * scene.manager_item.isVisible()
    rects = [(getattr(i, "node_id", None) or getattr(i, "name", "main"),
              i.footprint() if hasattr(i, "footprint") else i.sceneBoundingRect()) for i in items]
    return [(a, b) for n, (a, ra) in enumerate(rects) for b, rb in rects[n + 1:] if ra.intersects(rb)]


def test_presentation_mode_gives_every_lesson_room_and_edits_nothing(window):
    """Its text is larger, so its nodes are wider: the layout is spread to match (nothing
    overlaps), the scenario's positions are untouched, and editing waits until it is left."""
    window.set_presentation(True)
    try:
        for path in lesson_paths():
            window.open_lesson(path)
            assert overlapping(window.scene) == [], path.stem
        positions = dict(window.editor.model.positions)
        window.editor.set_selection(list(positions)[:1])
        window.delete_selection()  # refused, and the status bar says why
        assert len(window.scene.nodes) == len(positions)
        assert "presentation mode" in window.editor.read_only
    finally:
        window.set_presentation(False)
    assert window.editor.model.positions == positions and not window.editor.read_only
    item = window.scene.nodes[next(iter(positions))]
    assert (item.pos().x(), item.pos().y()) == positions[item.node_id]


def test_the_app_starts_on_lesson_1(window):
    window.open_initial([])
    assert window.editor.model.scenario.title == scenario_file.load(lesson_path(1)).scenario.title
    assert window.editor.path is None  # a copy: saving asks where, the lesson stays intact


def test_open_reports_every_bad_field(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.informativeText()))
    bad = tmp_path / "bad.json"
    bad.write_text(lesson_path(1).read_text().replace('"maxsize": 3', '"maxsize": -1'))
    assert not window.open_path(bad)
    assert "scenario.nodes[1].maxsize" in shown[0]


def test_the_window_opens_on_most_of_the_screen_then_as_it_was_left(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    first = MainWindow(settings)
    first.restore_layout()
    first.show()
    qtbot.waitExposed(first)
    screen = first.screen().availableGeometry()
    assert first.size() == screen.size() * FIRST_SIZE and screen.contains(first.frameGeometry())
    first.resize(first.width() - 40, first.height() - 30)
    first.panels_dock.hide()  # the user closed the panels
    size = first.size()
    first.close()
    first.deleteLater()

    again = MainWindow(settings)
    again.restore_layout()
    again.show()
    qtbot.waitExposed(again)
    assert again.size() == size
    assert not again.panels_dock.isVisible()
    again.set_presentation(True)  # hides every panel: closed so, the layout is still the user's
    again.close()
    again.deleteLater()

    third = MainWindow(settings)
    third.restore_layout()
    third.show()
    qtbot.waitExposed(third)
    assert third.palette_list.isVisible() and not third.panels_dock.isVisible()
    third.close()
    third.deleteLater()
