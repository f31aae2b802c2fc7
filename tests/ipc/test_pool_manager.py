"""`ipc.Pool`, `ipc.Manager()` and `ipc.Lock`: what they report, checked against real processes."""

from __future__ import annotations

import multiprocessing
import queue
import time

import pytest

import ipc

PLAIN_QUEUE_ERROR = "Queue objects should only be shared between processes through inheritance"


# -- task and child bodies (module level: picklable under spawn)


def ready():
    """A pool initializer: under spawn, unpickling it imports this module before the worker
    reports itself started, so the first task does not pay for that import."""


def nap(seconds, tag):
    time.sleep(seconds)
    return tag


def square(x):
    return x * x


def fail_with(exc_type, text):
    raise exc_type(text)


def put_items(q, n, tag):
    for i in range(n):
        q.put(f"{tag}{i}")


def get_items(q, n):
    for _ in range(n):
        q.get()


def write_shared(d, lst):
    d["writer"] = multiprocessing.current_process().name
    d["count"] = 3
    lst.append("a")
    lst.extend(["b", "c"])


def burst(lock, q, n, go=None):
    """Put `n` items while holding `lock` (once `go` is set, if given)."""
    name = multiprocessing.current_process().name
    with lock:
        if go is not None:
            go.wait()
        for i in range(n):
            q.put((name, i))
            time.sleep(0.01)


def get_and_finish(q, pause):
    q.get()
    time.sleep(pause)
    q.task_done()


def _workers_started(trace, prefix: str, n: int):
    return trace.wait_for(lambda t: len([e for e in t.of("process_started")
                                         if e.process.startswith(prefix)]) == n)


# -- Pool


def test_pool_of_four_runs_four_tasks_at_once_and_the_fifth_waits(trace, ctx):
    """Lesson 16: Pool(4), 5 tasks of 0.3 s; the trace shows which worker ran which task, when."""
    with ctx.Pool(4, initializer=ready, trace_name="pool") as pool:
        _workers_started(trace, "pool-worker-", 4)  # all idle: the tasks alone decide the timing
        results = [pool.apply_async(nap, (0.3, i)) for i in range(5)]
        assert [r.get(timeout=30) for r in results] == [0, 1, 2, 3, 4]
        pool.close()
        pool.join()
    trace.wait_for(lambda t: len(t.of("task_finished")) == 5)

    submitted = trace.of("task_submitted", obj="pool")
    started = trace.of("task_started", obj="pool")
    finished = trace.of("task_finished", obj="pool")
    assert [e.process for e in submitted] == ["MainProcess"] * 5
    assert len({e.message for e in submitted}) == 5
    assert {e.message for e in started} == {e.message for e in submitted} == {
        e.message for e in finished}
    assert all(e.process.startswith("pool-worker-") for e in started + finished)
    assert [e.detail["function"] for e in started] == ["nap"] * 5

    running = peak = 0
    for e in trace.of("task_started", "task_finished", obj="pool"):
        running += 1 if e.kind == "task_started" else -1
        peak = max(peak, running)
    assert peak == 4  # never more than the pool's size, and the size was used

    first_four, fifth = started[:4], started[4]
    assert len({e.process for e in first_four}) == 4  # one task per worker
    assert fifth.message == submitted[4].message  # taken in the order submitted
    assert fifth.t_ns > finished[0].t_ns  # it waited for a worker to become free...
    assert fifth.process in {e.process for e in finished if e.t_ns < fifth.t_ns}  # ...and got it
    assert fifth.t_ns - submitted[4].t_ns >= 0.25e9
    for e in started:  # each task ends on the worker that started it
        end = next(f for f in finished if f.message == e.message)
        assert end.process == e.process and end.t_ns - e.t_ns >= 0.3e9


