"""Starting the application: one window, opened on a file or on lesson 1.

    ipcsim [FILE] [--run] [--screenshot OUT.png]

FILE is a scenario or a recorded `.ipctrace`. With --run the scenario starts running as soon as
the window shows, as if Run were pressed (tests/ui/test_gui_kill.py starts the app this way).
With --screenshot the window is drawn offscreen (no display needed), saved as a PNG and closed:
the README's picture is made this way.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def run_app(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ipcsim", description="Explore inter-process communication.")
    parser.add_argument("file", nargs="?", help="a scenario (.json) or a recorded run (.ipctrace)")
    parser.add_argument("--run", action="store_true", help="run the scenario as soon as the window shows")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a picture of the window and exit")
    args = parser.parse_args(argv)
    if args.run and args.file and args.file.endswith(".ipctrace"):
        parser.error("--run runs a scenario; a recorded .ipctrace is replayed, not run")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .render import light_palette

    app = QApplication.instance() or QApplication(["ipcsim"])
    app.setApplicationName("ipcsim")
    app.setOrganizationName("ipcsim")
    app.setStyle("Fusion")
    settings = None
    if args.screenshot:
        app.setPalette(light_palette())
        settings = QSettings(str(Path(args.screenshot).with_suffix(".ini")), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    if args.file and args.file.endswith(".ipctrace"):
        window.open_trace(Path(args.file))
        window.controller.seek(window.controller.end_ns)
    else:
        window.open_initial([args.file] if args.file else [])
    if args.screenshot:
        window.resize(1280, 720)  # the same picture on any screen
    else:
        window.restore_layout()
    window.show()
    if args.run:
        QTimer.singleShot(0, window.run_scenario)
    if args.screenshot:
        def shoot() -> None:
            window.grab().save(args.screenshot, "PNG")
            window.editor.undo_stack.setClean()
            window.close()
            Path(args.screenshot).with_suffix(".ini").unlink(missing_ok=True)
            app.quit()

        QTimer.singleShot(300, shoot)
    return app.exec()
