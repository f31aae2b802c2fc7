"""CPython's own multiprocessing tests, run against `ipc`.

`test._test_multiprocessing` (shipped with the interpreter) builds its test classes by mixing
each ``_TestXxx`` base with ``ProcessesMixin`` or ``ManagerMixin``, whose attributes
(``self.Process``, ``self.Queue``, ``self.Pipe``...) are the objects under test; see its
``install_tests_in_module_dict``. Here the mixins put `ipc`'s classes in their place (`ipc.Pool`,
`ipc.Lock`...; for the manager variants `ipc.Manager()`, whose ``Queue``, ``JoinableQueue``,
``dict``, ``list`` and ``Lock`` proxies are then under test), for the start methods ``spawn``
and ``fork``, each with a trace sink attached (a `Collector` running for the whole class; at the
end we check that it really received events, from child processes too) and without one.

Several of those tests call ``multiprocessing.Queue()``, ``multiprocessing.Pool()``,
``multiprocessing.Process``... directly rather than through ``self``: for the duration of each
class those attributes of the `multiprocessing` module are replaced by `ipc`'s (and restored
afterwards), so `ipc` is what is exercised there too (``test_ipc_in_place`` checks it).

The classes are built at import time with unique module-level names: a spawned child unpickles
``cls._test_xxx`` by the class's qualified name, so it must find the same class when it imports
this module. (Under pytest's default import mode this module is ``test_cpython_suite`` with
``tests/ipc`` on ``sys.path``, which spawned children inherit: no ``__init__.py`` is needed.)

Nothing is excluded: every test of the selected CPython classes runs in every configuration; the
only skips are CPython's own (forkserver-only tests, fd inflation under fork, and the queue-feeder
tests that do not apply to a manager's queue).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import multiprocessing.util
import os
import unittest

import pytest

import ipc
import ipc.connection
import ipc.managed
import ipc.managers
import ipc.process
import ipc.queues
import ipc.synchronize
from ipc import trace

_mp_tests = pytest.importorskip("test._test_multiprocessing")
from test import support  # noqa: E402  (importable whenever the module above is)

START_METHODS = ("spawn", "fork")

# CPython's test bases selected here, with which mixin, and what a traced run of each must have
# reported: all of the first set of kinds, and some of the second from child processes.
_PUT_GOT = {"message_put", "message_got"}
_TASKS = {"task_submitted", "task_started", "task_finished"}
_LOCK = {"lock_acquired", "lock_released"}
BASES = {
    "Queue": (_mp_tests._TestQueue, "processes", _PUT_GOT, _PUT_GOT),
    "Process": (_mp_tests._TestProcess, "processes", {"process_started", "process_exited"},
                {"process_started"}),
    "Connection": (_mp_tests._TestConnection, "processes", {"message_sent", "message_received"},
                   {"message_sent", "message_received"}),
    "Poll": (_mp_tests._TestPoll, "processes", {"message_sent", "message_received"},
             {"message_sent", "message_received"}),
    "SimpleQueue": (_mp_tests.TestSimpleQueue, "processes", _PUT_GOT, _PUT_GOT),
    "Lock": (_mp_tests._TestLock, "processes", _LOCK, set()),
    "Pool": (_mp_tests._TestPool, "processes", _TASKS, {"task_started", "task_finished"}),
    "PoolWorkerErrors": (_mp_tests._TestPoolWorkerErrors, "processes", _TASKS | {"task_failed"},
                         {"task_failed"}),
    "PoolWorkerLifetime": (_mp_tests._TestPoolWorkerLifetime, "processes",
                           _TASKS | {"pool_worker_added"}, {"task_started"}),
    "ManagerQueue": (_mp_tests._TestQueue, "manager", _PUT_GOT, _PUT_GOT),
    "ManagerLock": (_mp_tests._TestLock, "manager", _LOCK, set()),
    "ManagerContainers": (_mp_tests._TestContainers, "manager",
                          {"dict_write", "dict_read", "list_write", "list_read"}, set()),
}

# The attributes of the `multiprocessing` module that `ipc` replaces while a class runs.
PATCHED = {
    "Process": ipc.Process,
    "Queue": ipc.Queue,
    "JoinableQueue": ipc.JoinableQueue,
    "SimpleQueue": ipc.SimpleQueue,
    "Pipe": ipc.Pipe,
    "Lock": ipc.Lock,
    "Pool": ipc.Pool,
    "Manager": ipc.Manager,
    "get_context": ipc.get_context,
}

_saved_log_level = [0]


def setUpModule():
    # What `install_tests_in_module_dict`'s setUpModule does that applies here (the start
    # method is set per class, below).
    multiprocessing.process._cleanup()
    _mp_tests.check_enough_semaphores()
    multiprocessing.util.get_temp_dir()  # creates the temp directory
    logger = multiprocessing.get_logger()
    _saved_log_level[0] = logger.level
    logger.setLevel(_mp_tests.LOG_LEVEL)


def tearDownModule():
    # Unlike CPython's tearDownModule, no `util._cleanup_tests()`: it runs (and so removes) every
    # registered finalizer of this pytest process, including ones other tests' objects rely on.
    support.gc_collect()
    multiprocessing.process._cleanup()
    multiprocessing.get_logger().setLevel(_saved_log_level[0])


class _IpcSetup(_mp_tests.BaseMixin):
    """Per class: the start method, `ipc` in place in `multiprocessing`, and tracing on or off."""

    START_METHOD: str = ""
    TRACED: bool = False
    EXPECTED_KINDS: set[str] = set()
    CHILD_KINDS: set[str] = set()

    collector: trace.Collector | None = None

    @classmethod
    def setUpClass(cls):
        cls._saved_start_method = multiprocessing.get_start_method(allow_none=True)
        cls._saved_attributes = {name: getattr(multiprocessing, name) for name in PATCHED}
        cls._saved_address = trace.address()
        try:
            multiprocessing.set_start_method(cls.START_METHOD, force=True)
            for name, value in PATCHED.items():
                setattr(multiprocessing, name, value)
            trace.detach()
            cls.collector = trace.Collector() if cls.TRACED else None
            if cls.collector is not None:
                trace.attach(cls.collector.address)
            super().setUpClass()
        except BaseException:
            cls._restore()
            raise

    @classmethod
    def tearDownClass(cls):
        # Before BaseMixin's, which reports dangling threads, the collector's included (and after
        # ManagerMixin's, which shuts the manager down: its server reports its own exit).
        collector = cls.collector
        cls._restore()
        super().tearDownClass()
        if collector is not None:
            cls._check_trace(collector.drain().events)

    @classmethod
    def _restore(cls):
        """Undo what setUpClass did (also after it failed half-way)."""
        trace.detach()
        collector, cls.collector = cls.collector, None
        if collector is not None:
            collector.close()  # reads whatever is still in the kernel's buffers first
        for name, value in cls._saved_attributes.items():
            setattr(multiprocessing, name, value)
        multiprocessing.set_start_method(cls._saved_start_method, force=True)
        if cls._saved_address is not None:
            trace.attach(cls._saved_address)

    @classmethod
    def _check_trace(cls, events):
        """The tracing path was really exercised, in this process and in its children."""
        assert events, f"{cls.__name__}: the collector received no events"
        kinds = {event.kind for event in events}
        missing = cls.EXPECTED_KINDS - kinds
        assert not missing, f"{cls.__name__}: no {sorted(missing)} events among {sorted(kinds)}"
        if cls.CHILD_KINDS:
            in_children = {event.kind for event in events if event.pid != os.getpid()}
            assert in_children & cls.CHILD_KINDS, (
                f"{cls.__name__}: no {sorted(cls.CHILD_KINDS)} events from child processes")


class IpcMixin(_IpcSetup, _mp_tests.ProcessesMixin):
    """`ProcessesMixin` with `ipc`'s classes."""

    Process = ipc.Process
    Pipe = staticmethod(ipc.Pipe)
    Queue = staticmethod(ipc.Queue)
    JoinableQueue = staticmethod(ipc.JoinableQueue)
    SimpleQueue = staticmethod(ipc.SimpleQueue)
    Lock = staticmethod(ipc.Lock)
    Pool = staticmethod(ipc.Pool)

    def test_ipc_in_place(self):
        """Our classes are the ones under test, through ``self`` and through `multiprocessing`."""
        self.assertEqual(multiprocessing.get_start_method(), self.START_METHOD)
        self.assertEqual(trace.enabled(), self.TRACED)
        simple = multiprocessing.SimpleQueue()
        self.assertIsInstance(simple, ipc.queues.SimpleQueue)
        simple.close()
        for make, cls in ((multiprocessing.Queue, ipc.queues.Queue),
                          (multiprocessing.JoinableQueue, ipc.queues.JoinableQueue),
                          (self.Queue, ipc.queues.Queue),
                          (self.JoinableQueue, ipc.queues.JoinableQueue)):
            q = make()
            self.assertIsInstance(q, cls)
            _mp_tests.close_queue(q)
        for pipe in (multiprocessing.Pipe, self.Pipe):
            a, b = pipe()
            self.assertIsInstance(a, ipc.connection.Connection)
            a.close()
            b.close()
        self.assertTrue(issubclass(multiprocessing.Process, ipc.process._TracedProcess))
        self.assertTrue(issubclass(self.Process, ipc.process._TracedProcess))
        ctx = multiprocessing.get_context()
        self.assertIsInstance(ctx.Process(), ipc.process._TracedProcess)
        self.assertEqual(ctx.get_start_method(), self.START_METHOD)
        for make in (multiprocessing.Lock, self.Lock, ctx.Lock):
            self.assertIsInstance(make(), ipc.synchronize.Lock)
        self.assertIs(multiprocessing.Pool, ipc.Pool)
        self.assertIs(self.Pool, ipc.Pool)
        self.assertIs(multiprocessing.Manager, ipc.Manager)


