"""Editors for one parameter each, used by the inspector.

A `Field` is an editor widget with an error line under it. It turns what the user typed into a
model value (`value()` raises `ValueError` with a one-line reason) and announces, with `edited`,
when the user changed something; `set_value` shows a model value without announcing anything.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from simulator.scenario import Pace

from . import theme

MAX_SECONDS = 3600.0
MAX_LISTED = 1000  # a longer count is not turned into a list of items


def error_color() -> QColor:
    return QColor("#f87171") if theme.current().dark else QColor("#dc2626")


def monospace_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def dim(label: QLabel) -> QLabel:
    """Secondary text: greyer than normal text, and still greyer when disabled."""
    palette = label.palette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        palette.setColor(group, QPalette.ColorRole.WindowText,
                         palette.color(group, QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label


class Field(QWidget):
    """One parameter: `name` is the model field it edits. `edited(final)` fires on user input:
    final is False while the user is still typing (check, do not apply) and True to apply."""

    edited = Signal(bool)

    def __init__(self, name: str, help_text: str):
        super().__init__()
        self.name = name
        self.setToolTip(help_text)
        self._frame = QFrame(objectName="fieldFrame")
        self._frame.setProperty("error", False)
        self._frame.setStyleSheet(
            "#fieldFrame { border: 1px solid transparent; border-radius: 3px; }"
            f"#fieldFrame[error=\"true\"] {{ border-color: {error_color().name()}; }}")
        self._frame_layout = QVBoxLayout(self._frame)
        self._frame_layout.setContentsMargins(1, 1, 1, 1)
        self._error = QLabel(wordWrap=True)
        self._error.setStyleSheet(f"color: {error_color().name()};")
        self._error.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._frame)
        layout.addWidget(self._error)

    def set_editor(self, widget: QWidget) -> None:
        self._frame_layout.addWidget(widget)

    # -- to be provided by each kind of field

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        raise NotImplementedError

    # -- inline errors

    @property
    def error(self) -> str:
        return self._error.text() if not self._error.isHidden() else ""

    def show_error(self, message: str) -> None:
        self._error.setText(message)
        self._error.show()
        self._set_error_look(True)

    def clear_error(self) -> None:
        self._error.clear()
        self._error.hide()
        self._set_error_look(False)

    def _set_error_look(self, on: bool) -> None:
        if self._frame.property("error") != on:
            self._frame.setProperty("error", on)
            self._frame.style().unpolish(self._frame)
            self._frame.style().polish(self._frame)


class IntField(Field):
    def __init__(self, name: str, help_text: str, minimum: int, maximum: int, suffix: str = ""):
        super().__init__(name, help_text)
        self.spin = QSpinBox(minimum=minimum, maximum=maximum, suffix=suffix, keyboardTracking=False)
        self.spin.valueChanged.connect(lambda: self.edited.emit(True))
        self.set_editor(self.spin)

    def set_value(self, value: int) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)

    def value(self) -> int:
        return self.spin.value()


class FloatField(Field):
    def __init__(self, name: str, help_text: str, maximum: float = MAX_SECONDS, suffix: str = " s"):
        super().__init__(name, help_text)
        self.spin = seconds_spin(maximum, suffix)
        self.spin.valueChanged.connect(lambda: self.edited.emit(True))
        self.set_editor(self.spin)

    def set_value(self, value: float) -> None:
        with QSignalBlocker(self.spin):
            self.spin.setValue(value)

    def value(self) -> float:
        return self.spin.value()


def seconds_spin(maximum: float = MAX_SECONDS, suffix: str = " s") -> QDoubleSpinBox:
    return QDoubleSpinBox(minimum=0.0, maximum=maximum, decimals=2, singleStep=0.1, suffix=suffix,
                          keyboardTracking=False)


class ChoiceField(Field):
    """A closed set of values; `options` maps each value to a one-line explanation."""

    def __init__(self, name: str, help_text: str, options: dict[str, str]):
        super().__init__(name, help_text)
        self.combo = QComboBox()
        for value, explanation in options.items():
            self.combo.addItem(value, value)
            self.combo.setItemData(self.combo.count() - 1, explanation, Qt.ItemDataRole.ToolTipRole)
        self.combo.activated.connect(lambda: self.edited.emit(True))
        self.set_editor(self.combo)

    def set_value(self, value: str) -> None:
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(self.combo.findData(value))

    def value(self) -> str:
        return self.combo.currentData()


class BoolField(Field):
    def __init__(self, name: str, help_text: str, text: str):
        super().__init__(name, help_text)
        self.check = QCheckBox(text)
        self.check.clicked.connect(lambda: self.edited.emit(True))
        self.set_editor(self.check)

    def set_value(self, value: bool) -> None:
        with QSignalBlocker(self.check):
            self.check.setChecked(value)

    def value(self) -> bool:
        return self.check.isChecked()


class TextField(Field):
    """One line of text, checked as it is typed and applied when editing finishes."""

    def __init__(self, name: str, help_text: str, max_length: int = 200, monospace: bool = False):
        super().__init__(name, help_text)
        self.line = QLineEdit(maxLength=max_length)
        if monospace:
            self.line.setFont(monospace_font())
        self.line.textEdited.connect(lambda: self.edited.emit(False))
        self.line.editingFinished.connect(lambda: self.edited.emit(True))
        self.set_editor(self.line)

    def set_value(self, value: str) -> None:
        if self.line.text() != value:
            self.line.setText(value)
            self.line.setCursorPosition(0)

    def value(self) -> str:
        return self.line.text()


class ExplanationField(Field):
    """Several lines of text, applied as they are typed (successive changes merge into one undo
    step)."""

    def __init__(self, name: str, help_text: str):
        super().__init__(name, help_text)
        self.text = QPlainTextEdit()
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 6)
        self.text.textChanged.connect(lambda: self.edited.emit(True))
        self.set_editor(self.text)

    def set_value(self, value: str) -> None:
        if self.text.toPlainText() != value:
            self.text.blockSignals(True)
            self.text.setPlainText(value)
            self.text.blockSignals(False)

    def value(self) -> str:
        return self.text.toPlainText()


class PaceField(Field):
    """A delay (`simulator.scenario.Pace`): fixed seconds, or random between seconds and an
    upper bound, drawn from a seed so that runs repeat."""

    def __init__(self, name: str, help_text: str):
        super().__init__(name, help_text)
        self.seconds = seconds_spin()
        self.random = QCheckBox("random, up to")
        self.random.setToolTip("Draw each delay at random between the two values.")
        self.up_to = seconds_spin()
        self.seed = QSpinBox(minimum=-2**31, maximum=2**31 - 1, keyboardTracking=False)
        self.seed.setToolTip("The random generator's seed: the same seed gives the same delays.")
        self._seed_label = QLabel("seed")
        box = QWidget()
        grid = QVBoxLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.seconds)
        grid.addLayout(_row(self.random, self.up_to))
        grid.addLayout(_row(self._seed_label, self.seed))
        self.set_editor(box)
        for spin in (self.seconds, self.up_to, self.seed):
            spin.valueChanged.connect(lambda: self.edited.emit(True))
        self.random.clicked.connect(self._random_clicked)

    def _random_clicked(self, on: bool) -> None:
        if on and self.up_to.value() <= self.seconds.value():
            with QSignalBlocker(self.up_to):
                self.up_to.setValue(self.seconds.value() + 0.5)
        self._show_random(on)
        self.edited.emit(True)

    def _show_random(self, on: bool) -> None:
        self.up_to.setEnabled(on)
        self._seed_label.setVisible(on)
        self.seed.setVisible(on)

    def set_value(self, pace) -> None:
        for widget in (self.seconds, self.random, self.up_to, self.seed):
            widget.blockSignals(True)
        self.seconds.setValue(pace.seconds)
        self.random.setChecked(pace.up_to is not None)
        self.up_to.setValue(pace.up_to if pace.up_to is not None else pace.seconds)
        self.seed.setValue(pace.seed)
        for widget in (self.seconds, self.random, self.up_to, self.seed):
            widget.blockSignals(False)
        self._show_random(pace.up_to is not None)

    def value(self) -> Pace:
        if not self.random.isChecked():
            return Pace(self.seconds.value(), None, self.seed.value())
        if self.up_to.value() < self.seconds.value():
            raise ValueError("the random upper bound must be at least the seconds")
        return Pace(self.seconds.value(), self.up_to.value(), self.seed.value())


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


# --------------------------------------------------------------------------- producer items

_WORD = re.compile(r"[A-Za-z_][\w .:-]*")


def parse_item(text: str) -> Any:
    """A list item typed as a JSON value (``"A"``, ``3``, ``[1, 2]``); a plain word is a string."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError as exc:
        if _WORD.fullmatch(text):
            return text
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ValueError(f'not a JSON value ({reason}); put text in "quotes"') from None


