"""The asyncio lane of a ThreadGroup against InMemoryBackend: async def tasks run beside the
threads, many at once, and a timeout cancels the coroutine; shutdown gives back what was
interrupted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import LinearBackoff
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.worker.lifecycle import StopSignal
from alsek.worker.thread.group import ThreadGroup
from tests.unit.waiting import wait_until

BACKOFF = LinearBackoff(factor=50, floor=50, ceiling=200, zero_override=False)


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


@pytest.fixture
def make_group(broker: Broker) -> Iterator[Callable[..., ThreadGroup]]:
    groups: list[ThreadGroup] = []

    def make(n_threads: int = 2, async_concurrency: int = 100) -> ThreadGroup:
        stop = StopSignal()
        consumer = Consumer(broker, ["q"], BACKOFF, lease_ms=2_000, stop_signal=stop)
        processor = MessageProcessor(consumer, broker.tasks)
        group = ThreadGroup(processor, n_threads=n_threads, stop=stop, heartbeat_ms=400,
                            tick_ms=20, async_concurrency=async_concurrency)  # fmt: skip
        group.start()
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.shutdown(grace_ms=1_000)


def test_no_lane_without_async_tasks(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    @task(broker, queue="q")
    def plain() -> None: ...

    assert make_group().lane is None


def test_async_and_sync_tasks_run_side_by_side_beyond_the_thread_count(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    count = 30
    arrived: list[int] = []
    everyone = threading.Event()
    sync_ran = threading.Event()

    @task(broker, queue="q", max_retries=0)
    async def meet(i: int) -> None:
        arrived.append(i)
        if len(arrived) == count:
            everyone.set()
        while not everyone.is_set():  # the barrier: passes only if all 30 await at once
            await asyncio.sleep(0.005)

    @task(broker, queue="q")
    def plain() -> None:
        sync_ran.set()

    for i in range(count):
        meet.generate(args=(i,))
    plain.generate()
    make_group(n_threads=2)
    assert everyone.wait(10), f"only {len(arrived)} of {count} awaited at once"
    assert sync_ran.wait(10)
    assert wait_until(lambda: broker.backend.count("queues:q") == 0)


def test_the_lane_runs_at_most_its_concurrency(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    running: list[int] = []
    peak: list[int] = []

    @task(broker, queue="q")
    async def hold() -> None:
        running.append(1)
        peak.append(len(running))
        await asyncio.sleep(0.05)
        running.pop()

    for _ in range(12):
        hold.generate()
    make_group(n_threads=2, async_concurrency=3)
    assert wait_until(lambda: broker.backend.count("queues:q") == 0 and len(peak) == 12)
    assert max(peak) <= 3


def test_a_timeout_cancels_the_coroutine(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    cancelled = threading.Event()

    @task(broker, queue="q", timeout=100, max_retries=0)
    async def stuck() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    message = stuck.generate()
    make_group()
    assert cancelled.wait(10)
    assert wait_until(lambda: broker.in_dlq(message))
    dead: Message = broker.sync_from_backend(message)
    assert dead.exception_details["name"] == "TimeoutError"


def test_shutdown_gives_running_coroutines_back(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    started = threading.Event()

    @task(broker, queue="q")
    async def long() -> None:
        started.set()
        await asyncio.sleep(30)

    message = long.generate()
    group = make_group()
    assert started.wait(10)
    group.shutdown(grace_ms=100)
    assert broker.exists(message)
    assert broker.backend.claim(["q"], limit=1, lease_ms=1_000).messages == [message]


def test_async_runs_count_in_the_group_stats(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    @task(broker, queue="q", max_retries=0)
    async def maybe(fail: bool) -> None:
        if fail:
            raise ValueError("no")

    for fail in (False, False, True):
        maybe.generate(args=(fail,))
    group = make_group()
    assert wait_until(lambda: group.stats.counters().processed == 3)
    counters = group.stats.counters()
    assert (counters.succeeded, counters.failed) == (2, 1)
