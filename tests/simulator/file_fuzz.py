"""Bad scenario and trace files, made on purpose: the cases `test_fuzz_files` samples and
`benchmarks/fuzz_files.py` runs by the ten thousand.

Every case is bytes written to a file and handed to the loader the app uses
(`scenario_file.load`, `recording.read_trace`). `verdict` runs one and says how it ended:
``accepted`` (a Document / a Recording that also folds to a final snapshot), ``refused:<class>``
(ScenarioError / TraceError with a message naming a field or a line), or ``crashed:<exception>``,
the only outcome that is a bug.

The mutations: of every shipped lesson (delete, replace or retype a field anywhere in the tree,
add an unknown one, huge and odd numbers, deep nesting, code-looking strings), of its text
(truncate, flip and insert bytes, invalid UTF-8), random JSON shapes, and of a trace (the same on
its header's scenario, on event lines, deleted, duplicated and truncated lines).
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from pathlib import Path

from ipc.trace import Event
from simulator import scenario_file
from simulator.fold import Timeline
from simulator.lessons import lesson_paths
from simulator.recording import FORMAT as TRACE_FORMAT, TraceError, read_trace

SENTINEL_NAME = "FUZZ-RAN-CODE"

# strings that would do something if anything evaluated, unpickled or formatted them as code
CODE_STRINGS = [
    "__import__('os').system('touch {sentinel}')",
    "{{0.__class__.__mro__}}", "{i.__class__}", "{name.__init__.__globals__}", "{item!r:>{i}}",
    "!!python/object/apply:os.system ['touch {sentinel}']",
    "cos\nsystem\n(S'touch {sentinel}'\ntR.",
    "$(touch {sentinel})", "`touch {sentinel}`", "'; touch {sentinel}; '",
    "open('{sentinel}', 'w').write('x')", "eval(\"open('{sentinel}','w')\")",
]

HUGE = [10 ** 400, -10 ** 400, 2 ** 63, -2 ** 63 - 1, 1e308, -1e308, 1e-320, float("inf"),
        float("-inf"), float("nan"), -1, 0, 32768, 1_000_001, 3601.0, -0.0]


def lessons() -> list[tuple[str, bytes]]:
    return [(p.stem, p.read_bytes()) for p in lesson_paths()]


# --------------------------------------------------------------------------- JSON values


def random_json(rng: random.Random, depth: int = 0):
    r = rng.random()
    if depth > 4 or r < 0.45:
        return rng.choice([None, True, False, 0, 1, -7, 3.5, rng.choice(HUGE), "", "x", "main",
                           "producer", "queue", "put", "spawn", "ipcsim-scenario", 1,
                           rng.choice(CODE_STRINGS), "é\u0000\ud7ff" * rng.randint(0, 3),
                           "x" * rng.choice([1, 200, 201, 4001])])
    if r < 0.7:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["id", "kind", "format", "version", "scenario", "nodes", "links", "steps", "op", "target",
            "items", "maxsize", "seconds", "layout", "positions", "x", "__class__"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def nested(depth: int, leaf=0):
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def _paths(value, prefix=()):
    """Every (container, key) in a JSON tree."""
    out = []
    if len(prefix) > 30:  # inside a deep nesting a mutation made: mutate above it
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((value, k))
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((value, i))
            out += _paths(v, prefix + (i,))
    return out


def _retype(rng: random.Random, v):
    if isinstance(v, bool):
        return rng.choice([int(v), str(v).lower(), None])
    if isinstance(v, int):
        return rng.choice([str(v), float(v), bool(v), [v], None])
    if isinstance(v, float):
        return rng.choice([str(v), int(v) if math.isfinite(v) else 0, None, {"seconds": v}])
    if isinstance(v, str):
        return rng.choice([len(v), [v], {v: v} if v else {}, None, v.encode("utf-8", "replace").hex()])
    if isinstance(v, list):
        return rng.choice([{str(i): "x" for i in range(len(v))}, "[]", len(v), None])
    if isinstance(v, dict):
        return rng.choice([list(v.values()), list(v), "{}", None])
    return rng.choice([0, "", [], {}])


def mutate_tree(rng: random.Random, data, sentinel: str = SENTINEL_NAME):
    """1-3 structural mutations of a JSON tree (in place; returns it, or a replacement)."""
    for _ in range(rng.randint(1, 3)):
        paths = _paths(data)
        if not paths:
            return random_json(rng)
        box, key = rng.choice(paths)
        op = rng.randrange(9)
        if op == 0:  # delete
            del box[key]
        elif op == 1:  # replace by anything
            box[key] = random_json(rng)
        elif op == 2:  # retype
            box[key] = _retype(rng, box[key])
        elif op == 3:  # a huge or odd number
            box[key] = rng.choice(HUGE)
        elif op == 4:  # deep nesting
            box[key] = nested(rng.choice([10, 100, 500, 900, 990, 2000]))
        elif op == 5:  # an unknown field
            target = box[key] if isinstance(box[key], dict) else box
            if isinstance(target, dict):
                target[rng.choice(["extra", "__class__", "__reduce__", "kind2"])] = random_json(rng)
        elif op == 6:  # code-looking strings
            box[key] = rng.choice(CODE_STRINGS).replace("{sentinel}", sentinel)
        elif op == 7:  # duplicate an element of a list
            if isinstance(box, list):
                box.insert(rng.randrange(len(box) + 1), box[key])  # the same object: read-only after
        else:  # long list / long string
            box[key] = rng.choice([[box[key]] * rng.choice([2, 50, 3000]), "y" * rng.choice([199, 200, 4000, 5000])])
    return data


def mutate_text(rng: random.Random, text: bytes) -> bytes:
    """Byte-level damage: truncation, flipped and inserted bytes, invalid UTF-8, garbage."""
    op = rng.randrange(7)
    if op == 0 or not text:
        return text[: rng.randrange(len(text) + 1)]
    if op == 1:
        b = bytearray(text)
        for _ in range(rng.randint(1, 5)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if op == 2:
        i = rng.randrange(len(text))
        return text[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 20))) + text[i:]
    if op == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 2000)))
    if op == 4:
        i = rng.randrange(len(text))
        return text[:i] + rng.choice([b"\xff\xfe", b"\xc3", b"\x00", b"\xed\xa0\x80"]) + text[i:]
    if op == 5:
        return rng.choice([b"[" * 100_000, b"{\"a\":" * 50_000, b"1" * 5_000_000, b"", b"\n\n\n", b"null",
                           b"\xef\xbb\xbf" + text, text * 2])
    i = rng.randrange(len(text))
    return text[:i] + text[i + rng.randint(1, 50):]  # a chunk cut out


# --------------------------------------------------------------------------- cases


def scenario_case(rng: random.Random, base: list[tuple[str, bytes]]) -> bytes:
    """One damaged scenario file."""
    kind = rng.random()
    if kind < 0.1:
        return json.dumps(random_json(rng)).encode()
    if kind < 0.15:  # a random shape with the right header
        return json.dumps({"format": "ipcsim-scenario", "version": 1, "scenario": random_json(rng),
                           "layout": random_json(rng)}).encode()
    _, text = rng.choice(base)
    if kind < 0.4:
        return mutate_text(rng, text)
    data = mutate_tree(rng, json.loads(text))
    return _dumps(rng, data)


def _dumps(rng: random.Random, data) -> bytes:
    try:
        return json.dumps(data).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return json.dumps({"format": "ipcsim-scenario", "version": 1, "scenario": "unencodable"}).encode()


def trace_case(rng: random.Random, base_traces: list[bytes], base: list[tuple[str, bytes]]) -> bytes:
    """One damaged trace file."""
    text = rng.choice(base_traces)
    lines = text.split(b"\n")
    kind = rng.random()
    if kind < 0.25:
        return mutate_text(rng, text)
    if kind < 0.45:  # the header's scenario damaged
        header = json.loads(lines[0])
        if rng.random() < 0.5:
            header["scenario"] = mutate_tree(rng, header["scenario"])
        else:
            mutate_tree(rng, header)
        return b"\n".join([_dumps(rng, header)] + lines[1:])
    events = [i for i in range(1, len(lines)) if lines[i]]
    for _ in range(rng.randint(1, 3)):
        i = rng.choice(events) if events else 0
        op = rng.randrange(6)
        if op == 0:  # an event's fields damaged
            try:
                record = json.loads(lines[i])
            except ValueError:
                continue
            lines[i] = _dumps(rng, mutate_tree(rng, record))
        elif op == 1:
            lines[i] = b""
        elif op == 2:
            lines.insert(i, lines[i])
        elif op == 3:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif op == 4:
            lines[i] = json.dumps(random_json(rng)).encode()
        else:  # another kind of event, or a known kind with a stranger detail
            try:
                record = json.loads(lines[i])
            except ValueError:
                continue
            if isinstance(record, list) and len(record) == 8:
                record[4] = rng.choice(KINDS)
                record[7] = {rng.choice(DETAIL_KEYS): random_json(rng) for _ in range(rng.randint(0, 3))}
                lines[i] = _dumps(rng, record)
    return b"\n".join(lines)


KINDS = ["process_exited", "process_failed", "message_put", "message_got", "put_failed", "task_done",
         "message_sent", "message_received", "put_blocked", "get_blocked", "main_step_started",
         "run_stopped", "deadlock_detected", "pool_task_started", "lock_acquired", "shared_call",
         "process_start_requested", "process_started", "sleep_started", "work_started",
         "process_output", "connection_error", "send_blocked", "join_blocked", "no_such_kind"]
DETAIL_KEYS = ["exitcode", "pid", "end", "preview", "timeout", "unfinished", "reason", "lost", "op",
               "target", "daemon", "blocked", "seconds", "item", "task", "worker", "method", "error",
               "line", "stream", "via", "size", "start_method", "signal"]


def synthetic_trace(lesson_text: bytes) -> bytes:
    """A small, well-formed trace of a producer and a consumer, headed by a lesson's scenario."""
    doc = scenario_file.loads(lesson_text)
    header = {"format": TRACE_FORMAT, "version": 1, "started_ns": 1000,
              "scenario": scenario_file.to_dict(doc)}
    procs = [n.id for n in doc.scenario.processes()] or ["P"]
    chans = [n.id for n in doc.scenario.channels()] or ["q"]
    p, c, q = procs[0], procs[-1], chans[0]
    t = 1000
    events = [("ipcsim", "run_started", None, None, {"start_method": "spawn"})]
    for name in procs:
        events += [("main", "process_start_requested", name, None, {"daemon": False}),
                   (name, "process_started", name, None, {"pid": 7})]
    for i in range(3):
        m = f"m{i}"
        events += [(p, "put_called", q, m, {"preview": f"'x{i}'"}), (p, "message_put", q, m, {"preview": "x"}),
                   (c, "get_called", q, None, None), (c, "message_got", q, m, {"preview": "x"}),
                   (c, "task_done", q, None, {"unfinished": 0}), (p, "message_sent", q, f"s{i}", {"end": 1}),
                   (c, "message_received", q, f"s{i}", {"end": 2})]
    events += [(c, "process_failed", c, None, {"error": "RuntimeError", "reason": "x", "traceback": "..."}),
               (c, "process_exited", c, None, {"exitcode": 1, "pid": 7}),
               (p, "process_exited", p, None, {"exitcode": -9, "pid": 8}),
               ("ipcsim", "run_stopped", None, None, {"reason": "stopped", "exitcode": -9})]
    lines = [json.dumps(header)]
    for seq, (proc, kind, obj, msg, detail) in enumerate(events):
        t += 1000
        lines.append(json.dumps(list(Event(t, 7, seq, proc, kind, obj, msg, detail)), separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- verdicts

_SCENARIO_LINE = re.compile(r"^(scenario|layout|format|version|[A-Za-z_]+)[^\s:]*: \S|^not valid JSON: \S"
                            r"|^file is larger than|^the file must hold a JSON object$")


def refusal_class(message: str) -> str:
    """A coarse name for why a file was refused, for the tally."""
    for needle, name in [("not valid JSON", "not JSON"), ("not JSON", "not JSON"), ("larger than", "too large"),
                         ("format", "format"), ("version", "version"), ("array of 8", "event shape"),
                         ("wrong type", "event field type"),
                         ("repeats another event", "repeated event"), ("replay cannot use", "event details"), ("empty file", "empty"),
                         ("UnicodeDecodeError", "not UTF-8"), ("codec can't decode", "not UTF-8"),
                         ("unknown top-level", "unknown field"), ("must hold a JSON object", "not an object")]:
        if needle in message:
            return name
    if re.search(r"scenario[\w.\[\]]*: ", message) or "layout" in message:
        return "invalid field"
    return "other"


def verdict(kind: str, data: bytes, path: Path) -> tuple[str, str]:
    """Load `data` as a scenario or trace file; ("accepted"|"refused:<class>"|"crashed:<exc>", message)."""
    path.write_bytes(data)
    try:
        if kind == "scenario":
            scenario_file.load(path)
        else:
            recording = read_trace(path)
            Timeline(recording.document.scenario, recording.events).final()  # it replays, too
        return "accepted", ""
    except scenario_file.ScenarioError as exc:
        message = str(exc)
        if not exc.errors or not all(e and ": " in e or e.startswith("file is larger")
                                          or e == "the file must hold a JSON object" for e in exc.errors):
            return "crashed:unclear ScenarioError", message
        return f"refused:{refusal_class(message)}", message
    except TraceError as exc:
        message = str(exc)
        if not re.search(r"line \d+: \S|: empty file|scenario[\w.\[\]]*: \S|: .*(decode|Error)", message):
            return "crashed:unclear TraceError", message
        return f"refused:{refusal_class(message)}", message
    except BaseException as exc:  # noqa: BLE001 - any other exception is the bug being looked for
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"crashed:{type(exc).__name__}", f"{type(exc).__name__}: {exc}"[:500]


def timed_verdict(kind: str, data: bytes, path: Path) -> tuple[str, str, float]:
    started = time.perf_counter()
    result, message = verdict(kind, data, path)
    return result, message, time.perf_counter() - started
