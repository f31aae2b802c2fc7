"""Code generation: a scenario as the standalone program a learner would write.

`generate(scenario)` returns a `Program` whose `source` is a runnable script using nothing but the
standard library's `multiprocessing`, written like a textbook example: one function per process
node doing exactly what its behaviour does in a traced run (`simulator.behaviours`) and printing
exactly the same lines, each starting with the node's name, and one function per pool for its
tasks (see `simulator.codegen_shared`); then, under ``if __name__ == "__main__":`` (so it is safe
with ``spawn``), the manager if one is needed, the channels and shared objects, the processes and
main's steps in order. Only what a node uses is written: a producer that blocks has no
``try``/``except queue.Full``, a fixed pace has no random generator.

Next to the source, the line numbers (1-based) a viewer needs to follow a replay in the code:

* ``functions[node_id]``: the first and last line of the node's function (a pool's: its task
  function's);
* ``operations[(node_id, op)]``: the line where the node does ``op``, named as in the trace:
  ``put``, ``get``, ``send``, ``recv``, ``task_done``, ``work``, ``sleep`` (the pause between
  items, or between reads), ``start_delay``, ``empty`` (its ``empty()`` check), ``sentinel`` (a
  producer's ``put(None)``; its items' puts are ``put``), ``write`` (into a dict or list),
  ``read`` (printing one) and ``acquire`` (its ``with lock:``);
* ``steps[k]``: the line of main's k-th step in `Scenario.effective_steps()` (a step after
  ``end`` never runs and shares the ``end`` line; a pool's join starts at its ``close()``),
  ``end``: where the program ends;
* ``created[node_id]``: the line that creates the channel, shared object, ``Process`` or
  ``Pool`` (a pool is created by its start step; one never started is not in it).

A pipe's reader has no ``except EOFError`` (behaviours have one): main keeps both ends of every
pipe open, so ``recv()`` can never meet the end of the pipe.

A node's crash (see `simulator.scenario`) is written where behaviours crash: before the first
item, or under ``if <items handled> == crash_after:`` after each item, as ``raise RuntimeError``,
``os._exit(3)``, or ``ctypes.string_at(0)`` (a segmentation fault; the line before it turns core
dumps off, as behaviours do).
"""

from __future__ import annotations

import builtins
import keyword
import re
import textwrap
from dataclasses import dataclass, field

from .codegen_shared import SharedCode
from .codegen_text import (Code, docstring_text, format_expr, literal, seconds_expr, string_literal,
                           template_fields)
from .scenario import CRASH_EXIT_CODE, PROCESS_KINDS, Link, Scenario, Step

_MODULES = ("ctypes", "multiprocessing", "os", "queue", "random", "resource", "time")
_LOCALS = ("i", "item", "key", "r", "reply", "result", "rng")


@dataclass
class Program:
    source: str
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)
    operations: dict[tuple[str, str], int] = field(default_factory=dict)
    steps: list[int] = field(default_factory=list)
    end: int = 0
    created: dict[str, int] = field(default_factory=dict)


def generate(scenario: Scenario) -> Program:
    return _Generator(scenario).program()


# --------------------------------------------------------------------------- names


def _names(scenario: Scenario) -> dict:
    """A Python name for each node, pipe end, Process, pool task function and pool results list,
    and the manager, clashing with nothing the code uses."""
    taken = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))
    taken |= set(_MODULES) | set(_LOCALS)
    names = {}

    def claim(key, wanted: str) -> None:
        name = wanted.strip("_") + "_" if re.fullmatch(r"__\w*[^\W_]\w*__", wanted) else wanted
        while name in taken:  # a module attribute such as __file__ would break the program
            name += "_"
        taken.add(name)
        names[key] = name

    for node in scenario.nodes:
        claim(node.id, node.id)
    for node in scenario.nodes:
        if node.kind == "pipe":
            claim((node.id, 1), f"{names[node.id]}_end1")
            claim((node.id, 2), f"{names[node.id]}_end2")
        elif node.kind in PROCESS_KINDS:
            claim((node.id, "process"), f"{names[node.id]}_process")
        elif node.kind == "pool":
            claim((node.id, "task"), f"{names[node.id]}_task")
            claim((node.id, "results"), f"{names[node.id]}_results")
    if scenario.uses_manager():
        claim((None, "manager"), "manager")
    return names


