"""The runner: a process (no Qt) that plays a scenario's main process.

    python -m simulator.runner SCENARIO.json TRACE_ADDRESS

It starts the run's manager if a node needs one, builds the channels, dicts, lists and locks,
creates the processes with the scenario's start method, runs main's steps in order (each reported
as ``main_step_started`` / ``main_step_finished``; a pool is created and given its tasks by its
start step), then ends the way a real main program ends: `multiprocessing`'s exit handler shuts
the manager and the pools down, terminates the daemonic children still alive (`ipc` reports each
as ``daemon_killed_at_exit``) and joins the others.

What main prints (a pool's results, a dict or list it reads) is reported as ``process_output``,
as a child's is. A step that raises (a pool task's exception surfacing in ``get()``) ends main as
an uncaught exception ends a program: ``process_failed`` (with the traceback, also printed on
its stderr), the exit handler, then ``process_exited`` with exit code 1, the runner's own.

It is started by `simulator.session.Run` in its own process group, with its stdin a pipe from the
caller (see `simulator.lifeline`), and reports to the caller's trace collector. It lowers its CPU
priority (nice +5, inherited by the scenario's processes, so their priorities relative to each
other are unchanged): a scenario that floods its queues can never starve the window showing it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from multiprocessing import util

import ipc
from ipc.trace import emit

from . import behaviours, lifeline, scenario_file
from .scenario import Scenario, Step

MAIN = "main"
NICENESS = 5


class Main:
    """The scenario's manager, channels, shared objects and processes, and main's steps over them."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.ctx = ipc.get_context(scenario.start_method)
        if scenario.start_method == "forkserver":
            # The fork server imports a script's main module once, so that the children it forks
            # start ready; run with -m, the runner must name its own.
            self.ctx.set_forkserver_preload(["simulator.runner"])
        self.manager = None
        if scenario.uses_manager():
            self.manager = self.ctx.Manager(trace_name=scenario.manager_name())
        self.channels: dict[str, object] = {}
        self.pipe_ends: dict[tuple[str, int], object] = {}
        for node in scenario.channels():
            self._build_channel(node)
        self.shared = {node.id: self._build_shared(node) for node in scenario.shared() + scenario.locks()}
        self.processes = {node.id: self._build_process(node) for node in scenario.processes()}
        self.pool_nodes = {node.id: node for node in scenario.pools()}
        self.pools: dict[str, tuple] = {}  # id -> (Pool, its results, terminated)

    def _build_channel(self, node) -> None:
        if node.kind == "pipe":
            end1, end2 = self.ctx.Pipe(duplex=node.duplex)
            end1.trace_name = end2.trace_name = node.id
            self.pipe_ends[node.id, 1], self.pipe_ends[node.id, 2] = end1, end2
            return
        if node.queue_type == "SimpleQueue":
            q = self.ctx.SimpleQueue()
        elif node.queue_type.startswith("Manager."):
            q = getattr(self.manager, node.queue_type.removeprefix("Manager."))(node.maxsize)
        else:
            q = getattr(self.ctx, node.queue_type)(node.maxsize)
        q.trace_name = node.id
        self.channels[node.id] = q

    def _build_shared(self, node) -> behaviours.Shared:
        if node.kind == "lock":
            obj = self.manager.Lock() if node.lock_type == "Manager.Lock" else self.ctx.Lock()
        else:
            obj = getattr(self.manager, node.kind)()
        obj.trace_name = node.id
        return behaviours.Shared(node.id, node.kind, obj)

    def _endpoint(self, link):
        if link is None:
            return None
        if link.op in ("read", "use"):
            return self.shared[link.channel]
        if link.end is None:
            return self.channels[link.channel]
        return self.pipe_ends[link.channel, link.end]

    def _build_process(self, node):
        ins, outs = self.scenario.inputs(node.id), self.scenario.outputs(node.id)
        inp = self._endpoint(ins[0] if ins else None)
        if outs and outs[0].op == "write":
            out = [self.shared[k.channel] for k in outs]
        else:
            out = self._endpoint(outs[0] if outs else None)
        lock = self._endpoint(self.scenario.lock_of(node.id))
        return self.ctx.Process(target=behaviours.run_node, args=(node, inp, out, lock),
                                name=node.id, daemon=node.daemon)

    def run(self) -> int:
        """Main's steps, then its end; returns its exit status (1: a step raised)."""
        try:
            for step in self.scenario.effective_steps():
                if step.op == "end":
                    break
                detail = {"op": step.op, "target": step.target}
                if step.op == "join":
                    detail["timeout"] = step.seconds
                emit("main_step_started", step.label(), None, detail)
                self.do(step)
                emit("main_step_finished", step.label(), None, {"op": step.op, "target": step.target})
        except Exception as exc:  # as an uncaught exception ends a program
            emit("process_failed", MAIN, None,
                 {"error": type(exc).__name__, "reason": str(exc)[:500],
                  "traceback": traceback.format_exc()[-4000:]})
            traceback.print_exc()
            sys.stderr.flush()
            self.end()
            emit("process_exited", MAIN, None, {"exitcode": 1, "pid": os.getpid(), "reported_by": "self"})
            return 1
        self.end()
        return 0

    def do(self, step: Step) -> None:
        if step.target in self.pool_nodes:
            self.do_pool(step, self.pool_nodes[step.target])
        elif step.op == "start":
            self.processes[step.target].start()
        elif step.op == "join":
            self.processes[step.target].join(step.seconds)
        elif step.op == "terminate":
            self.processes[step.target].terminate()
        elif step.op == "read":
            print(f"{MAIN}: {step.target} = {self.shared[step.target].obj}")
        elif step.op == "sleep":
            behaviours.pause(step.seconds, "main")
        elif step.op == "sentinels":
            for _ in range(step.count):
                self.channels[step.target].put(None)
        elif step.op == "queue_join":
            self.channels[step.target].join()

    def do_pool(self, step: Step, node) -> None:
        """start: create the pool and submit its tasks; join: close, join, get every result (a
        task's exception is raised here); terminate: stop its workers at once."""
        if step.op == "start":
            links = self.scenario.links_of(node.id)
            out = next((self.channels[k.channel] for k in links if k.op == "put"), None)
            lock = self._endpoint(self.scenario.lock_of(node.id))
            shared = [x for x in (out, lock.obj if lock else None) if x is not None]
            pool = self.ctx.Pool(node.size, initializer=behaviours.init_pool_worker,
                                 initargs=(node, out is not None, lock is not None), trace_name=node.id)
            task = behaviours.run_task
            if node.submit == "apply_async":
                results = [pool.apply_async(task, (i, *shared)) for i in range(node.tasks)]
            elif shared:
                results = pool.starmap_async(task, [(i, *shared) for i in range(node.tasks)])
            else:
                results = pool.map_async(task, range(node.tasks))
            self.pools[node.id] = (pool, results, False)
            return
        pool, results, terminated = self.pools[node.id]
        if step.op == "terminate":
            pool.terminate()
            self.pools[node.id] = (pool, results, True)
            return
        pool.close()
        pool.join()
        if not terminated:  # a terminated pool's unfinished results would never be ready
            values = [r.get() for r in results] if isinstance(results, list) else results.get()
            print(f"{MAIN}: {node.id} results {values!r}")

    def end(self) -> None:
        """What happens when a main program returns: daemons killed, other children joined."""
        emit("main_step_started", "end", None, {"op": "end", "target": None})
        util._exit_function()  # the handler multiprocessing registers with atexit, run now
        emit("main_step_finished", "end", None, {"op": "end", "target": None})


def main(argv: list[str] | None = None) -> int:
    scenario_path, address = argv if argv is not None else sys.argv[1:]
    lifeline.kill_group_when_parent_dies()
    lifeline.kill_group_when_caller_exits()
    lifeline.start_resource_tracker_in_own_session()  # so that Stop leaves nothing in /dev/shm
    os.nice(max(0, NICENESS - os.nice(0)))  # +5, or as is if started at a lower priority already
    multiprocessing.current_process().name = MAIN
    ipc.trace.attach(address, identity=MAIN)
    behaviours.trace_lines()
    scenario = scenario_file.load(scenario_path).scenario
    return Main(scenario).run()


if __name__ == "__main__":
    sys.exit(main())
