"""The event store: a sorted sequence of events, sealed in compressed blocks, that reads back
exactly what was added, wherever late events land."""

from __future__ import annotations

import random

import pytest

from ipc.trace import Event
from simulator import event_store
from simulator.event_store import EventStore


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(event_store, "BLOCK", 4)
    monkeypatch.setattr(event_store, "CACHED_BLOCKS", 2)
    monkeypatch.setattr(event_store, "TAIL_BLOCKS", 1)


def event(t_ns: int, pid: int = 1, seq: int = 1) -> Event:
    return Event(t_ns, pid, seq, f"P{pid}", "message_put", "q", f"{pid}:{seq}",
                 {"preview": f"item {t_ns}", "n": [t_ns, None, 1.5, True]})


def test_reads_back_what_was_added_in_order_with_late_events_anywhere():
    rng = random.Random(3)
    store, reference = EventStore(), []
    for seq in range(1, 200):
        batch = sorted(event(rng.randint(0, 5_000), pid=rng.randint(1, 3), seq=seq * 10 + k)
                       for k in range(rng.randint(1, 6)))
        expected_first = len(reference)
        if reference and batch[0] < reference[-1]:
            expected_first = sum(1 for e in reference if e.t_ns < batch[0].t_ns)
        reference = sorted(reference + batch)
        assert store.add(batch) == expected_first
        store.seal_before(len(store) - 3)  # (as a timeline does, behind its checkpoints)
        assert len(store) == len(reference)
    assert list(store) == reference
    assert store[:] == reference
    for _ in range(300):
        a, b = sorted(rng.randrange(len(reference) + 1) for _ in range(2))
        assert store[a:b] == reference[a:b]
        assert store[a - len(reference)] == reference[a - len(reference)]
        t = rng.randint(-1, 5_001)
        assert store.count_until(t) == sum(1 for e in reference if e.t_ns <= t)
        assert store.count_before(t) == sum(1 for e in reference if e.t_ns < t)
    assert [store.time(i) for i in range(len(store))] == [e.t_ns for e in reference]


def test_seals_all_but_the_newest_blocks_compactly_when_told():
    store = EventStore()
    for i in range(0, 100, 10):
        store.add([event(t) for t in range(i, i + 10)])
        store.seal_before(len(store))
    assert len(store._tail) < (event_store.TAIL_BLOCKS + 1) * event_store.BLOCK
    assert len(store._blocks) * event_store.BLOCK + len(store._tail) == 100
    assert len(store._cache) <= event_store.CACHED_BLOCKS
    assert store[3] == event(3) and store[-1] == event(99)


def test_rejects_what_a_list_would():
    store = EventStore()
    store.add([event(1), event(2)])
    with pytest.raises(IndexError):
        store[2]
    assert store[::-1] == [event(2), event(1)]  # and slices as a list does
    assert store.add([]) == 2


def test_where_finds_the_events_with_given_fields_sealed_or_not():
    store = EventStore()
    events = [Event(t, t % 3, t, f"P{t % 3}", ("put", "get")[t % 2], "q" if t % 5 else "r", None, None)
              for t in range(50)]
    store.add(events[:30])
    store.add(events[30:])
    store.seal_before(40)
    store[1]  # one block decoded (cached), the others read as they are
    for fields in ({"kind": "put"}, {"process": "P1", "object": "r"}, {"kind": "nothing"}, {"seq": 7}):
        expected = [i for i, e in enumerate(events) if all(getattr(e, f) == v for f, v in fields.items())]
        assert list(store.where(0, 50, **fields)) == expected
        assert list(store.where(9, 17, **fields)) == [i for i in expected if 9 <= i < 17]


def test_values_are_those_of_the_events_in_range_sealed_or_not(monkeypatch):
    monkeypatch.setattr(event_store, "BLOCK", 4)
    monkeypatch.setattr(event_store, "TAIL_BLOCKS", 1)
    store = EventStore()
    events = [Event(t, t, t, f"P{t % 5}", "put", None if t % 3 else "q", None, None) for t in range(30)]
    store.add(events)
    store.seal_before(len(store))
    assert store._blocks  # (some sealed: their values come from the blocks' sets)
    for start, stop in ((0, 30), (0, 8), (3, 9), (10, 11), (17, 30), (5, 5)):
        assert store.values("process", start, stop) == {e.process for e in events[start:stop]}
        assert store.values("object", start, stop) == {e.object for e in events[start:stop]}