def show_item(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False)


class ItemsField(Field):
    """What a producer puts: a count (items named by the payload template) or an explicit list
    of JSON values. `expand(n)` gives the n items a count stands for, to start a list from."""

    def __init__(self, name: str, help_text: str, expand: Callable[[int], list]):
        super().__init__(name, help_text)
        self._expand = expand
        self.mode = QComboBox()
        self.mode.addItem("a number of items", "count")
        self.mode.addItem("a list of values", "list")
        self.mode.activated.connect(self._mode_chosen)
        self.count = QSpinBox(minimum=0, maximum=1_000_000, keyboardTracking=False)
        self.count.valueChanged.connect(lambda: self.edited.emit(True))
        self.list = QListWidget()
        self.list.setFont(monospace_font())
        lines = self.list.fontMetrics().lineSpacing()
        self.list.setMinimumHeight(lines * 4)
        self.list.setMaximumHeight(lines * 10)
        self.list.setToolTip('One JSON value per line: "A", 3, [1, 2], null. Double-click to edit.')
        self.list.itemChanged.connect(lambda: self.edited.emit(True))
        self.list.currentRowChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.add_button = _tool_button("Add", "Add an item after the selected one", self.add_item)
        self.remove_button = _tool_button("Remove", "Remove the selected item", self.remove_item)
        self.up_button = _tool_button("↑", "Move the selected item up", lambda: self.move_item(-1))
        self.down_button = _tool_button("↓", "Move the selected item down", lambda: self.move_item(1))
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.list_page = QWidget()
        list_layout = QVBoxLayout(self.list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.addWidget(self.list)
        list_layout.addLayout(buttons)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addWidget(self.count)
        layout.addWidget(self.list_page)
        self.set_editor(box)

    # -- showing

    def set_value(self, items) -> None:
        is_list = isinstance(items, list)
        with QSignalBlocker(self.mode):
            self.mode.setCurrentIndex(1 if is_list else 0)
        self._show_page()
        if not is_list:
            with QSignalBlocker(self.count):
                self.count.setValue(items)
            return
        try:
            if self._list_values() == items:  # the user's own edit coming back: keep the rows
                with QSignalBlocker(self.list):
                    for row, item in enumerate(items):
                        self.list.item(row).setText(show_item(item))
                return
        except ValueError:
            pass
        row = self.list.currentRow()
        with QSignalBlocker(self.list):
            self.list.clear()
            for item in items:
                self.list.addItem(self._new_item(show_item(item)))
            self.list.setCurrentRow(min(row, self.list.count() - 1))
        self._update_buttons()

    def _show_page(self) -> None:
        is_list = self.mode.currentData() == "list"
        self.count.setVisible(not is_list)
        self.list_page.setVisible(is_list)

    @staticmethod
    def _new_item(text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    def _update_buttons(self) -> None:
        row, n = self.list.currentRow(), self.list.count()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < n - 1)

    # -- reading

    def value(self):
        if self.mode.currentData() == "count":
            return self.count.value()
        return self._list_values()

    def _list_values(self) -> list:
        values = []
        for row in range(self.list.count()):
            try:
                values.append(parse_item(self.list.item(row).text()))
            except ValueError as exc:
                raise ValueError(f"item {row + 1}: {exc}") from None
        return values

    # -- gestures

    def _mode_chosen(self) -> None:
        if self.mode.currentData() == "list" and self.count.value() > MAX_LISTED:
            with QSignalBlocker(self.mode):
                self.mode.setCurrentIndex(0)
            self.show_error(f"too many items to list one by one (at most {MAX_LISTED})")
            return
        with QSignalBlocker(self.list), QSignalBlocker(self.count):
            if self.mode.currentData() == "list":
                self.list.clear()
                for item in self._expand(self.count.value()):
                    self.list.addItem(self._new_item(show_item(item)))
            else:
                self.count.setValue(self.list.count())
        self._show_page()
        self._update_buttons()
        self.edited.emit(True)

    def add_item(self) -> None:
        row = self.list.currentRow() + 1 if self.list.currentRow() >= 0 else self.list.count()
        item = self._new_item(show_item(f"item {self.list.count() + 1}"))
        with QSignalBlocker(self.list):
            self.list.insertItem(row, item)
            self.list.setCurrentRow(row)
        self._update_buttons()
        self.edited.emit(True)
        self.list.editItem(self.list.item(row))

    def remove_item(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        with QSignalBlocker(self.list):
            self.list.takeItem(row)
            self.list.setCurrentRow(min(row, self.list.count() - 1))
        self._update_buttons()
        self.edited.emit(True)

    def move_item(self, delta: int) -> None:
        row = self.list.currentRow()
        if not 0 <= row + delta < self.list.count() or row < 0:
            return
        with QSignalBlocker(self.list):
            item = self.list.takeItem(row)
            self.list.insertItem(row + delta, item)
            self.list.setCurrentRow(row + delta)
        self._update_buttons()
        self.edited.emit(True)


def _tool_button(text: str, tip: str, slot) -> QToolButton:
    button = QToolButton(text=text, toolTip=tip, autoRaise=False)
    button.clicked.connect(slot)
    return button
