"""The generated program: every lesson runs as plain multiprocessing and does what the traced run does.

How a lesson's two runs are compared (`test_generated_program_behaves_like_the_traced_run`):

* **Printed lines.** Behaviours and the generated code print the same text, each line starting
  with the node's name (``consumer: got 'item 0'``). The traced run records each process's lines
  as ``process_output`` events; the generated program's processes share one stdout, so its lines
  are attributed by that prefix. A process's lines split into *deliveries* (``got X``,
  ``received X``: the messages it took from a channel, in order) and everything else (puts and
  sends, ``queue.Full``/``queue.Empty``, sentinels, ``empty() is True``). Everything else must be
  identical, in order, in every lesson. Deliveries must be identical, in order, where the lesson
  is deterministic; each channel there has a single reader per direction, so that is the order of
  delivery per channel. Where the lesson races (`RACES`), deliveries are compared by what the race
  cannot change: see `check_race`.
  A pool's tasks print after the pool's name, whichever worker runs them: a pool's lines are
  compared in any order (which task ends first is timing). main's own lines (a pool's results, a
  dict it reads) are compared like a process's.
* **Exceptions.** The last line of each traceback a process printed on stderr (the header
  ``Process <name>:`` that multiprocessing prints names the process; main's own traceback, when
  main dies of an exception, comes with no header), with addresses and pids masked.
* **Exit codes.** The traced run's come from ``process_exited``. The generated program is run
  under `HARNESS`, which runs it as ``__main__`` with runpy and only remembers each Process it
  starts; as the very last exit finalizer (after multiprocessing's own exit handler has
  terminated the daemons still alive and joined the others) it writes their exit codes to a
  file. It prints nothing and changes nothing the program does. Only the scenario's processes
  are compared (not pool workers or the manager). The generated program's own exit status must
  be the runner's: 0, or 1 where main dies of an exception (`EXPECTED_STATUS`).
* **Deadlock.** Lesson 20 deadlocks by design: the traced run is stopped as deadlocked, the
  generated program hangs until the test kills it (`HANGS`), and neither printed anything.

Every program also runs once as it is (`python program.py`, no PYTHONPATH), which is how a
learner runs it. The generated programs run 4 at a time before any traced run starts, so the two
kinds never compete for the CPU.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ipc.trace import Event
from simulator import codegen, scenario_file
from simulator.fold import Snapshot, Timeline
from simulator.lessons import lesson_path
from simulator.recording import read_trace
from simulator.scenario import (Consumer, DictNode, Document, Link, ListNode, LockNode, Pace, PipeNode,
                                PoolNode, Producer, QueueNode, Scenario, Step, Worker, check)
from simulator.session import Run

ROOT = Path(__file__).resolve().parents[2]
LESSONS = range(1, 21)
TIMEOUT = 120  # seconds for one program; the longest lesson takes about 6
HANGS = {20: 8}  # lesson -> seconds after which its generated program is killed: it deadlocks
ENDING = [n for n in LESSONS if n not in HANGS]
DEADLOCK_GRACE = 0.5

RACES = {
    6: "the reader stops the first time the queue is empty: how many items it got first is timing",
    10: "two writers send at once: how their messages interleave at the reader is timing",
    11: "two consumers share a queue: which one gets which item is timing",
    12: "two consumers share a queue and are killed at exit: who got what, and how much, is timing",
    13: "two consumers share a queue: which one gets which item and which sentinel is timing",
    15: "four tasks put their results at once: the order the collector gets them in is timing",
    18: "two writers race for the lock: which burst comes first is timing",
}
PLAIN_QUEUE_ERROR = "RuntimeError: Queue objects should only be shared between processes through inheritance"
EXPECTED_FAILURES = {9: {"reader": ["OSError: connection is read-only"]}, 14: {"main": [PLAIN_QUEUE_ERROR]}}
EXPECTED_STATUS = {14: 1}  # main dies of the exception

HARNESS = '''\
"""Run a program as __main__; at the very end, write each Process it started and its exit code."""
import json
import runpy
import sys
from multiprocessing import process, util

program, report = sys.argv[1], sys.argv[2]
started = []
original_start = process.BaseProcess.start


def start(self):
    original_start(self)
    started.append(self)


def record():
    with open(report, "w") as f:
        json.dump({p.name: p.exitcode for p in started}, f)


process.BaseProcess.start = start
util.Finalize(None, record, exitpriority=-100)  # after the exit handler's terminations and joins
runpy.run_path(program, run_name="__main__")
'''


# --------------------------------------------------------------------------- running programs


@dataclass
class Generated:
    program: codegen.Program
    path: Path
    plain: subprocess.CompletedProcess  # python program.py
    harnessed: subprocess.CompletedProcess  # python harness.py program.py report.json
    exitcodes: dict[str, int]


def run_program(args: list[str], cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    # Nothing but the standard library (no PYTHONPATH). And buffered output, as a terminal's or a
    # pipe's: under PYTHONUNBUFFERED print() writes a line's text and its newline in two system
    # calls, so lines from several processes could mix in the one stdout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONUNBUFFERED")}
    with subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # SIGTERM: multiprocessing's resource tracker, in the same session, ignores it, so it
            # outlives the program and unlinks the named semaphores left in /dev/shm.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
            err += f"\n[test] killed after {timeout} s"
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[int, Generated]:
    """Every lesson's program, generated and run (as it is, and under HARNESS), 4 at a time."""
    folder = tmp_path_factory.mktemp("generated")
    harness = folder / "harness.py"
    harness.write_text(HARNESS)
    programs = {}
    for n in LESSONS:
        program = codegen.generate(scenario_file.load(lesson_path(n)).scenario)
        path = folder / f"lesson_{n:02d}.py"
        path.write_text(program.source)
        programs[n] = program, path
    with ThreadPoolExecutor(4) as pool:
        plain = {n: pool.submit(run_program, [sys.executable, str(path)], folder, HANGS.get(n, TIMEOUT))
                 for n, (_, path) in programs.items()}
        harnessed = {n: pool.submit(run_program, [sys.executable, str(harness), str(path),
                                                  str(path.with_suffix(".exitcodes.json"))], folder,
                                    HANGS.get(n, TIMEOUT))
                     for n, (_, path) in programs.items()}
    runs = {}
    for n, (program, path) in programs.items():
        report = path.with_suffix(".exitcodes.json")
        exitcodes = json.loads(report.read_text()) if report.exists() else {}
        runs[n] = Generated(program, path, plain[n].result(), harnessed[n].result(), exitcodes)
    return runs


