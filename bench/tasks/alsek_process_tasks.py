"""alsek's config-B tasks: the same tasks as :mod:`bench.tasks.alsek_tasks` (same names, queue and
Redis; a broker of their own, since a name is unique per broker) with ``mechanism="process"``,
since a pool runs only the tasks of its own mechanism.

Workers: ``alsek process-pool bench.tasks.alsek_process_tasks --n_processes 2 -qu bench``.
"""

from __future__ import annotations

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend
from bench.tasks._common import QUEUE, do_noop, do_stamp, redis_url

broker = Broker(RedisBackend(redis_url()))


@task(broker, queue=QUEUE, mechanism="process", max_retries=0)
def noop() -> None:
    """One INCR."""
    do_noop()


@task(broker, queue=QUEUE, mechanism="process", max_retries=0)
def stamp() -> None:
    """Record the start time."""
    do_stamp()
