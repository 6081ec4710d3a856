"""Lock on a real redis-server: one winner across processes, TTL in Redis, crash recovery."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable

from alsek.adapters.redis import RedisBackend
from alsek.core.concurrency import Lock


def _contend(url: str, namespace: str, start: float, wins: multiprocessing.Queue) -> None:
    backend = RedisBackend(url, namespace=namespace)
    lock = Lock("race", backend=backend)
    while time.time() < start:  # line the processes up
        pass
    wins.put(lock.acquire())
    backend.close()


def _hold_and_hang(url: str, namespace: str, held: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    backend = RedisBackend(url, namespace=namespace)
    assert Lock("job", backend=backend, ttl=300).acquire()
    held.set()
    time.sleep(60)  # killed long before


def test_one_process_wins(redis_url: str, redis_namespace: str) -> None:
    context = multiprocessing.get_context("spawn")
    wins = context.Queue()
    start = time.time() + 1.5
    processes = [
        context.Process(target=_contend, args=(redis_url, redis_namespace, start, wins))
        for _ in range(8)
    ]
    for process in processes:
        process.start()
    results = sorted(wins.get(timeout=30) for _ in processes)
    for process in processes:
        process.join(10)
    assert results == [False] * 7 + [True]


def test_the_ttl_lives_in_redis(redis_backend: RedisBackend) -> None:
    lock = Lock("job", backend=redis_backend, ttl=60_000)
    assert lock.acquire()
    ttl = redis_backend.client.pttl(redis_backend.full_name("locks:job"))
    assert 0 < ttl <= 60_000
    assert lock.release()
    assert not redis_backend.exists("locks:job")


def test_a_killed_holder_frees_the_lock_by_its_ttl(
    redis_url: str, redis_namespace: str, make_redis_backend: Callable[..., RedisBackend]
) -> None:
    context = multiprocessing.get_context("spawn")
    held = context.Event()
    holder = context.Process(target=_hold_and_hang, args=(redis_url, redis_namespace, held))
    holder.start()
    assert held.wait(30)
    os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
    holder.join(10)
    successor = Lock("job", backend=make_redis_backend())
    assert not successor.acquire()
    deadline = time.monotonic() + 5
    while not successor.acquire():  # the 300 ms TTL runs out in Redis
        assert time.monotonic() < deadline, "the crashed holder's lock never expired"
        time.sleep(0.02)
    assert successor.held


def test_context_manager_on_redis(redis_backend: RedisBackend) -> None:
    with Lock("send_data", backend=redis_backend) as lock:
        assert lock.acquire(strict=False)
        assert lock.acquire(strict=False) and not lock.acquire(strict=True)
        assert not Lock("send_data", backend=redis_backend).acquire()
    assert not redis_backend.exists("locks:send_data")
