"""The lesson gallery: pick one of the shipped lessons, read what it shows, open it."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from simulator import lessons, scenario_file

from . import theme
from .inspector_fields import dim, error_color

PATH_ROLE = Qt.ItemDataRole.UserRole


class GalleryDialog(QDialog):
    """Lessons as "NN  Title" on the left, the selected one's explanation on the right. After
    `exec()` returns Accepted, `chosen_path()` is the lesson to open."""

    def __init__(self, parent: QWidget | None = None, paths: list[Path] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Lessons")
        self._lessons: dict[Path, tuple[str, str, str] | str] = {}  # path -> (title, text, summary) or error

        self.list = QListWidget(wordWrap=True, spacing=2)
        self.list.setFont(theme.font(self.font().pointSizeF() * 1.1))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.currentItemChanged.connect(self._show_current)
        self.list.itemDoubleClicked.connect(self._open_item)
        self.title = QLabel(wordWrap=True)
        self.title.setFont(theme.font(self.font().pointSizeF() * 1.5, bold=True))
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = dim(QLabel(wordWrap=True))
        self.text = QTextBrowser()
        self.text.setFont(theme.font(self.font().pointSizeF() * 1.25))
        self.text.setFrameShape(QTextBrowser.Shape.NoFrame)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(12, 4, 4, 4)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.summary)
        right_layout.addWidget(self.text, 1)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([360, 600])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.buttons)
        self.resize(960, 560)

        for path in lessons.lesson_paths() if paths is None else paths:
            self._add(path)
        self.list.setCurrentRow(0)
        self._show_current()

    def _add(self, path: Path) -> None:
        number = path.name.split("-", 1)[0]
        try:
            scenario = scenario_file.load(path).scenario
        except scenario_file.ScenarioError as exc:
            self._lessons[path] = "\n".join(exc.errors)
            item = QListWidgetItem(f"{number}  {path.name} (cannot be opened)")
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
        else:
            self._lessons[path] = (scenario.title, scenario.explanation, _summary(scenario))
            item = QListWidgetItem(f"{number}  {scenario.title}")
        item.setData(PATH_ROLE, path)
        item.setToolTip(path.name)
        self.list.addItem(item)

    def chosen_path(self) -> Path | None:
        """The selected lesson's file, or None when nothing (openable) is selected."""
        item = self.list.currentItem()
        if item is None or isinstance(self._lessons[item.data(PATH_ROLE)], str):
            return None
        return item.data(PATH_ROLE)

    def _show_current(self) -> None:
        item = self.list.currentItem()
        lesson = self._lessons[item.data(PATH_ROLE)] if item else None
        self.buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(self.chosen_path() is not None)
        if lesson is None:
            self.title.clear()
            self.summary.clear()
            self.text.clear()
        elif isinstance(lesson, str):
            self.title.setText(f"{item.data(PATH_ROLE).name} cannot be opened")
            self.summary.clear()
            self.text.setHtml(f'<p style="color: {error_color().name()}; white-space: pre-wrap">'
                              f"{html.escape(lesson)}</p>")
        else:
            title, explanation, summary = lesson
            self.title.setText(title)
            self.summary.setText(summary)
            self.text.setPlainText(explanation)

    def _open_item(self, item: QListWidgetItem) -> None:
        if self.chosen_path() is not None and item is self.list.currentItem():
            self.accept()


def _summary(scenario) -> str:
    """'2 producers · 1 Queue · 1 consumer'."""
    kinds = Counter(n.queue_type if n.kind == "queue" else n.kind for n in scenario.nodes)
    parts = []
    for kind, n in kinds.items():
        plural = "s" if n > 1 and kind[0].islower() else ""
        parts.append(f"{n} {kind}{plural}")
    return " · ".join(parts)