class IpcManagerMixin(_mp_tests.ManagerMixin, _IpcSetup):
    """`ManagerMixin` with `ipc.Manager()` (created by ManagerMixin through the patched
    ``multiprocessing.Manager``) and `ipc.Process`. ManagerMixin comes first: its setUpClass
    creates the manager once `_IpcSetup`'s has put `ipc` in place, and its tearDownClass shuts
    the manager down before `_IpcSetup`'s closes the collector."""

    Process = ipc.Process

    @classmethod
    def _check_trace(cls, events):
        super()._check_trace(events)
        server = cls._server_name
        assert any(e.kind == "process_started" and e.process == server for e in events)
        assert any(e.kind == "process_exited" and e.object == server for e in events)
        # the manager's objects report the server they live in (the other objects are `ipc`'s
        # own, which some tests create through the patched `multiprocessing` module)
        assert {(e.detail or {}).get("via") for e in events} - {None} == {server}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._server_name = cls.manager._process.name

    def test_ipc_in_place(self):
        """The manager is `ipc`'s, its server a traced process, its queues traced proxies."""
        self.assertEqual(multiprocessing.get_start_method(), self.START_METHOD)
        self.assertEqual(trace.enabled(), self.TRACED)
        self.assertIsInstance(self.manager, ipc.managers.SyncManager)
        self.assertIsInstance(self.manager._process, ipc.process._TracedProcess)
        self.assertEqual(self.manager._process._start_method, self.START_METHOD)
        self.assertTrue(self.manager._process.name.startswith("manager"))
        for make in (self.Queue, self.JoinableQueue):
            self.assertIsInstance(make(), ipc.managed.QueueProxy)


