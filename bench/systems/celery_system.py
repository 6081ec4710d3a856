"""Celery with the Redis broker: ``celery worker -P threads|prefork``."""

from __future__ import annotations

from bench.systems.base import CONFIG_A, CONFIG_B, System, script
from bench.tasks._common import QUEUE

MODULE = "bench.tasks.celery_tasks"
FAST_FLAGS = ["--without-gossip", "--without-mingle", "--without-heartbeat"]


class CelerySystem(System):
    """Celery, results ignored, prefetch raised for short tasks."""

    name = "celery"
    dist = "celery"
    labels = {
        CONFIG_A: "celery worker -P threads -c 8",
        CONFIG_B: "celery worker -P prefork -c 2",
    }
    notes = [
        "Celery: task_ignore_result, worker_prefetch_multiplier=16, --without-gossip/mingle/heartbeat.",
    ]

    def setup(self) -> None:
        from bench.tasks import celery_tasks

        self._tasks = celery_tasks

    def enqueue_noop(self, n: int) -> None:
        # Reusing one producer is Celery's fast path for publishing many messages.
        apply_async = self._tasks.noop.apply_async
        with self._tasks.app.producer_or_acquire() as producer:
            for _ in range(n):
                apply_async(producer=producer)

    def enqueue_stamp(self) -> None:
        self._tasks.stamp.apply_async()

    def worker_argv(self, config: str) -> list[str]:
        pool, conc = {CONFIG_A: ("threads", 8), CONFIG_B: ("prefork", 2)}[config]
        return [
            script("celery"), "-A", MODULE, "worker", "-P", pool, "-c", str(conc),
            "-Q", QUEUE, "-l", "WARNING", "-n", f"bench-{config}@%h", *FAST_FLAGS,
        ]
