"""alsek: an ``async def`` task on the thread pool's asyncio lane."""

from __future__ import annotations

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend
from bench.io.common import URL, io_work

broker = Broker(RedisBackend(URL, namespace="bench-io"))


@task(broker, queue="io", mechanism="thread", max_retries=0)
async def io_task() -> None:
    await io_work()


async def enqueue_one() -> None:
    await io_task.agenerate()
