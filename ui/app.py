"""Starting the application: one window, opened on a file or on lesson 1."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


def create_app(argv: list[str]) -> QApplication:
    app = QApplication.instance() or QApplication(["ipcsim", *argv])
    app.setApplicationName("ipcsim")
    app.setOrganizationName("ipcsim")
    app.setStyle("Fusion")
    return app


def run_app(argv: list[str]) -> int:
    app = create_app(argv)
    window = MainWindow()
    window.open_initial([a for a in argv if not a.startswith("-")])
    window.show()
    return app.exec()
