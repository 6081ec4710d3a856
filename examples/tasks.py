"""Example tasks for the demo: plain work, priorities, a flaky task that is retried, and a chain
of callbacks. Run a pool for them with ``alsek thread-pool examples.tasks``.

The broker's Redis comes from ``ALSEK_REDIS_URL`` (localhost:6379 when unset); the demo points it
at the Redis server it starts.
"""

from __future__ import annotations

import os
import time

from alsek import Broker, Message, task
from alsek.core.backoff import ConstantBackoff
from alsek.core.status import StatusTracker
from alsek.storage.backends.redis import RedisBackend
from alsek.storage.result import ResultStore

backend = RedisBackend(os.environ.get("ALSEK_REDIS_URL"), namespace="alsek-demo")
broker = Broker(backend)
results = ResultStore(backend)
statuses = StatusTracker(backend)

QUEUE = "demo"
# The demo runs a thread pool, which runs only tasks with mechanism="thread".
options = {
    "queue": QUEUE, "result_store": results, "status_tracker": statuses, "mechanism": "thread",
}  # fmt: skip


@task(broker, **options)
def add(a: int, b: int) -> int:
    """Add two numbers, slowly enough to watch."""
    time.sleep(0.05)
    return a + b


@task(broker, **options)
def shout(word: str) -> str:
    """Shout a word (submitted with a high priority, so it jumps the queue)."""
    time.sleep(0.05)
    return word.upper() + "!"


@task(broker, max_retries=3, backoff=ConstantBackoff(constant=300, floor=0), **options)
def flaky(message: Message) -> str:
    """Fail on the first two attempts; the third one succeeds."""
    if message.retries < 2:
        raise ConnectionError(f"attempt {message.retries + 1} failed (on purpose)")
    return f"succeeded after {message.retries} retries"


@task(broker, **options)
def fetch(n: int) -> int:
    """The head of a callback chain."""
    return n


@task(broker, **options)
def square(message: Message) -> int:
    """Square the previous task's result."""
    return int(message.previous_result) ** 2


@task(broker, **options)
def describe(message: Message) -> str:
    """The end of the chain."""
    return f"the chain produced {message.previous_result}"
