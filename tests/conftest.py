"""Checks around the whole test session."""

from __future__ import annotations

import os
import time

import pytest

SHM = "/dev/shm"
PREFIXES = ("sem.mp-", "psm_", "mp-")  # multiprocessing's named semaphores and shared memory


def _ours() -> set[str]:
    if not os.path.isdir(SHM):
        return set()
    return {name for name in os.listdir(SHM) if name.startswith(PREFIXES)}


@pytest.fixture(scope="session", autouse=True)
def nothing_left_in_dev_shm():
    """The runs the suite makes, killed or not, and the programs it generates leave no named
    semaphore or shared memory behind (a resource tracker may still be unlinking for a moment)."""
    before = _ours()
    yield
    deadline = time.monotonic() + 5
    while (left := _ours() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"left in {SHM} by the test session: {sorted(left)}"
