"""arq: a coroutine function, its worker's ``max_jobs`` set to the common concurrency."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import RedisSettings

from bench.io.common import CONCURRENCY, URL, io_work

REDIS = RedisSettings.from_dsn(URL)
_pool: Any = None


async def io_task(ctx: dict[str, Any]) -> None:
    await io_work()


class WorkerSettings:
    functions = [io_task]
    redis_settings = REDIS
    max_jobs = CONCURRENCY


async def enqueue_one() -> None:
    global _pool
    if _pool is None:
        _pool = await create_pool(REDIS)
    await _pool.enqueue_job("io_task")
