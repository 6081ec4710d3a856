"""RQ: ``rq worker`` / ``rq worker-pool`` with the non-forking SimpleWorker class.

RQ has no threaded worker. The closest thing to "one process × 8 threads" is
one process, so config A is a single ``SimpleWorker`` (one job at a time, no
fork per job). RQ's default ``Worker`` forks a work horse for every job, which
is much slower for no-op tasks; SimpleWorker is RQ's documented fast path.
Config B is ``rq worker-pool -n 2`` with the same worker class.
"""

from __future__ import annotations

from bench.systems.base import CONFIG_A, CONFIG_B, System, script
from bench.tasks._common import QUEUE, redis_url

WORKER_CLASS = "rq.worker.SimpleWorker"
BATCH = 1000


class RqSystem(System):
    """RQ with results dropped at once (``result_ttl=0``)."""

    name = "rq"
    dist = "rq"
    labels = {
        CONFIG_A: "rq worker -w SimpleWorker: 1 process × 1 job (RQ has no threads)",
        CONFIG_B: "rq worker-pool -n 2 -w SimpleWorker: 2 processes × 1 job",
    }
    notes = [
        "RQ has no thread pool: config A is one SimpleWorker process running one job at a time.",
        "SimpleWorker (no fork per job) is used in both configs; the default forking Worker is far slower on no-op tasks.",
    ]

    def setup(self) -> None:
        from redis import Redis
        from rq import Queue

        from bench.tasks import rq_tasks

        self._tasks = rq_tasks
        self._queue_cls = Queue
        self._queue = Queue(QUEUE, connection=Redis.from_url(redis_url()))

    def enqueue_noop(self, n: int) -> None:
        enqueue, noop = self._queue.enqueue, self._tasks.noop
        for _ in range(n):
            enqueue(noop, result_ttl=0)

    def enqueue_noop_batch(self, n: int) -> bool:
        queue, noop = self._queue, self._tasks.noop
        done = 0
        while done < n:
            size = min(BATCH, n - done)
            jobs = [self._queue_cls.prepare_data(noop, result_ttl=0) for _ in range(size)]
            queue.enqueue_many(jobs)
            done += size
        return True

    def enqueue_stamp(self) -> None:
        self._queue.enqueue(self._tasks.stamp, result_ttl=0)

    def worker_argv(self, config: str) -> list[str]:
        common = ["-u", redis_url(), "-w", WORKER_CLASS, "-q"]
        if config == CONFIG_A:
            return [script("rq"), "worker", *common, QUEUE]
        if config == CONFIG_B:
            return [script("rq"), "worker-pool", "-n", "2", *common, QUEUE]
        raise ValueError(config)
