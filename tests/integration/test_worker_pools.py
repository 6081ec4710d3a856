"""Worker pools end to end on a real Redis: timeouts, crashes, revocation, statuses, scaling,
heartbeats, and latency from submission to start."""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alsek import Broker, Message, TaskStatus, task
from alsek.adapters.redis import RedisBackend
from alsek.core.status import StatusTracker
from alsek.domain.services.consumer import Consumer
from alsek.worker.pool import WorkerPool
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool
from tests.integration.test_worker_harness import wait_until

FAST = {"lease_ms": 1_000, "grace_period": 2_000}
#: The pools: threads, a fresh process per task, warm processes reused.
KINDS = ["thread", "process", "reuse"]


@contextlib.contextmanager
def running(pool: WorkerPool, started: Callable[[], bool] | None = None) -> Iterator[WorkerPool]:
    """Run ``pool`` in a thread of this process until the block ends, then stop it gracefully.

    Args:
        pool: the pool.
        started: when given, wait (10 s at most) until it is true before entering the block.
    """
    thread = threading.Thread(target=pool.run, name="test-pool", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while started is not None and not started() and thread.is_alive():
        assert time.monotonic() < deadline, "the worker pool did not start"
        time.sleep(0.005)
    try:
        yield pool
    finally:
        pool.stop()
        thread.join(30)
        assert not thread.is_alive(), "the worker pool did not stop"


@pytest.fixture
def backend(redis_backend: RedisBackend) -> RedisBackend:
    return redis_backend


@pytest.fixture
def broker(backend: RedisBackend) -> Broker:
    return Broker(backend)


@pytest.fixture
def tracker(backend: RedisBackend) -> StatusTracker:
    return StatusTracker(backend)


def _dead(broker: Broker, message: Message) -> Message:
    wait_until(lambda: broker.in_dlq(message), 30, f"{message.summary} in the dead letter queue")
    return broker.sync_from_backend(message)


@pytest.mark.parametrize("kind", KINDS)
def test_a_task_past_its_timeout_is_stopped_and_failed(broker: Broker, kind: str) -> None:
    @task(broker, queue="t", timeout=300, max_retries=1, backoff=None, mechanism=_mechanism(kind))
    def spin() -> None:
        while True:
            pass

    @task(broker, queue="t", mechanism=_mechanism(kind))
    def after() -> int:
        return os.getpid()

    message = spin.generate()
    pool = _pool(kind, [spin, after])
    with running(pool):
        dead = _dead(broker, message)
        follower = after.generate()
        wait_until(lambda: not broker.exists(follower), 30, "the next task to run")
    assert dead.exception_details["name"] == "TimeoutError"
    assert dead.retries == 1, "retried once, then failed"


@pytest.mark.parametrize("reuse", [1, 0], ids=["fresh", "reuse"])
def test_a_crashing_task_takes_only_its_own_process(broker: Broker, reuse: int) -> None:
    @task(broker, queue="t", max_retries=0)
    def crash() -> None:
        os._exit(3)

    @task(broker, queue="t")
    def fine() -> None: ...

    message = crash.generate()
    pool = ProcessWorkerPool([crash, fine], n_processes=1, max_tasks_per_child=reuse, **FAST)
    with running(pool):
        dead = _dead(broker, message)
        follower = fine.generate()
        wait_until(lambda: not broker.exists(follower), 30, "a fresh process to take over")
    assert dead.exception_details["name"] == "ChildProcessError"
    assert "exit code 3" in dead.exception_details["text"]


@pytest.mark.parametrize("kind", KINDS)
def test_revoking_with_interrupt_stops_the_run(
    broker: Broker, tracker: StatusTracker, backend: RedisBackend, kind: str
) -> None:
    @task(broker, queue="t", max_retries=None, status_tracker=tracker, mechanism=_mechanism(kind))
    def forever() -> None:
        while True:
            time.sleep(0.001)

    message = forever.generate()
    with running(_pool(kind, [forever])):
        wait_until(lambda: tracker.get(message) == TaskStatus.RUNNING, 30, "the run to start")
        forever.revoke(message)
        wait_until(lambda: _idle(backend), 30, "the run to be stopped")
    assert tracker.get(message) == TaskStatus.FAILED
    assert not broker.exists(message)
    assert _dead(broker, message).exception_details["name"] == "RevokedError"


def _idle(backend: RedisBackend) -> bool:
    return not backend.claim(["t"], limit=1, lease_ms=1).messages and backend.count("queues:t") == 0


def test_statuses_follow_the_run(broker: Broker, tracker: StatusTracker) -> None:
    seen: list[str] = []

    @task(
        broker, queue="t", status_tracker=tracker, max_retries=1, backoff=None, mechanism="thread"
    )
    def twice(message: Message) -> None:
        if message.retries == 0:
            raise RuntimeError("first attempt fails")

    message = twice.generate()
    stop = threading.Event()

    def listen() -> None:
        for update in tracker.listen_to_updates(message):
            seen.append(update.status.name)
            if update.status.terminal or stop.is_set():
                return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    with running(ThreadWorkerPool([twice], n_processes=1, **FAST)):
        wait_until(lambda: tracker.get(message) == TaskStatus.SUCCEEDED, 30, "success")
    listener.join(10)
    stop.set()
    assert seen[-4:] == ["RUNNING", "RETRYING", "RUNNING", "SUCCEEDED"], seen


@pytest.mark.parametrize("kind", KINDS)
def test_heartbeats_keep_a_long_run_leased(
    broker: Broker, backend: RedisBackend, kind: str
) -> None:
    runs: list[int] = []
    counter = f"{backend.namespace}:test-runs"

    @task(broker, queue="t", mechanism=_mechanism(kind))
    def long() -> None:
        backend.client.incr(counter)
        time.sleep(2.0)  # several 300 ms leases

    message = long.generate()
    with running(_pool(kind, [long], lease_ms=300)):
        wait_until(lambda: backend.client.get(counter) is not None, 30, "the run to start")
        other = Consumer(broker, ["t"], lease_ms=300)
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            runs.extend(m.summary for m in other.claim(1))  # type: ignore[misc]
            time.sleep(0.05)
        wait_until(lambda: not broker.exists(message), 30, "the run to finish")
    assert runs == [], "nobody else got the message while it ran"
    assert int(backend.client.get(counter)) == 1


def test_the_thread_pool_scales_up_under_load_and_prunes_idle_groups(broker: Broker) -> None:
    gate = "scale-test-release"

    @task(broker, queue="t", mechanism="thread")
    def block() -> None:  # busy until the test lets go (bounded): the load stays full
        deadline = time.monotonic() + 60
        while not broker.backend.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.01)

    for _ in range(6):
        block.generate()
    pool = ThreadWorkerPool(
        [block], n_threads=2, n_processes=3, n_process_floor=1, idle_group_ms=300, prefetch=0,
        **FAST,
    )  # fmt: skip
    with running(pool):
        wait_until(lambda: pool.groups == 3, 60, "three process groups under load")
        broker.backend.set(gate, 1)
        wait_until(lambda: broker.backend.count("queues:t") == 0, 30, "the backlog to drain")
        wait_until(lambda: pool.groups == 1, 30, "idle groups to be pruned to the floor")