@dataclass
class Traced:
    """A traced run, read like conftest's Outcome (which `lesson_runs` gives)."""

    outcome: str
    events: list[Event]
    final: Snapshot

    def of(self, kind: str, **match) -> list[Event]:
        return [e for e in self.events if e.kind == kind
                and all(getattr(e, k) == v for k, v in match.items())]


def run_traced(document: Document, trace_path: Path) -> Traced:
    run = Run(document, trace_path, deadlock_grace=DEADLOCK_GRACE)
    run.start()
    outcome = run.wait(TIMEOUT)
    events = read_trace(trace_path).events
    return Traced(outcome, events, Timeline(document.scenario, events).final())


# --------------------------------------------------------------------------- reading output


def mask(line: str) -> str:
    line = re.sub(r"0x[0-9a-fA-F]{4,}", "0x…", line)
    return re.sub(r"\bpid[ =:]+\d+", "pid …", line)


def split_stdout(text: str, names: set[str]) -> dict[str, list[str]]:
    """The generated program's stdout, attributed to processes by each line's "name: " prefix."""
    lines: dict[str, list[str]] = {}
    for line in text.splitlines():
        name = line.split(": ", 1)[0]
        assert name in names, f"a line no process claims: {line!r}"
        lines.setdefault(name, []).append(mask(line))
    return lines


def exceptions(stderr: str, first: str = "main") -> dict[str, list[str]]:
    """The last line of each traceback, per process (multiprocessing heads each with
    "Process <name>:"; a traceback before any header is main's, or `first`'s). Anything else on
    stderr fails the test."""
    found: dict[str, list[str]] = {}
    name, block = first, []
    for line in stderr.splitlines() + ["Process <end>:"]:
        header = re.fullmatch(r"Process (\S+):", line)
        if header is None:
            block.append(line)
            continue
        if block:
            assert block[0] == "Traceback (most recent call last):", f"stderr outside a traceback: {block}"
            found.setdefault(name, []).append(mask(block[-1]))
        name, block = header.group(1), []
    return found


def printers(scenario: Scenario) -> set[str]:
    """Whose name can start a printed line: the processes, the pools (their tasks), main."""
    return {p.id for p in scenario.processes()} | {p.id for p in scenario.pools()} | {"main"}


def traced_stdout(run, scenario: Scenario) -> dict[str, list[str]]:
    """A traced run's lines per printer: each process's own, and a pool's from its workers."""
    pools = {p.id for p in scenario.pools()}
    lines: dict[str, list[str]] = {}
    for e in run.of("process_output"):
        if e.detail["stream"] == "stdout":
            name = e.detail["line"].split(": ", 1)[0]
            assert name == e.process or (name in pools and e.process.startswith(f"{name}-worker-")), e
            lines.setdefault(name, []).append(mask(e.detail["line"]))
    return lines


def traced_exceptions(run) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name in {e.process for e in run.of("process_output")}:
        text = "\n".join(e.detail["line"] for e in run.of("process_output", process=name)
                         if e.detail["stream"] == "stderr")
        found.update(exceptions(text, first=name))
    return found