def test_pool_workers_are_traced_processes_and_the_pool_reports_its_life(trace, ctx):
    pool = ctx.Pool(2, trace_name="p1")
    assert pool.map(square, range(10), chunksize=3) == [x * x for x in range(10)]
    with pytest.raises(KeyError, match="missing"):
        pool.apply(fail_with, (KeyError, "missing"))
    pool.close()
    pool.join()
    trace.wait_for(lambda t: t.of("pool_joined") and len(
        [e for e in t.of("process_exited") if e.object.startswith("p1-worker-")]) == 2)

    added = trace.of("pool_worker_added", obj="p1")
    assert [e.detail for e in added] == [{"worker": "p1-worker-1", "processes": 2},
                                         {"worker": "p1-worker-2", "processes": 2}]
    for worker in ("p1-worker-1", "p1-worker-2"):
        own = [e.kind for e in trace.ordered() if e.object == worker]
        assert own == ["process_start_requested", "process_started", "process_exited"]
    # map: one task per chunk of 3, its size and items in the detail
    chunks = [e.detail for e in trace.of("task_submitted", obj="p1")][:4]
    assert [c["items"] for c in chunks] == [3, 3, 3, 1]
    assert chunks[0] == {"function": "square", "items": 3, "preview": "(0, 1, 2)"}
    failed = trace.of("task_failed", obj="p1")
    assert len(failed) == 1 and failed[0].process.startswith("p1-worker-")
    assert failed[0].detail == {"error": "KeyError", "reason": "'missing'", "stage": "run"}
    lifecycle = [e.kind for e in trace.of("pool_closed", "pool_join_blocked", "pool_joined")]
    assert lifecycle in (["pool_closed", "pool_join_blocked", "pool_joined"],
                         ["pool_closed", "pool_joined"])


def test_terminated_pool_reports_its_workers_killed(trace, ctx):
    pool = ctx.Pool(1, trace_name="p2")
    pool.apply_async(nap, (60, 0))
    trace.wait_for(lambda t: t.of("task_started", obj="p2"))
    pool.terminate()
    pool.join()
    trace.wait_for(lambda t: t.of("pool_joined") and t.of("process_exited", obj="p2-worker-1"))
    assert [e.kind for e in trace.of("pool_terminate_requested", "pool_joined", obj="p2")] == [
        "pool_terminate_requested", "pool_joined"]
    assert trace.of("process_terminate_requested", obj="p2-worker-1")
    assert trace.of("process_exited", obj="p2-worker-1")[0].detail["signal"] == "SIGTERM"
    assert not trace.of("task_finished", obj="p2")


@pytest.mark.parametrize("make", ["Queue", "JoinableQueue"])
def test_plain_queue_cannot_go_to_a_pool(trace, ctx, make):
    """Lesson 14: the very RuntimeError of multiprocessing, raised by the result's get()."""
    q = getattr(ctx, make)()
    with ctx.Pool(1, trace_name="pool") as pool:
        result = pool.apply_async(put_items, (q, 1, "x"))
        with pytest.raises(RuntimeError) as caught:
            result.get(timeout=10)
        assert str(caught.value) == PLAIN_QUEUE_ERROR.replace("Queue", make, 1)
        with pytest.raises(RuntimeError, match="should only be shared"):
            pool.apply(put_items, (q, 1, "x"))
        assert pool.apply(square, (3,)) == 9  # the pool still works
    q.close()
    trace.wait_for(lambda t: len(t.of("task_finished")) == 1)

    failed = trace.of("task_failed", obj="pool")
    assert [(e.process, e.detail["error"], e.detail["stage"]) for e in failed] == [
        ("MainProcess", "RuntimeError", "submit")] * 2
    assert failed[0].detail["reason"] == str(caught.value)
    # each failed task was submitted, and never reached a worker
    assert {e.message for e in failed} < {e.message for e in trace.of("task_submitted")}
    assert not {e.message for e in failed} & {e.message for e in trace.of("task_started")}


