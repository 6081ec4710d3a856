"""Tasks of the scale run (``python -m bench.scale``): one no-op task per queue.

The backend's URL and the queues come from ``BENCH_SCALE_URL`` and ``BENCH_SCALE_QUEUES``
(comma-separated); a worker is ``alsek thread-pool bench.tasks.alsek_scale_tasks -qu <queue>``.
The tasks do nothing: the drain is timed by the queues emptying, so Redis does only the queue's
own work.
"""

from __future__ import annotations

import os

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

backend = RedisBackend(os.environ["BENCH_SCALE_URL"], namespace="scale")
broker = Broker(backend)


def _noop() -> None:
    """Nothing."""


#: One task per queue, by queue name (each also a module attribute, where the CLI finds tasks).
tasks = {
    queue: task(broker, name=f"noop_{queue}", queue=queue, mechanism="thread", max_retries=0)(_noop)
    for queue in os.environ["BENCH_SCALE_QUEUES"].split(",")
}
globals().update({f"noop_{queue}": each for queue, each in tasks.items()})
