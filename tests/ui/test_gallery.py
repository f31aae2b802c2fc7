"""The lesson gallery lists every lesson, explains the selected one and returns its path."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from simulator import scenario_file
from simulator.lessons import lesson_path, lesson_paths
from ui.gallery import GalleryDialog


def open_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Open)


def double_click(widget, pos: QPointF):
    """Press, release, double-click, release: the events a real double-click delivers."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left), (QEvent.Type.MouseButtonRelease, none),
                          (QEvent.Type.MouseButtonDblClick, left), (QEvent.Type.MouseButtonRelease, none)):
        event = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(pos)), left, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)


def test_lists_every_lesson_and_explains_it(qtbot):
    dialog = GalleryDialog()
    qtbot.addWidget(dialog)
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert len(texts) == len(lesson_paths()) >= 13
    assert texts[0] == "01  A bounded queue blocks the producer"
    assert texts[12].startswith("13  ")
    dialog.list.setCurrentRow(2)
    lesson = scenario_file.load(lesson_path(3)).scenario
    assert dialog.title.text() == lesson.title
    assert dialog.text.toPlainText() == lesson.explanation
    assert dialog.chosen_path() == lesson_path(3)


def test_open_and_double_click_accept(qtbot):
    dialog = GalleryDialog()
    qtbot.addWidget(dialog)
    dialog.list.setCurrentRow(4)
    with qtbot.waitSignal(dialog.accepted):
        open_button(dialog).click()
    assert dialog.chosen_path() == lesson_path(5)

    dialog.layout().activate()
    item = dialog.list.item(7)
    with qtbot.waitSignal(dialog.accepted):
        double_click(dialog.list.viewport(), QPointF(dialog.list.visualItemRect(item).center()))
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.chosen_path() == lesson_path(8)


def test_a_broken_lesson_is_listed_with_its_error(qtbot, tmp_path):
    good = tmp_path / "01-good.json"
    shutil.copy(lesson_path(1), good)
    broken = tmp_path / "02-broken.json"
    broken.write_text('{"format": "ipcsim-scenario", "version": 99}')
    dialog = GalleryDialog(paths=[good, broken])
    qtbot.addWidget(dialog)
    assert dialog.list.item(1).text() == "02  02-broken.json (cannot be opened)"
    dialog.list.setCurrentRow(1)
    assert "newer than this ipcsim understands" in dialog.text.toPlainText()
    assert dialog.chosen_path() is None
    assert not open_button(dialog).isEnabled()
    dialog.list.setCurrentRow(0)
    assert open_button(dialog).isEnabled() and dialog.chosen_path() == good


def test_cancel(qtbot):
    dialog = GalleryDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.rejected):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