def delivered(line: str) -> str | None:
    """The message a "got X" / "received X" line reports, else None."""
    match = re.fullmatch(r"\w+: (?:got|received) (.*)", line)
    if match is None or match.group(1) == "sentinel None: stopping":
        return None
    return match.group(1)


def deliveries(lines: list[str]) -> list[str]:
    return [m for m in map(delivered, lines) if m is not None]


def the_rest(lines: list[str]) -> list[str]:
    return [line for line in lines if delivered(line) is None]


def check_race(number: int, scenario: Scenario, lines: dict[str, list[str]]) -> None:
    """What a racy lesson's run shows whatever the timing, checked on one run (either kind)."""
    if number == 15:  # the collector got every task's result, once
        results = [re.fullmatch(r"pool: task \d+ put (.*)", line).group(1) for line in lines["pool"]]
        assert Counter(deliveries(lines["collector"])) == Counter(results) and len(results) == 4
        return
    if number == 18:  # one writer's burst, then the other's, never mixed
        got = deliveries(lines["reader"])
        first, second = got[0][1], got[-1][1]
        assert {first, second} == {"A", "B"}
        assert got == [f"'{first}{i}'" for i in range(4)] + [f"'{second}{i}'" for i in range(4)]
        return
    (channel,) = scenario.channels()
    writers = [k.process for k in scenario.links if k.channel == channel.id and k.op in ("put", "send")]
    readers = [k.process for k in scenario.links if k.channel == channel.id and k.op in ("get", "recv")]
    written = {w: [re.fullmatch(r"\w+: (?:put|sent) (.*)", line).group(1)
                   for line in lines.get(w, []) if " sentinel " not in line] for w in writers}
    every = [m for w in writers for m in written[w]]
    got = {r: deliveries(lines.get(r, [])) for r in readers}
    all_got = [m for r in readers for m in got[r]]
    assert len(set(all_got)) == len(all_got), "a message delivered twice"
    assert Counter(all_got) <= Counter(every), "a message nobody sent"
    for r in readers:  # each writer's messages reach any one reader in the order they were written
        for w in writers:
            order = [written[w].index(m) for m in got[r] if m in written[w]]
            assert order == sorted(order), (r, w, got[r])
    if number in (6, 12):  # the point: work left behind in the queue
        assert len(all_got) < len(every), all_got
    else:
        assert Counter(all_got) == Counter(every)
    if number == 6:
        assert got["reader"] == written["writer"][:len(got["reader"])]


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("number", ENDING)
def test_generated_program_runs_with_plain_multiprocessing(generated, number):
    run = generated[number]
    compile(run.program.source, str(run.path), "exec")
    imported = {alias.name for node in ast.walk(ast.parse(run.program.source))
                if isinstance(node, ast.Import) for alias in node.names}
    assert imported <= {"multiprocessing", "queue", "random", "time"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(ast.parse(run.program.source)))
    assert run.plain.returncode == EXPECTED_STATUS.get(number, 0), run.plain.stderr
    scenario = scenario_file.load(lesson_path(number)).scenario
    split_stdout(run.plain.stdout, printers(scenario))
    assert exceptions(run.plain.stderr) == EXPECTED_FAILURES.get(number, {})


def assert_same_outcome(scenario: Scenario, gen: subprocess.CompletedProcess, exitcodes: dict,
                        traced, race: int | None = None, status: int = 0) -> None:
    """`gen` (a generated program's run under HARNESS, which wrote `exitcodes`) shows what the
    traced run shows: see the module's docstring."""
    names = {p.id for p in scenario.processes()}
    assert traced.outcome == ("finished" if status == 0 else "failed")
    assert gen.returncode == status, gen.stderr

    final = traced.final.processes
    exitcodes = {name: code for name, code in exitcodes.items() if name in names}
    assert exitcodes == {name: final[name].exitcode for name in names if final[name].exitcode is not None}

    assert exceptions(gen.stderr) == traced_exceptions(traced)
    failed = {e.object: e.detail["error"] for e in traced.of("process_failed")}
    assert failed == {name: found[0].split(":")[0] for name, found in traced_exceptions(traced).items()}

    ours, theirs = split_stdout(gen.stdout, printers(scenario)), traced_stdout(traced, scenario)
    for pool in scenario.pools():  # which task ends first is timing
        assert sorted(ours.get(pool.id, [])) == sorted(theirs.get(pool.id, [])), pool.id
        ours.pop(pool.id, None), theirs.pop(pool.id, None)
    for name in sorted(names | {"main"}):
        assert the_rest(ours.get(name, [])) == the_rest(theirs.get(name, [])), name
    if race is None:
        assert ours == theirs
    else:
        check_race(race, scenario, split_stdout(gen.stdout, printers(scenario)))
        check_race(race, scenario, traced_stdout(traced, scenario))


