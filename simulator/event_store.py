"""A run's events in time order, held compactly so that a long run fits in memory.

An `Event` as Python objects costs ~400 bytes (a tuple, a detail dict, its strings); an hour at
10,000 events/s is 36 M of them. So the store keeps only its newest events as objects (the
*tail*, `TAIL_BLOCKS` blocks or a few seconds of a busy run: where late events land) and seals
older ones in blocks of `BLOCK` events, each one
``zlib.compress(marshal.dumps(...))``: ~12 bytes per event. A sealed block is decoded again
when someone reads into it (a seek folds from a checkpoint, the event log shows a row), and the
few blocks decoded last are kept (`CACHED_BLOCKS`). The times of all events stay in an array
(8 bytes each) so that finding the events up to a moment decodes nothing.

Events are added in time order (see `simulator.fold.sort_key`); one that arrives late is sorted
into its place, unsealing the blocks it lands in (late events are recent ones: the tail, rarely
more). Blocks are sealed when the owner says they may be (`seal_before`).
"""

from __future__ import annotations

import bisect
import marshal
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from itertools import starmap
from operator import itemgetter

from ipc.trace import Event

BLOCK = 2048  # events per sealed block: one decodes in a few milliseconds
TAIL_BLOCKS = 16  # blocks of the newest events kept as objects: a late event lands among them
CACHED_BLOCKS = 8  # decoded blocks kept
_LEVEL = 1  # zlib's fastest: 12 bytes per event against 11 at the default level, 3x faster
_INDEXED = tuple(Event._fields.index(name) for name in ("process", "kind", "object"))  # see `where`


def seal(events: list[Event]) -> bytes:
    """`events` as compact bytes (see the module's docstring); `unseal` gives them back."""
    return zlib.compress(marshal.dumps([tuple(e) for e in events]), _LEVEL)


def unseal(block: bytes) -> list[Event]:
    return list(starmap(Event, marshal.loads(zlib.decompress(block))))


class EventStore(Sequence):
    """A sequence of events in time order: ``len``, ``store[i]``, ``store[a:b]`` (a list),
    iteration; `add` puts new events in their place."""

    def __init__(self):
        self._blocks: list[bytes] = []
        self._values: list[dict[int, frozenset]] = []  # per block, the values of each INDEXED field
        self._tail: list[Event] = []  # the events after the sealed ones
        self._times = array("q")  # every event's t_ns
        self._cache: OrderedDict[int, list[Event]] = OrderedDict()
        self._size = BLOCK  # (read once: a store's blocks all have one size)

    def __len__(self) -> int:
        return len(self._times)

    @property
    def _sealed(self) -> int:
        return len(self._blocks) * self._size

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return [self[j] for j in range(start, stop, step)]
            return self._slice(start, stop)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("event index out of range")
        sealed = self._sealed
        if i >= sealed:
            return self._tail[i - sealed]
        return self._block(i // self._size)[i % self._size]

    def _slice(self, start: int, stop: int) -> list[Event]:
        out: list[Event] = []
        sealed = self._sealed
        while start < min(stop, sealed):
            k, offset = divmod(start, self._size)
            taken = self._block(k)[offset:min(stop - k * self._size, self._size)]
            out += taken
            start += len(taken)
        if start < stop:
            out += self._tail[start - sealed:stop - sealed]
        return out

    def __iter__(self) -> Iterator[Event]:
        for k in range(len(self._blocks)):
            yield from self._block(k)
        yield from list(self._tail)

    def where(self, start: int, stop: int, **fields) -> Iterator[int]:
        """The indices, from `start` to `stop`, of the events whose named fields have the given
        values (e.g. ``kind="message_put"``). Reads sealed blocks as plain tuples, and skips a
        block none of whose events has a wanted process, kind or object."""
        wanted = [(Event._fields.index(name), value) for name, value in fields.items()]
        size, sealed = self._size, self._sealed
        for k in range(start // size, min(len(self._blocks), -(-stop // size))):
            events = self._cache.get(k)
            if events is None:
                values = self._values[k]  # (a field not indexed: never skipped)
                if any(value not in values.get(i, (value,)) for i, value in wanted):
                    continue
                events = marshal.loads(zlib.decompress(self._blocks[k]))
            first = k * size
            for j in range(max(start, first), min(stop, first + size)):
                record = events[j - first]
                if all(record[i] == value for i, value in wanted):
                    yield j
        for j in range(max(start, sealed), stop):
            record = self._tail[j - sealed]
            if all(record[i] == value for i, value in wanted):
                yield j

    def values(self, name: str, start: int, stop: int) -> set:
        """The values an indexed field (see `where`) takes in the events from `start` to `stop`;
        a whole sealed block's are known without decoding it."""
        i, size, out = Event._fields.index(name), self._size, set()
        while start < stop:
            k = start // size
            end = min(stop, (k + 1) * size)
            if start == k * size and end == start + size and k < len(self._blocks):
                out |= self._values[k][i]
            else:
                out.update(e[i] for e in self[start:end])
            start = end
        return out

    def _block(self, k: int) -> list[Event]:
        events = self._cache.get(k)
        if events is None:
            events = unseal(self._blocks[k])
            self._remember(k, events)
        else:
            self._cache.move_to_end(k)
        return events

    def _remember(self, k: int, events: list[Event]) -> None:
        """Keep block `k` decoded, forgetting the one read longest ago if too many are."""
        self._cache[k] = events
        if len(self._cache) > CACHED_BLOCKS:
            self._cache.popitem(last=False)

    # -- times

    def time(self, i: int) -> int:
        return self._times[i]

    def count_until(self, t_ns: int) -> int:
        """How many events happened at or before `t_ns`."""
        return bisect.bisect_right(self._times, t_ns)

    def count_before(self, t_ns: int) -> int:
        """How many events happened before `t_ns`."""
        return bisect.bisect_left(self._times, t_ns)

    # -- adding

    def add(self, events: list[Event]) -> int:
        """Put `events` (sorted) in their places; returns the index of the first event that moved
        or is new (events from there on are to be read again)."""
        if not events:
            return len(self)
        first = len(self)
        if first and events[0] < self[-1]:  # late: merge with the events from its time on
            first = self.count_before(events[0].t_ns)
            while self._sealed > first:  # (late events are recent: this rarely runs)
                k = len(self._blocks) - 1
                self._tail[:0] = self._block(k)
                del self._blocks[k], self._values[k]
                self._cache.pop(k, None)
            offset = first - self._sealed
            merged = self._tail[offset:] + events
            merged.sort()
            self._tail[offset:] = merged
            del self._times[first:]
            self._times.extend(e.t_ns for e in merged)
        else:
            self._tail += events
            self._times.extend(e.t_ns for e in events)
        return first

    def seal_before(self, n: int, added: int | None = None) -> None:
        """Seal the whole blocks of events before index `n`, but the newest `TAIL_BLOCKS`: the
        caller knows how far back a late event may still make it read (`Timeline`: from its
        oldest whole checkpoint on). With `added`, the events added since the last call, seal
        only as many blocks as they fill and one more: `n` may move in leaps, and a live view
        spends a few milliseconds a frame, not a leap's worth at once."""
        size = self._size
        most = len(self._tail) if added is None else added // size + 1
        while most > 0 and len(self._tail) >= (TAIL_BLOCKS + 1) * size and self._sealed + size <= n:
            block = self._tail[:size]
            self._remember(len(self._blocks), block)  # likely read again soon (tokens, the log)
            self._blocks.append(seal(block))
            self._values.append({i: frozenset(map(itemgetter(i), block)) for i in _INDEXED})
            del self._tail[:size]
            most -= 1
