"""SAQ: a coroutine function, its worker's ``concurrency`` set to the common concurrency."""

from __future__ import annotations

from typing import Any

from saq import Queue

from bench.io.common import CONCURRENCY, URL, io_work

queue = Queue.from_url(URL)


async def io_task(ctx: dict[str, Any]) -> None:
    await io_work()


settings = {"queue": queue, "functions": [io_task], "concurrency": CONCURRENCY}
_connected = False


async def enqueue_one() -> None:
    global _connected
    if not _connected:
        await queue.connect()
        _connected = True
    await queue.enqueue("io_task")
