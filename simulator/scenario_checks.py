"""Checking a scenario's graph: what pydantic's per-field checks cannot see.

`check(scenario)` returns one "path: reason" message per problem (empty when the scenario is
sound): ids, templates, dangling links, which process may use which node and how, step targets,
the order of a pool's steps, and a crash that could never happen. `simulator.scenario`
re-exports `check` and `check_template`.
"""

from __future__ import annotations

import string

from .scenario import JOINABLE, PROCESS_KINDS, SHARED_KINDS, Link, Scenario, Step

_OPS = {"queue": ("put", "get"), "pipe": ("send", "recv"), "dict": ("write", "read"),
        "list": ("write", "read"), "lock": ("use",)}
_USE = {"queue": "put or get", "pipe": "send or recv", "dict": "write or read",
        "list": "write or read", "lock": "use"}


def check(s: Scenario) -> list[str]:
    """Everything pydantic's per-field checks cannot see: ids, dangling links, link directions,
    step targets. Returns "path: reason" messages (empty when the scenario is sound)."""
    errors: list[str] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(s.nodes):
        path = f"scenario.nodes[{i}]"
        if node.id == "main":
            errors.append(f"{path}.id: 'main' is the main process's name")
        if node.id in seen:
            errors.append(f"{path}.id: duplicate id {node.id!r} (also nodes[{seen[node.id]}])")
        seen.setdefault(node.id, i)
        if node.kind == "producer":
            errors += check_template(f"{path}.payload", node.payload, {"name", "i"})
            errors += check_template(f"{path}.key", node.key, {"name", "i"})
            if node.interval.up_to is not None and node.interval.up_to < node.interval.seconds:
                errors.append(f"{path}.interval.up_to: less than seconds")
        if node.kind == "worker":
            errors += check_template(f"{path}.result", node.result, {"name", "i", "item"})
        if node.kind in PROCESS_KINDS:
            errors += _check_crash(path, node)
        if node.kind == "pool":
            errors += check_template(f"{path}.result", node.result, {"name", "i"})
            if node.work.up_to is not None and node.work.up_to < node.work.seconds:
                errors.append(f"{path}.work.up_to: less than seconds")
        if node.kind == "queue" and node.queue_type == "SimpleQueue" and node.maxsize:
            errors.append(f"{path}.maxsize: a SimpleQueue has no maxsize")

    by_id = {n.id: n for n in s.nodes}
    for i, link in enumerate(s.links):
        errors += _check_link(f"scenario.links[{i}]", link, by_id)

    for i, node in enumerate(s.nodes):
        if node.kind in PROCESS_KINDS:
            errors += _check_process_links(f"scenario.nodes[{i}]", node, s, by_id)
        elif node.kind == "pool":
            errors += _check_pool_links(f"scenario.nodes[{i}]", node, s)

    for i, step in enumerate(s.steps):
        errors += _check_step(f"scenario.steps[{i}]", step, by_id)
    errors += _check_pool_steps(s.steps, by_id)
    return errors


