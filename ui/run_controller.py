"""Runs and replays, seen by the GUI: a growing `Timeline` and a playhead.

The picture is always ``timeline.state_at(playhead)``: live, paused, stepped, scrubbed or
replayed from a file, one code path. Live, the playhead follows real time; paused, it stays
where it is while the run goes on recording; playing (a replay, or after a pause), it advances
at the chosen speed until it catches up with the present.

The GUI thread never waits on a process or a pipe: the run is recorded by a process of its own
(`simulator.recorder`), whose frames of events a reader thread puts in an inbox, still encoded;
a frame timer (30 per second) decodes them and moves the events into the timeline in chunks,
within a time budget; a watcher thread waits for the run to end.
"""

from __future__ import annotations

import bisect
import gc
import threading
import time
from collections import deque
from operator import attrgetter
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ipc.trace import Event
from simulator.fold import Snapshot, Timeline
from simulator.recording import Recording, read_trace
from simulator.scenario import Document
from simulator.recorder import Frame, RecordedRun

FRAME_MS = 33
APPLY_BUDGET_S = 0.007  # of decoding and folding per frame: a flood is folded in over several, never dropped
APPLY_CHUNK = 200  # events folded between two looks at the clock
TIDY_S = 0.003  # of retiring checkpoints per frame (see Timeline.tidy), out of the budget
HOLD_NS = 50_000_000  # live, the newest 50 ms of events wait for late ones (see _ready),
MAX_HOLD_NS = 5_000_000_000  # or longer, up to 5 s, once late ones have been seen (60 busy
# processes on 2 cores hold some up for seconds between stamping an event and publishing it)
DEADLOCK_GRACE_S = 0.5  # a deadlock that holds this long with no new event stops the run
_t_ns = attrgetter("t_ns")


def outcome_words(outcome: str) -> str:
    """How a run's outcome reads after "the run": finished, failed, stopped, deadlocked..."""
    return {"deadlock": "deadlocked", "timeout": "timed out"}.get(outcome, outcome)


def _full_collections(allowed: bool) -> None:
    """Let the garbage collector make full collections, or not, process-wide. A live run keeps
    hundreds of thousands of objects alive (events not sealed yet, a deep queue's messages in
    each checkpoint) and every full collection walks them all: 0.1-0.3 s in a flood, a dozen
    times, 0.2-0.7 s at 800,000 events. Yet a run makes next to no cyclic garbage (42 objects
    in a 200,000-event flood, none of them old), so while one is live there is none: young
    collections go on. Full ones are allowed again once the run has ended, or is stopped."""
    young, middle, old = gc.get_threshold()
    if (old < _NEVER) != allowed:
        gc.set_threshold(young, middle, _FULL_EVERY if allowed else _NEVER)


_FULL_EVERY, _NEVER = gc.get_threshold()[2], 1 << 30


