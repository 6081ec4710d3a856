"""``async def`` tasks end to end through real pools (thread: the group's asyncio lane; process:
``asyncio.run`` in the task process) on a real redis-server: results, statuses, retries, timeouts
(the coroutine is cancelled), revocation, callbacks, and many awaiting tasks at once beyond the
thread count. Submitted and awaited from asyncio code (``agenerate``, the async status tracker
and result store)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from alsek import Broker, Message, TaskStatus, task
from alsek.adapters.redis import AsyncRedisBackend, RedisBackend
from alsek.core.status import StatusTracker
from alsek.core.status.asyncio import AsyncStatusTracker
from alsek.storage.result import AsyncResultStore, ResultStore
from alsek.worker.pool import WorkerPool
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool
from tests.integration.test_worker_harness import wait_until
from tests.integration.test_worker_pools import FAST, running

KINDS = ["thread", "process"]


def _pool(kind: str, tasks: list[Any], **options: Any) -> WorkerPool:
    settings = {**FAST, **options}
    if kind == "thread":
        return ThreadWorkerPool(tasks, n_threads=2, n_processes=1, **settings)
    return ProcessWorkerPool(tasks, n_processes=2, **settings)


@pytest.fixture
def broker(redis_backend: RedisBackend) -> Broker:
    return Broker(redis_backend)


@pytest.fixture
def results(redis_backend: RedisBackend) -> ResultStore:
    return ResultStore(redis_backend)


@pytest.fixture
def tracker(redis_backend: RedisBackend) -> StatusTracker:
    return StatusTracker(redis_backend)


def _dead(broker: Broker, message: Message) -> Message:
    wait_until(lambda: broker.in_dlq(message), 30, f"{message.summary} in the dead letter queue")
    return broker.sync_from_backend(message)


@pytest.mark.parametrize("kind", KINDS)
def test_an_async_task_succeeds_with_its_result_and_statuses(
    broker: Broker, results: ResultStore, tracker: StatusTracker, kind: str
) -> None:
    @task(broker, queue="a", mechanism=kind, result_store=results, status_tracker=tracker)
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.01)
        return a + b

    async def submit_and_await() -> tuple[int, TaskStatus]:
        async_backend = broker.backend.to_async()
        message = await add.agenerate(args=(2, 3))
        store, statuses = AsyncResultStore(async_backend), AsyncStatusTracker(async_backend)
        status = await statuses.wait_for(message, TaskStatus.SUCCEEDED, timeout=30_000)
        result = await store.get(message, timeout=30_000)
        await async_backend.close()
        return result, status

    with running(_pool(kind, [add])):
        result, status = asyncio.run(submit_and_await())
    assert (result, status) == (5, TaskStatus.SUCCEEDED)


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_async_run_is_retried(
    broker: Broker, results: ResultStore, tracker: StatusTracker, kind: str
) -> None:
    @task(broker, queue="a", mechanism=kind, max_retries=2, backoff=None, result_store=results,
          status_tracker=tracker)  # fmt: skip
    async def flaky(message: Message) -> int:
        await asyncio.sleep(0)
        if message.retries < 2:
            raise RuntimeError(f"attempt {message.retries} fails")
        return message.retries

    message = flaky.generate()
    with running(_pool(kind, [flaky])):
        assert results.get(message, timeout=30_000) == 2
    assert tracker.get(message) == TaskStatus.SUCCEEDED


@pytest.mark.parametrize("kind", KINDS)
def test_an_async_task_past_its_timeout_is_cancelled_and_failed(
    broker: Broker, redis_backend: RedisBackend, kind: str
) -> None:
    marker = f"{redis_backend.namespace}:cancelled"

    @task(broker, queue="a", mechanism=kind, timeout=300, max_retries=0)
    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:  # the thread pool cancels (the process pool kills)
            redis_backend.client.set(marker, 1)
            raise

    @task(broker, queue="a", mechanism=kind)
    async def after() -> None: ...

    message = stuck.generate()
    with running(_pool(kind, [stuck, after])):
        dead = _dead(broker, message)
        follower = after.generate()
        wait_until(lambda: not broker.exists(follower), 30, "the next task to run")
    assert dead.exception_details["name"] == "TimeoutError"
    assert "exceeded its timeout of 300 ms" in dead.exception_details["text"]
    if kind == "thread":
        assert redis_backend.client.get(marker) == b"1", "the coroutine saw its cancellation"


@pytest.mark.parametrize("kind", KINDS)
def test_revoking_an_async_run_stops_it(broker: Broker, tracker: StatusTracker, kind: str) -> None:
    @task(broker, queue="a", mechanism=kind, max_retries=None, status_tracker=tracker)
    async def forever() -> None:
        while True:
            await asyncio.sleep(0.01)

    message = forever.generate()
    with running(_pool(kind, [forever])):
        wait_until(lambda: tracker.get(message) == TaskStatus.RUNNING, 30, "the run to start")
        forever.revoke(message)
        dead = _dead(broker, message)
    assert tracker.get(message) == TaskStatus.FAILED
    assert dead.exception_details["name"] == "RevokedError"


@pytest.mark.parametrize("kind", KINDS)
def test_an_async_task_submits_its_callback(
    broker: Broker, results: ResultStore, kind: str
) -> None:
    @task(broker, queue="a", mechanism=kind, result_store=results)
    async def first(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    @task(broker, queue="a", mechanism=kind, result_store=results)
    async def second(message: Message) -> int:
        return message.previous_result + 1

    message = first.generate(args=(4,), callback=second.defer().generate())
    with running(_pool(kind, [first, second])):
        chain = results.get(message, timeout=30_000, descendants=True)
    assert chain == [40, 41]


def test_many_awaiting_tasks_run_at_once_beyond_the_thread_count(
    broker: Broker, redis_url: str, redis_backend: RedisBackend
) -> None:
    """40 tasks on 2 threads: each arrives at a barrier that opens only once all 40 are there,
    so the test passes only if they all await at the same time (a bounded wait otherwise)."""
    count, key = 40, f"{redis_backend.namespace}:arrived"
    backends: dict[int, AsyncRedisBackend] = {}

    @task(broker, queue="a", mechanism="thread", max_retries=0, timeout=60_000)
    async def meet() -> int:
        shared = backends.setdefault(0, AsyncRedisBackend(redis_url))
        client = shared.conn
        arrived = await client.incr(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while int(await client.get(key)) < count:
            assert loop.time() < deadline, "the others never arrived"
            await asyncio.sleep(0.01)
        return int(arrived)

    store = ResultStore(redis_backend)
    meet.result_store = store
    messages = meet.generate_many([{} for _ in range(count)])
    pool = ThreadWorkerPool([meet], n_threads=2, n_processes=1, async_concurrency=50, **FAST)
    with running(pool):
        arrivals = [store.get(m, timeout=60_000) for m in messages]
    assert sorted(arrivals) == list(range(1, count + 1))
