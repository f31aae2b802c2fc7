"""A main window for tests that run scenarios: runs recorded in the test's folder, and every run
stopped before the window closes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow


@pytest.fixture
def live_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # runs are recorded here
    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.controller.stop()
    qtbot.waitUntil(lambda: not w.controller.live, timeout=10_000)
    w.editor.undo_stack.setClean()  # closing must not stop to ask about unsaved changes
    w.close()
    w.deleteLater()
    QApplication.processEvents()
