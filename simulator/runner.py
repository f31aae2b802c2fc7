"""The runner: a process (no Qt) that plays a scenario's main process.

    python -m simulator.runner SCENARIO.json TRACE_ADDRESS

It builds the channels, creates the processes with the scenario's start method, runs main's
steps in order (each reported as ``main_step_started`` / ``main_step_finished``), then ends the
way a real main program ends: `multiprocessing`'s exit handler terminates the daemonic children
still alive (`ipc` reports each as ``daemon_killed_at_exit``) and joins the others.

It is started by `simulator.session.Run` in its own process group, with its stdin a pipe from the
caller (see `simulator.lifeline`), and reports to the caller's trace collector. It lowers its CPU
priority (nice +5, inherited by the scenario's processes, so their priorities relative to each
other are unchanged): a scenario that floods its queues can never starve the window showing it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing import util

import ipc
from ipc.trace import emit

from . import behaviours, lifeline, scenario_file
from .scenario import Scenario, Step

MAIN = "main"
NICENESS = 5


class Main:
    """The scenario's channels and processes, and main's steps over them."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.ctx = ipc.get_context(scenario.start_method)
        self.channels: dict[str, object] = {}
        self.pipe_ends: dict[tuple[str, int], object] = {}
        for node in scenario.channels():
            self._build_channel(node)
        self.processes = {node.id: self._build_process(node) for node in scenario.processes()}

    def _build_channel(self, node) -> None:
        if node.kind == "pipe":
            end1, end2 = self.ctx.Pipe(duplex=node.duplex)
            end1.trace_name = end2.trace_name = node.id
            self.pipe_ends[node.id, 1], self.pipe_ends[node.id, 2] = end1, end2
            return
        if node.queue_type == "SimpleQueue":
            q = self.ctx.SimpleQueue()
        else:
            q = getattr(self.ctx, node.queue_type)(node.maxsize)
        q.trace_name = node.id
        self.channels[node.id] = q

    def _endpoint(self, link):
        if link is None:
            return None
        if link.end is None:
            return self.channels[link.channel]
        return self.pipe_ends[link.channel, link.end]

    def _build_process(self, node):
        ins, outs = self.scenario.inputs(node.id), self.scenario.outputs(node.id)
        inp = self._endpoint(ins[0] if ins else None)
        out = self._endpoint(outs[0] if outs else None)
        return self.ctx.Process(target=behaviours.run_node, args=(node, inp, out),
                                name=node.id, daemon=node.daemon)

    def run(self) -> None:
        for step in self.scenario.effective_steps():
            if step.op == "end":
                break
            emit("main_step_started", step.label(), None, {"op": step.op, "target": step.target})
            self.do(step)
            emit("main_step_finished", step.label(), None, {"op": step.op, "target": step.target})
        self.end()

    def do(self, step: Step) -> None:
        if step.op == "start":
            self.processes[step.target].start()
        elif step.op == "join":
            self.processes[step.target].join(step.seconds)
        elif step.op == "terminate":
            self.processes[step.target].terminate()
        elif step.op == "sleep":
            behaviours.pause(step.seconds, "main")
        elif step.op == "sentinels":
            for _ in range(step.count):
                self.channels[step.target].put(None)
        elif step.op == "queue_join":
            self.channels[step.target].join()

    def end(self) -> None:
        """What happens when a main program returns: daemons killed, other children joined."""
        emit("main_step_started", "end", None, {"op": "end", "target": None})
        util._exit_function()  # the handler multiprocessing registers with atexit, run now
        emit("main_step_finished", "end", None, {"op": "end", "target": None})


def main(argv: list[str] | None = None) -> int:
    scenario_path, address = argv if argv is not None else sys.argv[1:]
    lifeline.die_with_parent()
    lifeline.kill_group_when_caller_exits()
    os.nice(NICENESS)
    multiprocessing.current_process().name = MAIN
    ipc.trace.attach(address, identity=MAIN)
    scenario = scenario_file.load(scenario_path).scenario
    Main(scenario).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
