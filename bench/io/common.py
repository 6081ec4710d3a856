"""What every system's task does: await ``SLEEP_S``, then count itself done in Redis."""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

import redis.asyncio as aioredis

URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: The counter this process's tasks increment (one per system, so that systems run side by side).
DONE_KEY = os.environ.get("BENCH_DONE_KEY", "bench:io:done")
SLEEP_S = float(os.environ.get("BENCH_SLEEP_S", "0.1"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "100"))

_clients: weakref.WeakKeyDictionary[Any, aioredis.Redis] = weakref.WeakKeyDictionary()


def client() -> aioredis.Redis:
    """A client of the running loop (an asyncio connection belongs to its loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = aioredis.Redis.from_url(URL)
    return _clients[loop]


async def io_work() -> None:
    """The task body: an await of ``SLEEP_S`` (standing for an HTTP call), then one INCR."""
    await asyncio.sleep(SLEEP_S)
    await client().incr(DONE_KEY)