@pytest.mark.parametrize("number", ENDING)
def test_generated_program_behaves_like_the_traced_run(generated, lesson_runs, number):
    gen = generated[number]
    traced = lesson_runs(number)  # after every generated program has run: no competition
    scenario = scenario_file.load(lesson_path(number)).scenario
    assert_same_outcome(scenario, gen.harnessed, gen.exitcodes, traced, number if number in RACES else None,
                        EXPECTED_STATUS.get(number, 0))


@pytest.mark.parametrize("number", sorted(HANGS))
def test_generated_program_deadlocks_like_the_traced_run(generated, lesson_runs, number):
    gen = generated[number]
    for run in (gen.plain, gen.harnessed):  # it hung until killed, having printed nothing
        assert run.returncode == -signal.SIGTERM and run.stderr.endswith(f"[test] killed after {HANGS[number]} s")
        assert run.stdout == ""
    traced = lesson_runs(number)
    assert traced.outcome == "deadlock" and traced.deadlock is not None
    assert not traced.of("process_output")


def test_what_the_lessons_do_not_use_behaves_alike_too(tmp_path):
    """A worker, a timeout put that stops, a producer's sentinel, until_sentinel with task_done, a
    SimpleQueue, an echo and replies on a duplex pipe, main's q.join(), sentinels, join with a
    timeout and sleep, under forkserver. Deterministic: the worker starts 1.5 s late, long after
    the producer's put of "b" (timeout 0.3 s) has failed."""
    scenario = Scenario(title="Features the lessons do not use", start_method="forkserver", nodes=[
        Producer("P", items=["a", "b", "c"], interval=Pace(0.1), put_mode="timeout", put_timeout=0.3,
                 on_full="stop", sentinels=1),
        QueueNode("tasks", queue_type="JoinableQueue", maxsize=1),
        Worker("W", start_delay=1.5, loop="until_sentinel", get_mode="timeout", get_timeout=10.0,
               task_done=True, result="{item}/{name}/{i}"),
        QueueNode("results", queue_type="SimpleQueue"),
        Consumer("C", loop="count", count=2, work=Pace(0.05)),
        Producer("D", items=2, payload="{name}{i}", replies=2),
        PipeNode("line"),
        Consumer("E", loop="count", count=2, echo=True),
    ], links=[Link("P", "tasks", "put"), Link("W", "tasks", "get"), Link("W", "results", "put"),
              Link("C", "results", "get"), Link("D", "line", "send", 1), Link("E", "line", "recv", 2)],
        steps=[Step("start", "P"), Step("start", "W"), Step("start", "C"), Step("start", "D"),
               Step("start", "E"), Step("join", "P"), Step("queue_join", "tasks"), Step("join", "W"),
               Step("sentinels", "results"), Step("join", "C", 10.0), Step("join", "D"),
               Step("join", "E"), Step("sleep", seconds=0.1), Step("end")])
    assert not check(scenario)
    program, harness = tmp_path / "features.py", tmp_path / "harness.py"
    program.write_text(codegen.generate(scenario).source)
    harness.write_text(HARNESS)
    report = tmp_path / "exitcodes.json"
    gen = run_program([sys.executable, str(harness), str(program), str(report)], tmp_path)
    traced = run_traced(Document(scenario), tmp_path / "features.ipctrace")
    assert_same_outcome(scenario, gen, json.loads(report.read_text()), traced)
    assert "W: put 'a/W/0'" in gen.stdout and "P: queue.Full: could not put 'b'; stopping" in gen.stdout


