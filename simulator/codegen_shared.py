"""Code generation for pools, the manager's objects and locks: a mixin of `codegen`'s generator.

* a pool's tasks are one function, ``<pool>_task(i, ...)``, doing what `behaviours.run_task`
  does; main's start step creates the ``Pool`` and submits them (``apply_async`` one by one, or
  one ``map_async``/``starmap_async``), its join step is ``close()``, ``join()`` and the
  results' ``get()``, which raises a task's exception in main, as in the traced run;
* ``manager = multiprocessing.Manager()`` comes first when a node lives in it, then its queues,
  dicts, lists and lock are created from it;
* a producer writes its items into dicts (``d[key] = item``) and lists (``l.append(item)``), a
  consumer prints a dict or list it reads (``print(f"R: d = {d}")``, the object's repr), and a
  node using a lock does its burst, or each item's handling, inside ``with lock:``.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

from .codegen_text import format_expr, seconds_expr
from .scenario import Link, Step

MAIN = "main"


class SharedCode:
    """What `codegen._Generator` writes for pools, shared objects and locks (it provides `s`,
    `names`, `code`, `node`, `_mark`, `_say`, `_random`, `_crash_check`)."""

    # -- in the functions

    @contextmanager
    def _locked(self, what: str):
        """``with lock:`` around what the body writes, when the current node uses a lock."""
        link = self.s.lock_of(self.node.id)
        if link is None:
            with nullcontext():
                yield
            return
        with self.code.block(f"with {self.names[link.channel]}:  # {what}") as line:
            self._mark("acquire", line)
            yield
            if len(self.code.lines) == line:
                self.code.add("pass")

    def _write(self, link: Link, i: str | int) -> None:
        """Write `item` into the dict or list of `link` (behaviours.write); `i` is the item's
        number, a variable's name or a constant."""
        node, target = self.node, self.names[link.channel]
        if self.s.node(link.channel).kind == "list":
            self._mark("write", self.code.add(f"{target}.append(item)"))
            self._say(f"{link.channel}.append({{item!r}})")
            return
        if isinstance(i, int):
            key = format_expr(node.key, {"name": node.id, "i": i}, {})
        else:
            key = format_expr(node.key, {"name": node.id}, {"i": i})
        self.code.add(f"key = {key}")
        self._mark("write", self.code.add(f"{target}[key] = item"))
        self._say(f"{link.channel}[{{key!r}}] = {{item!r}}")

    def _reader(self, node, inp: Link) -> None:
        """behaviours.read_shared: print the whole dict or list, `count` times or forever (a
        crash after some reads counts them: `i`)."""
        source = self.names[inp.channel]
        if node.work.up_to is not None:
            self._random(node.work.seed)
        pause = bool(node.work.seconds or node.work.up_to)
        crashes = node.crash != "none" and node.crash_after > 0

        def read() -> None:
            with self._locked("nobody else holds it while it reads"):
                self._mark("read", self.code.add(f'print(f"{node.id}: {inp.channel} = {{{source}}}", flush=True)'))

        if node.loop == "forever" and crashes:
            self.code.add("i = 0")
        self._crash_check(0)
        if node.loop == "forever":
            with self.code.block("while True:"):
                read()
                if crashes:
                    self.code.add("i += 1")
                    self._crash_check("i")
                self._mark("sleep", self.code.sleep(seconds_expr(node.work), "the pause between reads"))
        elif node.count == 1:
            read()
            self._crash_check(1)
        elif not pause:
            with self.code.block(f"for {'i' if crashes else '_'} in range({node.count}):"):
                read()
                self._crash_check("i + 1")
        else:
            with self.code.block(f"for i in range({node.count}):"):
                with self.code.block("if i > 0:"):
                    self._mark("sleep", self.code.sleep(seconds_expr(node.work), "the pause between reads"))
                read()
                self._crash_check("i + 1")

    def _pool_function(self, pool) -> None:
        """behaviours.run_task, as the function the pool's tasks call."""
        out = next((k for k in self.s.links_of(pool.id) if k.op == "put"), None)
        params = ["i"] + [self.names[k.channel] for k in (out, self.s.lock_of(pool.id)) if k]
        self.code.add(f"def {self.names[pool.id, 'task']}({', '.join(params)}):")
        with self.code.indented():
            does = f', then puts its result on queue "{out.channel}"' if out else ""
            work = f"works for {seconds_expr(pool.work)} s" if pool.work.up_to is None else "works a while"
            self._docstring(f'A task of the canvas\'s pool "{pool.id}": it {work}{does}.')
            if pool.work.up_to is not None:
                self.code.modules.add("random")
                self.code.add(f"rng = random.Random({pool.work.seed!r} + i)  # each task its own delay, "
                              "the same every run")
            with self._locked("the task's work, inside the lock"):
                if pool.work.seconds or pool.work.up_to:
                    self._mark("work", self.code.sleep(seconds_expr(pool.work), "the task's work"))
                self.code.add(f"result = {format_expr(pool.result, {'name': pool.id}, {'i': 'i'})}")
                if out is not None:
                    self._mark("put", self.code.add(f"{self.names[out.channel]}.put(result)"))
                    self._say("task {i} put {result!r}")
                else:
                    self._say("task {i} done")
            self.code.add("return result")

    # -- in main

    def _create_shared(self, created: dict[str, int]) -> None:
        """The manager, then (after the channels) the dicts, lists and locks."""
        code, names = self.code, self.names
        for node in self.s.shared() + self.s.locks():
            if node.kind == "lock" and node.lock_type == "Lock":
                created[node.id] = code.add(f"{names[node.id]} = multiprocessing.Lock()")
            else:
                kind = "Lock" if node.kind == "lock" else node.kind
                created[node.id] = code.add(f"{names[node.id]} = {names[None, 'manager']}.{kind}()")

    def _pool_step(self, step: Step, pool, terminated: bool) -> int:
        code, names = self.code, self.names
        var, results = names[pool.id], names[pool.id, "results"]
        if step.op == "terminate":
            return code.add(f"{var}.terminate()  # stops its workers at once, whatever they are doing")
        if step.op == "join" and terminated:  # its unfinished results would never be ready
            return code.add(f"{var}.join()  # until its terminated workers have exited")
        if step.op == "join":
            line = code.add(f"{var}.close()  # no more tasks")
            code.add(f"{var}.join()  # until every task is done and the workers have exited")
            if not terminated:
                got = f"{results}.get()" if pool.submit == "map" else f"[r.get() for r in {results}]"
                code.add("# get() returns each task's result, or raises the exception the task raised")
                code.add(f'print(f"{MAIN}: {pool.id} results {{{got}!r}}", flush=True)')
            return line
        out = next((k for k in self.s.links_of(pool.id) if k.op == "put"), None)
        shared = [names[k.channel] for k in (out, self.s.lock_of(pool.id)) if k]
        line = code.add(f"{var} = multiprocessing.Pool({pool.size})")
        self.created[pool.id] = line
        task, n = names[pool.id, "task"], pool.tasks
        if pool.submit == "apply_async":
            args = f"(i, {', '.join(shared)})" if shared else "(i,)"
            code.add(f"{results} = [{var}.apply_async({task}, {args}) for i in range({n})]")
        elif shared:
            code.add(f"{results} = {var}.starmap_async({task}, [(i, {', '.join(shared)}) for i in range({n})])")
        else:
            code.add(f"{results} = {var}.map_async({task}, range({n}))")
        return line

    def _read_step(self, step: Step) -> int:
        return self.code.add(f'print(f"{MAIN}: {step.target} = {{{self.names[step.target]}}}", flush=True)')

    def _manager_line(self) -> None:
        if self.s.uses_manager():
            self.code.add(f"{self.names[None, 'manager']} = multiprocessing.Manager()  "
                          "# a server process holding the shared objects")
            self.code.add()
