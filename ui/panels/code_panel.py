"""The Code panel: the scenario as the plain `multiprocessing` program a learner would write.

Selecting a node highlights its function; during a run or a replay, the line each process is
executing at the playhead is marked in that process's colour (each traced operation knows the
line of the generated program it corresponds to).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from PySide6.QtCore import QRegularExpression, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from simulator.codegen import Program, generate
from simulator.fold import MAIN
from simulator.scenario_file import write_atomic

from .. import theme

# where a process in a given state is, in its function
_STATE_OPS = {"working": "work", "sleeping": "sleep"}


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings, comments and numbers, as an editor would colour them."""

    def __init__(self, document, dark: bool):
        super().__init__(document)

        def fmt(color: str, bold=False, italic=False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            f.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
            f.setFontItalic(italic)
            return f

        palette = ("#c586c0", "#ce9178", "#6a9955", "#b5cea8") if dark else ("#7c3aed", "#b45309", "#15803d", "#0e7490")
        words = "|".join(keyword.kwlist + ["print", "range", "None", "True", "False"])
        self.rules = [
            (QRegularExpression(rf"\b({words})\b"), fmt(palette[0], bold=True)),
            (QRegularExpression(r"\b\d+(\.\d+)?\b"), fmt(palette[3])),
            (QRegularExpression(r"f?\"[^\"\\n]*\"|f?'[^'\\n]*'"), fmt(palette[1])),
            (QRegularExpression(r"#[^\n]*"), fmt(palette[2], italic=True)),
        ]

    def highlightBlock(self, text: str) -> None:
        for pattern, form in self.rules:
            matches = pattern.globalMatch(text)
            while matches.hasNext():
                m = matches.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), form)


class CodePanel(QWidget):
    def __init__(self, editor, controller, parent=None):
        super().__init__(parent)
        self.editor, self.controller = editor, controller
        self.program: Program | None = None
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(10.0, mono.pointSizeF()))
        self.text.setFont(mono)
        self.highlighter = PythonHighlighter(self.text.document(), theme.current().dark)
        copy, save = QPushButton("Copy"), QPushButton("Save as...")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        save.clicked.connect(self.save)
        self.note = QLabel("The same program with plain multiprocessing: run it with python.")
        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addWidget(copy)
        bar.addWidget(save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.text)

        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(150)  # edits come in bursts: regenerate once they settle
        self._pending.timeout.connect(self.regenerate)
        editor.undo_stack.indexChanged.connect(lambda *_: self._pending.start())
        editor.document_replaced.connect(self.regenerate)
        editor.selection_changed.connect(lambda *_: self.mark())
        controller.frame.connect(self.mark)
        self.regenerate()

    def regenerate(self) -> None:
        problems = self.editor.model.problems()
        if problems:
            self.program = None
            self.text.setPlainText(f"# The scenario cannot run yet:\n# {problems[0]}\n")
            return
        self.program = generate(self.editor.model.scenario)
        scroll = self.text.verticalScrollBar().value()
        self.text.setPlainText(self.program.source)
        self.text.verticalScrollBar().setValue(scroll)
        self.mark()

    def save(self) -> None:
        name = re.sub(r"\W+", "_", self.editor.model.scenario.title.lower()).strip("_") or "scenario"
        path, _ = QFileDialog.getSaveFileName(self, "Save the program", f"{name}.py", "Python (*.py)")
        if path:
            write_atomic(Path(path), self.text.toPlainText().encode())

    # -- marks

    def executing_lines(self) -> dict[str, int]:
        """The line each process is on at the playhead (process name -> 1-based line)."""
        program, state = self.program, self.controller.state()
        if program is None or state is None:
            return {}
        lines = {}
        for name, p in state.processes.items():
            if name == MAIN:
                if 0 <= p.step_index < len(program.steps) and p.state not in ("finished", "stopped"):
                    lines[name] = program.steps[p.step_index]
                continue
            if not p.alive:
                continue
            op = p.op if p.state == "blocked" else _STATE_OPS.get(p.state)
            line = program.operations.get((name, op)) if op else None
            if line is None and name in program.functions:
                line = program.functions[name][0]
            if line:
                lines[name] = line
        return lines

    def mark(self) -> None:
        if self.program is None:
            self.text.setExtraSelections([])
            return
        selections = []
        for node_id in self.editor.selection:
            if node_id in self.program.functions:
                first, last = self.program.functions[node_id]
                selections.append(self._lines(first, last, theme.current().selection, 40))
        for name, line in self.executing_lines().items():
            selections.append(self._lines(line, line, theme.process_color(name), 90))
        self.text.setExtraSelections(selections)
        if self.editor.selection and self.editor.selection[0] in self.program.functions and not self.controller.live:
            self._scroll_to(self.program.functions[self.editor.selection[0]][0])

    def _lines(self, first: int, last: int, color: QColor, alpha: int) -> QTextEdit.ExtraSelection:
        doc = self.text.document()
        cursor = QTextCursor(doc.findBlockByNumber(first - 1))
        cursor.movePosition(QTextCursor.MoveOperation.Down, QTextCursor.MoveMode.KeepAnchor, last - first)
        selection = QTextEdit.ExtraSelection()
        background = QColor(color)
        background.setAlpha(alpha)
        selection.format.setBackground(background)
        selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        selection.cursor = cursor
        return selection

    def _scroll_to(self, line: int) -> None:
        block = self.text.document().findBlockByNumber(line - 1)
        self.text.setTextCursor(QTextCursor(block))
        self.text.centerCursor()
