"""taskiq with taskiq-redis: a coroutine task on a Redis list queue; the worker runs
``--max-async-tasks`` set to the common concurrency."""

from __future__ import annotations

from taskiq_redis import ListQueueBroker

from bench.io.common import URL, io_work

broker = ListQueueBroker(url=URL)
_started = False


@broker.task
async def io_task() -> None:
    await io_work()


async def enqueue_one() -> None:
    global _started
    if not _started:
        await broker.startup()
        _started = True
    await io_task.kiq()
