"""Celery side of the benchmark: Redis broker, no results, tuned for short tasks.

Settings follow Celery's own advice for many short tasks on Redis: results
ignored, early acknowledgement (the default), a larger prefetch multiplier, and
gossip, mingle and heartbeat off (passed on the worker command line).
"""

from __future__ import annotations

import os

from celery import Celery

from bench.tasks._common import QUEUE, do_noop, do_stamp, redis_url

app = Celery("bench", broker=redis_url())
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    task_acks_late=False,
    task_store_errors_even_if_ignored=False,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_CELERY_PREFETCH", "16")),
    worker_disable_rate_limits=True,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"socket_keepalive": True},
)


@app.task(name="bench.noop")
def noop() -> None:
    """One INCR."""
    do_noop()


@app.task(name="bench.stamp")
def stamp() -> None:
    """Record the start time."""
    do_stamp()
