"""What `ipc` reports, checked against real child processes."""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import multiprocessing.reduction
import os
import queue
import signal
import threading
import time

import pytest

import ipc


# -- child bodies (module level: picklable under spawn)


def put_items(q, n):
    for i in range(n):
        q.put(f"item{i}")


def get_with_permits(q, permits, n):
    for _ in range(n):
        permits.acquire()
        q.get()


def put_then_die(q, n):
    for i in range(n):
        q.put(i)
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_forever():
    while True:
        time.sleep(60)


def fail():
    raise KeyError("no such item")


def start_daemon_and_end(ctx_name):
    ctx = ipc.get_context(ctx_name)
    running = ctx.Event()
    daemon = ctx.Process(target=signal_then_sleep, args=(running,), name="D", daemon=True)
    daemon.start()
    running.wait()
    # ends here: multiprocessing's exit handler terminates the daemon


def signal_then_sleep(running):
    running.set()
    sleep_forever()


def echo_once(conn):
    conn.send(["echo", conn.recv()])


# -- queues


def test_bounded_queue_blocks_the_producer_exactly_when_full(trace, ctx):
    """Queue(2), 5 items, a consumer allowed one get each time the producer is seen blocked."""
    q = ctx.Queue(2)
    q.trace_name = "q"
    permits = ctx.Semaphore(0)
    producer = ctx.Process(target=put_items, args=(q, 5), name="P")
    consumer = ctx.Process(target=get_with_permits, args=(q, permits, 5), name="C")
    producer.start()
    consumer.start()
    for blocked in range(1, 4):
        trace.wait_for(lambda t: len(t.of("put_blocked")) == blocked)
        permits.release()
    permits.release()
    permits.release()
    producer.join()
    consumer.join()
    trace.wait_for(lambda t: len(t.of("message_got")) == 5)

    blocked = trace.of("put_blocked")
    puts = trace.of("message_put", obj="q")
    gots = trace.of("message_got", obj="q")
    assert [e.detail["preview"] for e in blocked] == ["'item2'", "'item3'", "'item4'"]
    assert all(e.process == "P" for e in blocked + puts) and all(e.process == "C" for e in gots)
    ids = [e.message for e in puts]
    assert len(set(ids)) == 5 and None not in ids
    assert [e.message for e in gots] == ids  # each id got once, in FIFO order
    # each blocked put completes with the same message id, after a get freed a slot
    for b in blocked:
        done = next(e for e in puts if e.message == b.message)
        assert any(b.t_ns < g.t_ns < done.t_ns for g in gots)
    # the queue never holds more than maxsize in the trace's own order
    depth = 0
    for e in trace.ordered():
        depth += {"message_put": 1, "message_got": -1}.get(e.kind, 0) if e.object == "q" else 0
        assert 0 <= depth <= 2


def test_put_events_survive_sigkill(trace, ctx):
    q = ctx.Queue()
    victim = ctx.Process(target=put_then_die, args=(q, 1000), name="victim")
    victim.start()
    victim.join()
    assert victim.exitcode == -signal.SIGKILL
    trace.wait_for(lambda t: any(s.process == "victim" for s in t.ended))
    puts = trace.of("message_put")
    assert len(puts) == 1000
    assert [e.seq for e in trace.events if e.process == "victim"] == list(range(1, 1002))  # started + 1000 puts
    exited = trace.wait_for(lambda t: t.of("process_exited"))
    assert exited[-1].detail == {"exitcode": -9, "pid": victim.pid, "reported_by": "parent",
                                 "signal": "SIGKILL"}


