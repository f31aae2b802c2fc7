"""Random valid scenarios for property tests, and the message ledger that checks a run of one.

`scenarios()` is a hypothesis strategy for small pipelines that end by themselves in about a
second: one or two producers put (or send) a few items on a channel (``Queue``,
``JoinableQueue``, ``SimpleQueue``, a duplex or one-way pipe); optionally a worker passes them on
to a second channel; zero to two consumers get them. Put and get modes (block, timeout, nowait,
with drop or stop), sentinels, ``task_done``, echoes and replies on a duplex pipe, daemons, start
delays and main's steps (starts, sleeps, joins with or without a timeout, ``terminate``, sentinels,
``q.join()``) are drawn at random, with the start method (fork or spawn). Delays are hundredths of
a second; a run that blocks for good is stopped by the deadlock watch.

`account(scenario, events, final)` checks that every message put or sent is accounted for exactly once: got
(or received) exactly once, still inside its channel in the final snapshot, or lost (by the
feeder thread, held by a process that was killed, being sent by a sender that was killed, or
shown gone by what a later get reported), and that nothing is got that was never put or sent.
`benchmarks/accounting.py` and `test_accounting.py` share both.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from ipc.trace import Event
from simulator.fold import Timeline, apply
from simulator.recording import read_trace
from simulator.scenario import (JOINABLE, Consumer, Document, Link, Pace, PipeNode, Producer, QueueNode,
                                Scenario, Step, Worker)
from simulator.session import Run
from simulator.snapshot import Snapshot, initial_snapshot

CHANNEL_TYPES = ("Queue", "JoinableQueue", "SimpleQueue", "pipe", "one-way pipe")
RUN_TIMEOUT = 5  # seconds; then the run is stopped (one the deadlock watch cannot see as stuck)
DEADLOCK_GRACE = 0.5
SETTLED = ("delivered", "dropped", "lost")
SIGNALLED = ("terminated", "daemon_killed", "stopped")  # killed by a signal
KILLED = (*SIGNALLED, "failed")  # a process that did not finish

delays = st.sampled_from([0.0, 0.0, 0.01, 0.03])
timeouts = st.sampled_from([0.05, 0.1, 0.2])


# --------------------------------------------------------------------------- the strategy


@st.composite
def channels(draw, name: str):
    kind = draw(st.sampled_from(CHANNEL_TYPES))
    if kind.endswith("pipe"):
        return PipeNode(name, duplex=kind == "pipe")
    maxsize = 0 if kind == "SimpleQueue" else draw(st.integers(0, 3))
    return QueueNode(name, queue_type=kind, maxsize=maxsize)


def _queue(channel) -> bool:
    return channel.kind == "queue"


def _modes(channel) -> list[str]:
    """The put or get modes a channel allows: a pipe and a SimpleQueue only block."""
    if _queue(channel) and channel.queue_type != "SimpleQueue":
        return ["block", "timeout", "nowait"]
    return ["block"]


@st.composite
def producers(draw, name: str, out):
    return Producer(
        name,
        daemon=draw(st.booleans()),
        start_delay=draw(delays),
        items=draw(st.integers(1, 8)),
        interval=Pace(draw(delays)),
        put_mode=draw(st.sampled_from(_modes(out))),
        put_timeout=draw(timeouts),
        on_full=draw(st.sampled_from(["drop", "stop"])),
        sentinels=draw(st.integers(0, 2)) if _queue(out) else 0,
    )


@st.composite
def readers(draw, cls, name: str, inp, **extra):
    """A consumer or a worker reading `inp`; `extra` sets a worker's output fields."""
    get_mode = draw(st.sampled_from(_modes(inp)))
    daemon = draw(st.booleans())
    loops = ["forever", "until_sentinel", "count"] + (["while_not_empty"] if _queue(inp) else [])
    return cls(
        name,
        daemon=daemon,
        start_delay=draw(delays),
        loop=draw(st.sampled_from(loops)),
        count=draw(st.integers(0, 10)),
        get_mode=get_mode,
        get_timeout=draw(timeouts),
        # retrying for good ends only when main's exit kills the reader: daemons only, and
        # waiting between tries (a nowait retry would spin, flooding the trace)
        on_empty="retry" if daemon and get_mode == "timeout" and draw(st.booleans()) else "stop",
        work=Pace(draw(delays)),
        task_done=_queue(inp) and inp.queue_type in JOINABLE and draw(st.booleans()),
        **extra,
    )


