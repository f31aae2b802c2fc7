"""Pictures of a run at any moment, drawn by the same canvas the window shows.

`Renderer` holds a scenario's canvas and its recorded timeline and draws `state_at(t)` into a
QImage or an SVG file, offscreen. Pictures are reproducible: the same trace and time always give
the same pixels (a fixed light palette, a fixed size, nothing that depends on the clock).
Recordings are sequences of such frames, encoded with Pillow (GIF) or imageio-ffmpeg (MP4,
with the ffmpeg binary that its wheel ships).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterator

from PySide6.QtCore import QByteArray, QBuffer, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication

from simulator.captions import latest_caption
from simulator.recording import Recording

from . import theme
from .canvas.scene import CanvasScene
from .editor import Editor

MARGIN = 40.0
CAPTION_H = 56.0


def light_palette() -> QPalette:
    """The palette pictures are drawn with, whatever the desktop uses."""
    palette = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#f3f4f6"), (QPalette.ColorRole.Base, "#ffffff"),
                        (QPalette.ColorRole.Text, "#111827"), (QPalette.ColorRole.WindowText, "#111827")):
        palette.setColor(role, QColor(color))
    return palette


class Renderer:
    """Draws one recorded run, at any moment, at a fixed picture width."""

    def __init__(self, recording: Recording, width: int = 1280, caption: bool = False):
        self.recording = recording
        self.timeline = recording.timeline
        self.editor = Editor()
        self.editor.open_document(recording.document, None)
        self.scene = CanvasScene(self.editor)
        self.caption = caption
        self.source = self._source_rect()
        self.width = int(width)
        canvas_h = self.width * self.source.height() / self.source.width()
        self.height = int(round(canvas_h + (CAPTION_H * self.width / 1280 if caption else 0)))
        self.height += self.height % 2  # video encoders want even sizes

    @property
    def start_ns(self) -> int:
        return self.recording.started_ns

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.timeline.end_ns - self.start_ns) / 1e9)

    def _source_rect(self) -> QRectF:
        """The scene area every frame shows: everything a run can draw, with a margin."""
        last = self.timeline.end_ns
        self.scene.show_run(self.timeline, last, self.timeline.state_at(last))
        return self.scene.content_rect().adjusted(-MARGIN, -MARGIN - 20, MARGIN, MARGIN)

    def paint(self, painter: QPainter, t_ns: int, size: QSize) -> None:
        self.scene.show_run(self.timeline, t_ns, self.timeline.state_at(t_ns))
        canvas_h = size.width() * self.source.height() / self.source.width()
        target = QRectF(0, 0, size.width(), canvas_h)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), theme.current().background)
        self.scene.render(painter, target, self.source, Qt.AspectRatioMode.KeepAspectRatio)
        if self.caption:
            self._paint_caption(painter, t_ns, QRectF(0, canvas_h, size.width(), size.height() - canvas_h))
        self._paint_clock(painter, t_ns, size)

    def _paint_caption(self, painter: QPainter, t_ns: int, area: QRectF) -> None:
        painter.fillRect(area, QColor("#111827"))
        painter.setPen(QColor("white"))
        painter.setFont(theme.font(15 * self.width / 1280, bold=True))
        painter.drawText(area.adjusted(20, 0, -20, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         latest_caption(self.timeline, t_ns))

    def _paint_clock(self, painter: QPainter, t_ns: int, size: QSize) -> None:
        painter.setPen(theme.current().subtext)
        painter.setFont(theme.font(10 * self.width / 1280))
        painter.drawText(QRectF(0, 6, size.width() - 12, 24), Qt.AlignmentFlag.AlignRight,
                         f"t = {(t_ns - self.start_ns) / 1e9:.3f} s")

    def image(self, t_ns: int) -> QImage:
        image = QImage(self.width, self.height, QImage.Format.Format_RGB32)
        painter = QPainter(image)
        self.paint(painter, t_ns, image.size())
        painter.end()
        return image

    def png(self, t_ns: int) -> bytes:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        self.image(t_ns).save(buffer, "PNG")
        return bytes(data)

    def svg(self, t_ns: int) -> bytes:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(self.width, self.height))
        generator.setViewBox(QRectF(0, 0, self.width, self.height))
        generator.setTitle(self.recording.document.scenario.title)
        painter = QPainter(generator)
        self.paint(painter, t_ns, QSize(self.width, self.height))
        painter.end()
        return bytes(data)

    def frame_times(self, fps: float, speed: float) -> list[int]:
        """Moments of a recording at `fps` frames per second of video, `speed` x real time,
        from the start of the run to its end (both included)."""
        count = math.floor(self.duration_s / speed * fps) + 1
        return [self.start_ns + int(k * speed / fps * 1e9) for k in range(count)]


def record(renderer: Renderer, out: Path, fps: float, speed: float,
           progress: Callable[[int, int], bool] | None = None) -> int:
    """Write a GIF or MP4 of the whole run; returns the number of frames. `progress(done, total)`
    returning False cancels (the partial file is removed)."""
    times = renderer.frame_times(fps, speed)
    frames = _frames(renderer, times, progress)
    try:
        if out.suffix.lower() == ".gif":
            _write_gif(out, frames, fps)
        elif out.suffix.lower() == ".mp4":
            _write_mp4(out, frames, fps, renderer)
        else:
            raise ValueError(f"{out.name}: a recording is .gif or .mp4")
    except Cancelled:
        out.unlink(missing_ok=True)
        raise
    return len(times)


class Cancelled(Exception):
    """The recording was cancelled from its progress callback."""


def _frames(renderer: Renderer, times: list[int], progress) -> Iterator[QImage]:
    for i, t in enumerate(times):
        if progress is not None and not progress(i, len(times)):
            raise Cancelled()
        yield renderer.image(t)
        QApplication.processEvents()
    if progress is not None:
        progress(len(times), len(times))


def _rgb(image: QImage) -> bytes:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = bytes(image.constBits())
    if stride == width * 3:
        return raw
    return b"".join(raw[y * stride: y * stride + width * 3] for y in range(height))


def _write_gif(out: Path, frames: Iterator[QImage], fps: float) -> None:
    from PIL import Image

    pictures = [Image.frombytes("RGB", (f.width(), f.height()), _rgb(f)).quantize(colors=255) for f in frames]
    pictures[0].save(out, save_all=True, append_images=pictures[1:], duration=round(1000 / fps),
                     loop=0, optimize=False, disposal=1)


def _write_mp4(out: Path, frames: Iterator[QImage], fps: float, renderer: Renderer) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(out), (renderer.width, renderer.height), fps=fps,
                                         codec="libx264", pix_fmt_out="yuv420p", quality=8,
                                         macro_block_size=2, ffmpeg_log_level="error")
    writer.send(None)
    try:
        for frame in frames:
            writer.send(_rgb(frame))
    finally:
        writer.close()


def use_picture_palette(app: QApplication) -> None:
    """Headless pictures: the Fusion style and a fixed light palette, for reproducible pixels."""
    app.setStyle("Fusion")
    app.setPalette(light_palette())
