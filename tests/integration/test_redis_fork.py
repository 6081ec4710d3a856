"""A child forked while another thread holds the client's pool locks can still use the backend."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from alsek.adapters.redis import RedisBackend

CHILD_DEADLINE_S = 10.0


def _hold_locks_in_another_thread(pool: object, release: threading.Event) -> threading.Event:
    held = threading.Event()

    def hold() -> None:
        with pool._fork_lock, pool._lock:  # type: ignore[attr-defined]
            held.set()
            release.wait(CHILD_DEADLINE_S)

    threading.Thread(target=hold, daemon=True).start()
    assert held.wait(CHILD_DEADLINE_S)
    return held


def _child_status(pid: int) -> int | None:
    deadline = time.monotonic() + CHILD_DEADLINE_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)  # polling a child's exit: nothing to block on with a deadline
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_inherit_held_pool_locks(redis_backend: RedisBackend) -> None:
    redis_backend.set("before-fork", 1)
    release = threading.Event()
    _hold_locks_in_another_thread(redis_backend.client.connection_pool, release)
    try:
        pid = os.fork()
        if pid == 0:  # the child: its first command must not hang
            try:
                os._exit(0 if redis_backend.get("before-fork") == 1 else 1)
            except BaseException:
                os._exit(2)
    finally:
        release.set()
    assert _child_status(pid) == 0