def _ends(draw, channel) -> tuple[int | None, int | None]:
    """(the writers' end, the readers' end) of a pipe; (None, None) for a queue. A one-way
    pipe's end 2 sends and end 1 receives; a duplex pipe may be used either way round."""
    if _queue(channel):
        return None, None
    if channel.duplex and draw(st.booleans()):
        return 1, 2
    return 2, 1


@st.composite
def scenarios(draw) -> Scenario:
    """Producers P1 (and P2) -> c1 [-> worker W -> c2] -> zero to two consumers C1, C2; main's
    steps drawn (`main_steps`) or left to the default (start all, join the non-daemons)."""
    first = draw(channels("c1"))
    second = draw(channels("c2")) if draw(st.booleans()) else None
    nodes, links = [first], []
    put_end, get_end = _ends(draw, first)
    for i in range(draw(st.integers(1, 2))):
        nodes.append(draw(producers(f"P{i + 1}", first)))
        links.append(Link(f"P{i + 1}", "c1", "send" if put_end else "put", put_end))
    last, last_end = first, get_end
    if second is not None:
        out_end, last_end = _ends(draw, second)
        nodes += [second, draw(readers(Worker, "W", first, put_mode=draw(st.sampled_from(_modes(second))),
                                       put_timeout=draw(timeouts)))]
        links += [Link("W", "c1", "recv" if get_end else "get", get_end),
                  Link("W", "c2", "send" if out_end else "put", out_end)]
        last = second
    # two processes reading one pipe end at once could tear its messages: one reader per end
    for i in range(draw(st.integers(0, 1 if last.kind == "pipe" else 2))):
        consumer = draw(readers(Consumer, f"C{i + 1}", last))
        if last.kind == "pipe" and last.duplex and second is None and draw(st.booleans()):
            # it echoes every item back and stops; P1 (one reader per end) takes a few echoes back
            producer_1 = nodes[1]
            sent = sum(p.items for p in nodes if p.kind == "producer")
            consumer.echo, consumer.loop, consumer.count = True, "count", sent
            producer_1.replies = draw(st.integers(0, producer_1.items))
        nodes.append(consumer)
        links.append(Link(f"C{i + 1}", last.id, "recv" if last_end else "get", last_end))
    scenario = Scenario(title="random", start_method=draw(st.sampled_from(["fork", "spawn"])),
                        nodes=nodes, links=links)
    if draw(st.booleans()):
        scenario.steps = draw(main_steps(scenario))
    return scenario


@st.composite
def main_steps(draw, scenario: Scenario) -> list[Step]:
    """Start every process in a random order, with sleeps, sentinels, q.join()s, and terminates
    and joins (each after its target's start), in between; then end (main's exit joins or kills
    whatever is left)."""
    steps = [Step("start", p.id) for p in draw(st.permutations(scenario.processes()))]
    for step in draw(st.lists(extra_steps(scenario), max_size=4)):
        after = steps.index(Step("start", step.target)) + 1 if step.op in ("terminate", "join") else 0
        steps.insert(draw(st.integers(after, len(steps))), step)
    return steps + [Step("end")]


@st.composite
def extra_steps(draw, scenario: Scenario) -> Step:
    """A step of main's besides the starts. A daemon may retry for good (see `readers`): main
    joins one with a timeout only."""
    queues = [c for c in scenario.channels() if c.kind == "queue"]
    ops = ["sleep", "terminate", "join"] + ["sentinels"] * bool(queues)
    ops += ["queue_join"] * any(q.queue_type in JOINABLE for q in queues)
    op = draw(st.sampled_from(ops))
    if op == "sleep":
        return Step("sleep", seconds=draw(st.sampled_from([0.01, 0.05, 0.1])))
    if op == "sentinels":
        return Step("sentinels", draw(st.sampled_from([q.id for q in queues])), count=draw(st.integers(1, 2)))
    if op == "queue_join":
        return Step("queue_join", draw(st.sampled_from([q.id for q in queues if q.queue_type in JOINABLE])))
    process = draw(st.sampled_from(scenario.processes()))
    if op == "terminate":
        return Step("terminate", process.id)
    return Step("join", process.id, draw(st.sampled_from([0.1, 0.3] + [None] * (not process.daemon))))


