"""The bottom-area panels fed by a RunController: a recorded lesson, and events arriving in batches."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from ipc.trace import Event
from simulator import scenario_file
from simulator.fold import Timeline
from simulator.lessons import lesson_path
from simulator.recording import read_trace
from simulator.session import Run
from ui.panels import Console, EventLog, TimelinePlot, timeline_plot
from ui.panels.colors import STATE_COLORS
from ui.panels.history import Change, Level, Records
from ui.panels.state_bars import StateBars
from ui.run_controller import RunController

# The offscreen platform says so whenever a top-level widget is shown; it is not about the panels.
pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")


@pytest.fixture(scope="module")
def lesson1_trace(tmp_path_factory):
    """Lesson 1 (a bounded queue blocks the producer) run once, for real, recorded."""
    path = tmp_path_factory.mktemp("panels") / "lesson1.ipctrace"
    run = Run(scenario_file.load(lesson_path(1)), path)
    run.start()
    assert run.wait(60) == "finished"
    return path


@pytest.fixture
def controller(qtbot):
    controller = RunController()
    yield controller
    controller.close()


@pytest.fixture
def loaded(controller, lesson1_trace):
    controller.load_trace(lesson1_trace)
    controller.pause()
    return controller


def show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(1000, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def rows(log):
    """The events the event log shows, in order."""
    return [log.model.event(row) for row in range(log.model.rowCount())]


def lines(console):
    """The process_output events the console shows, in order."""
    return [console.model.line(row) for row in range(console.model.rowCount())]


def output_lines(events, process=None, until=None):
    return [e for e in events if e.kind == "process_output" and (process is None or e.process == process)
            and (until is None or e.t_ns <= until)]


# -- event log


def test_event_log_has_a_row_per_event_whichever_comes_first(qtbot, controller, lesson1_trace):
    before = show(qtbot, EventLog(controller))  # follows a trace loaded after it was made
    controller.load_trace(lesson1_trace)
    after = show(qtbot, EventLog(controller))  # catches up with one loaded before
    n = len(controller.timeline)
    assert n > 40
    for log in (before, after):
        assert log.model.rowCount() == n
        assert rows(log) == list(controller.timeline.events)
        assert log.count.text() == f"{n} events"


def test_event_log_filters_by_kind_process_and_object(qtbot, loaded):
    log = show(qtbot, EventLog(loaded))
    events = loaded.timeline.events
    log.set_filter("kind", "message_put")
    assert [e.kind for e in rows(log)] == ["message_put"] * 5
    assert log.count.text() == f"5 of {len(events)} events"
    log.set_filter("process", "consumer")
    assert rows(log) == []
    log.set_filter("kind", None)
    assert rows(log) == [e for e in events if e.process == "consumer"]
    log.set_filter("process", None)
    log.combos["object"].setCurrentIndex(log.combos["object"].findData("q"))  # as a user picks it
    assert rows(log) == [e for e in events if e.object == "q"]
    assert log.combos["kind"].findText("put_blocked") > 0 and log.combos["process"].findText("main") > 0


def test_clicking_a_row_seeks_and_the_row_at_the_playhead_is_highlighted(qtbot, loaded):
    log = show(qtbot, EventLog(loaded))
    row = next(i for i, e in enumerate(rows(log)) if e.kind == "put_blocked")
    index = log.model.index(row, 2)
    log.view.scrollTo(index)
    qtbot.mouseClick(log.view.viewport(), Qt.MouseButton.LeftButton, pos=log.view.visualRect(index).center())
    assert loaded.playhead == log.model.event(row).t_ns
    assert log.model.current == row
    assert log.model.data(index, Qt.ItemDataRole.FontRole).bold()
    assert log.model.data(index, Qt.ItemDataRole.ForegroundRole) is not None  # blocked: coloured
    loaded.seek(loaded.started_ns)
    assert log.model.current == 0  # run_started is at the very start


# -- console


def test_console_shows_the_lines_printed_up_to_the_playhead(qtbot, loaded):
    console = show(qtbot, Console(loaded))
    events = loaded.timeline.events
    third_put = output_lines(events, "producer")[3]
    loaded.seek(third_put.t_ns)
    shown = lines(console)
    assert shown == output_lines(events, until=third_put.t_ns)
    texts = [console.model.data(console.model.index(i, 2)) for i in range(console.model.shown)
             if shown[i].process == "producer"]
    assert texts == [f"put 'item {i}'" for i in range(4)]
    assert console.model.data(console.model.index(0, 1)) == "producer"
    loaded.seek(loaded.timeline.end_ns)
    assert console.model.rowCount() == len(output_lines(events)) == 10
    loaded.seek(loaded.started_ns)
    assert console.model.rowCount() == 0


def test_clicking_a_console_line_seeks_to_it(qtbot, loaded):
    console = show(qtbot, Console(loaded))
    loaded.seek(loaded.timeline.end_ns)
    index = console.model.index(2, 2)
    qtbot.mouseClick(console.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=console.view.visualRect(index).center())
    assert loaded.playhead == console.model.line(2).t_ns
    assert console.model.rowCount() == 3


def test_console_marks_lines_printed_to_stderr(qtbot, loaded):
    console = show(qtbot, Console(loaded))
    last = loaded.timeline.events[-1]
    line = Event(last.t_ns + 1, last.pid, 99, "consumer", "process_output", None, None,
                 {"line": "consumer: ValueError: bad item", "stream": "stderr"})
    loaded.timeline.extend([line])  # arriving as a live run's events do
    loaded.events_added.emit(1)
    loaded.seek(line.t_ns)
    row = console.model.shown - 1
    assert console.model.line(row) == line
    assert console.model.data(console.model.index(row, 1)) == "consumer (stderr)"
    assert console.model.data(console.model.index(row, 2)) == "ValueError: bad item"
    assert console.model.data(console.model.index(row, 2), Qt.ItemDataRole.FontRole).italic()


# -- timeline plot


def test_timeline_has_a_lane_per_process_and_the_depth_of_q(qtbot, loaded):
    plot = show(qtbot, TimelinePlot(loaded))
    assert plot.lanes == ["main", "producer", "consumer"]
    assert plot.depth["q"]["y"].max() == plot.curves["q"].yData.max() == 3  # q = Queue(3): full
    blocked = next(e for e in loaded.timeline.events if e.kind == "put_blocked")
    change, until = plot.history.change_at("producer", blocked.t_ns)
    assert (change.state, change.describe()) == ("blocked", "blocked in put on q")
    assert until is not None and until > blocked.t_ns
    assert plot.history.change_at("producer", loaded.timeline.end_ns)[0].state == "finished"
    assert {"running", "blocked", "working", "sleeping"} <= {state for _, state in plot.bars.spans}
    for state in ("not started", "starting", "running", "working", "sleeping", "blocked", "finished"):
        assert state in plot.state_legend.text()


def test_a_long_depth_curve_is_drawn_in_blocks(qtbot, loaded, monkeypatch):
    """Only a curve's newest points get new data each frame; the older ones are curves of a
    block each, given their data once."""
    monkeypatch.setattr(timeline_plot, "RECENT_POINTS", 2)
    monkeypatch.setattr(timeline_plot, "MERGED", 3)  # every 3 blocks of 2 points: a curve of 6
    plot = show(qtbot, TimelinePlot(loaded))
    x, y = plot.depth["q"]["x"], plot.depth["q"]["y"]
    blocks, newest = plot._older["q"], plot.curves["q"]
    assert len(x) > 10 and len(newest.xData) <= 3
    sizes = [len(curve.xData) - 1 for curve, _, _ in blocks]  # (points each, less the one shared)
    assert sizes[0] == 6 and 6 not in sizes[sizes.count(6):] and 0 < sizes.count(2) < 3
    assert joined(plot, "q") == (list(x), list(y))  # each joined to the next at one shared point


def test_the_playhead_line_follows_and_clicking_the_plot_seeks(qtbot, loaded):
    plot = show(qtbot, TimelinePlot(loaded))
    loaded.seek(loaded.started_ns + 1_000_000_000)
    assert [line.value() for line in plot.playheads] == [pytest.approx(1.0)] * 2
    end = plot.seconds(loaded.timeline.end_ns)
    qtbot.waitUntil(lambda: plot.lanes_plot.vb.viewRange()[0][1] >= end)  # auto-ranged when painted
    for target, view in ((3.0, plot.lanes_plot.vb), (2.0, plot.depth_plot.vb)):
        (_, _), (bottom, top) = view.viewRange()
        pos = plot.graphics.mapFromScene(view.mapViewToScene(QPointF(target, (bottom + top) / 2)))
        qtbot.mouseClick(plot.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        qtbot.waitUntil(lambda: abs(plot.seconds(loaded.playhead) - target) < 0.2)
        assert plot.playheads[0].value() == pytest.approx(plot.seconds(loaded.playhead))


# -- following a live run: events arrive in batches


def joined(plot, channel):
    """A depth curve's points as drawn: its blocks and its newest curve, joined at shared points."""
    curves = [*(curve for curve, _, _ in plot._older[channel]), plot.curves[channel]]
    return ([*curves[0].xData, *(v for c in curves[1:] for v in c.xData[1:])],
            [*curves[0].yData, *(v for c in curves[1:] for v in c.yData[1:])])


