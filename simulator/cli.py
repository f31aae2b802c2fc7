"""The headless subcommands of `ipcsim` (no Qt, no display needed).

    ipcsim validate FILE
    ipcsim run FILE --headless [--jsonl OUT] [--trace OUT.ipctrace] [--timeout S]
    ipcsim code FILE [-o OUT.py]

Exit status: 0 success; 1 an invalid file or a run that failed; 2 bad usage; 3 the run hit
its timeout and was stopped.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from ipc.trace import Event

from . import codegen, scenario_file
from .fold import MAIN, Timeline
from .recording import read_trace
from .session import Run

COMMANDS = ("validate", "run", "code")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipcsim", description="Run and check ipcsim scenarios.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check a scenario file; print OK or each error")
    p.add_argument("file")
    p = sub.add_parser("run", help="run a scenario in real processes and record its trace")
    p.add_argument("file")
    p.add_argument("--headless", action="store_true", help="run without a window (required for now)")
    p.add_argument("--jsonl", help="also write every event as one JSON object per line")
    p.add_argument("--trace", help="where to record the .ipctrace (default: ~/.cache/ipcsim/runs)")
    p.add_argument("--timeout", type=float, default=60.0, help="stop the run after S seconds (60)")
    p = sub.add_parser("code", help="print the scenario as a standalone multiprocessing program")
    p.add_argument("file")
    p.add_argument("-o", "--output", help="write the program to this file instead")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        document = scenario_file.load(args.file)
    except scenario_file.ScenarioError as exc:
        print(f"{exc.source}: invalid scenario", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "validate":
        print(f"{args.file}: OK")
        return EXIT_OK
    if args.command == "code":
        return write_code(document, args.output)
    if not args.headless:
        print("ipcsim run: the live window is not available yet; use --headless", file=sys.stderr)
        return EXIT_USAGE
    return run_headless(document, args)


def write_code(document, output: str | None) -> int:
    source = codegen.generate(document.scenario).source
    if output is None:
        sys.stdout.write(source)
        return EXIT_OK
    try:
        scenario_file.write_atomic(Path(output), source.encode())
    except OSError as exc:
        print(f"ipcsim code: cannot write {output}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run_headless(document, args) -> int:
    names = [MAIN] + [p.id for p in document.scenario.processes()]
    width = max(map(len, names))
    lock = threading.Lock()

    def show_output(events: list[Event]) -> None:
        for e in events:
            if e.kind == "process_output":
                with lock:
                    line = e.detail["line"].removeprefix(f"{e.process}: ")  # its name is the column
                    print(f"{e.process:>{width}} | {line}", flush=True)

    scenario = document.scenario
    print(f"{scenario.title}  ({scenario.start_method})", flush=True)
    run = Run(document, args.trace, args.jsonl, on_events=show_output)
    run.start()
    outcome = run.wait(args.timeout)
    recording = read_trace(run.trace_path)
    print_summary(Timeline(scenario, recording.events), recording.started_ns, width)
    print(f"trace: {run.trace_path}")
    if outcome == "timeout":
        print(f"stopped after --timeout {args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_OK if outcome == "finished" else EXIT_FAILED


def print_summary(timeline: Timeline, started_ns: int, width: int) -> None:
    final = timeline.final()
    seconds = (timeline.end_ns - started_ns) / 1e9
    print(f"--- {final.run} after {seconds:.2f} s")
    for p in final.processes.values():
        code = "" if p.exitcode is None else f" (exit code {p.exitcode})"
        error = f": {p.error}" if p.error else ""
        print(f"{p.name:>{width}}   {p.state}{code}{error}")
    c = final.counts
    left = sum(ch.depth() for ch in final.channels.values())
    print(f"messages: {c['put']} put, {c['got']} got, {c['sent']} sent, {c['received']} received, "
          f"{c['dropped']} dropped, {c['lost']} lost, {left} left in channels")


def is_command(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in COMMANDS + ("-h", "--help")
