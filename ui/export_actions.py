"""File > Export: the canvas as PNG / SVG (or to the clipboard), the window, the timeline, the
run as a GIF / MP4, and the trace as JSON Lines / Perfetto JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PySide6.QtCore import QObject, QRectF, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QMessageBox,
    QProgressDialog,
)

from simulator import export
from simulator.recording import TraceError, read_trace
from simulator.scenario_file import write_atomic

from .render import Cancelled, Renderer, record


class ExportActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        w = window

        def action(text, slot, shortcut=None):
            a = QAction(text, w)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.triggered.connect(slot)
            return a

        self.canvas_png = action("Canvas as &PNG...", self.export_canvas_png)
        self.canvas_svg = action("Canvas as &SVG...", self.export_canvas_svg)
        self.copy_canvas = action("&Copy Canvas Image", self.copy_canvas_image, "Ctrl+Shift+C")
        self.window_png = action("&Window as PNG...", self.export_window_png)
        self.timeline_image = action("&Timeline as PNG or SVG...", self.export_timeline)
        self.recording = action("Run as &GIF or MP4...", self.export_recording)
        self.trace = action("T&race as JSON Lines or Perfetto...", self.export_trace)
        self.all = [self.canvas_png, self.canvas_svg, self.copy_canvas, self.window_png,
                    self.timeline_image, self.recording, self.trace]
        w.controller.state_changed.connect(self.refresh)
        w.controller.timeline_replaced.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        recorded = self.window.controller.trace_path is not None and not self.window.controller.live \
            and self.window.controller.timeline is not None
        self.recording.setEnabled(recorded)
        self.trace.setEnabled(recorded)

    # -- the canvas, as it is shown

    def _canvas_source(self) -> QRectF:
        return self.window.scene.content_rect().adjusted(-30, -30, 30, 30)

    def canvas_image(self, scale: float = 1.0) -> QImage:
        source = self._canvas_source()
        image = QImage(QSize(int(source.width() * scale), int(source.height() * scale)),
                       QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.window.scene.render(painter, QRectF(image.rect()), source)
        painter.end()
        return image

    def export_canvas_png(self) -> None:
        scale, ok = QInputDialog.getDouble(self.window, "Export canvas", "Scale (1 = actual size):",
                                           2.0, 0.5, 4.0, 1)
        if not ok:
            return
        path = self._save_path("Export canvas as PNG", "canvas.png", "PNG images (*.png)")
        if path and not self.canvas_image(scale).save(str(path), "PNG"):
            QMessageBox.critical(self.window, "Cannot export", f"Could not write {path}")

    def export_canvas_svg(self) -> None:
        path = self._save_path("Export canvas as SVG", "canvas.svg", "SVG images (*.svg)")
        if not path:
            return
        source = self._canvas_source()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(source.size().toSize())
        generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
        painter = QPainter(generator)
        self.window.scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
        painter.end()

    def copy_canvas_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.canvas_image(2.0))
        self.window.statusBar().showMessage("The canvas image is on the clipboard.", 4000)

    def export_window_png(self) -> None:
        path = self._save_path("Export window as PNG", "window.png", "PNG images (*.png)")
        if path:
            self.window.grab().save(str(path), "PNG")

    def export_timeline(self) -> None:
        """The timeline plots as drawn. (pyqtgraph's SVGExporter fails with this Qt, so both
        formats go through Qt's own rendering of the plot widget.)"""
        path = self._save_path("Export timeline", "timeline.png", "PNG images (*.png);;SVG images (*.svg)")
        if not path:
            return
        graphics = self.window.timeline_plot.graphics
        if path.suffix.lower() != ".svg":
            graphics.grab().save(str(path), "PNG")
            return
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(graphics.size())
        generator.setViewBox(QRectF(0, 0, graphics.width(), graphics.height()))
        painter = QPainter(generator)
        graphics.render(painter)
        painter.end()

    # -- a recorded run

    def _recording(self):
        try:
            return read_trace(self.window.controller.trace_path)
        except TraceError as exc:
            QMessageBox.critical(self.window, "Cannot read the run", str(exc))
            return None

    def export_recording(self) -> None:
        options = RecordDialog(self.window)
        if not options.exec():
            return
        fmt, fps, speed = options.values()
        path = self._save_path("Record the run", f"run.{fmt}", f"{fmt.upper()} (*.{fmt})")
        recording = self._recording() if path else None
        if recording is None:
            return
        renderer = Renderer(recording, 1280, caption=True)
        total = len(renderer.frame_times(fps, speed))
        dialog = QProgressDialog("Rendering frames...", "Cancel", 0, total, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)

        def progress(done: int, count: int) -> bool:
            dialog.setValue(done)
            return not dialog.wasCanceled()

        try:
            frames = record(renderer, path, fps, speed, progress)
        except Cancelled:
            self.window.statusBar().showMessage("Recording cancelled.", 4000)
            return
        except (OSError, RuntimeError) as exc:
            QMessageBox.critical(self.window, "Cannot record", str(exc))
            return
        finally:
            dialog.close()
        self.window.statusBar().showMessage(f"Wrote {path} ({frames} frames).", 6000)

    def export_trace(self) -> None:
        path = self._save_path("Export trace", "trace.json",
                               "Perfetto / Chrome trace (*.json);;JSON Lines (*.jsonl)")
        recording = self._recording() if path else None
        if recording is None:
            return
        if path.suffix == ".jsonl":
            text = io.StringIO()
            export.to_jsonl(recording, text)
            data = text.getvalue().encode()
        else:
            data = json.dumps(export.to_perfetto(recording)).encode()
        try:
            write_atomic(path, data)
        except OSError as exc:
            QMessageBox.critical(self.window, "Cannot export", str(exc))

    def _save_path(self, title: str, name: str, filters: str) -> Path | None:
        folder = Path(str(self.window.settings.value("last_dir", str(Path.home()))))
        path, _ = QFileDialog.getSaveFileName(self.window, title, str(folder / name), filters)
        return Path(path) if path else None


class RecordDialog(QDialog):
    """Format, frame rate and speed of a recording."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Record the run")
        form = QFormLayout(self)
        self.format = QComboBox()
        self.format.addItems(["gif", "mp4"])
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(10)
        self.fps.setSuffix(" frames/s")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.1, 8)
        self.speed.setValue(1.0)
        self.speed.setSingleStep(0.25)
        self.speed.setSuffix(" x")
        form.addRow("Format", self.format)
        form.addRow("Frame rate", self.fps)
        form.addRow("Speed", self.speed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, float, float]:
        return self.format.currentText(), self.fps.value(), self.speed.value()