def test_nowait_and_timeouts_fail_as_multiprocessing_does(trace):
    q = ipc.Queue(1)
    q.trace_name = "q"
    with pytest.raises(queue.Empty):
        q.get_nowait()
    q.put("A")
    with pytest.raises(queue.Full):
        q.put_nowait("B")
    start = time.monotonic()
    with pytest.raises(queue.Full):
        q.put("C", timeout=0.3)
    assert time.monotonic() - start >= 0.3
    assert q.get() == "A"
    with pytest.raises(queue.Empty):
        q.get(timeout=0.2)
    assert trace.wait_for(lambda t: len(t.of("get_failed")) == 2)
    assert trace.kinds() == [
        "get_failed",  # get_nowait: no blocked state, it fails at once
        "message_put",
        "put_failed",  # put_nowait on a full queue
        "put_blocked", "put_failed",  # put(timeout=0.3)
        "message_got",
        "get_blocked", "get_failed",  # get(timeout=0.2)
    ]
    blocked, failed = trace.of("put_blocked")[0], trace.of("put_failed")[1]
    assert blocked.message == failed.message and blocked.detail["timeout"] == 0.3
    assert failed.t_ns - blocked.t_ns >= 0.3e9
    assert {e.detail["error"] for e in trace.of("put_failed", "get_failed")} == {"Full", "Empty"}


def test_joinable_queue_counts_tasks_and_reports_join(trace):
    q = ipc.JoinableQueue()
    q.trace_name = "jq"
    for item in "ab":
        q.put(item)
    for _ in "ab":
        q.get()
        q.task_done()
    q.join()  # nothing unfinished: returns without blocking
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()
    trace.wait_for(lambda t: t.of("task_done_failed"))
    assert [e.detail["unfinished"] for e in trace.of("task_done")] == [1, 0]
    assert trace.of("join_returned") and not trace.of("join_blocked")


def test_join_blocks_until_the_last_task_is_done(trace, ctx):
    q = ctx.JoinableQueue()
    q.put("x")
    worker = ctx.Process(target=_get_and_finish, args=(q,), name="W")
    worker.start()
    q.join()
    worker.join()
    trace.wait_for(lambda t: t.of("join_returned"))
    kinds = [k for k in trace.kinds() if k in {"join_blocked", "task_done", "join_returned"}]
    assert kinds in (["join_blocked", "task_done", "join_returned"], ["task_done", "join_returned"])


def _get_and_finish(q):
    q.get()
    q.task_done()


def test_simple_queue_is_traced(trace, ctx):
    q = ctx.SimpleQueue()
    q.trace_name = "sq"
    producer = ctx.Process(target=put_items, args=(q, 3), name="P")
    producer.start()
    got = [q.get() for _ in range(3)]
    producer.join()
    assert got == ["item0", "item1", "item2"]
    trace.wait_for(lambda t: len(t.of("message_got", obj="sq")) == 3)
    assert [e.message for e in trace.of("message_put")] == [e.message for e in trace.of("message_got")]


PAYLOADS = [7, -2**61, 2**70, 10**70, 1.5, float("nan"), True, None, "item 0", b"raw", (1, "a"),
            list(range(100))]


def test_every_payload_is_previewed_as_preview_makes_it(trace):
    """Numbers travel as themselves and the collector writes their preview: it must be the
    text `ipc.trace.preview` gives, for a queue and for a pipe, put and got alike."""
    q = ipc.Queue()
    q.trace_name = "q"
    a, b = ipc.Pipe()
    for item in PAYLOADS:
        q.put(item)
        q.get()
        a.send(item)
        b.recv()
    trace.wait_for(lambda t: len(t.of("message_received")) == len(PAYLOADS))
    expected = [ipc.trace.preview(item) for item in PAYLOADS]
    for kind in ("message_put", "message_got"):
        assert [e.detail for e in trace.of(kind)] == [{"preview": text} for text in expected]
    for kind, end in (("message_sent", "1"), ("message_received", "2")):
        assert [e.detail for e in trace.of(kind)] == [{"end": end, "preview": text} for text in expected]


def test_an_int_too_long_to_print_is_put_as_multiprocessing_puts_it(trace):
    q = ipc.Queue()
    huge = 10**5000  # repr() refuses it (sys.get_int_max_str_digits)
    q.put(huge)
    assert q.get() == huge
    trace.wait_for(lambda t: t.of("message_got"))
    assert [e.detail for e in trace.of("message_put", "message_got")] == [{"preview": "<int>"}] * 2


