"""Dramatiq side of the benchmark: its own RedisBroker, no result backend."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench.tasks._common import QUEUE, do_noop, do_stamp, redis_url

broker = RedisBroker(url=redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def noop() -> None:
    """One INCR."""
    do_noop()


@dramatiq.actor(queue_name=QUEUE, max_retries=0)
def stamp() -> None:
    """Record the start time."""
    do_stamp()