def check_template(path: str, template: str, allowed: set[str]) -> list[str]:
    """Errors for a payload template that uses anything but the `allowed` {fields}."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"{path}: {exc}"]
    bad = [f for f in fields if f not in allowed]
    if bad:
        names = ", ".join("{" + a + "}" for a in sorted(allowed))
        return [f"{path}: unknown field {{{bad[0]}}} (use {names})"]
    return []


def _check_crash(path: str, proc) -> list[str]:
    """A crash after more items than the process can handle would never happen."""
    if proc.crash == "none":
        return []
    if proc.kind == "producer":
        most = len(proc.items) if isinstance(proc.items, list) else proc.items
    elif proc.loop == "count":
        most = proc.count
    else:
        return []
    if proc.crash_after > most:
        return [f"{path}.crash_after: it handles only {most} item{'s' * (most != 1)}, so it would never crash"]
    return []


def _check_link(path: str, link: Link, by_id: dict) -> list[str]:
    proc, chan = by_id.get(link.process), by_id.get(link.channel)
    if proc is None:
        return [f"{path}.process: no node {link.process!r}"]
    if chan is None:
        return [f"{path}.channel: no node {link.channel!r}"]
    if proc.kind not in PROCESS_KINDS and proc.kind != "pool":
        return [f"{path}.process: {link.process!r} is a {proc.kind}, not a process"]
    if chan.kind not in _OPS:
        return [f"{path}.channel: {link.channel!r} is a {chan.kind}, not a channel"]
    if link.op not in _OPS[chan.kind]:
        return [f"{path}.op: a {chan.kind} is used with {_USE[chan.kind]}, not {link.op}"]
    if proc.kind == "pool" and link.op not in ("put", "use"):
        return [f"{path}.op: a pool's tasks put on a queue or use a lock; they cannot {link.op}"]
    if chan.kind != "pipe":
        if link.end is not None:
            return [f"{path}.end: only pipes have ends"]
        return []
    if link.end is None:
        return [f"{path}.end: say which end of pipe {chan.id!r} (1 or 2)"]
    if not chan.duplex:
        if link.end == 1 and link.op == "send":
            return [f"{path}.op: a one-way pipe's end 1 only receives; it cannot send"]
        if link.end == 2 and link.op == "recv":
            return [f"{path}.op: a one-way pipe's end 2 only sends; it cannot receive"]
    return []


def _check_process_links(path: str, proc, s: Scenario, by_id: dict) -> list[str]:
    ins, outs = s.inputs(proc.id), s.outputs(proc.id)
    writes = [k for k in outs if k.op == "write"]
    puts = [k for k in outs if k.op != "write"]
    errors = []
    if len([k for k in s.links_of(proc.id) if k.op == "use"]) > 1:
        errors.append(f"{path}: a process uses one lock at most")
    if proc.kind == "producer" and writes:
        if ins:
            errors.append(f"{path}: a producer gets from 0 channel(s), this one from {len(ins)}")
        if puts:
            errors.append(f"{path}: a producer puts to one channel or writes to dicts and lists, not both")
        if errors:
            return errors
        if proc.sentinels:
            errors.append(f"{path}.sentinels: sentinels are put on a queue")
        if proc.replies:
            errors.append(f"{path}.replies: only a producer on a duplex pipe end can receive replies")
        if proc.put_mode != "block":
            errors.append(f"{path}.put_mode: writing to a dict or list has no timeout or nowait")
        return errors
    want_in, want_out = {"producer": (0, 1), "consumer": (1, 0), "worker": (1, 1)}[proc.kind]
    if len(ins) != want_in:
        errors.append(f"{path}: a {proc.kind} gets from {want_in} channel(s), this one from {len(ins)}")
    if len(outs) != want_out:
        errors.append(f"{path}: a {proc.kind} puts to {want_out} channel(s), this one to {len(outs)}")
    if proc.kind == "worker" and (writes or (ins and ins[0].op == "read")):
        errors.append(f"{path}: a worker gets from a queue or a pipe and puts to one, not a dict or list")
    if errors:
        return errors
    chan_in = by_id.get(ins[0].channel) if ins else None
    chan_out = by_id.get(outs[0].channel) if outs else None
    if proc.kind == "producer" and proc.sentinels and chan_out is not None and chan_out.kind != "queue":
        errors.append(f"{path}.sentinels: sentinels are put on a queue; a pipe's reader stops on EOFError")
    if proc.kind == "producer" and proc.replies:
        if chan_out is None or chan_out.kind != "pipe" or not chan_out.duplex:
            errors.append(f"{path}.replies: only a producer on a duplex pipe end can receive replies")
    if proc.kind in ("consumer", "worker"):
        errors += _check_reader(path, proc, chan_in)
    put_mode = getattr(proc, "put_mode", "block")
    if chan_out and chan_out.kind == "pipe" and put_mode != "block":
        errors.append(f"{path}.put_mode: a pipe's send() has no timeout or nowait")
    if chan_out and getattr(chan_out, "queue_type", "") == "SimpleQueue" and put_mode != "block":
        errors.append(f"{path}.put_mode: SimpleQueue.put() has no block or timeout")
    return errors


def _check_reader(path: str, proc, chan_in) -> list[str]:
    """A consumer's or worker's settings against what it reads from."""
    errors = []
    if chan_in is None:
        return errors
    if proc.task_done and not (chan_in.kind == "queue" and chan_in.queue_type in JOINABLE):
        errors.append(f"{path}.task_done: only a JoinableQueue has task_done()")
    if proc.echo and chan_in.kind != "pipe":
        errors.append(f"{path}.echo: only a pipe end can echo back")
    if proc.get_mode != "block" and chan_in.kind == "pipe":
        errors.append(f"{path}.get_mode: a pipe's recv() always blocks")
    if proc.loop == "while_not_empty" and chan_in.kind != "queue":
        errors.append(f"{path}.loop: only a queue has empty()")
    if getattr(chan_in, "queue_type", "") == "SimpleQueue" and proc.get_mode != "block":
        errors.append(f"{path}.get_mode: SimpleQueue.get() has no block or timeout")
    if chan_in.kind in SHARED_KINDS:
        if proc.get_mode != "block":
            errors.append(f"{path}.get_mode: reading a {chan_in.kind} never blocks or times out")
        if proc.loop not in ("count", "forever"):
            errors.append(f"{path}.loop: a reader of a {chan_in.kind} reads count times or forever")
        elif proc.loop == "forever" and not (proc.work.seconds or proc.work.up_to):
            errors.append(f"{path}.work: reading forever needs a pause (work) between reads")
    return errors


def _check_pool_links(path: str, pool, s: Scenario) -> list[str]:
    links = s.links_of(pool.id)
    errors = []
    puts = [k for k in links if k.op == "put"]
    if len(puts) > 1:
        errors.append(f"{path}: a pool's tasks put to one queue at most, this one's to {len(puts)}")
    if len([k for k in links if k.op == "use"]) > 1:
        errors.append(f"{path}: a pool's tasks use one lock at most")
    return errors


def _check_step(path: str, step: Step, by_id: dict) -> list[str]:
    needs = {"start": "process", "join": "process", "terminate": "process",
             "sentinels": "queue", "queue_join": "queue", "read": "dict or list"}.get(step.op)
    if step.op == "sleep" and step.seconds is None:
        return [f"{path}.seconds: sleep needs seconds"]
    if needs is None:
        return []
    if step.target is None:
        return [f"{path}.target: {step.op} needs a {needs}"]
    node = by_id.get(step.target)
    if node is None:
        return [f"{path}.target: no node {step.target!r}"]
    if needs == "process" and node.kind not in PROCESS_KINDS and node.kind != "pool":
        return [f"{path}.target: {step.target!r} is a {node.kind}, not a process or a pool"]
    if needs == "process" and node.kind == "pool" and step.op == "join" and step.seconds is not None:
        return [f"{path}.seconds: a pool's join() has no timeout"]
    if needs == "queue" and node.kind != "queue":
        return [f"{path}.target: {step.target!r} is a {node.kind}, not a queue"]
    if needs == "dict or list" and node.kind not in SHARED_KINDS:
        return [f"{path}.target: {step.target!r} is a {node.kind}, not a dict or list"]
    if step.op == "queue_join" and node.queue_type not in JOINABLE:
        return [f"{path}.target: only a JoinableQueue has join(); {step.target!r} is a {node.queue_type}"]
    return []


def _check_pool_steps(steps: list[Step], by_id: dict) -> list[str]:
    """A pool exists from its start step on: it is started once, then joined or terminated."""
    errors, started = [], set()
    for i, step in enumerate(steps):
        if step.op == "end":
            break
        node = by_id.get(step.target) if step.target else None
        if node is None or node.kind != "pool":
            continue
        if step.op == "start" and node.id in started:
            errors.append(f"scenario.steps[{i}].target: pool {node.id!r} is already started")
        elif step.op in ("join", "terminate") and node.id not in started:
            errors.append(f"scenario.steps[{i}].target: start pool {node.id!r} before you {step.op} it")
        started.add(node.id)
    return errors
