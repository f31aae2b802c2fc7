"""The run toolbar: Run, Pause/Play, Step, Stop, Restart, Live, a time scrubber and the speed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QSlider, QStyle, QToolBar, QWidget

from .run_controller import RunController, outcome_words

SPEEDS = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]


class RunBar(QToolBar):
    """Buttons and the scrubber for a RunController; `run_requested` and `restart_requested`
    are handled by the main window (it knows the scenario)."""

    def __init__(self, controller: RunController, parent: QWidget | None = None):
        super().__init__("Run", parent)
        self.setObjectName("RunToolbar")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.controller = controller
        style = self.style()
        P = QStyle.StandardPixmap

        def action(text, icon, shortcut, slot, tip):
            a = QAction(style.standardIcon(icon), text, self)
            a.setShortcut(QKeySequence(shortcut))
            a.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})")
            if slot is not None:
                a.triggered.connect(slot)
            return a

        self.act_run = action("Run", P.SP_MediaPlay, "F5", None, "Run the scenario in real processes")
        self.act_pause = action("Pause", P.SP_MediaPause, "F6", self._pause_or_play,
                                "Pause the picture (the run goes on recording) / play from here")
        self.act_step_back = action("Step back", P.SP_MediaSeekBackward, "Shift+F10",
                                    lambda: controller.step(-1), "Back to the previous event")
        self.act_step = action("Step", P.SP_MediaSeekForward, "F10", lambda: controller.step(1),
                               "Forward to the next event")
        self.act_stop = action("Stop", P.SP_MediaStop, "Shift+F5", controller.stop,
                               "Stop the run: every process is killed at once")
        self.act_restart = action("Restart", P.SP_BrowserReload, "Ctrl+Shift+F5", None,
                                  "Stop and run again")
        self.act_live = action("Live", P.SP_MediaSkipForward, "End", controller.go_live,
                               "Follow the run as it happens")
        for a in (self.act_run, self.act_pause, self.act_step_back, self.act_step, self.act_stop,
                  self.act_restart, self.act_live):
            self.addAction(a)
        self.addSeparator()

        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setMinimumWidth(260)
        self.scrubber.setToolTip("Time since the run started: drag to scrub")
        self.scrubber.sliderMoved.connect(self._scrubbed)
        self.addWidget(self.scrubber)
        self.time_label = QLabel(" 0.000 s ")
        self.time_label.setMinimumWidth(150)
        self.addWidget(self.time_label)
        self.speed = QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Replay speed (a live run follows real time)")
        self.speed.currentIndexChanged.connect(lambda i: controller.set_speed(SPEEDS[i]))
        self.addWidget(self.speed)

        controller.frame.connect(self.refresh)
        controller.state_changed.connect(self.refresh)
        self.refresh()

    def _pause_or_play(self) -> None:
        c = self.controller
        if c.mode in ("live", "playing"):
            c.pause()
        else:
            c.play()

    def _scrubbed(self, value: int) -> None:
        self.controller.seek(self.controller.started_ns + value * 1_000_000)

    def refresh(self) -> None:
        c = self.controller
        loaded = c.timeline is not None
        moving = c.mode in ("live", "playing")
        if self.act_pause.text() != ("Pause" if moving else "Play"):  # (refreshed every frame)
            self.act_pause.setText("Pause" if moving else "Play")
            self.act_pause.setIcon(self.style().standardIcon(
                QStyle.StandardPixmap.SP_MediaPause if moving else QStyle.StandardPixmap.SP_MediaPlay))
        for a in (self.act_pause, self.act_step, self.act_step_back):
            a.setEnabled(loaded)
        self.act_stop.setEnabled(c.live)
        self.act_live.setEnabled(c.live and c.mode != "live")
        self.scrubber.setEnabled(loaded)
        if not loaded:
            self.time_label.setText(" no run ")
            return
        total = max(0, (c.end_ns - c.started_ns) // 1_000_000)
        if not self.scrubber.isSliderDown():
            self.scrubber.blockSignals(True)
            self.scrubber.setRange(0, int(total))
            self.scrubber.setValue(int((c.playhead - c.started_ns) // 1_000_000))
            self.scrubber.blockSignals(False)
        status = {"live": "live", "playing": f"{c.speed:g}x", "paused": "paused"}.get(c.mode, "")
        if not c.live and c.outcome and c.outcome != "loaded":
            status += f" · run {outcome_words(c.outcome)}"
        self.time_label.setText(f" {c.elapsed():7.3f} s / {total / 1000:.3f} s · {status} ")
