"""Huey: ``huey_consumer`` with RedisHuey (blocking dequeue, no polling sleep)."""

from __future__ import annotations

from bench.systems.base import CONFIG_A, CONFIG_B, System, script

INSTANCE = "bench.tasks.huey_tasks.huey"


class HueySystem(System):
    """Huey, results off, periodic tasks and health check off."""

    name = "huey"
    dist = "huey"
    labels = {
        CONFIG_A: "huey_consumer -k thread -w 8",
        CONFIG_B: "huey_consumer -k process -w 2",
    }

    def setup(self) -> None:
        from bench.tasks import huey_tasks

        self._tasks = huey_tasks

    def enqueue_noop(self, n: int) -> None:
        noop = self._tasks.noop
        for _ in range(n):
            noop()

    def enqueue_stamp(self) -> None:
        self._tasks.stamp()

    def worker_argv(self, config: str) -> list[str]:
        kind, workers = {CONFIG_A: ("thread", 8), CONFIG_B: ("process", 2)}[config]
        return [script("huey_consumer"), INSTANCE, "-k", kind, "-w", str(workers), "-n", "-C", "-q"]