MIXINS = {"processes": IpcMixin, "manager": IpcManagerMixin}


def _bases(base, mixin) -> tuple:
    """As CPython orders them: a ``_TestXxx`` base first, so that its own setUpClass (e.g.
    _TestPool's, which creates a pool) runs within the mixin's; a plain TestCase (TestSimpleQueue)
    after the mixin, so that the mixin's setUpClass is not hidden by TestCase's."""
    if issubclass(base, _mp_tests.BaseTestCase):
        return base, mixin, unittest.TestCase
    return mixin, base


def _install() -> None:
    """One class per (test base, start method, traced or not), as CPython's module does."""
    for short, (base, mixin, kinds, child_kinds) in BASES.items():
        for method in START_METHODS:
            for traced in (True, False):
                name = f"Test{short}_{method.capitalize()}{'Traced' if traced else 'Untraced'}"
                attributes = {
                    "__module__": __name__,
                    "__qualname__": name,
                    "START_METHOD": method,
                    "TRACED": traced,
                    "EXPECTED_KINDS": kinds,
                    "CHILD_KINDS": child_kinds,
                    # _TestPool.test_traceback calls sys.excepthook, which pytest-qt captures
                    "pytestmark": [pytest.mark.qt_no_exception_capture],
                }
                globals()[name] = type(name, _bases(base, MIXINS[mixin]), attributes)


_install()