def test_pools_shared_objects_and_locks_the_lessons_do_not_use_behave_alike_too(tmp_path):
    """A pool submitting by map, with random work, a Manager lock and a Manager JoinableQueue that
    main q.join()s; a consumer using a plain lock and task_done; a producer writing an explicit
    list of items into a dict and a list; a reader printing the dict twice; a pool terminated
    before its task is done, then joined. Deterministic: one worker per pool, the writer joined
    before anyone reads."""
    scenario = Scenario(title="Pools and shared objects", start_method="spawn", nodes=[
        PoolNode("pool1", size=1, tasks=3, work=Pace(0.1, 0.3, seed=4), result="r{i}", submit="map"),
        QueueNode("MJ", queue_type="Manager.JoinableQueue", maxsize=2),
        LockNode("LK", lock_type="Manager.Lock"), LockNode("PL"),
        Consumer("C", loop="count", count=3, task_done=True),
        Producer("P", items=["x", 2], key="{name}{i}"), DictNode("D"), ListNode("L"),
        Consumer("R", loop="count", count=2, work=Pace(0.3)),
        PoolNode("pool2", size=1, tasks=3, work=Pace(5.0)),
    ], links=[Link("pool1", "MJ", "put"), Link("pool1", "LK", "use"), Link("C", "MJ", "get"),
              Link("C", "PL", "use"), Link("P", "D", "write"), Link("P", "L", "write"),
              Link("R", "D", "read")],
        steps=[Step("start", "C"), Step("start", "pool1"), Step("join", "pool1"), Step("queue_join", "MJ"),
               Step("join", "C"), Step("start", "P"), Step("join", "P"), Step("read", "D"),
               Step("read", "L"), Step("start", "R"), Step("join", "R"), Step("start", "pool2"),
               Step("sleep", seconds=0.3), Step("terminate", "pool2"), Step("join", "pool2"), Step("end")])
    assert not check(scenario)
    program, harness = tmp_path / "shared.py", tmp_path / "harness.py"
    program.write_text(codegen.generate(scenario).source)
    check_lines(scenario, codegen.generate(scenario))
    harness.write_text(HARNESS)
    report = tmp_path / "exitcodes.json"
    gen = run_program([sys.executable, str(harness), str(program), str(report)], tmp_path)
    traced = run_traced(Document(scenario), tmp_path / "shared.ipctrace")
    assert_same_outcome(scenario, gen, json.loads(report.read_text()), traced)
    assert "main: pool1 results ['r0', 'r1', 'r2']" in gen.stdout
    assert gen.stdout.count("R: D = {'P0': 'x', 'P1': 2}") == 2 and "main: L = ['x', 2]" in gen.stdout
    assert "pool2" not in gen.stdout  # terminated before its first task was done
    assert traced.final.pools["pool2"].state == "joined" and not traced.final.pools["pool2"].done


def test_crashes_behave_alike(tmp_path):
    """Every kind of crash, in every kind of loop: consumers raising (a count loop), calling
    os._exit(3) (a forever loop) and dying of a segmentation fault; a producer crashing before its
    first item, one after its only item (a put_nowait that worked), one after two of its three
    sends; a worker after its first result; a reader of a dict after its first of three reads
    (pausing between them). Deterministic: each crash has its own channel, pipes lose nothing, the
    dict is written before anyone reads it, and the three tracebacks are 0.4 s apart (processes
    printing theirs at once to the program's one stderr would mix their lines)."""
    scenario = Scenario(title="Crashes", start_method="fork", nodes=[
        Producer("P1", items=2), QueueNode("q1"),
        Consumer("raiser", loop="count", count=2, crash="exception", crash_after=1),
        Producer("P2", items=2), QueueNode("q2"), Consumer("exiter", crash="exit", crash_after=1),
        Producer("P3", items=2), QueueNode("q3"),
        Consumer("segfaulter", loop="count", count=2, crash="segfault", crash_after=1),
        Producer("early", items=2, start_delay=0.4, crash="exception"),
        Producer("once", items=["x"], put_mode="nowait", on_full="stop", crash="exit", crash_after=1),
        QueueNode("unread"),
        Producer("sender", items=3, crash="segfault", crash_after=2), PipeNode("pipe"),
        Consumer("receiver", loop="count", count=2),
        Producer("feeder", items=2), QueueNode("jobs"),
        Worker("worker", start_delay=0.8, loop="count", count=2, crash="exception", crash_after=1),
        PipeNode("results"),
        Consumer("collector", loop="count", count=1),
        Producer("writer", items=1), DictNode("d"),
        Consumer("reader", loop="count", count=3, work=Pace(0.05), crash="exit", crash_after=1),
    ], links=[Link("P1", "q1", "put"), Link("raiser", "q1", "get"), Link("P2", "q2", "put"),
              Link("exiter", "q2", "get"), Link("P3", "q3", "put"), Link("segfaulter", "q3", "get"),
              Link("early", "unread", "put"), Link("once", "unread", "put"),
              Link("sender", "pipe", "send", 1), Link("receiver", "pipe", "recv", 2),
              Link("feeder", "jobs", "put"), Link("worker", "jobs", "get"),
              Link("worker", "results", "send", 1), Link("collector", "results", "recv", 2),
              Link("writer", "d", "write"), Link("reader", "d", "read")])
    others = [p.id for p in scenario.processes() if p.id != "writer"]
    scenario.steps = ([Step("start", "writer"), Step("join", "writer")] + [Step("start", p) for p in others]
                      + [Step("join", p) for p in others] + [Step("end")])
    assert not check(scenario)
    program = codegen.generate(scenario)
    check_lines(scenario, program)
    assert "if i == 1:  # the crash the canvas asks for" in program.source
    assert "os._exit(3)" in program.source and "ctypes.string_at(0)" in program.source
    path, harness, report = tmp_path / "crashes.py", tmp_path / "harness.py", tmp_path / "exitcodes.json"
    path.write_text(program.source)
    harness.write_text(HARNESS)
    gen = run_program([sys.executable, str(harness), str(path), str(report)], tmp_path)
    traced = run_traced(Document(scenario), tmp_path / "crashes.ipctrace")
    exitcodes = json.loads(report.read_text())
    assert_same_outcome(scenario, gen, exitcodes, traced)
    assert {name: exitcodes[name] for name in ("raiser", "exiter", "segfaulter", "early", "once", "sender",
                                                "worker", "reader")} == {
        "raiser": 1, "exiter": 3, "segfaulter": -11, "early": 1, "once": 3, "sender": -11, "worker": 1,
        "reader": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "crashes.ipctrace", "crashes.py", "exitcodes.json", "harness.py"]  # no core file


