"""Colours and fonts for the canvas, for light and dark palettes alike.

Kind colours are the icons' colours; everything else derives from the application palette, so
the canvas stays legible whichever palette the desktop uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

ICONS = Path(__file__).resolve().parent.parent / "assets" / "icons"

KIND_COLORS = {
    "producer": "#16a34a",
    "consumer": "#2563eb",
    "worker": "#7c3aed",
    "Queue": "#d97706",
    "JoinableQueue": "#b45309",
    "SimpleQueue": "#a16207",
    "pipe": "#0d9488",
    "Manager.Queue": "#c2410c",
    "Manager.JoinableQueue": "#c2410c",
    "pool": "#be185d",
    "dict": "#0369a1",
    "list": "#0e7490",
    "lock": "#4d7c0f",
}

ICON_FILES = {
    "producer": "producer", "consumer": "consumer", "worker": "worker",
    "Queue": "queue", "JoinableQueue": "joinablequeue", "SimpleQueue": "simplequeue",
    "Pipe": "pipe", "Pipe (one-way)": "pipe-oneway",
    "Manager.Queue": "managerqueue", "Manager.JoinableQueue": "managerqueue",
    "pool": "pool", "Pool": "pool", "dict": "dict", "list": "list",
    "lock": "lock", "Lock": "lock", "Manager.Lock": "lock",
}


def icon(kind: str) -> QIcon:
    return QIcon(str(ICONS / f"{ICON_FILES[kind]}.svg"))


def icon_path(kind: str) -> str:
    return str(ICONS / f"{ICON_FILES[kind]}.svg")


def kind_key(node) -> str:
    """The colour / icon key of a model node."""
    if node.kind == "queue":
        return node.queue_type
    return node.kind


@dataclass(frozen=True)
class Theme:
    dark: bool
    background: QColor
    grid: QColor
    node_fill: QColor
    node_border: QColor
    text: QColor
    subtext: QColor
    link: QColor
    selection: QColor
    slot: QColor


def current() -> Theme:
    app = QApplication.instance()
    palette = app.palette() if app else QPalette()
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightness() < 128
    text = palette.color(QPalette.ColorRole.Text)
    if dark:
        return Theme(True, QColor("#1e1f22"), QColor("#34363b"), QColor("#2b2d31"), QColor("#4b4f57"),
                     text, QColor("#a1a6ae"), QColor("#9aa3ad"), QColor("#60a5fa"), QColor("#3a3d43"))
    return Theme(False, QColor("#f7f8fa"), QColor("#d9dce1"), QColor("#ffffff"), QColor("#c4c9d1"),
                 text, QColor("#5f6670"), QColor("#6b7380"), QColor("#2563eb"), QColor("#eef0f3"))


_scale = 1.0  # presentation mode draws the canvas larger


def set_presentation(on: bool) -> None:
    """Larger text and tokens on the canvas, for a projector."""
    global _scale
    _scale = 1.3 if on else 1.0


def scale() -> float:
    return _scale


def font(point_size: float, bold: bool = False) -> QFont:
    f = QFont(QApplication.font() if QApplication.instance() else QFont())
    f.setPointSizeF(point_size * _scale)
    f.setBold(bold)
    return f


# Process states (simulator.fold.ProcessState.state): colour and words. Never colour alone:
# the canvas draws an icon and a label too.
STATE_COLORS = {
    "not_started": "#a8adb5", "starting": "#8b929c", "running": "#16a34a", "working": "#2563eb",
    "sleeping": "#64748b", "blocked": "#ea580c", "finished": "#475569", "terminated": "#9f1239",
    "daemon_killed": "#111827", "failed": "#dc2626", "stopped": "#52525b",
}

# Tokens are coloured by the process that put or sent them.
PROCESS_COLORS = ["#16a34a", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#0891b2",
                  "#65a30d", "#c2410c", "#4f46e5", "#0d9488"]


def process_color(name: str) -> QColor:
    return QColor(PROCESS_COLORS[sum(map(ord, name)) % len(PROCESS_COLORS)])