def test_plain_multiprocessing_raises_the_same_error():
    """The reference: what plain multiprocessing says for the same program."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    with ctx.Pool(1) as pool:
        with pytest.raises(RuntimeError) as caught:
            pool.apply_async(put_items, (q, 1, "x")).get(timeout=10)
    q.close()
    assert str(caught.value) == PLAIN_QUEUE_ERROR


# -- Manager


def test_manager_queue_goes_to_a_pool_through_the_manager(trace, ctx):
    """Lesson 15: a Manager().Queue works with a Pool; its messages flow via the manager."""
    with ctx.Manager() as manager, ctx.Pool(2, trace_name="pool") as pool:
        q = manager.Queue()
        q.trace_name = "q"
        assert q.trace_name == "q"
        pool.apply(put_items, (q, 3, "m"))
        assert [q.get(timeout=10) for _ in range(3)] == ["m0", "m1", "m2"]
        assert q.qsize() == 0 and q.empty()
        server = manager.trace_name
        assert manager._process.name == server and isinstance(
            manager._process, ipc.process._TracedProcess)
    trace.wait_for(lambda t: t.of("process_exited", obj=server))

    assert [e.process for e in trace.of("process_started", obj=server)] == [server]
    assert trace.of("process_exited", obj=server)[0].detail["exitcode"] == 0
    puts, gots = trace.of("message_put", obj="q"), trace.of("message_got", obj="q")
    assert len(puts) == 3 and all(e.process.startswith("pool-worker-") for e in puts)
    assert [e.process for e in gots] == ["MainProcess"] * 3
    assert [e.message for e in gots] == [e.message for e in puts] and None not in {
        e.message for e in puts}
    assert {e.detail["via"] for e in puts + gots} == {server}
    assert [e.detail["preview"] for e in gots] == ["'m0'", "'m1'", "'m2'"]
    assert all(p.t_ns < g.t_ns for p, g in zip(puts, gots))


def test_manager_queue_reports_blocking_while_it_blocks(trace, ctx):
    with ctx.Manager() as manager:
        q = manager.Queue(1)
        q.trace_name = "q"
        consumer = ctx.Process(target=get_items, args=(q, 1), name="C")
        consumer.start()
        trace.wait_for(lambda t: t.of("get_blocked", obj="q"))  # in the trace while C waits
        q.put("x")
        consumer.join()
        q.put(1)
        start = time.monotonic()
        with pytest.raises(queue.Full):
            q.put(2, timeout=0.2)
        assert time.monotonic() - start >= 0.2
        with pytest.raises(queue.Full):
            q.put_nowait(3)
        assert q.full() and q.get() == 1
        with pytest.raises(queue.Empty):
            q.get(timeout=0.2)
        with pytest.raises(queue.Empty):
            q.get_nowait()
    trace.wait_for(lambda t: len(t.of("get_failed")) == 2)

    assert [(e.process, e.kind) for e in trace.of(
        "get_blocked", "message_put", "message_got", "put_blocked", "put_failed", "get_failed",
        obj="q")] == [
        ("C", "get_blocked"), ("MainProcess", "message_put"), ("C", "message_got"),
        ("MainProcess", "message_put"),
        ("MainProcess", "put_blocked"), ("MainProcess", "put_failed"),  # put(timeout=0.2)
        ("MainProcess", "put_failed"),  # put_nowait: fails at once
        ("MainProcess", "message_got"),
        ("MainProcess", "get_blocked"), ("MainProcess", "get_failed"),  # get(timeout=0.2)
        ("MainProcess", "get_failed"),  # get_nowait
    ]
    blocked, failed = trace.of("put_blocked")[0], trace.of("put_failed")[0]
    assert blocked.message == failed.message and failed.t_ns - blocked.t_ns >= 0.2e9
    assert {e.detail["error"] for e in trace.of("put_failed", "get_failed")} == {"Full", "Empty"}


def test_manager_joinable_queue_counts_tasks(trace, ctx):
    with ctx.Manager() as manager:
        q = manager.JoinableQueue()
        q.trace_name = "jq"
        q.put("job")
        worker = ctx.Process(target=get_and_finish, args=(q, 0.3), name="W")
        worker.start()
        q.join()
        worker.join()
        with pytest.raises(ValueError, match="task_done"):
            q.task_done()
    trace.wait_for(lambda t: t.of("task_done_failed", obj="jq"))
    kinds = [e.kind for e in trace.of("join_blocked", "task_done", "join_returned", obj="jq")]
    assert kinds in (["join_blocked", "task_done", "join_returned"], ["task_done", "join_returned"])
    assert trace.of("task_done", obj="jq")[0].process == "W"
    assert trace.of("task_done", obj="jq")[0].detail["unfinished"] == 0


def test_manager_dict_and_list_written_by_a_child_are_read_by_main(trace, ctx):
    """Lesson 17: the main process sees the child's writes, and the trace shows both sides."""
    with ctx.Manager() as manager:
        d, lst = manager.dict(), manager.list()
        d.trace_name, lst.trace_name = "d", "l"
        child = ctx.Process(target=write_shared, args=(d, lst), name="W")
        child.start()
        child.join()
        assert d["writer"] == "W"
        assert d.copy() == {"writer": "W", "count": 3}
        assert lst[:] == ["a", "b", "c"] and len(lst) == 3
        with pytest.raises(KeyError):
            d["nothing"]
        assert str(d) == "{'writer': 'W', 'count': 3}"
    trace.wait_for(lambda t: len(t.of("dict_read", obj="d")) == 4)

    writes = trace.of("dict_write", obj="d")
    assert [(e.process, e.detail["op"], e.detail["args"]) for e in writes] == [
        ("W", "__setitem__", "('writer', 'W')"), ("W", "__setitem__", "('count', 3)")]
    assert writes[-1].detail["contents"] == "{'writer': 'W', 'count': 3}"
    reads = trace.of("dict_read", obj="d")
    assert [(e.process, e.detail["op"]) for e in reads] == [
        ("MainProcess", "__getitem__"), ("MainProcess", "copy"), ("MainProcess", "__getitem__"),
        ("MainProcess", "__repr__")]
    assert reads[0].detail["result"] == "'W'" and reads[0].t_ns > writes[0].t_ns
    assert reads[2].detail["error"] == "KeyError"
    list_writes = trace.of("list_write", obj="l")
    assert [(e.process, e.detail["op"], e.detail["contents"]) for e in list_writes] == [
        ("W", "append", "['a']"), ("W", "extend", "['a', 'b', 'c']")]
    assert [e.detail["result"] for e in trace.of("list_read", obj="l")] == ["['a', 'b', 'c']", "3"]
    assert {e.detail["via"] for e in writes + reads + list_writes} == {manager.trace_name}


