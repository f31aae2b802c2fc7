"""Colours shared by the panels (and the canvas): process states, processes, emphasised events.

Every colour here comes with a text that says the same thing (a state name, a process name, an
event kind), so nothing is told by colour alone.
"""

from __future__ import annotations

import hashlib

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

# The fold's process states (simulator/fold.py), in the order a legend lists them.
STATE_COLORS = {
    "not_started": "#d4d4d4",
    "starting": "#a3a3a3",
    "running": "#16a34a",
    "working": "#2563eb",
    "sleeping": "#64748b",
    "blocked": "#ea580c",
    "finished": "#475569",
    "failed": "#dc2626",
    "terminated": "#9f1239",
    "daemon_killed": "#111827",
    "stopped": "#52525b",
}


def state_label(state: str) -> str:
    return state.replace("_", " ")


# Process colours: (on a light background, on a dark background), legible on both.
_PROCESS_COLORS = (
    ("#475569", "#cbd5e1"),  # slate
    ("#4d7c0f", "#a3e635"),  # olive
    ("#0f766e", "#2dd4bf"),  # teal
    ("#7e22ce", "#c084fc"),  # purple
    ("#15803d", "#4ade80"),  # green
    ("#b45309", "#fbbf24"),  # amber
    ("#be185d", "#f472b6"),  # pink
    ("#1d4ed8", "#60a5fa"),  # blue
)
# Salted so that the lessons' own process names get distinct colours within each lesson (main
# slate, producer green, consumer blue, ...); the colour of a name never changes.
_SALT = b"157:"

# Events that deserve attention, by what they mean: (light, dark) text colours.
EMPHASIS_COLORS = {
    "blocked": ("#c2410c", "#fb923c"),
    "failed": ("#dc2626", "#f87171"),
    "killed": ("#9f1239", "#fb7185"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    if palette is None:
        app = QApplication.instance()
        palette = app.palette() if app else QPalette()
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def process_color(name: str, dark: bool = False) -> QColor:
    """A stable colour for a process name, legible as text on a light (or dark) background."""
    pair = _PROCESS_COLORS[hashlib.blake2s(_SALT + name.encode()).digest()[0] % len(_PROCESS_COLORS)]
    return QColor(pair[dark])


def emphasis(kind: str, detail: dict | None) -> str | None:
    """"blocked", "failed" or "killed" for events that deserve attention, else None."""
    if kind.endswith("_blocked"):
        return "blocked"
    if kind.endswith("_failed") or kind == "connection_error":
        return "failed"
    if kind in ("daemon_killed_at_exit", "process_terminate_requested", "process_kill_requested"):
        return "killed"
    if kind == "process_exited":
        code = (detail or {}).get("exitcode")
        if code:
            return "failed" if code > 0 else "killed"
    return None


def emphasis_color(which: str, dark: bool = False) -> QColor:
    return QColor(EMPHASIS_COLORS[which][dark])