_CRASH_WORDS = {"exception": "RuntimeError", "exit": f"os._exit({CRASH_EXIT_CODE})",
                "segfault": "a segmentation fault"}


def _count(producer) -> int:
    return len(producer.items) if isinstance(producer.items, list) else producer.items


def _first_item(producer) -> str:
    """The expression for a producer's only item."""
    if isinstance(producer.items, list):
        return literal(producer.items[0])
    try:
        return string_literal(producer.payload.format(name=producer.id, i=0))
    except (ValueError, KeyError, IndexError):  # fails at run time, as in behaviours
        return format_expr(producer.payload, {"name": producer.id}, {"i": "0"})


# --------------------------------------------------------------------------- the program


class _Generator(SharedCode):
    def __init__(self, scenario: Scenario):
        self.s = scenario
        self.names = _names(scenario)
        self.code = Code()
        self.operations: dict[tuple[str, str], int] = {}
        self.created: dict[str, int] = {}
        self.node = None

    def program(self) -> Program:
        functions = {}
        for node in self.s.processes():
            self.code.add()
            self.code.add()
            first = self.code.add(f"def {self.names[node.id]}({', '.join(self._params(node))}):")
            self.node = node
            with self.code.indented():
                self._docstring_of(node)
                if node.start_delay:
                    self._mark("start_delay", self.code.sleep(repr(node.start_delay), "start delay"))
                if node.kind == "producer":
                    self._producer(node)
                else:
                    self._consumer(node)
            functions[node.id] = (first, len(self.code.lines))
        for pool in self.s.pools():
            self.code.add()
            self.code.add()
            self.node = pool
            first = len(self.code.lines) + 1
            self._pool_function(pool)
            functions[pool.id] = (first, len(self.code.lines))
        self.code.add()
        self.code.add()
        created, steps, end = self._main()
        header = self._header()
        shift = len(header)
        return Program(
            source="\n".join(header + self.code.lines) + "\n",
            functions={k: (a + shift, b + shift) for k, (a, b) in functions.items()},
            operations={k: v + shift for k, v in self.operations.items()},
            steps=[line + shift for line in steps], end=end + shift,
            created={k: v + shift for k, v in created.items()},
        )

    def _header(self) -> list[str]:
        title = docstring_text(self.s.title)
        paragraphs = [textwrap.fill(p, 96, break_long_words=False)  # never inside an escape
                      for p in docstring_text(self.s.explanation).split("\n")]
        about = ("Generated by ipcsim: one function per process on the canvas, then the main program's "
                 "steps in order. It needs nothing but the standard library: python this_file.py. "
                 "Each line a process prints starts with its name.")
        lines = [f'"""{title}', ""]
        if self.s.explanation.strip():
            lines += "\n".join(paragraphs).split("\n") + [""]
        lines += textwrap.wrap(about, 96) + ['"""', ""]
        lines += [f"import {m}" for m in _MODULES if m in self.code.modules or m == "multiprocessing"]
        return "\n".join(lines).split("\n")  # the title may hold line breaks

    def _mark(self, op: str, line: int) -> None:
        self.operations.setdefault((self.node.id, op), line)

    def _say(self, text: str) -> None:
        """Print `text` (an f-string body) after the node's name, as behaviours do."""
        body = f"{self.node.id}: {text}"
        quoted = f'f"{body}"' if "{" in body else f'"{body}"'
        self.code.add(f"print({quoted}, flush=True)")

    # -- what each process node does

    def _endpoint(self, link: Link | None) -> str | None:
        if link is None:
            return None
        return self.names[link.channel] if link.end is None else self.names[link.channel, link.end]

    def _params(self, node) -> list[str]:
        ins, outs = self.s.inputs(node.id), self.s.outputs(node.id)
        params = [self._endpoint(ins[0] if ins else None)] + [self._endpoint(k) for k in outs]
        params.append(self._endpoint(self.s.lock_of(node.id)))
        return list(dict.fromkeys(p for p in params if p))

    def _channel_words(self, link: Link) -> str:
        if link.end is None:
            return f'{self.s.node(link.channel).kind} "{link.channel}"'
        return f'end {link.end} of pipe "{link.channel}"'

    def _docstring_of(self, node) -> None:
        ins, outs = self.s.inputs(node.id), self.s.outputs(node.id)
        kind = ("daemon " if node.daemon else "") + node.kind
        if node.kind == "producer" and outs[0].op == "write":
            count = _count(node)
            does = (f"writes {count} item{'s' * (count != 1)} into "
                    + " and ".join(self._channel_words(k) for k in outs))
        elif node.kind == "producer":
            count = _count(node)
            what = f"{'puts' if outs[0].end is None else 'sends'} {count} item{'s' * (count != 1)}"
            does = f"{what} on {self._channel_words(outs[0])}"
        elif ins[0].op == "read":
            times = "forever" if node.loop == "forever" else f"{node.count} time{'s' * (node.count != 1)}"
            does = f"prints {self._channel_words(ins[0])} {times}"
        else:
            loop = {"forever": " forever", "until_sentinel": " until it gets None",
                    "while_not_empty": " while it is not empty", "count": ""}[node.loop]
            count = f"{node.count} " if node.loop == "count" else ""
            does = f"gets {count}items from {self._channel_words(ins[0])}{loop}"
            if node.kind == "worker":
                does += f", putting a result for each on {self._channel_words(outs[0])}"
        lock = self.s.lock_of(node.id)
        if lock is not None:
            does += f', holding lock "{lock.channel}" while it ' + (
                "puts its burst" if node.kind == "producer" else "handles each")
        if node.crash != "none":
            k, unit = node.crash_after, "read" if ins and ins[0].op == "read" else "item"
            when = f"after {k} {unit}{'s' * (k != 1)}" if k else f"before its first {unit}"
            does += f", and crashes {when} ({_CRASH_WORDS[node.crash]})"
        self._docstring(f'The canvas\'s {kind} "{node.id}": {does}.')

    def _docstring(self, text: str) -> None:
        lines = textwrap.wrap(text, 92)
        if len(lines) == 1:
            self.code.add(f'"""{lines[0]}"""')
            return
        self.code.add(f'"""{lines[0]}')
        for line in lines[1:]:
            self.code.add(line)
        self.code.add('"""')

    def _producer(self, node) -> None:
        """behaviours.produce: the items (inside ``with lock:`` with the sentinels, when it uses
        one), then the replies."""
        outs = self.s.outputs(node.id)
        out = outs[0]
        target, count = self._endpoint(out), _count(node)
        paced = count > 1 and (node.interval.up_to is not None or node.interval.seconds > 0)
        keyed = any(k.op == "write" and self.s.node(k.channel).kind == "dict" for k in outs)
        crashes = node.crash != "none" and node.crash_after > 0
        needs_i = paced or crashes or (keyed and "i" in template_fields(node.key))
        if paced and node.interval.up_to is not None:
            self._random(node.interval.seed)
        with self._locked("the whole burst: nobody else holds it meanwhile"):
            self._crash_check(0)
            if count == 1:
                self.code.add(f"item = {_first_item(node)}")
                self._give(outs, target, 0, in_loop=False, then=lambda: self._crash_check(1))
            elif count:
                if isinstance(node.items, list):
                    listed = "[" + ", ".join(map(literal, node.items)) + "]"
                    header = f"for i, item in enumerate({listed}):" if needs_i else f"for item in {listed}:"
                else:
                    index = "i" if needs_i or "i" in template_fields(node.payload) else "_"
                    header = f"for {index} in range({count}):"
                with self.code.block(header):
                    if paced:
                        with self.code.block("if i > 0:"):
                            line = self.code.sleep(seconds_expr(node.interval), "the pause between items")
                            self._mark("sleep", line)
                    if not isinstance(node.items, list):
                        self.code.add(f"item = {format_expr(node.payload, {'name': node.id}, {'i': 'i'})}")
                    self._give(outs, target, "i", in_loop=True, then=lambda: self._crash_check("i + 1"))
            self._sentinels(node, out, target)
        self._replies(node, target)

    def _give(self, outs: list[Link], target: str, i: str | int, in_loop: bool, then) -> None:
        """Put or send `item` on the producer's channel, or write it into its dicts and lists;
        `then` writes what follows once the item is handled (see `_put`)."""
        if outs[0].op != "write":
            self._put(outs[0], target, "item", in_loop=in_loop, then=then)
            return
        for link in outs:
            self._write(link, i)
        then()

    def _sentinels(self, node, out: Link, target: str) -> None:
        if node.sentinels:
            def sentinel():
                call = f"{target}.put(None)" if out.end is None else f"{target}.send(None)"
                self._mark("sentinel", self.code.add(f"{call}  # a sentinel: tells a consumer to stop"))
                self._say("put sentinel None" if out.end is None else "sent sentinel None")
            self._repeat(node.sentinels, sentinel)

    def _replies(self, node, target: str) -> None:
        if node.replies:
            def reply():
                self._mark("recv", self.code.add(f"reply = {target}.recv()"))
                self._say("received {reply!r}")
            self._repeat(node.replies, reply)

    def _repeat(self, times: int, body) -> None:
        if times == 1:
            body()
            return
        with self.code.block(f"for _ in range({times}):"):
            body()

    def _random(self, seed: int) -> None:
        self.code.modules.add("random")
        self.code.add(f"rng = random.Random({seed!r})  # the canvas's seed: the same delays every run")

    def _crash_check(self, handled: int | str) -> None:
        """The node's crash where it has handled `handled` items (behaviours.crash_if_due): a
        number, or a loop's expression counting them after an item."""
        if self.node.crash == "none":
            return
        k = self.node.crash_after
        if handled == k:
            self._crash()
        elif isinstance(handled, str) and k:
            with self.code.block(f"if {handled} == {k}:  # the crash the canvas asks for"):
                self._crash()

    def _crash(self) -> None:
        code = self.code
        if self.node.crash == "exception":
            code.add(f"raise RuntimeError({string_literal(self.node.crash_message())})")
        elif self.node.crash == "exit":
            code.modules.add("os")
            code.add(f"os._exit({CRASH_EXIT_CODE})  # ends the process at once: no cleanup, no flushing")
        else:
            code.modules |= {"ctypes", "resource"}
            code.add("resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dump file")
            code.add("ctypes.string_at(0)  # reads memory at address 0: a segmentation fault (SIGSEGV)")

    def _put(self, link: Link, target: str, value: str, in_loop: bool, then=lambda: None) -> None:
        """Put or send `value` the node's way (behaviours.put), then write `then()` where the
        node goes on: not after a put that makes it stop."""
        if link.end is not None:
            self._mark("send", self.code.add(f"{target}.send({value})"))
            self._say(f"sent {{{value}!r}}")
            then()
            return
        mode = self.node.put_mode
        call = {"block": f"{target}.put({value})",
                "timeout": f"{target}.put({value}, timeout={self.node.put_timeout!r})",
                "nowait": f"{target}.put_nowait({value})"}[mode]
        if mode == "block":
            self._mark("put", self.code.add(call))
            self._say(f"put {{{value}!r}}")
            then()
            return
        self.code.modules.add("queue")
        stop = self.node.on_full == "stop"
        with self.code.block("try:"):
            self._mark("put", self.code.add(call))
        with self.code.block("except queue.Full:"):
            if stop:
                self._say(f"queue.Full: could not put {{{value}!r}}; stopping")
                if in_loop:
                    self.code.add("break")
            else:
                self._say(f"queue.Full: dropped {{{value}!r}}")
        if stop and in_loop:
            self._say(f"put {{{value}!r}}")
            then()
            return
        with self.code.block("else:"):
            self._say(f"put {{{value}!r}}")
            if stop:  # (not in a loop) only a put that worked goes on
                then()
        if not stop:  # a dropped item is handled too
            then()

    def _consumer(self, node) -> None:
        """behaviours.consume, with only the branches this node can take."""
        inp = self.s.inputs(node.id)[0]
        if inp.op == "read":
            self._reader(node, inp)
            return
        source = self._endpoint(inp)
        on_queue = inp.end is None
        may_fail = on_queue and node.get_mode != "block"
        retry = may_fail and node.on_empty == "retry"
        worker_stops = (node.kind == "worker" and self.s.outputs(node.id)[0].end is None
                        and node.put_mode != "block" and node.on_full == "stop")
        stops = (may_fail and not retry) or node.loop == "until_sentinel" or worker_stops
        uses_i = node.kind == "worker" and "i" in template_fields(node.result)
        crashes = node.crash != "none" and node.crash_after > 0
        # i counts the items done, as behaviours' `done`: `for i in range(count)` unless a retry
        # (`continue`) must not count or a crash needs the count after an item, then
        # `while i < count` with `i += 1` at the end
        counter = (retry or crashes) if node.loop == "count" else (uses_i or crashes)
        works = bool(node.work.seconds or node.work.up_to)  # as behaviours decide
        if works and node.work.up_to is not None:
            self._random(node.work.seed)
        if counter:
            self.code.add("i = 0")
        self._crash_check(0)
        simple_empty_loop = node.loop == "while_not_empty" and not stops
        if node.loop == "count":
            index = "i" if uses_i else "_"
            header = f"while i < {node.count}:" if counter else f"for {index} in range({node.count}):"
        elif simple_empty_loop:
            header = f"while not {source}.empty():"
        else:
            header = "while True:"
        loop_line = self.code.add(header)
        if simple_empty_loop:
            self._mark("empty", loop_line)
        with self.code.indented():
            if node.loop == "while_not_empty" and stops:
                with self.code.block(f"if {source}.empty():") as line:
                    self._mark("empty", line)
                    self._say("empty() is True: stopping")
                    self.code.add("break")
            self._get(node, source, inp, may_fail, retry)
            if node.loop == "until_sentinel":
                with self.code.block("if item is None:"):
                    self._say("got sentinel None: stopping")
                    if node.task_done:
                        self.code.add(f"{source}.task_done()")
                    self.code.add("break")
            self._say("got {item!r}")
            with self._locked("while it handles the item"):
                if works:
                    self._mark("work", self.code.sleep(seconds_expr(node.work), "work on the item"))
                if node.echo:
                    self._mark("send", self.code.add(f"{source}.send(item)  # send it back"))
                    self._say("echoed {item!r}")
                if node.kind == "worker":
                    out = self.s.outputs(node.id)[0]
                    result = format_expr(node.result, {"name": node.id}, {"item": "item", "i": "i"})
                    self.code.add(f"result = {result}")
                    self._put(out, self._endpoint(out), "result", in_loop=True)
            if node.task_done:
                self._mark("task_done", self.code.add(f"{source}.task_done()"))
            if counter:
                self.code.add("i += 1")
            self._crash_check("i")
        if simple_empty_loop:
            self._say("empty() is True: stopping")

    def _get(self, node, source: str, inp: Link, may_fail: bool, retry: bool) -> None:
        if inp.end is not None:
            self._mark("recv", self.code.add(f"item = {source}.recv()"))
            return
        call = {"block": f"{source}.get()", "timeout": f"{source}.get(timeout={node.get_timeout!r})",
                "nowait": f"{source}.get_nowait()"}[node.get_mode]
        if not may_fail:
            self._mark("get", self.code.add(f"item = {call}"))
            return
        self.code.modules.add("queue")
        with self.code.block("try:"):
            self._mark("get", self.code.add(f"item = {call}"))
        with self.code.block("except queue.Empty:"):
            self._say("queue.Empty")
            self.code.add("continue" if retry else "break")

    # -- the main program

    def _main(self) -> tuple[dict[str, int], list[int], int]:
        code, names, created = self.code, self.names, self.created
        with code.block('if __name__ == "__main__":'):
            code.add(f"multiprocessing.set_start_method({string_literal(self.s.start_method)})")
            code.add()
            self._manager_line()
            if self.s.shared() or self.s.locks():
                code.add("# the channels and the shared objects")
            elif self.s.channels():
                code.add("# the channels")
            for node in self.s.channels():
                if node.kind == "pipe":
                    ends = f"{names[node.id, 1]}, {names[node.id, 2]}"
                    note = "  # end 1 only receives, end 2 only sends" if not node.duplex else ""
                    duplex = "" if node.duplex else "duplex=False"
                    created[node.id] = code.add(f"{ends} = multiprocessing.Pipe({duplex}){note}")
                else:
                    size = repr(node.maxsize) if node.maxsize else ""
                    maker = node.queue_type.replace("Manager.", f"{names[None, 'manager']}.") \
                        if node.queue_type.startswith("Manager.") else f"multiprocessing.{node.queue_type}"
                    created[node.id] = code.add(f"{names[node.id]} = {maker}({size})")
            self._create_shared(created)
            if self.s.channels() or self.s.shared() or self.s.locks():
                code.add()
            if self.s.processes():
                code.add("# the processes, one per node on the canvas")
            for node in self.s.processes():
                params = self._params(node)
                args = f"({', '.join(params)}{',' if len(params) == 1 else ''})"
                daemon = ", daemon=True" if node.daemon else ""
                created[node.id] = code.add(
                    f"{names[node.id, 'process']} = multiprocessing.Process(target={names[node.id]}, "
                    f"args={args}, name={string_literal(node.id)}{daemon})")
            if self.s.processes():
                code.add()
            code.add("# main's steps")
            steps, end, terminated = [], 0, set()
            for step in self.s.effective_steps():
                if end:
                    steps.append(end)
                    continue
                if step.target in self.names and self.s.node(step.target).kind == "pool":
                    line = self._pool_step(step, self.s.node(step.target), step.target in terminated)
                    if step.op == "terminate":
                        terminated.add(step.target)
                else:
                    line = self._step(step)
                steps.append(line)
                end = line if step.op == "end" else 0
            if not end:
                end = self._step(Step("end"))
        return created, steps, end

    def _step(self, step: Step) -> int:
        code, names = self.code, self.names
        target = names.get(step.target, step.target)
        if step.op in ("start", "join", "terminate"):
            process = names[step.target, "process"]
            if step.op == "join" and step.seconds is not None:
                return code.add(f"{process}.join(timeout={step.seconds!r})")
            comment = "  # SIGTERM: it stops at once, wherever it is" if step.op == "terminate" else ""
            return code.add(f"{process}.{step.op}(){comment}")
        if step.op == "sleep":
            return code.sleep(repr(step.seconds), "main waits")
        if step.op == "sentinels":
            if step.count == 1:
                return code.add(f"{target}.put(None)  # a sentinel: tells a consumer to stop")
            line = code.add(f"for _ in range({step.count}):  # sentinels: each tells a consumer to stop")
            with self.code.indented():
                code.add(f"{target}.put(None)")
            return line
        if step.op == "queue_join":
            return code.add(f"{target}.join()  # until task_done() was called for every item put")
        if step.op == "read":
            return self._read_step(step)
        daemons = ", ".join(p.id for p in self.s.processes() if p.daemon)
        shut = [w for w, used in (("the manager", self.s.uses_manager()), ("the pools", self.s.pools())) if used]
        does = [f"shuts down {' and '.join(shut)}"] if shut else []
        if daemons:
            does += [f"terminates the daemons still alive ({daemons})", "joins the other processes still running"]
        else:
            does += ["joins the processes still running"]
        text = "end: main's code is done. At exit, multiprocessing " + ", then ".join(does) + "."
        lines = textwrap.wrap(text, 92)
        line = code.add(f"# {lines[0]}")
        for more in lines[1:]:
            code.add(f"# {more}")
        return line
