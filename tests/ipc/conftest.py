"""A traced run for tests: a Collector attached to this process, and its events so far."""

from __future__ import annotations

import time

import pytest

import ipc
from ipc.trace import Collector, Event


class TraceLog:
    """Everything a collector has delivered, with waits that never sleep blindly."""

    def __init__(self, collector: Collector):
        self.collector = collector
        self.events: list[Event] = []
        self.ended: list = []

    def _pull(self) -> None:
        batch = self.collector.drain()
        self.events.extend(batch.events)
        self.ended.extend(batch.ended)

    def wait_for(self, predicate, timeout: float = 20.0):
        """Wait until `predicate(self)` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            self._pull()
            value = predicate(self)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting; last events: {self.kinds()[-15:]}")
            self.collector.wait(min(remaining, 0.5))

    def of(self, *kinds: str, obj: str | None = None) -> list[Event]:
        self._pull()
        return [e for e in self.ordered() if e.kind in kinds and (obj is None or e.object == obj)]

    def ordered(self) -> list[Event]:
        return sorted(self.events, key=lambda e: (e.t_ns, e.pid, e.seq))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.ordered()]


@pytest.fixture
def trace():
    with Collector() as collector:
        ipc.trace.attach(collector.address)
        try:
            yield TraceLog(collector)
        finally:
            ipc.trace.detach()


@pytest.fixture(params=["fork", "spawn"])
def ctx(request):
    return ipc.get_context(request.param)
