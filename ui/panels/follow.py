"""The base of the bottom-area panels: follow a `RunController`'s timeline incrementally.

A panel keeps its own copy of the events it has seen. When the controller reports new events it
works out what changed: almost always events appended at the end (the panel takes just those),
rarely an event that arrived late and was sorted in before some the panel had already taken
(the panel rewinds to that point, then takes everything after it). A new run or a loaded trace
resets it. Each frame, it moves its playhead marker.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ipc.trace import Event
from ui.run_controller import RunController


def unchanged_prefix(seen: list[Event], events: list[Event]) -> int:
    """How many of `seen` are still the first events of `events` (compared by identity).

    Events only ever get inserted, so once a position differs every later one does too: a
    binary search finds the first difference."""
    n = min(len(seen), len(events))
    if n == len(seen) and (n == 0 or events[n - 1] is seen[n - 1]):
        return n
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if events[mid] is seen[mid]:
            lo = mid + 1
        else:
            hi = mid
    return lo


class TimelinePanel(QWidget):
    """Subclasses implement `reset`, `rewind`, `take` and `show_playhead`, and call `follow()`
    at the end of their constructor."""

    def __init__(self, controller: RunController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.events: list[Event] = []  # the timeline's events as this panel has taken them

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
        """Forget what came from events at index `first` and later (`self.events` still holds
        them while this runs)."""
        raise NotImplementedError

    def take(self, first: int) -> None:
        """Show `self.events[first:]`, new since the last call."""
        raise NotImplementedError

    def show_playhead(self, t_ns: int) -> None:
        raise NotImplementedError

    # -- following

    def _replaced(self) -> None:
        self.events = []
        self.reset()
        self._catch_up()
        self._frame()

    def _catch_up(self, _count: int = 0) -> None:
        timeline = self.controller.timeline
        events = timeline.events if timeline is not None else []
        first = unchanged_prefix(self.events, events)
        if first < len(self.events):
            self.rewind(first)
            del self.events[first:]
        if len(events) > first:
            self.events.extend(events[first:])
            self.take(first)

    def _frame(self) -> None:
        if self.controller.timeline is not None:
            self.show_playhead(self.controller.playhead)