# -- Locks


@pytest.mark.parametrize("kind", ["plain", "manager"])
def test_lock_serialises_two_writers_bursts(trace, ctx, kind):
    """Lesson 18: one writer holds the lock and puts its burst uninterrupted; the other waits."""
    manager = ctx.Manager() if kind == "manager" else None
    try:
        lock = manager.Lock() if manager else ctx.Lock()
        q = manager.Queue() if manager else ctx.Queue()
        lock.trace_name = "L"
        go = ctx.Event()
        writers = [ctx.Process(target=burst, args=(lock, q, 4, go), name="A"),
                   ctx.Process(target=burst, args=(lock, q, 4), name="B")]
        # A takes the lock and holds it until B is seen blocked on it, in the trace
        writers[0].start()
        trace.wait_for(lambda t: t.of("lock_acquired", obj="L"))
        writers[1].start()
        trace.wait_for(lambda t: t.of("lock_acquire_blocked", obj="L"))
        go.set()
        got = [q.get(timeout=20) for _ in range(8)]
        for w in writers:
            w.join()
        assert got == [("A", i) for i in range(4)] + [("B", i) for i in range(4)]
    finally:
        if manager is not None:
            manager.shutdown()
    trace.wait_for(lambda t: len(t.of("lock_released", obj="L")) == 2)

    lock_events = trace.of("lock_acquired", "lock_acquire_blocked", "lock_released", obj="L")
    assert [(e.process, e.kind) for e in lock_events] == [
        ("A", "lock_acquired"), ("B", "lock_acquire_blocked"), ("A", "lock_released"),
        ("B", "lock_acquired"), ("B", "lock_released")]
    assert [e.detail["waited"] for e in trace.of("lock_acquired", obj="L")] == [False, True]
    if kind == "manager":
        assert lock_events[1].detail["holder"] == "A"
    # A's burst went in while A held the lock
    a_acquired, a_released = lock_events[0].t_ns, lock_events[2].t_ns
    a_puts = [e for e in trace.of("message_put") if e.process == "A"]
    assert len(a_puts) == 4 and all(a_acquired < e.t_ns < a_released for e in a_puts)


def test_plain_lock_keeps_multiprocessing_semantics(trace):
    lock = ipc.Lock()
    lock.trace_name = "L"
    assert lock.acquire() is True
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0.1) is False
    lock.release()
    with pytest.raises(ValueError):
        lock.release()
    with lock:
        assert "owner=MainProcess" in repr(lock)
    trace.wait_for(lambda t: len(t.of("lock_released")) == 2)
    assert [e.kind for e in trace.of(
        "lock_acquired", "lock_acquire_blocked", "lock_acquire_failed", "lock_released",
        "lock_release_failed", obj="L")] == [
        "lock_acquired", "lock_acquire_failed", "lock_acquire_blocked", "lock_acquire_failed",
        "lock_released", "lock_release_failed", "lock_acquired", "lock_released"]


# -- untraced


def test_untraced_pool_manager_and_lock_behave_as_multiprocessing():
    assert not ipc.trace.enabled()
    with ipc.get_context("fork").Pool(2) as pool:
        assert pool.map(square, range(5)) == [0, 1, 4, 9, 16]
        assert pool.apply(square, (4,)) == 16
    with ipc.get_context("fork").Manager() as manager:
        q, d, lst, lock = manager.Queue(2), manager.dict(a=1), manager.list([1]), manager.Lock()
        q.put("x")
        assert q.get() == "x" and q.qsize() == 0
        d["b"] = 2
        lst.append(2)
        lst += [3]
        assert d.copy() == {"a": 1, "b": 2} and lst[:] == [1, 2, 3]
        with lock:
            assert lock.acquire(False) is False
    with ipc.Lock():
        pass
