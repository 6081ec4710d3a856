"""Script calls run over one connection per thread (not the pool): killed connections are
replaced, close() disconnects them, threads, copies and forked children each use their own."""

from __future__ import annotations

import copy
import os
import threading
import time

import pytest
import redis

from alsek.adapters.redis import RedisBackend
from alsek.domain.model.message import Message

WAIT_S = 10.0


def _script_clients(admin: redis.Redis) -> list[dict]:
    return [c for c in admin.client_list() if c.get("cmd") == "evalsha"]


def test_a_killed_script_connection_is_replaced(redis_backend: RedisBackend, redis_client):
    redis_backend.submit(Message("t", queue="q"))
    assert redis_client.client_kill_filter(_type="normal", skipme=True) >= 1
    redis_backend.submit(Message("t", queue="q"))  # retried once on a new socket
    assert redis_backend.depth("q") == 2


def test_close_disconnects_the_script_connections(redis_backend: RedisBackend, redis_client):
    redis_backend.submit(Message("t", queue="q"))
    assert len(_script_clients(redis_client)) == 1
    redis_backend.close()
    assert _script_clients(redis_client) == []
    redis_backend.submit(Message("t", queue="q"))  # reconnects
    assert len(_script_clients(redis_client)) == 1


def test_each_thread_has_its_own_script_connection(redis_backend: RedisBackend, redis_client):
    done = [threading.Event(), threading.Event()]
    release = threading.Event()
    errors: list[BaseException] = []

    def work(event: threading.Event) -> None:
        try:
            redis_backend.submit(Message("t", queue="q"))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        event.set()
        release.wait(WAIT_S)

    threads = [threading.Thread(target=work, args=(event,)) for event in done]
    for thread in threads:
        thread.start()
    try:
        assert all(event.wait(WAIT_S) for event in done)
        assert not errors
        assert len(_script_clients(redis_client)) == 2
    finally:
        release.set()
        for thread in threads:
            thread.join(WAIT_S)


def test_a_copy_has_its_own_script_connections(redis_backend: RedisBackend, redis_client):
    redis_backend.submit(Message("t", queue="q"))
    twin = copy.copy(redis_backend)
    twin.submit(Message("t", queue="q"))
    assert len(_script_clients(redis_client)) == 2
    twin._session.script_connections.close()
    assert len(_script_clients(redis_client)) == 1
    assert redis_backend.depth("q") == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_uses_its_own_script_connection(redis_backend: RedisBackend):
    redis_backend.submit(Message("t", queue="q"))
    pid = os.fork()
    if pid == 0:
        try:
            redis_backend.submit(Message("t", queue="q"))
            os._exit(0)
        except BaseException:
            os._exit(1)
    deadline = time.monotonic() + WAIT_S
    status = None
    while status is None and time.monotonic() < deadline:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(raw)
        else:
            time.sleep(0.01)  # polling a child's exit: nothing to block on with a deadline
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert status == 0
    redis_backend.submit(Message("t", queue="q"))  # the parent's connection still works
    assert redis_backend.depth("q") == 3