@pytest.mark.parametrize("nowait", ["own descriptor", "RWF_NOWAIT", "poll"])
def test_gets_and_receives_report_blocking_however_they_look(trace, ctx, monkeypatch, nowait):
    """A get or a receive reads the start of the next message without blocking (one system call:
    on a pipe's non-blocking descriptor of its own, else with RWF_NOWAIT; failing both, poll then
    read): blocked exactly when nothing is there yet."""
    if nowait != "own descriptor":
        monkeypatch.setattr(ipc.queues, "_nonblocking_reader", lambda fd: None)
    if nowait == "poll":
        monkeypatch.setattr(ipc.queues, "_nowait", 0)
    q = ctx.Queue()
    here, there = ctx.Pipe()
    child = ctx.Process(target=_answer_later, args=(q, there), name="C")
    child.start()
    assert q.get() == "late"  # blocked: the child sleeps first
    here.send("go")
    assert here.recv() == "late"  # blocked: the child sleeps again
    q.put("now")
    assert multiprocessing.connection.wait([q._reader], 20)  # the feeder thread has written it
    assert q.get() == "now"  # there already
    assert here.poll(20) and here.recv() == "now"  # there already
    child.join()
    trace.wait_for(lambda t: len(t.of("message_received")) == 3)  # C's "go" and our two
    mine = [e.kind for e in trace.ordered() if e.process == "MainProcess"]
    assert [k for k in mine if k in ("get_blocked", "message_got")] == ["get_blocked", "message_got",
                                                                      "message_got"]
    assert [k for k in mine if k in ("recv_blocked", "message_received")] == [
        "recv_blocked", "message_received", "message_received"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc: no descriptor of its own")
def test_a_traced_reader_leaves_the_pipe_as_multiprocessing_has_it(trace):
    """The non-blocking descriptor a traced reader of a pipe opens for itself (see
    `ipc.queues.Readiness`) is a description of its own: the connection's stays blocking, and it
    is closed with the connection, so that then the pipe has no reader left and the writer fails
    as it would with multiprocessing."""
    def descriptors(pipe):  # this process's open descriptors of `pipe` ("pipe:[inode]")
        links = []
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(FileNotFoundError):  # the listing's own, closed by now
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
        return links.count(pipe)

    reader, writer = ipc.Pipe(duplex=False)
    pipe = os.readlink(f"/proc/self/fd/{reader.fileno()}")
    writer.send(1)
    assert reader.recv() == 1
    assert descriptors(pipe) == 3  # the two ends and the reader's own
    assert os.get_blocking(reader.fileno())
    reader.close()
    assert descriptors(pipe) == 1
    with pytest.raises(BrokenPipeError):
        writer.send(2)
    q = ipc.SimpleQueue()
    pipe = os.readlink(f"/proc/self/fd/{q._reader.fileno()}")
    q.put(1)
    assert q.get() == 1
    assert descriptors(pipe) == 3
    q.close()
    assert descriptors(pipe) == 0
    trace.wait_for(lambda t: t.of("queue_closed"))


def _answer_later(q, conn):
    time.sleep(0.3)
    q.put("late")
    conn.recv()
    time.sleep(0.3)
    conn.send("late")
    conn.send("now")


def test_large_messages_go_in_pieces_and_arrive_whole(trace, ctx):
    """Larger than a pipe holds: the sender is reported blocked, the bytes arrive intact."""
    big = bytes(range(256)) * 4096  # 1 MiB
    to_child, from_child = ctx.Queue(), ctx.Queue()
    here, there = ctx.Pipe()
    child = ctx.Process(target=_echo_big, args=(to_child, from_child, there), name="E")
    child.start()
    here.send_bytes(big)
    assert here.recv_bytes() == big
    buf = bytearray(len(big) + 10)
    here.send_bytes(big)
    assert here.recv_bytes_into(buf, 10) == len(big) and buf[10:] == big
    to_child.put(big)
    assert from_child.get() == big
    child.join()
    trace.wait_for(lambda t: len(t.of("message_received")) == 4 and len(t.of("message_got")) == 2)
    assert trace.of("send_blocked")
    sent, received = trace.of("message_sent"), trace.of("message_received")
    assert sorted(e.message for e in sent) == sorted(e.message for e in received)


def test_a_traced_feeder_writes_the_frames_multiprocessing_writes(trace):
    """A traced queue's feeder thread writes its messages itself (see `ipc.queues.lean_sender`):
    multiprocessing's own reader must find exactly what `Connection.send_bytes` would have sent,
    on both sides of the size up to which it is written in one piece."""
    q = ipc.Queue()
    items = [b"x" * size for size in range(16_300, 16_400)] + [7, "seven"]
    for item in items:
        q.put(item)
    # Read behind the queue's back, as frames: each is the pickled (message id, item).
    frames = [q._reader.recv_bytes() for _ in items]
    unpickled = [multiprocessing.reduction.ForkingPickler.loads(frame) for frame in frames]
    assert [item for _, item in unpickled] == items
    trace.wait_for(lambda t: len(t.of("message_put")) == len(items))
    assert [mid for mid, _ in unpickled] == [e.message for e in trace.of("message_put")]
    sizes = [len(frame) for frame in frames]
    assert any(16_380 <= n <= 16_384 for n in sizes) and max(sizes) > 16_384  # both ways were taken


class Reduced:
    """A payload with a reducer registered with ForkingPickler: only it pickles it right."""


def _rebuild_reduced():
    return "rebuilt by the registered reducer"


multiprocessing.reduction.ForkingPickler.register(Reduced, lambda obj: (_rebuild_reduced, ()))


def test_traced_channels_pickle_the_bytes_forking_pickler_makes(trace):
    """Traced channels pickle plain payloads without building a ForkingPickler
    (`ipc.queues.lean_dumps`): the bytes must be ForkingPickler's, and whatever needs its
    reducers must still get them, through a queue's feeder thread, a SimpleQueue and a pipe."""
    text = "shared"
    payloads = [7, -2**70, 2.5, float("nan"), "é" * 300, b"\0" * 70_000, True, None, ("1:2", 3),
                [text, text, 1.0], (None, [1, 2]), {"a": 1}, Reduced(), ("1:2", Reduced())]
    for obj in payloads:
        assert bytes(ipc.queues.lean_dumps(obj)) == bytes(multiprocessing.reduction.ForkingPickler.dumps(obj))

    q, sq, (here, there) = ipc.Queue(), ipc.SimpleQueue(), ipc.Pipe()
    for item in (7, Reduced(), [text, Reduced()]):
        q.put(item)
        sq.put(item)
        here.send(item)
    for got in (q.get, sq.get, there.recv):
        assert [got(), got(), got()] == [7, _rebuild_reduced(), [text, _rebuild_reduced()]]


def _echo_big(to_child, from_child, conn):
    conn.send_bytes(conn.recv_bytes())
    conn.send_bytes(conn.recv_bytes())
    from_child.put(to_child.get())


# -- pipes


def test_duplex_pipe_carries_ids_both_ways(trace, ctx):
    here, there = ctx.Pipe()
    child = ctx.Process(target=echo_once, args=(there,), name="E")
    child.start()
    here.send(list(range(3)))
    assert here.recv() == ["echo", [0, 1, 2]]
    child.join()
    trace.wait_for(lambda t: len(t.of("message_received")) == 2)
    sent, received = trace.of("message_sent"), trace.of("message_received")
    assert [(e.process, e.detail["end"]) for e in sent] == [("MainProcess", "1"), ("E", "2")]
    assert [(e.process, e.detail["end"]) for e in received] == [("E", "2"), ("MainProcess", "1")]
    assert [e.message for e in sent] == [e.message for e in received]
    assert all(s.t_ns < r.t_ns for s, r in zip(sent, received))


def test_one_way_pipe_refuses_to_send_on_its_receive_end(trace):
    receive_end, send_end = ipc.Pipe(duplex=False)
    with pytest.raises(OSError, match="read-only"):
        receive_end.send("x")
    send_end.send_bytes(b"raw")
    assert receive_end.recv_bytes() == b"raw"
    receive_end.close()
    trace.wait_for(lambda t: t.of("connection_closed"))
    error = trace.of("connection_error")[0]
    assert error.detail["error"] == "OSError" and error.detail["end"] == "1"
    assert trace.kinds() == ["connection_error", "send_called", "message_sent", "message_received",
                             "connection_closed"]


def test_a_send_is_reported_before_its_first_byte_is_written(trace):
    """send_called carries the id before the write, so a sender killed right after writing
    (before message_sent) has still reported the message it was sending."""
    a, b = ipc.Pipe()
    a.send("x")
    assert b.recv() == "x"
    trace.wait_for(lambda t: t.of("message_received"))
    called, sent, received = (trace.of(k)[0] for k in ("send_called", "message_sent", "message_received"))
    assert called.message == sent.message == received.message
    assert called.detail == sent.detail == {"end": "1", "preview": "'x'"}
    assert called.t_ns <= sent.t_ns < received.t_ns


def test_a_get_that_finds_the_queue_empty_says_so(trace):
    """Stamped before it looked, under the read lock: every get stamped before it took its item
    out before it looked."""
    q = ipc.Queue()
    with pytest.raises(queue.Empty):
        q.get_nowait()
    q.put(1)
    assert q.get() == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    trace.wait_for(lambda t: len(t.of("get_failed")) == 2)
    nowait = trace.of("get_failed")[0]
    # (the get() before may have found the queue empty too, before the feeder thread wrote 1)
    blocked = next(e for e in trace.of("get_blocked") if e.detail["timeout"] == 0.01)
    assert nowait.detail == {"error": "Empty", "empty": True}
    assert blocked.detail == {"timeout": 0.01, "empty": True}
    assert trace.of("message_got")[0].t_ns < blocked.t_ns


def test_recv_on_a_closed_peer_raises_eof(trace):
    a, b = ipc.Pipe()
    b.close()
    with pytest.raises(EOFError):
        a.recv()
    trace.wait_for(lambda t: t.of("connection_error"))
    assert trace.of("connection_error")[0].detail["error"] == "EOFError"


# -- processes


def test_terminated_process_exits_minus_15(trace, ctx):
    p = ctx.Process(target=sleep_forever, name="R")
    p.start()
    trace.wait_for(lambda t: t.of("process_started"))
    p.terminate()
    p.join()
    assert p.exitcode == -15
    trace.wait_for(lambda t: t.of("process_exited"))
    assert [e.kind for e in trace.ordered() if e.object == "R"] == [
        "process_start_requested", "process_started", "process_terminate_requested",
        "process_exited",
    ]
    assert trace.of("process_exited")[0].detail["signal"] == "SIGTERM"


def test_failure_is_reported_with_its_traceback(trace, ctx):
    p = ctx.Process(target=fail, name="F")
    p.start()
    p.join()
    assert p.exitcode == 1
    failed = trace.wait_for(lambda t: t.of("process_failed"))[0]
    assert failed.detail["error"] == "KeyError" and "raise KeyError" in failed.detail["traceback"]
    exited = trace.wait_for(lambda t: t.of("process_exited"))
    assert [e.detail["exitcode"] for e in exited] == [1]  # reported once, by the child itself


def test_daemon_is_reported_killed_at_its_parents_exit(trace, ctx):
    parent = ctx.Process(target=start_daemon_and_end, args=(ctx.get_start_method(),), name="M")
    parent.start()
    parent.join()
    trace.wait_for(lambda t: len(t.of("process_exited")) == 2)
    d = [(e.kind, e.process) for e in trace.ordered() if e.object == "D"]
    assert d == [
        ("process_start_requested", "M"), ("process_started", "D"),
        ("daemon_killed_at_exit", "M"), ("process_exited", "M"),
    ]
    assert trace.of("process_exited", obj="D")[0].detail["exitcode"] == -15


def test_collector_reports_each_stream_end(trace, ctx):
    q = ctx.SimpleQueue()
    procs = [ctx.Process(target=put_items, args=(q, 0), name=f"S{i}") for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    trace.wait_for(lambda t: {s.process for s in t.ended} >= {"S0", "S1", "S2"})


def test_untraced_operations_emit_nothing():
    assert not ipc.trace.enabled()
    q = ipc.Queue()
    q.put({"a": 1})
    assert q.get() == {"a": 1}
    a, b = ipc.Pipe()
    a.send("x")
    assert b.recv() == "x"


# -- the transport


def emit_many(n, big_every=0, big_size=0):
    for i in range(n):
        if big_every and i % big_every == 0:
            ipc.trace.emit("big", str(i), None, {"blob": "x" * big_size})
        else:
            ipc.trace.emit("small", str(i), None, f"p{i}")


def test_every_event_arrives_in_order_through_a_small_ring(trace, ctx, monkeypatch):
    """A 4 KiB ring wraps around hundreds of times; records larger than the whole ring go in
    pieces. Nothing is lost, torn or reordered, in this process and in a child."""
    monkeypatch.setattr(ipc.trace, "_RING_BYTES", 4096)
    child = ctx.Process(target=_small_ring_child, name="W")
    child.start()
    emit_many(3000, big_every=500, big_size=10_000)
    child.join()
    assert child.exitcode == 0
    trace.wait_for(lambda t: any(s.process == "W" for s in t.ended))
    trace.wait_for(lambda t: len([e for e in t.events if e.pid == os.getpid()]) >= 3000)
    for pid in (os.getpid(), child.pid):
        mine = [e for e in trace.events if e.pid == pid and e.kind in ("small", "big")]
        assert [e.object for e in mine] == [str(i) for i in range(3000)]
        assert all(e.detail == ({"blob": "x" * 10_000} if e.kind == "big" else {"preview": f"p{e.object}"})
                   for e in mine)
        seqs = [e.seq for e in trace.events if e.pid == pid]
        assert sorted(seqs) == list(range(1, len(seqs) + 1))


def _small_ring_child():
    ipc.trace._RING_BYTES = 4096
    emit_many(3000, big_every=500, big_size=10_000)


def test_a_process_keeps_running_when_the_collector_goes_away(capfd):
    with ipc.trace.Collector() as collector:
        ipc.trace.attach(collector.address)
        try:
            ipc.trace.emit("before")
            collector.wait(5)
            collector.close()
            for _ in range(3):  # the collector left its flag up: the first emit finds it gone
                ipc.trace.emit("after")
            assert ipc.trace._sink.broken
        finally:
            ipc.trace.detach()
    assert "collector unreachable" in capfd.readouterr().err


def test_what_the_collector_vouches_complete_holds_every_new_process_first_event():
    """`Collector.complete_ns` is the moment before which every event has been handed over. A
    process stamps its first event after connecting, so the look that began after that stamp
    reads it. (Before, a new process's hello waited for the next look: 35 of these 40 first
    events came after a look that began up to 25 ms after them.) The margin is for a process
    caught between stamping and publishing, microseconds here: the window's hold covers that."""
    deliveries = []  # (complete_ns before the delivery, the first events of processes in it)
    all_started = threading.Event()

    def on_events(events):
        deliveries.append((collector.complete_ns, [e.t_ns for e in events if e.kind == "process_started"]))
        if sum(len(started) for _, started in deliveries) == 40:
            all_started.set()

    with ipc.trace.Collector(on_events=on_events) as collector:
        ipc.trace.attach(collector.address)
        try:
            for _ in range(4):
                procs = [ipc.get_context("fork").Process(target=emit_many, args=(50,)) for _ in range(10)]
                for p in procs:
                    p.start()
                for p in procs:
                    p.join()
            assert all_started.wait(20)
        finally:
            ipc.trace.detach()
    late_ms = [(complete - t) / 1e6 for complete, started in deliveries for t in started if t < complete]
    assert [ms for ms in late_ms if ms > 1] == []


@pytest.mark.parametrize("stamped_ahead", [False, True])
def test_an_event_that_waited_for_room_in_the_ring_is_stamped_when_it_is_written(monkeypatch, stamped_ahead):
    """A process whose ring is full waits for the collector: what it reports happens when emit
    returns, so it is stamped after the wait, not seconds before among other processes' events.
    So is an event stamped ahead of its report (a get's message_got): `stamp` waits first."""
    monkeypatch.setattr(ipc.trace, "_RING_BYTES", 4096)
    gate = threading.Event()
    got: list = []

    def on_events(events):
        gate.wait()  # the collector held up: the ring fills
        got.extend(events)

    emitted = 0

    def emitter():
        nonlocal emitted
        for i in range(1000):
            if stamped_ahead:
                ipc.trace.emit("small", str(i), t_ns=ipc.trace.stamp())
            else:
                ipc.trace.emit("small", str(i))
            emitted += 1

    with ipc.trace.Collector(on_events=on_events) as collector:
        ipc.trace.attach(collector.address)
        try:
            thread = threading.Thread(target=emitter)
            thread.start()
            seen = -1
            while seen != emitted:  # until the emitter has been stuck for a while: the ring is full
                seen = emitted
                thread.join(0.2)
            blocked, released_ns = emitted, time.monotonic_ns()
            gate.set()
            thread.join()
            deadline = time.monotonic() + 20
            while len([e for e in got if e.kind == "small"]) < 1000 and time.monotonic() < deadline:
                collector.wait(0.1)
        finally:
            ipc.trace.detach()
    small = {int(e.object): e.t_ns for e in got if e.kind == "small"}
    assert len(small) == 1000 and 0 < blocked < 1000
    assert small[blocked - 1] < released_ns <= small[blocked]


def test_quiet_is_how_long_the_collector_looked_and_found_nothing():
    """`quiet_ns` grows only while the collector looks and finds no event (what a deadlock watch
    needs): not while events come, however slowly they are handed over."""
    with ipc.trace.Collector(on_events=lambda events: None) as collector:
        ipc.trace.attach(collector.address)
        try:
            emitting_until = time.monotonic() + 0.3
            quiet_while_emitting = 0
            while time.monotonic() < emitting_until:
                ipc.trace.emit("tick")
                quiet_while_emitting = max(quiet_while_emitting, collector.quiet_ns())
            stopped_ns = time.monotonic_ns()
            while collector.quiet_ns() < 200_000_000 and time.monotonic_ns() - stopped_ns < 5e9:
                collector.wait(0.01)
            assert quiet_while_emitting < 50_000_000
            assert collector.quiet_ns() >= 200_000_000
        finally:
            ipc.trace.detach()


@pytest.mark.parametrize("delivery", ["drain", "on_events"])
def test_events_and_notes_are_handed_over_in_the_order_they_came(delivery):
    """Without `on_events` the collector keeps the records it read and decodes them when drained;
    with it, at once. Either way: the same Events, numbered in stream order, names sent once
    resolved, stand-ins turned into their dicts, and a note made between two of a process's
    events handed over between them."""
    given: list = []
    on_events = given.extend if delivery == "on_events" else None
    with ipc.trace.Collector(on_events=on_events) as collector:
        ipc.trace.attach(collector.address)
        try:
            for i in range(300):
                ipc.trace.emit("first", f"o{i % 3}", None, i)
            published_ns = time.monotonic_ns()
            deadline = time.monotonic() + 10
            while collector.complete_ns <= published_ns and time.monotonic() < deadline:
                time.sleep(0.001)  # (polls the collector's progress)
            collector.note("between")
            ipc.trace.emit("second", "o0", None, ("end", "x"))
        finally:
            ipc.trace.detach()
        collector.wait_streams_ended(10)
    events = collector.drain().events
    if delivery == "on_events":
        assert events == []  # notes included, everything went to on_events
        events = given
    assert [e.kind for e in events] == ["first"] * 300 + ["between", "second"]
    mine = [e for e in events if e.kind != "between"]
    assert [e.seq for e in mine] == list(range(1, 302))
    assert [e.object for e in mine[:300]] == [f"o{i % 3}" for i in range(300)]
    assert [e.detail for e in mine] == [{"preview": str(i)} for i in range(300)] + [
        {"end": "end", "preview": "x"}]
