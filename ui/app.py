"""The application window (the editor and live view arrive with later issues)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("ipcsim")
        label = QLabel("ipcsim — drag producers, consumers, queues and pipes here")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(label)
        self.resize(1280, 720)


def run_app(argv: list[str]) -> int:
    app = QApplication.instance() or QApplication(["ipcsim", *argv])
    window = MainWindow()
    window.show()
    return app.exec()
