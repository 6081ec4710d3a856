"""Dramatiq with its RedisBroker: ``dramatiq -p P -t T``."""

from __future__ import annotations

from bench.systems.base import CONFIG_A, CONFIG_B, System, script
from bench.tasks._common import QUEUE

MODULE = "bench.tasks.dramatiq_tasks"


class DramatiqSystem(System):
    """Dramatiq, default middleware, retries off."""

    name = "dramatiq"
    dist = "dramatiq"
    labels = {
        CONFIG_A: "dramatiq -p 1 -t 8",
        CONFIG_B: "dramatiq -p 2 -t 8 (its default threads)",
    }
    notes = [
        "Dramatiq config B keeps its default 8 threads per process: with `-p 2 -t 1` it drained "
        "~450 tasks/s here, with `-p 2 -t 8` ~2,500/s, so the faster one is shown.",
    ]

    def setup(self) -> None:
        from bench.tasks import dramatiq_tasks

        self._tasks = dramatiq_tasks

    def enqueue_noop(self, n: int) -> None:
        send = self._tasks.noop.send
        for _ in range(n):
            send()

    def enqueue_stamp(self) -> None:
        self._tasks.stamp.send()

    def worker_argv(self, config: str) -> list[str]:
        procs, threads = {CONFIG_A: (1, 8), CONFIG_B: (2, 8)}[config]
        return [
            script("dramatiq"), MODULE, "-p", str(procs), "-t", str(threads),
            "-Q", QUEUE, "--worker-shutdown-timeout", "5000",
        ]