OP_TEXT = {"put": ".put", "get": ".get", "send": ".send(", "recv": ".recv()", "task_done": ".task_done()",
           "work": "time.sleep(", "sleep": "time.sleep(", "start_delay": "time.sleep(", "empty": ".empty()",
           "sentinel": "(None)", "write": ("[key] = item", ".append(item)"), "read": "print(",
           "acquire": "with "}
STEP_TEXT = {"start": ".start()", "join": ".join(", "terminate": ".terminate()", "sleep": "time.sleep(",
             "sentinels": "", "queue_join": ".join()", "read": "print(", "end": "# end"}
POOL_STEP_TEXT = {"start": "multiprocessing.Pool(", "join": (".close()", ".join()"), "terminate": ".terminate()"}


def check_lines(scenario: Scenario, program: codegen.Program) -> None:
    """Every line number points at the code it names."""
    lines = program.source.splitlines()
    at = lambda n: lines[n - 1]  # noqa: E731
    assert set(program.functions) == {p.id for p in scenario.processes() + scenario.pools()}
    for node_id, (first, last) in program.functions.items():
        assert at(first).startswith("def ") and first < last
        assert all(line.startswith("    ") for line in lines[first:last] if line)
        assert last == len(lines) or not lines[last].startswith("    ")
    for (node_id, op), n in program.operations.items():
        first, last = program.functions[node_id]
        texts = OP_TEXT[op] if isinstance(OP_TEXT[op], tuple) else (OP_TEXT[op],)
        assert first < n <= last and any(t in at(n) for t in texts), (node_id, op, at(n))
    steps = scenario.effective_steps()
    assert len(program.steps) == len(steps)
    pools = {p.id for p in scenario.pools()}
    for step, n in zip(steps, program.steps):
        texts = POOL_STEP_TEXT[step.op] if step.target in pools else STEP_TEXT[step.op]
        texts = texts if isinstance(texts, tuple) else (texts,)
        assert any(t in at(n) for t in texts) or (step.op != "end" and n == program.end), (step, at(n))
    assert at(program.end).lstrip().startswith("# end")
    names = codegen._names(scenario)
    manager = names.get((None, "manager"))
    ran = steps[:next((i for i, step in enumerate(steps) if step.op == "end"), len(steps))]
    started = {step.target for step in ran if step.op == "start"}
    for node in scenario.nodes:
        if node.kind == "pool" and node.id not in started:
            assert node.id not in program.created  # never started: never created
            continue
        created = at(program.created[node.id]).lstrip()
        if node.kind == "pipe":
            assert created.startswith(f"{names[node.id, 1]}, {names[node.id, 2]} = multiprocessing.Pipe(")
        elif node.kind == "queue" and node.queue_type.startswith("Manager."):
            assert created.startswith(f"{names[node.id]} = {manager}.{node.queue_type[8:]}(")
        elif node.kind == "queue":
            assert created.startswith(f"{names[node.id]} = multiprocessing.{node.queue_type}(")
        elif node.kind == "pool":
            assert created.startswith(f"{names[node.id]} = multiprocessing.Pool({node.size})")
        elif node.kind in ("dict", "list"):
            assert created.startswith(f"{names[node.id]} = {manager}.{node.kind}()")
        elif node.kind == "lock":
            maker = "multiprocessing.Lock()" if node.lock_type == "Lock" else f"{manager}.Lock()"
            assert created.startswith(f"{names[node.id]} = {maker}")
        else:
            assert created.startswith(f"{names[node.id, 'process']} = multiprocessing.Process(")


@pytest.mark.parametrize("number", LESSONS)
def test_line_information_points_at_the_code(number):
    scenario = scenario_file.load(lesson_path(number)).scenario
    program = codegen.generate(scenario)
    check_lines(scenario, program)
    for p in scenario.processes() + scenario.pools():  # a replay can show every state the trace reports
        ops = {op for (node_id, op) in program.operations if node_id == p.id}
        assert ops & {"put", "send", "get", "recv", "write", "read", "work"}, p.id