def test_panels_take_events_in_batches_without_resetting(qtbot, controller, lesson1_trace, monkeypatch):
    monkeypatch.setattr(timeline_plot, "RECENT_POINTS", 2)  # the late event cuts into blocks drawn
    monkeypatch.setattr(timeline_plot, "MERGED", 2)
    recording = read_trace(lesson1_trace)
    log, puts, console, plot = (show(qtbot, cls(controller)) for cls in (EventLog, EventLog, Console, TimelinePlot))
    puts.set_filter("kind", "message_put")
    resets = []
    log.model.modelReset.connect(lambda: resets.append("log"))
    console.model.modelReset.connect(lambda: resets.append("console"))
    controller.timeline = Timeline(recording.document.scenario)
    controller.started_ns = controller.playhead = recording.started_ns
    controller.timeline_replaced.emit()
    assert log.model.rowCount() == 0 and plot.lanes == ["main", "producer", "consumer"]
    resets.clear()
    events = recording.events
    late = events[10]  # held back, then delivered late: sorted in before events already shown
    batches = [events[:10], events[11:25], [late] + events[25:40], events[40:]]
    for batch in batches:
        controller.timeline.extend(batch)  # what RunController.tick does
        controller.events_added.emit(len(batch))
        controller.playhead = controller.timeline.end_ns
        controller.frame.emit()
        assert rows(log) == list(controller.timeline.events)
        assert rows(puts) == [e for e in controller.timeline.events if e.kind == "message_put"]
        assert lines(console) == output_lines(controller.timeline.events)
    assert resets == []
    assert log.model.rowCount() == len(events)
    assert plot.depth["q"]["y"].max() == 3
    reference = TimelinePlot(controller)  # the same timeline taken in one go
    qtbot.addWidget(reference)
    assert plot.history.changes == reference.history.changes
    assert plot.history.levels == reference.history.levels
    for key, columns in reference.bars.spans.items():
        assert list(plot.bars.spans[key]["x1"]) == list(columns["x1"])
    assert plot.bars.open == reference.bars.open
    assert list(plot.depth["q"]["y"]) == list(reference.depth["q"]["y"])
    assert joined(plot, "q") == joined(reference, "q") == (list(plot.depth["q"]["x"]), list(plot.depth["q"]["y"]))


