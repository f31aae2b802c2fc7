"""Pictures and recordings of recorded runs: reproducible, the right size, showing the state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtGui import QImage

from simulator.lessons import lesson_paths
from simulator.recording import read_trace
from ui.render import Renderer, record

ROOT = Path(__file__).resolve().parents[2]
LESSONS = lesson_paths()


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Every lesson run once, headless (several at a time), recorded to a trace."""
    folder = tmp_path_factory.mktemp("traces")
    paths = {p.stem: folder / f"{p.stem}.ipctrace" for p in LESSONS}
    running = [subprocess.Popen([sys.executable, "-m", "ui.main", "run", str(p), "--headless",
                                 "--trace", str(paths[p.stem])], cwd=ROOT, stdout=subprocess.DEVNULL)
               for p in LESSONS[:10]]
    running += [subprocess.Popen([sys.executable, "-m", "ui.main", "run", str(p), "--headless",
                                  "--trace", str(paths[p.stem])], cwd=ROOT, stdout=subprocess.DEVNULL)
                for p in LESSONS[10:]]
    for proc in running:
        proc.wait(timeout=180)
    return paths


def non_blank(image: QImage) -> bool:
    colors = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    return len(colors) > 20


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_every_lesson_shoots_reproducibly(qapp, traces, lesson):
    recording = read_trace(traces[lesson])
    renderer = Renderer(recording, width=800)
    end = renderer.timeline.end_ns
    moments = [recording.started_ns + int((end - recording.started_ns) * f) for f in (0.0, 0.5, 1.0)]
    pictures = [renderer.png(t) for t in moments]
    for t, png in zip(moments, pictures):
        image = QImage.fromData(png, "PNG")
        assert image.width() == 800 and image.height() == renderer.height
        assert non_blank(image)
        assert Renderer(recording, width=800).png(t) == png  # byte-identical when repeated
    assert pictures[0] != pictures[-1]  # the start and the end of a run look different
    svg = renderer.svg(moments[1])
    assert svg.startswith(b"<?xml") and b"<svg" in svg


def test_a_deadlock_is_framed_whole_and_pictured_whole(qapp, traces):
    """Lesson 20 at its end: the red frame holds the deadlocked processes and the queues they
    use without cutting through any of them, and the picture shows the frame and its words."""
    recording = read_trace(traces["20-deadlock"])
    renderer = Renderer(recording, width=800)
    renderer.image(renderer.timeline.end_ns)
    scene = renderer.scene
    frame = scene.run_layer.deadlock_frame()
    assert not frame.isEmpty()
    for item in [scene.main_item, *scene.nodes.values()]:
        assert frame.contains(item.sceneBoundingRect())
    assert renderer.source.contains(scene.run_layer.deadlock_area)


def test_a_queue_says_how_full_it_is_within_its_bounds(qapp, traces):
    """Lesson 11's JoinableQueue at the end: "0 in queue · unfinished 0", whole, in the room
    the item has ("· empty" made the line too long: it was cut at "unfin")."""
    from PySide6.QtGui import QFontMetricsF
    from ui.canvas.node_items import status_font

    recording = read_trace(traces["11-joinable-queue-daemons"])
    renderer = Renderer(recording, width=800)
    renderer.image(renderer.timeline.end_ns)
    q = renderer.scene.nodes["q"]
    line = q.status_line(q.snapshot.channels["q"])
    assert line == "0 in queue · unfinished 0"
    assert QFontMetricsF(status_font()).horizontalAdvance(line) <= q.status_room()


def test_the_picture_changes_exactly_when_the_state_does(qapp, traces):
    recording = read_trace(traces["01-bounded-queue-blocks"])
    renderer = Renderer(recording, width=640)
    blocked = next(e for e in recording.events if e.kind == "put_blocked")
    before = renderer.png(blocked.t_ns - 1_000_000_000)  # well before: nothing moving either
    at = renderer.png(blocked.t_ns + 400_000_000)
    assert before != at


def test_shoot_from_the_command_line_is_byte_identical(traces, tmp_path):
    outs = []
    for n in (1, 2):
        out = tmp_path / f"shot{n}.png"
        result = subprocess.run([sys.executable, "-m", "ui.main", "shoot", str(traces["01-bounded-queue-blocks"]),
                                 "--at", "1.5", "-o", str(out), "--width", "900", "--caption"],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    with Image.open(tmp_path / "shot1.png") as image:
        assert image.size[0] == 900


@pytest.mark.parametrize("fps, speed", [(10, 1.0), (20, 2.0)])
def test_gif_frame_count_and_duration_match_the_request(qapp, traces, tmp_path, fps, speed):
    recording = read_trace(traces["05-writer-then-reader"])
    renderer = Renderer(recording, width=480)
    out = tmp_path / "run.gif"
    frames = record(renderer, out, fps, speed)
    expected = int(renderer.duration_s / speed * fps) + 1
    assert frames == expected
    with Image.open(out) as gif:
        assert gif.n_frames == expected
        assert gif.info["duration"] == round(1000 / fps)
        assert gif.size == (480, renderer.height)


def test_mp4_is_written(qapp, traces, tmp_path):
    recording = read_trace(traces["05-writer-then-reader"])
    out = tmp_path / "run.mp4"
    frames = record(Renderer(recording, width=320), out, 10, 2.0)
    assert frames > 1 and out.stat().st_size > 1000
    assert out.read_bytes()[4:8] == b"ftyp"


def test_a_cancelled_recording_leaves_no_file(qapp, traces, tmp_path):
    from ui.render import Cancelled

    recording = read_trace(traces["05-writer-then-reader"])
    out = tmp_path / "run.gif"
    with pytest.raises(Cancelled):
        record(Renderer(recording, width=320), out, 10, 1.0, progress=lambda done, total: done < 3)
    assert not out.exists()
