"""--pin-cpus on a real Redis: each child that runs tasks keeps to one CPU, the children on
different CPUs, and the supervisor (here, the test's own process) is left alone."""

from __future__ import annotations

import os
from typing import Any

import pytest

from alsek import Broker, task
from alsek.adapters.redis import RedisBackend
from alsek.worker.pool import WorkerPool
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool
from tests.integration.test_worker_harness import wait_until
from tests.integration.test_worker_pools import FAST, running

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
RUNS = 40


def _pool(kind: str, tasks: list[Any], pin_cpus: bool) -> WorkerPool:
    if kind == "thread":
        return ThreadWorkerPool(
            tasks, n_threads=2, n_processes=2, n_process_floor=2, pin_cpus=pin_cpus, **FAST
        )
    return ProcessWorkerPool(tasks, n_processes=2, max_tasks_per_child=0, pin_cpus=pin_cpus, **FAST)


def _affinities(redis_backend: RedisBackend, kind: str, pin_cpus: bool) -> dict[int, set[int]]:
    """Run ``RUNS`` tasks that report their process's CPUs; {pid: CPUs it may run on}."""
    broker, key = Broker(redis_backend), f"{redis_backend.namespace}:cpus"
    client = redis_backend.client

    @task(broker, queue="pin", mechanism="thread" if kind == "thread" else "process")
    def where() -> None:
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        client.rpush(key, f"{os.getpid()}:{cpus}")

    with running(_pool(kind, [where], pin_cpus)):
        where.generate_many([{} for _ in range(RUNS)])
        wait_until(lambda: client.llen(key) == RUNS, 60, f"{RUNS} runs")
    seen: dict[int, set[int]] = {}
    for entry in client.lrange(key, 0, -1):
        pid, cpus = (entry.decode() if isinstance(entry, bytes) else entry).split(":")
        seen[int(pid)] = {int(c) for c in cpus.split(",")}
    return seen


@pytest.mark.parametrize("kind", ["thread", "reuse"])
def test_pinned_children_each_keep_to_one_cpu(redis_backend: RedisBackend, kind: str) -> None:
    mine = os.sched_getaffinity(0)
    seen = _affinities(redis_backend, kind, pin_cpus=True)
    assert all(len(cpus) == 1 and cpus <= mine for cpus in seen.values()), seen
    if len(seen) == 2 and len(mine) >= 2:
        first, second = seen.values()
        assert first != second, f"two children on one CPU: {seen}"
    assert os.sched_getaffinity(0) == mine, "the supervisor is not pinned"


def test_children_are_not_pinned_by_default(redis_backend: RedisBackend) -> None:
    mine = os.sched_getaffinity(0)
    seen = _affinities(redis_backend, "thread", pin_cpus=False)
    assert all(cpus == mine for cpus in seen.values()), seen