def test_history_records_read_back_as_the_tuples_appended():
    changes = Records(Change)
    appended = [(5, "blocked", "put", "q", 1), (9, "running", None, None, 2), (12, "blocked", "put", "q", 3)]
    for record in appended:
        changes.append(record)
    assert changes[:] == [Change(*record) for record in appended] and changes[-1].waits_on == "q"
    changes.cut(3)
    assert len(changes) == 2 and changes[1] == Change(9, "running", None, None, 2)
    same = Records(Change)
    for record in appended[:2]:
        same.append(record)
    assert same == changes and same != Records(Level)


def test_state_bars_merge_new_spans_onto_the_bars_already_merged(qtbot):
    """Painting as spans come in batches merges only the new ones, and draws what merging them
    all at once draws."""
    rng = np.random.default_rng(5)
    edges = np.cumsum(rng.exponential(0.01, 2001))
    states = rng.choice(["running", "blocked", "sleeping"], 2000)
    live, whole = StateBars(STATE_COLORS, QColor("gray")), StateBars(STATE_COLORS, QColor("gray"))
    for bars in (live, whole):
        bars.set_extent(2, edges[-1])
    for start in range(0, 2000, 250):
        for state in ("running", "blocked", "sleeping"):
            mine = np.flatnonzero(states[start:start + 250] == state) + start
            for lane in (0, 1):
                spans = mine[mine % 2 == lane]
                if len(spans):
                    live.add(lane, state, edges[spans], edges[spans + 1], spans)
        live._paths(0.2, 0.0, edges[-1])
    for (lane, state), columns in live.spans.items():
        whole.add(lane, state, columns["x0"], columns["x1"], columns["index"])
    whole._paths(0.2, 0.0, edges[-1])
    assert live._merged.keys() == whole._merged.keys()
    for group, merged in whole._merged.items():
        assert list(live._merged[group].a) == list(merged.a) and list(live._merged[group].b) == list(merged.b)
        assert len(merged.a) <= edges[-1] / 0.2 + 1 < len(live.spans[group]["x0"])  # bounded by the pixels
