"""The asyncio twins on InMemoryBackend (its ``to_async()`` view): ``agenerate`` submits what
``generate`` submits, the async status tracker and result store follow the sync ones' rules,
and the shared step drivers behave alike."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from hypothesis import given
from hypothesis import strategies as st

from alsek import Broker, Message, TaskStatus, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.status import StatusTracker
from alsek.core.status.asyncio import AsyncStatusTracker
from alsek.domain.model.errors import (
    MessageAlreadyExistsError,
    ResultNotFoundError,
    ResultTimeoutError,
    ValidationError,
    WaitTimeoutError,
)
from alsek.domain.model.naming import message_name
from alsek.domain.model.steps import Emit, adrive, aiterate, drive, iterate
from alsek.storage.result import AsyncResultStore, ResultStore
from tests.contract.fakes import FakeClock


@pytest.fixture
def backend() -> Iterator[InMemoryBackend]:
    backend = InMemoryBackend(clock=FakeClock())
    yield backend
    backend.close()


@pytest.fixture
def broker(backend: InMemoryBackend) -> Broker:
    return Broker(backend)


def _stored(backend: InMemoryBackend, message: Message) -> dict[str, Any]:
    data = dict(backend.get(message_name(message)))
    data.pop("lease_token", None)
    return data


def test_agenerate_stores_what_generate_stores(broker: Broker, backend: InMemoryBackend) -> None:
    tracker = StatusTracker(backend)

    @task(broker, queue="q", status_tracker=tracker, priority=2)
    async def add(a: int, b: int) -> int:
        return a + b

    sync = add.generate(args=(1, 2), uuid="s", metadata={"m": 1}, delay=5)
    awaited = asyncio.run(add.agenerate(args=(1, 2), uuid="a", metadata={"m": 1}, delay=5))
    left, right = _stored(backend, sync), _stored(backend, awaited)
    assert {**left, "uuid": "a"} == right
    assert tracker.get(awaited) == TaskStatus.SUBMITTED
    assert backend.depth("q") == 2


def test_agenerate_validates_and_defers_like_generate(
    broker: Broker, backend: InMemoryBackend
) -> None:
    @task(broker, queue="q")
    async def job() -> None: ...

    with pytest.raises(ValidationError):
        asyncio.run(job.agenerate(priority="high"))  # type: ignore[arg-type]

    async def deferring() -> tuple[Message, bool, Message]:
        deferred = await job.defer().agenerate()
        return deferred, job.deferred, await job.agenerate(submit=False)

    deferred, still_deferred, kept = asyncio.run(deferring())
    assert not still_deferred
    assert not broker.exists(deferred) and not broker.exists(kept)
    assert backend.depth("q") == 0


def test_agenerate_many_submits_in_order_and_reports_existing(
    broker: Broker, backend: InMemoryBackend
) -> None:
    @task(broker, queue="q")
    async def job(n: int) -> int:
        return n

    messages = asyncio.run(job.agenerate_many([{"args": (n,), "uuid": f"u{n}"} for n in range(3)]))
    assert [m.args for m in messages] == [(0,), (1,), (2,)]
    with pytest.raises(MessageAlreadyExistsError, match="u1"):
        asyncio.run(
            job.agenerate_many([{"uuid": "u1", "args": (1,)}, {"uuid": "u9", "args": (9,)}])
        )
    assert backend.depth("q") == 4


def test_a_triggered_task_refuses_agenerate(broker: Broker) -> None:
    @task(broker, trigger=IntervalTrigger(seconds=60))
    def tick() -> None: ...

    with pytest.raises(ValidationError, match="generate"):
        asyncio.run(tick.agenerate())
    tick.shutdown()


def test_async_tracker_waits_for_a_status_set_elsewhere(backend: InMemoryBackend) -> None:
    sync, tracker = StatusTracker(backend), AsyncStatusTracker(backend.to_async())
    message = Message("t", uuid="m")

    async def scenario() -> TaskStatus:
        waiter = asyncio.ensure_future(tracker.wait_for(message, TaskStatus.SUCCEEDED, 10_000))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await asyncio.to_thread(sync.set, message, TaskStatus.RUNNING)
        await asyncio.to_thread(sync.set, message, TaskStatus.SUCCEEDED)
        return await waiter

    assert asyncio.run(scenario()) == TaskStatus.SUCCEEDED


def test_async_tracker_times_out_and_reads_like_the_sync_one(backend: InMemoryBackend) -> None:
    tracker = AsyncStatusTracker(backend.to_async())
    message = Message("t", uuid="m")

    async def scenario() -> list[Any]:
        with pytest.raises(WaitTimeoutError):
            await tracker.wait_for(message, TaskStatus.SUCCEEDED, timeout=50)
        with pytest.raises(ValidationError):
            await tracker.wait_for(message, TaskStatus.SUCCEEDED, timeout=0.5)
        seen = [await tracker.exists(message), await tracker.get(message)]
        await tracker.set(message, TaskStatus.RUNNING, details={"p": 1})
        with pytest.raises(ValidationError):
            await tracker.delete(message)
        seen += [await tracker.get(message), (await tracker.get_update(message)).details]
        await tracker.set(message, TaskStatus.FAILED)
        updates = [u.status async for u in tracker.listen_to_updates(message, timeout=1_000)]
        await tracker.delete(message)
        return [*seen, updates, await tracker.exists(message)]

    assert asyncio.run(scenario()) == [
        False, TaskStatus.UNKNOWN, TaskStatus.RUNNING, {"p": 1}, [TaskStatus.FAILED], False,
    ]  # fmt: skip


def test_async_result_store_waits_without_polling(backend: InMemoryBackend) -> None:
    sync, store = ResultStore(backend), AsyncResultStore(backend.to_async())
    message = Message("t", uuid="r")

    async def scenario() -> Any:
        with pytest.raises(ResultNotFoundError):
            await store.get(message)
        with pytest.raises(ResultTimeoutError):
            await store.get(message, timeout=50)
        waiter = asyncio.ensure_future(store.get(message, timeout=10_000, keep=True))
        await asyncio.sleep(0.05)
        writer = threading.Thread(target=sync.set, args=(message, {"x": 1}))
        writer.start()
        result = await waiter
        writer.join(5)
        return result, await store.exists(message), await store.delete(message)

    assert asyncio.run(scenario()) == ({"x": 1}, True, 1)
    assert not sync.exists(message)


def _steps(values: list[int]) -> Any:
    total = 0
    for value in values:
        total += yield ("double", value)
        yield Emit(total)
    return total


@given(st.lists(st.integers(-100, 100), max_size=10))
def test_the_sync_and_async_drivers_agree(values: list[int]) -> None:
    def perform(step: Any) -> Any:
        return None if isinstance(step, Emit) else step[1] * 2

    async def aperform(step: Any) -> Any:
        return perform(step)

    async def both() -> tuple[Any, list[Any]]:
        return await adrive(_steps(values), aperform), [
            v async for v in aiterate(_steps(values), aperform)
        ]

    assert both_sync(values, perform) == asyncio.run(both())


def both_sync(values: list[int], perform: Any) -> tuple[Any, list[Any]]:
    return drive(_steps(values), perform), list(iterate(_steps(values), perform))