# --------------------------------------------------------------------------- running


@dataclass
class Checked:
    """One scenario run for real, and what its accounting found."""

    outcome: str
    events: int
    ledger: "Ledger"


def run_and_account(scenario: Scenario) -> Checked:
    """Run `scenario` in real processes (watched for deadlocks), read its trace back, fold it,
    and account for every message."""
    with tempfile.TemporaryDirectory(prefix="ipcsim-accounting-") as tmp:
        trace = Path(tmp) / "run.ipctrace"
        run = Run(Document(scenario), trace, deadlock_grace=DEADLOCK_GRACE)
        run.start()
        outcome = run.wait(RUN_TIMEOUT)
        events = read_trace(trace).events
    final = Timeline(scenario, events).final()
    return Checked(outcome, len(events), account(scenario, events, final))


# --------------------------------------------------------------------------- the ledger


@dataclass
class Ledger:
    """Every message that entered a channel, sorted by where it ended; `problems` lists each
    message accounted for zero or several times, or inconsistently (empty when all is well)."""

    messages: int = 0  # ids put or sent (or being sent): delivered + in_channels + lost
    delivered: int = 0  # got (or received) exactly once, by a process that was done with it
    in_channels: int = 0  # still inside their channel at the end
    lost: int = 0  # got by a process killed while holding it, lost by a feeder thread, being
    #                sent by a killed sender, or taken by a process killed before reporting it
    dropped: int = 0  # puts that failed (Full), sends that raised: never entered a channel
    problems: list[str] = field(default_factory=list)


def settled_by_fold(scenario: Scenario, events: list[Event]) -> dict[str, str]:
    """How the fold settled each message (``delivered``, ``dropped``, ``lost``), found by folding
    the events one at a time and watching which messages leave `Snapshot.messages` as which
    counter grows. A message that leaves from inside a channel can only be lost (a get showed it
    gone), which tells apart those an event settles as lost from the one it settles otherwise (a
    get can do both: see `simulator.fold._take_in_order`). A message settled twice, or by an
    event that settles several messages in a way these rules cannot tell, is reported as
    ``ambiguous``; a message counted lost that comes back (received after all) is unsettled."""
    snap = initial_snapshot(scenario)
    settled: dict[str, str] = {}
    for e in events:
        before, counts = dict(snap.messages), dict(snap.counts)
        apply(snap, e)
        for mid in snap.messages.keys() - before.keys():  # back: lost with its sender, then received
            if settled.pop(mid, None) == "lost":
                counts["lost"] -= 1
        gone = before.keys() - snap.messages.keys()
        grew = {k: snap.counts[k] - counts[k] for k in SETTLED if snap.counts[k] != counts[k]}
        if not gone and not grew:
            continue
        from_inside = {mid for mid in gone if before[mid].where in ("queue", "pipe")}
        if from_inside and grew.get("lost", 0) >= len(from_inside):
            for mid in from_inside:
                settled[mid] = "ambiguous" if mid in settled else "lost"
            gone -= from_inside
            grew["lost"] -= len(from_inside)
            grew = {k: n for k, n in grew.items() if n}
            if not gone and not grew:
                continue
        outcome = next(iter(grew)) if len(grew) == 1 and sum(grew.values()) == len(gone) else "ambiguous"
        for mid in gone:
            settled[mid] = "ambiguous" if mid in settled else outcome
    return settled