class RunController(QObject):
    frame = Signal()  # the playhead moved or the timeline grew: redraw
    events_added = Signal(int)  # how many events were appended to the timeline
    timeline_replaced = Signal()  # a new run or a loaded trace
    state_changed = Signal()  # mode changed: idle, live, paused, playing, finished
    run_finished = Signal(str)  # the outcome of a live run

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.timeline: Timeline | None = None
        self.document: Document | None = None
        self.run: RecordedRun | None = None
        self.started_ns = 0
        self.playhead = 0
        self.speed = 1.0
        self.mode = "idle"  # "live", "paused", "playing", "idle" (nothing loaded)
        self.outcome: str | None = None
        self.trace_path: Path | None = None
        self._inbox: deque[Frame] = deque()  # as received
        self._arriving: list[Event] = []  # a delivery's frames taken from the inbox, before its last
        self._pending: list[Event] = []  # whole deliveries, in time order, not yet in the timeline
        self._complete = 0  # every event stamped before this moment has been taken (nearly always)
        self._hold_ns = HOLD_NS
        self._outcome_box: deque[str] = deque()
        self._last_tick = time.monotonic_ns()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self.frame_times: list[float] = []  # seconds spent in each tick (for the benchmark)
        self._state_key: tuple | None = None  # what `_state` is the state of
        self._state: Snapshot | None = None

    # -- queries

    @property
    def live(self) -> bool:
        return self.run is not None and self.outcome is None

    @property
    def end_ns(self) -> int:
        """The latest moment there is: now while live, else the last event."""
        if self.live:
            return time.monotonic_ns()
        return self.timeline.end_ns if self.timeline and len(self.timeline) else self.started_ns

    def state(self) -> Snapshot | None:
        """The state at the playhead, for drawing (read it, never change it). Every panel that
        draws a frame asks: the fold runs once per playhead and timeline."""
        if self.timeline is None:
            return None
        key = (self.timeline, len(self.timeline), self.playhead)  # (a timeline only grows)
        if self._state_key != key:
            self._state_key, self._state = key, self.timeline.state_at(self.playhead, shared=True)
        return self._state

    def elapsed(self) -> float:
        return (self.playhead - self.started_ns) / 1e9

    # -- running

    def start(self, document: Document, trace_path: Path | None = None) -> None:
        self.stop()
        self.document = document
        self.timeline = Timeline(document.scenario)
        self._inbox.clear()
        self._arriving.clear()
        self._pending.clear()
        self._complete = 0
        self._hold_ns = HOLD_NS
        self._outcome_box.clear()
        self.outcome = None
        self.run = RecordedRun(document, trace_path, on_frame=self._inbox.append, deadlock_grace=DEADLOCK_GRACE_S)
        self.run.start()
        self.trace_path = self.run.trace_path
        self.started_ns = self.run.started_ns
        self.playhead = self.started_ns
        self.mode = "live"
        threading.Thread(target=self._watch, args=(self.run,), name="run-watcher", daemon=True).start()
        self.timeline_replaced.emit()
        gc.collect()  # the previous run's garbage (its timeline, let go of by the panels), while it may
        _full_collections(False)
        self.state_changed.emit()
        self.timer.start()

    def _watch(self, run: RecordedRun) -> None:
        self._outcome_box.append(run.wait())  # blocks this thread only

    def stop(self) -> None:
        """Kill the run's processes (never blocks); the trace stays browsable."""
        if self.live:
            self.run.request_stop()
            _full_collections(True)  # (whoever stops a run may not see it end: a closed window)

    def load_trace(self, path: Path) -> Recording:
        """Open a recorded run to replay it; raises `recording.TraceError` if it cannot be read."""
        recording = read_trace(path)
        self.stop()
        self.run = None
        self.document = recording.document
        self.timeline = recording.timeline  # (the panels take its events as it is replaced)
        self.started_ns = recording.started_ns
        self.playhead = self.started_ns
        self.outcome = "loaded"
        self.trace_path = Path(path)
        self.mode = "paused"
        self.timeline_replaced.emit()
        self.state_changed.emit()
        self.timer.start()
        self.frame.emit()
        return recording

    def close(self) -> None:
        """Forget the run (when the scenario is edited); stops it first."""
        self.stop()
        self.timer.stop()
        self.timeline = None
        self.run = None
        self.mode = "idle"
        self.timeline_replaced.emit()
        self.state_changed.emit()

    # -- the playhead

    def pause(self) -> None:
        if self.mode in ("live", "playing"):
            self.mode = "paused"
            self.state_changed.emit()

    def play(self) -> None:
        """Advance at `speed` from here (catching up with a live run, then following it)."""
        if self.timeline is None:
            return
        if self.playhead >= self.end_ns and not self.live:
            self.playhead = self.started_ns  # replay from the start
        self.mode = "playing"
        self._last_tick = time.monotonic_ns()
        self.state_changed.emit()

    def go_live(self) -> None:
        if self.live:
            self.mode = "live"
            self.state_changed.emit()

    def seek(self, t_ns: int) -> None:
        if self.timeline is None:
            return
        self.playhead = max(self.started_ns, min(int(t_ns), self.end_ns))
        if self.mode in ("live", "playing"):
            self.mode = "paused"
            self.state_changed.emit()
        self.frame.emit()

    def step(self, direction: int = 1) -> None:
        """Pause and move to the next (or previous) event."""
        if self.timeline is None or not len(self.timeline):
            return
        self._take_inbox()
        if direction > 0:
            target = self.timeline.next_time(self.playhead)
        else:
            target = self.timeline.previous_time(self.playhead)
        self.pause()
        if target is not None:
            self.seek(target)

    def set_speed(self, speed: float) -> None:
        self.speed = max(0.1, min(4.0, speed))

    # -- the frame

    def _take_inbox(self, budget_s: float | None = None, flush: bool = True) -> int:
        """Move received events into the timeline, in chunks: all of them, or as many chunks as
        fit in `budget_s` seconds of decoding and folding (the rest wait for the next frame, in
        order); then the panels take them, all at once (`events_added`).

        The collector delivers what it read from every process in one look, process by process,
        so a later delivery may hold events stamped before some of this one's; folding one of
        those after later ones makes the timeline fold that stretch again. So deliveries are
        sorted in as they are taken, and only what is older than their `complete_ns`, by a
        margin, is folded (see `_ready`); with `flush`, all of it once the inbox is empty."""
        started = time.perf_counter()
        taken = 0
        while True:
            step_started = time.perf_counter()
            ready = self._ready(flush)
            if ready:
                batch = self._pending[:min(ready, APPLY_CHUNK)]
                del self._pending[:len(batch)]
                self.timeline.extend(batch)
                taken += len(batch)
            elif self._inbox:
                frame = self._inbox.popleft()
                self._arriving += frame.events()
                if frame.complete_ns is not None:
                    self._sort_in(frame.complete_ns)
            elif flush and self._arriving:  # a delivery cut short: the recorder died sending it
                self._sort_in(self._complete)
            else:
                break
            now = time.perf_counter()
            if budget_s is not None and now + (now - step_started) - started > budget_s:
                break  # another step like this one would not fit
        if taken:  # the panels take them all at once: much of their work is per batch
            self.events_added.emit(taken)
        return taken

    def _sort_in(self, complete_ns: int) -> None:
        """A whole delivery has arrived: into the pending events, in time order; what it vouches
        for (`complete_ns`) can be folded, held back by `_hold_ns`."""
        arriving, self._arriving = self._arriving, []
        if arriving:  # stamped before what earlier deliveries vouched complete: late
            late = self._complete - min(arriving).t_ns
            if late > 0:  # a busy machine held a process back: wait that long from now on
                self._hold_ns = min(MAX_HOLD_NS, max(self._hold_ns, 2 * late))
            self._pending += arriving
            self._pending.sort()  # tuples starting (t_ns, pid, seq): time order
        self._complete = max(self._complete, complete_ns)

    def _ready(self, flush: bool) -> int:
        """How many of the pending events can be folded in now: those stamped `_hold_ns` before
        the moment the deliveries taken vouch that nothing earlier is to come (a quiet run's
        recorder vouches on, and one held up on a busy machine does not: the window never
        guesses). The hold grows to twice the lateness seen (up to `MAX_HOLD_NS`): a live
        picture is at most a frame and that wait behind what the processes reported."""
        pending = self._pending
        if not pending or (flush and not self._inbox and not self._arriving):
            return len(pending)
        return bisect.bisect_right(pending, self._complete - self._hold_ns, key=_t_ns)

    @property
    def backlog(self) -> int:
        """Events received but not yet folded in (a flood being caught up with)."""
        return sum(frame.count for frame in list(self._inbox)) + len(self._arriving) + len(self._pending)

    def tick(self) -> None:
        if self.timeline is None:
            return
        started = time.perf_counter()
        now = time.monotonic_ns()
        ended = bool(self._outcome_box)  # then every event of the run is in the inbox
        self.timeline.tidy(TIDY_S)  # (the fold leaves it to the frames; within the budget)
        self._take_inbox(APPLY_BUDGET_S - (time.perf_counter() - started), flush=ended)
        if ended and not self._inbox and not self._arriving and not self._pending:
            self.outcome = self._outcome_box.popleft()
            _full_collections(True)
            if self.mode == "live":
                self.mode = "paused"
                self.playhead = self.timeline.end_ns
            self.run_finished.emit(self.outcome)
            self.state_changed.emit()
        if self.mode == "live":
            # following the present, or the latest event folded in while catching up
            self.playhead = now if not self._inbox else self.timeline.end_ns
        elif self.mode == "playing":
            self.playhead += int((now - self._last_tick) * self.speed)
            if self.playhead >= self.end_ns:
                self.playhead = self.end_ns
                self.mode = "live" if self.live else "paused"
                self.state_changed.emit()
        self._last_tick = now
        self.frame.emit()
        self.frame_times.append(time.perf_counter() - started)
