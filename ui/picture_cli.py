"""`ipcsim shoot` and `ipcsim record`: pictures and recordings of a run, with no display.

    ipcsim shoot FILE --at SECONDS -o OUT.png|OUT.svg [--width PX] [--caption]
    ipcsim record FILE -o OUT.gif|OUT.mp4 [--fps N] [--speed X] [--width PX] [--caption]

FILE is a scenario (it is run first, headless) or a recorded `.ipctrace`. The same trace and
time always give the same picture, byte for byte.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

COMMANDS = ("shoot", "record")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipcsim", description="Pictures of a run, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (("shoot", "a PNG or SVG of the canvas at one moment"),
                        ("record", "a GIF or MP4 of the whole run")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("file", help="a scenario (.json, run first) or a recorded run (.ipctrace)")
        p.add_argument("-o", "--output", required=True)
        p.add_argument("--width", type=int, default=1280, help="picture width in pixels (1280)")
        p.add_argument("--caption", action="store_true", help="add a caption explaining the moment")
        p.add_argument("--timeout", type=float, default=60.0, help="for a scenario: stop its run after S s")
        if name == "shoot":
            p.add_argument("--at", type=float, required=True, help="seconds since the run started")
        else:
            p.add_argument("--fps", type=float, default=10.0, help="frames per second (10)")
            p.add_argument("--speed", type=float, default=1.0, help="run seconds per video second (1)")
    return parser


def load_recording(path: Path, timeout: float):
    """A recorded run: read from a trace, or made by running a scenario headless."""
    from simulator import scenario_file
    from simulator.recording import read_trace
    from simulator.session import Run

    if path.suffix == ".ipctrace":
        return read_trace(path)
    document = scenario_file.load(path)
    with tempfile.TemporaryDirectory(prefix="ipcsim-shoot-") as tmp:
        run = Run(document, Path(tmp) / "run.ipctrace")
        run.start()
        run.wait(timeout)
        return read_trace(run.trace_path)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is loaded: no display needed
    from PySide6.QtWidgets import QApplication

    from simulator.recording import TraceError
    from simulator.scenario_file import ScenarioError

    from .render import Renderer, record, use_picture_palette

    out = Path(args.output)
    suffixes = {"shoot": (".png", ".svg"), "record": (".gif", ".mp4")}[args.command]
    if out.suffix.lower() not in suffixes:
        print(f"ipcsim {args.command}: the output must end in {' or '.join(suffixes)}", file=sys.stderr)
        return 2
    try:
        recording = load_recording(Path(args.file), args.timeout)
    except (ScenarioError, TraceError) as exc:
        print(f"ipcsim {args.command}: {exc}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(["ipcsim"])
    use_picture_palette(app)
    renderer = Renderer(recording, args.width, args.caption)
    if args.command == "shoot":
        t = recording.started_ns + int(args.at * 1e9)
        data = renderer.png(t) if out.suffix.lower() == ".png" else renderer.svg(t)
        out.write_bytes(data)
        print(f"{out}: {renderer.width}x{renderer.height} at t = {args.at:g} s")
    else:
        frames = record(renderer, out, args.fps, args.speed)
        print(f"{out}: {frames} frames at {args.fps:g} fps, {args.speed:g}x, {renderer.width}x{renderer.height}")
    return 0
