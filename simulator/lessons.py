"""The lesson gallery: the scenarios shipped in assets/lessons, numbered NN-slug.json."""

from __future__ import annotations

from pathlib import Path

LESSONS_DIR = Path(__file__).resolve().parent.parent / "assets" / "lessons"


def lesson_paths() -> list[Path]:
    return sorted(LESSONS_DIR.glob("[0-9][0-9]-*.json"))


def lesson_path(number: int) -> Path:
    for path in lesson_paths():
        if path.name.startswith(f"{number:02d}-"):
            return path
    raise LookupError(f"no lesson {number}")
