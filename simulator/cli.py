"""The headless subcommands of `ipcsim` (no Qt, no display needed).

    ipcsim validate FILE
    ipcsim run FILE --headless [--jsonl OUT] [--trace OUT.ipctrace] [--timeout S]
    ipcsim code FILE [-o OUT.py]
    ipcsim export-trace TRACE.ipctrace -o OUT.json|OUT.jsonl [--format perfetto|jsonl]

Exit status: 0 success; 1 an invalid file or a run that failed (the scenario's main raised, or
the runner itself failed); 2 bad usage; 3 the run hit its timeout and was stopped; 4 the run
deadlocked (every live process blocked with nothing left to wake any of them, for
`DEADLOCK_GRACE` seconds without an event: see `simulator.deadlock`) and was stopped.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from pathlib import Path

from ipc.trace import Event

from . import codegen, export, scenario_file
from .fold import MAIN, Timeline
from .recording import TraceError, read_trace
from .session import Run

COMMANDS = ("validate", "run", "code", "export-trace")
EXPORT_FORMATS = {".json": "perfetto", ".jsonl": "jsonl"}
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_DEADLOCK = 0, 1, 2, 3, 4
DEADLOCK_GRACE = 0.5  # seconds a deadlock must hold, with no new event, before the run is stopped


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
    p = sub.add_parser("export-trace", help="export a recorded trace as Perfetto JSON or JSON Lines",
                       description="Export a recorded run (a .ipctrace file; not a scenario file) as "
                                   "Chrome/Perfetto trace JSON (open it in ui.perfetto.dev or "
                                   "chrome://tracing) or as JSON Lines, one event per line.")
    p.add_argument("trace", help="the .ipctrace file a run recorded")
    p.add_argument("-o", "--output", required=True, help="OUT.json (Perfetto) or OUT.jsonl (JSON Lines)")
    p.add_argument("--format", choices=("perfetto", "jsonl"),
                   help="the output format (default: from OUT's extension)")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "export-trace":
        return export_trace(args.trace, args.output, args.format)
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


def process_names(scenario) -> list[str]:
    """Every process a run of `scenario` is likely to have: main, the nodes, pool workers and the
    manager (for the width of the output's first column)."""
    names = [MAIN] + [p.id for p in scenario.processes()]
    names += [f"{pool.id}-worker-{n}" for pool in scenario.pools() for n in range(1, pool.size + 1)]
    return names + ([scenario.manager_name()] if scenario.uses_manager() else [])


def export_trace(trace: str, output: str, fmt: str | None) -> int:
    fmt = fmt or EXPORT_FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        print(f"ipcsim export-trace: cannot tell the format from {output!r}; "
              "name it .json or .jsonl, or give --format", file=sys.stderr)
        return EXIT_USAGE
    try:
        recording = read_trace(trace)
    except TraceError as exc:
        print(f"ipcsim export-trace: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if fmt == "perfetto":
        data = json.dumps(export.to_perfetto(recording), separators=(",", ":"))
    else:
        out = io.StringIO()
        export.to_jsonl(recording, out)
        data = out.getvalue()
    try:
        scenario_file.write_atomic(Path(output), data.encode())
    except OSError as exc:
        print(f"ipcsim export-trace: cannot write {output}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def run_headless(document, args) -> int:
    scenario = document.scenario
    pools = {pool.id for pool in scenario.pools()}
    width = max(map(len, process_names(scenario)))
    lock = threading.Lock()

    def show_output(events: list[Event]) -> None:
        for e in events:
            if e.kind == "process_output":
                with lock:
                    line = e.detail["line"].removeprefix(f"{e.process}: ")  # its name is the column
                    pool = e.process.rsplit("-worker-", 1)[0]
                    if pool in pools:  # a pool's task prints after the pool's name
                        line = line.removeprefix(f"{pool}: ")
                    print(f"{e.process:>{width}} | {line}", flush=True)

    print(f"{scenario.title}  ({scenario.start_method})", flush=True)
    run = Run(document, args.trace, args.jsonl, on_events=show_output, deadlock_grace=DEADLOCK_GRACE)
    run.start()
    outcome = run.wait(args.timeout)
    recording = read_trace(run.trace_path)
    print_summary(recording.timeline, recording.started_ns, width)
    if run.deadlock is not None:
        print_deadlock(run.deadlock, width)
    print(f"trace: {run.trace_path}")
    if outcome == "timeout":
        print(f"stopped after --timeout {args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
    if outcome == "deadlock":
        print(f"deadlock: every process is blocked for good; stopped after {DEADLOCK_GRACE:g} s "
              "without an event", file=sys.stderr)
        return EXIT_DEADLOCK
    return EXIT_OK if outcome == "finished" else EXIT_FAILED


def print_summary(timeline: Timeline, started_ns: int, width: int) -> None:
    final = timeline.final()
    seconds = (timeline.end_ns - started_ns) / 1e9
    print(f"--- {final.run} after {seconds:.2f} s")
    for p in final.processes.values():
        code = "" if p.exitcode is None else f" (exit code {p.exitcode})"
        error = f": {p.error}" if p.error else ""
        print(f"{p.name:>{width}}   {p.state}{code}{error}")
    for pool in final.pools.values():
        print(f"{pool.name:>{width}}   pool {pool.state}: {len(pool.done)} task(s) done, "
              f"{len(pool.failed)} failed, {len(pool.running) + len(pool.queued)} unfinished")
    c = final.counts
    left = sum(ch.depth() for ch in final.channels.values())
    print(f"messages: {c['put']} put, {c['got']} got, {c['sent']} sent, {c['received']} received, "
          f"{c['dropped']} dropped, {c['lost']} lost, {left} left in channels")


_WAITS = {
    "get": "in get() on {w}, which is empty",
    "recv": "in recv() on {w}, with nothing in flight",
    "put": "in put() on {w}, which is full",
    "send": "in send() on {w}, which nobody reads",
    "queue_join": "in {w}.join(), with tasks unfinished",
    "acquire": "in acquire() of {w}, held by {holder}",
    "join": "in join() of {w}",
    "exit": "at its end, joining {w}",
}


def print_deadlock(detail: dict, width: int) -> None:
    print("deadlock: every live process is blocked, and nothing can wake any of them:")
    for name, wait in detail.get("blocked", {}).items():
        waits_on = wait.get("waits_on")
        if isinstance(waits_on, list):
            waits_on = ", ".join(waits_on)
        text = _WAITS.get(wait.get("op"), "in {op} on {w}").format(
            w=waits_on, holder=wait.get("holder"), op=wait.get("op"))
        print(f"{name:>{width}}   blocked {text}")


def is_command(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in COMMANDS + ("-h", "--help")
