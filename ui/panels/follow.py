"""The base of the bottom-area panels: follow a `RunController`'s timeline incrementally.

A panel takes the timeline's events as they come, through a `simulator.fold.Reader`: almost
always events appended at the end (the panel takes just those), rarely an event that arrived late
and was sorted in before some the panel had already taken (the panel rewinds to that point, then
takes everything after it). It keeps no events of its own (a long run's are in the timeline's
compact store), only what it shows of them. A new run or a loaded trace resets it. Each frame,
it moves its playhead marker.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from simulator.event_store import EventStore
from simulator.fold import Reader
from ui.run_controller import RunController


TAKE_CHUNK = 16_384  # events a panel takes at a time (an opened trace's: never all as objects at once)


class TimelinePanel(QWidget):
    """Subclasses implement `reset`, `rewind`, `take` and `show_playhead`, and call `follow()`
    at the end of their constructor."""

    def __init__(self, controller: RunController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._reader: Reader | None = None

    @property
    def events(self) -> EventStore:
        """The timeline's events (none without a timeline)."""
        timeline = self.controller.timeline
        return timeline.events if timeline is not None else EventStore()

    def follow(self) -> None:
        self.controller.timeline_replaced.connect(self._replaced)
        self.controller.events_added.connect(self._catch_up)
        self.controller.frame.connect(self._frame)
        self._replaced()

    @property
    def started_ns(self) -> int:
        return self.controller.started_ns

    def seconds(self, t_ns: int) -> float:
        """A moment as seconds since the run started."""
        return (t_ns - self.controller.started_ns) / 1e9

    # -- to implement

    def reset(self) -> None:
        """Forget everything: a new (possibly empty) timeline follows."""
        raise NotImplementedError

    def rewind(self, first: int) -> None:
        """Forget what came from events at index `first` and later (they moved)."""
        raise NotImplementedError

    def take(self, first: int, stop: int) -> None:
        """Show `self.events[first:stop]`, new since the last call."""
        raise NotImplementedError

    def show_playhead(self, t_ns: int) -> None:
        raise NotImplementedError

    # -- following

    def _replaced(self) -> None:
        timeline = self.controller.timeline
        self._reader = timeline.reader() if timeline is not None else None
        self.reset()
        self._catch_up()
        self._frame()

    def _catch_up(self, _count: int = 0) -> None:
        reader, events = self._reader, self.events
        if reader is None:
            return
        first = reader.taken
        cut = reader.take(len(events))
        if cut is not None:
            self.rewind(cut)
            first = cut
        for start in range(first, len(events), TAKE_CHUNK):
            self.take(start, min(start + TAKE_CHUNK, len(events)))

    def _frame(self) -> None:
        if self.controller.timeline is not None:
            self.show_playhead(self.controller.playhead)