def test_only_what_a_node_uses_is_written():
    source = codegen.generate(scenario_file.load(lesson_path(1)).scenario).source
    assert "try:" not in source and "queue.Full" not in source and "random" not in source
    assert "for i in range(5):\n" in source and 'item = f"item {i}"' in source
    assert "q = multiprocessing.Queue(3)" in source
    source = codegen.generate(scenario_file.load(lesson_path(6)).scenario).source
    assert "rng = random.Random(6)" in source and "round(rng.uniform(0.4, 0.8), 3)" in source
    assert "while not q.empty():" in source


# --------------------------------------------------------------------------- any scenario

IDS = ["q", "P1", "time", "queue", "random", "print", "class", "_", "__file__", "item", "i", "rng",
       "P1_process", "pipe_end1", "multiprocessing", "result", "reply", "main"]
paces = st.builds(Pace, st.sampled_from([0.0, 0.1]), st.sampled_from([None, 0.2]), st.integers(0, 3))
templates = st.sampled_from(["{name}-{i}", "x", "{i:03d}", "{name!r}", "{{}}{i}", "'\"\\", "{i:{name}}"])
results = st.sampled_from(["{item}*", "{name}:{i}", "{item!r:>8}", "done"])
items = st.one_of(st.integers(0, 3), st.lists(st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.floats(), max_size=2)),
    max_size=3))
modes = st.sampled_from(["block", "timeout", "nowait"])
crashes = st.fixed_dictionaries({"crash": st.sampled_from(["none", "exception", "exit", "segfault"]),
                                 "crash_after": st.integers(0, 3)})


@st.composite
def scenarios(draw) -> Scenario:
    """A producer and a consumer or worker, a queue and a pipe, wired in one of the valid ways, with
    every parameter drawn, ids that clash with names the code uses, and random steps."""
    ids = iter(draw(st.lists(st.sampled_from(IDS), min_size=4, max_size=4, unique=True)))
    queue_type = draw(st.sampled_from(["Queue", "JoinableQueue", "SimpleQueue"]))
    q = QueueNode(next(ids), queue_type=queue_type,
                  maxsize=0 if queue_type == "SimpleQueue" else draw(st.integers(0, 3)))
    pipe = PipeNode(next(ids), duplex=draw(st.booleans()))
    modes_for_q = st.just("block") if queue_type == "SimpleQueue" else modes
    common = lambda: dict(daemon=draw(st.booleans()), start_delay=draw(st.sampled_from([0.0, 0.5])),  # noqa: E731
                          **draw(crashes))
    producer = Producer(next(ids), items=draw(items), payload=draw(templates), interval=draw(paces),
                        on_full=draw(st.sampled_from(["drop", "stop"])), put_timeout=0.5, **common())
    kind = draw(st.sampled_from([Consumer, Worker]))
    consumer = kind(next(ids), count=draw(st.integers(0, 3)), work=draw(paces),
                    on_empty=draw(st.sampled_from(["stop", "retry"])), **common())
    if kind is Worker:
        consumer.result = draw(results)
        consumer.on_full = draw(st.sampled_from(["drop", "stop"]))
    if draw(st.booleans()):  # producer -> pipe -> consumer [-> queue]
        links = [Link(producer.id, pipe.id, "send", 2), Link(consumer.id, pipe.id, "recv", 1)]
        producer.replies = draw(st.integers(0, 2)) if pipe.duplex else 0
        consumer.loop = draw(st.sampled_from(["forever", "until_sentinel", "count"]))
        consumer.echo = draw(st.booleans())
        if kind is Worker:
            consumer.put_mode = draw(modes_for_q)
            links.append(Link(consumer.id, q.id, "put"))
    else:  # producer -> queue -> consumer [-> queue or pipe]
        links = [Link(producer.id, q.id, "put"), Link(consumer.id, q.id, "get")]
        producer.put_mode, producer.sentinels = draw(modes_for_q), draw(st.integers(0, 2))
        consumer.loop = draw(st.sampled_from(["forever", "until_sentinel", "while_not_empty", "count"]))
        consumer.get_mode = draw(modes_for_q)
        consumer.task_done = queue_type == "JoinableQueue" and draw(st.booleans())
        if kind is Worker and draw(st.booleans()):
            links.append(Link(consumer.id, pipe.id, "send", 2))
        elif kind is Worker:
            consumer.put_mode = draw(modes_for_q)
            links.append(Link(consumer.id, q.id, "put"))
    processes = [producer, consumer]
    steps = []
    for op in draw(st.lists(st.sampled_from(["start", "join", "sleep", "terminate", "sentinels",
                                             "queue_join", "end"]), max_size=8)):
        target = {"sentinels": q.id, "queue_join": q.id, "sleep": None, "end": None}.get(
            op, draw(st.sampled_from(processes)).id)
        seconds = 0.1 if op == "sleep" else draw(st.sampled_from([None, 1.5])) if op == "join" else None
        steps.append(Step(op, target, seconds, count=draw(st.integers(1, 3))))
    scenario = Scenario(title=draw(st.text(max_size=20)), explanation=draw(st.text(max_size=60)),
                        start_method=draw(st.sampled_from(["spawn", "fork", "forkserver"])),
                        nodes=[producer, q, pipe, consumer], links=links, steps=steps)
    assume(not check(scenario))
    return scenario