def test_idle_enqueue_to_start_latency(broker: Broker, backend: RedisBackend) -> None:
    """Not a benchmark (no threshold tighter than 'well under the polling interval of old')."""
    started: list[float] = []
    key = f"{backend.namespace}:started"

    @task(broker, queue="lat", mechanism="thread")
    def stamp(sent: float) -> None:
        backend.client.rpush(key, time.time() - sent)

    with running(ThreadWorkerPool([stamp], n_threads=8, n_processes=1, **FAST)):
        for _ in range(60):
            time.sleep(0.02)  # idle between messages: every one wakes a parked worker
            stamp.generate(args=(time.time(),))
        wait_until(lambda: backend.client.llen(key) == 60, 30, "60 runs")
    started = sorted(float(x) * 1000 for x in backend.client.lrange(key, 0, -1))
    p50, p99 = statistics.median(started), started[int(len(started) * 0.99) - 1]
    print(f"\nidle enqueue-to-start latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms (60 samples)")
    assert p50 < 50, "an idle worker must be woken, not polling"


def _pool(kind: str, tasks: list[Any], **options: Any) -> WorkerPool:
    settings = {**FAST, **options}
    if kind == "thread":
        return ThreadWorkerPool(tasks, n_threads=2, n_processes=1, **settings)
    reuse = 0 if kind == "reuse" else 1
    return ProcessWorkerPool(tasks, n_processes=1, max_tasks_per_child=reuse, **settings)


def _mechanism(kind: str) -> str:
    return "thread" if kind == "thread" else "process"
