"""Huey side of the benchmark: RedisHuey (blocking dequeue), results off."""

from __future__ import annotations

from huey import RedisHuey

from bench.tasks._common import QUEUE, do_noop, do_stamp, redis_url

huey = RedisHuey(QUEUE, url=redis_url(), results=False)


@huey.task()
def noop() -> None:
    """One INCR."""
    do_noop()


@huey.task()
def stamp() -> None:
    """Record the start time."""
    do_stamp()