def account(scenario: Scenario, events: list[Event], final: Snapshot) -> Ledger:
    """Check, from the raw events and the final snapshot, that every message put or sent is
    accounted for exactly once."""
    ledger = Ledger()
    problem = ledger.problems.append
    entered: dict[str, Event] = {}
    called: dict[str, Event] = {}  # send_called: the sends begun
    got: dict[str, Event] = {}
    feeder_lost: set[str] = set()
    for e in events:
        if e.kind in ("message_put", "message_sent"):
            if e.message in entered:
                problem(f"{e.message}: put twice")
            entered[e.message] = e
        elif e.kind == "send_called":
            called[e.message] = e
        elif e.kind in ("message_got", "message_received"):
            put = entered.get(e.message) or called.get(e.message)
            if e.message in got:
                problem(f"{e.message}: got twice (by {got[e.message].process} and {e.process})")
            elif put is None:
                problem(f"{e.message}: got by {e.process} but never put (or got before it was put)")
            elif put.object != e.object:
                problem(f"{e.message}: put on {put.object}, got from {e.object}")
            got[e.message] = e
        elif e.kind == "put_failed":
            if (e.detail or {}).get("lost"):
                feeder_lost.add(e.message)
            else:
                ledger.dropped += 1

    inside = Counter()  # message id -> how many times the final snapshot has it in a channel
    where: dict[str, str] = {}
    for ch in final.channels.values():
        for mid in [*ch.contents, *(m for ids in ch.in_flight.values() for m in ids)]:
            inside[mid] += 1
            where[mid] = ch.name
    settled = settled_by_fold(scenario, events)
    killed = any(p.state in KILLED for p in final.processes.values())
    for mid, call in called.items():
        if mid in entered:
            continue
        if mid in got:  # its sender was killed after writing it: the receipt confirms the send
            entered[mid] = call
            continue
        outcome, sender = settled.get(mid), final.processes[call.process]
        if outcome == "dropped":
            ledger.dropped += 1
        elif outcome == "lost" and sender.state in KILLED and not inside[mid]:
            ledger.messages += 1
            ledger.lost += 1
        else:
            problem(f"{mid}: sent by {call.process} ({sender.state}), never confirmed, then {outcome}")

    for mid, put in entered.items():
        ledger.messages += 1
        in_channel, outcome = inside[mid], settled.get(mid)
        if in_channel > 1:
            problem(f"{mid}: {in_channel} times inside channels at the end")
        if mid in got:
            getter = final.processes[got[mid].process]
            if in_channel:
                problem(f"{mid}: got by {getter.name}, yet still inside {where[mid]} at the end")
            elif outcome == "lost" and getter.state not in KILLED:
                problem(f"{mid}: lost, but its getter {getter.name} ended {getter.state}")
            elif outcome not in ("delivered", "lost"):
                problem(f"{mid}: got by {getter.name} ({getter.state}), then {outcome or 'never settled'}")
            ledger.delivered += outcome == "delivered"
            ledger.lost += outcome == "lost"
        elif mid in feeder_lost:
            ledger.lost += 1
            if in_channel or outcome != "lost":
                problem(f"{mid}: lost by the feeder thread, yet {outcome or 'inside ' + where.get(mid, '?')}")
        elif outcome == "lost" and not in_channel:
            # shown gone by a later get (see simulator.fold._take_in_order and _found_empty)
            ledger.lost += 1
            if not killed:
                problem(f"{mid}: put by {put.process} on {put.object}, lost, but no process was killed")
        elif in_channel:
            ledger.in_channels += 1
            if where[mid] != put.object:
                problem(f"{mid}: put on {put.object}, found inside {where[mid]}")
            state = final.messages.get(mid)
            if state is None or state.where not in ("queue", "pipe") or state.at != put.object:
                problem(f"{mid}: inside {where[mid]}, but the snapshot's message says {state}")
        else:
            problem(f"{mid}: put by {put.process} on {put.object}, never got, not inside it, not lost"
                    f" (fold: {outcome})")
    for mid in inside.keys() - entered.keys():
        problem(f"{mid}: inside {where[mid]} at the end, but never put")
    for mid, state in final.messages.items():
        if state.where == "held":
            problem(f"{mid}: still held by {state.at} after the run ended")
    counts = final.counts
    if counts["put"] + counts["sent"] != len(entered) or counts["got"] + counts["received"] != len(got):
        problem(f"counts {counts} disagree with the events: {len(entered)} put or sent, {len(got)} got")
    return ledger