@st.composite
def shared_scenarios(draw) -> Scenario:
    """A pool, a queue of any type, a dict, a list and a lock, with a producer that puts or writes
    and a consumer that gets or reads, each maybe using the lock, every parameter drawn, ids that
    clash with names the code uses, and random steps (a pool's in a valid order)."""
    ids = iter(draw(st.lists(st.sampled_from(SHARED_IDS), min_size=7, max_size=7, unique=True)))
    pool = PoolNode(next(ids), size=draw(st.integers(1, 3)), tasks=draw(st.integers(0, 3)),
                    work=draw(paces), result=draw(st.sampled_from(["{name}-{i}", "x", "{i:03d}", "'\"\\"])),
                    submit=draw(st.sampled_from(["apply_async", "map"])))
    q = QueueNode(next(ids), queue_type=draw(st.sampled_from(
        ["Queue", "JoinableQueue", "SimpleQueue", "Manager.Queue", "Manager.JoinableQueue"])))
    d, lst = DictNode(next(ids)), ListNode(next(ids))
    lock = LockNode(next(ids), lock_type=draw(st.sampled_from(["Lock", "Manager.Lock"])))
    producer = Producer(next(ids), items=draw(items), payload=draw(templates), interval=draw(paces),
                        key=draw(templates), daemon=draw(st.booleans()), **draw(crashes))
    consumer = Consumer(next(ids), loop=draw(st.sampled_from(["forever", "count"])), count=draw(st.integers(0, 3)),
                        work=draw(paces), **draw(crashes))
    links = [Link(pool.id, q.id, "put")] if draw(st.booleans()) else []
    if draw(st.booleans()):
        links += [Link(producer.id, c.id, "write") for c in draw(st.sampled_from([[d], [lst], [d, lst]]))]
    else:
        links.append(Link(producer.id, q.id, "put"))
    links.append(Link(consumer.id, draw(st.sampled_from([q.id, d.id, lst.id])), "get"))
    if links[-1].channel != q.id:
        links[-1] = Link(consumer.id, links[-1].channel, "read")
    elif q.queue_type in ("JoinableQueue", "Manager.JoinableQueue"):
        consumer.task_done = draw(st.booleans())
    for user in draw(st.lists(st.sampled_from([pool.id, producer.id, consumer.id]), unique=True)):
        links.append(Link(user, lock.id, "use"))
    steps, started = [], False
    for op in draw(st.lists(st.sampled_from(["start", "join", "terminate", "read", "sleep", "queue_join",
                                             "pool", "end"]), max_size=8)):
        if op == "pool":
            op, target = ("join" if started else "start"), pool.id
            started = True
        else:
            target = {"read": draw(st.sampled_from([d.id, lst.id])), "queue_join": q.id, "sleep": None,
                      "end": None}.get(op, draw(st.sampled_from([producer.id, consumer.id])))
        steps.append(Step(op, target, 0.1 if op == "sleep" else None))
    scenario = Scenario(title="shared", start_method=draw(st.sampled_from(["spawn", "fork", "forkserver"])),
                        nodes=[pool, q, d, lst, lock, producer, consumer], links=links, steps=steps)
    assume(not check(scenario))
    return scenario


SHARED_IDS = IDS + ["manager", "key", "r", "lock", "pool", "pool_task", "pool_results", "d", "l"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(st.one_of(scenarios(), shared_scenarios()))
def test_any_valid_scenario_gives_a_valid_program(scenario):
    program = codegen.generate(scenario)
    compile(program.source, "generated.py", "exec")
    check_lines(scenario, program)


# --------------------------------------------------------------------------- command line


def ipcsim(*args):
    return subprocess.run([sys.executable, "-m", "ui.main", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_code_command_prints_or_writes_the_program(tmp_path):
    expected = codegen.generate(scenario_file.load(lesson_path(5)).scenario).source
    printed = ipcsim("code", lesson_path(5))
    assert printed.returncode == 0 and printed.stdout == expected
    out = tmp_path / "writer_reader.py"
    written = ipcsim("code", lesson_path(5), "-o", out)
    assert written.returncode == 0 and written.stdout == "" and out.read_text() == expected
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    failed = ipcsim("code", bad, "-o", tmp_path / "never.py")
    assert failed.returncode == 1 and "invalid scenario" in failed.stderr
    assert not (tmp_path / "never.py").exists()
