"""alsek side of the benchmark, written against the documented API.

Workers: ``alsek thread-pool bench.tasks.alsek_tasks --n_processes 1 --n_threads 8 -qu bench``
and ``alsek process-pool bench.tasks.alsek_tasks --n_processes 2 -qu bench``.
"""

from __future__ import annotations

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend
from bench.tasks._common import QUEUE, do_noop, do_stamp, redis_url

broker = Broker(RedisBackend(redis_url()))


@task(broker, queue=QUEUE, mechanism="thread", max_retries=0)
def noop() -> None:
    """One INCR."""
    do_noop()


@task(broker, queue=QUEUE, mechanism="thread", max_retries=0)
def stamp() -> None:
    """Record the start time."""
    do_stamp()
