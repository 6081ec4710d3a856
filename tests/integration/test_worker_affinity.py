"""CPU affinity on a real Redis. --pin-cpus: each child that runs tasks keeps to one CPU, the
children on different CPUs, and the supervisor (here, the test's own process) is left alone.
By default a busy thread group, or a busy reused process of a process pool, keeps to one CPU
while its work is interpreter-bound, and runs on every CPU again once idle; --no-pin-cpus leaves
it on every CPU."""

from __future__ import annotations

import os
import subprocess
import sys
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
#: A backlog that keeps a group busy for well over the governor's 100 ms windows.
BACKLOG = 5_000


def _pool(kind: str, tasks: list[Any], pin_cpus: bool | None) -> WorkerPool:
    if kind == "thread":
        return ThreadWorkerPool(
            tasks, n_threads=2, n_processes=2, n_process_floor=2, pin_cpus=pin_cpus, **FAST
        )
    return ProcessWorkerPool(tasks, n_processes=2, max_tasks_per_child=0, pin_cpus=pin_cpus, **FAST)


def _affinities(
    redis_backend: RedisBackend, kind: str, pin_cpus: bool | None, runs: int = RUNS
) -> list[tuple[int, set[int]]]:
    """Run ``runs`` tasks that report their thread's CPUs; (pid, CPUs it may run on) of each."""
    broker, key = Broker(redis_backend), f"{redis_backend.namespace}:cpus"
    client = redis_backend.client

    @task(broker, queue="pin", mechanism="thread" if kind == "thread" else "process")
    def where() -> None:
        cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
        client.rpush(key, f"{os.getpid()}:{cpus}")

    with running(_pool(kind, [where], pin_cpus)):
        where.generate_many([{} for _ in range(runs)])
        wait_until(lambda: client.llen(key) == runs, 120, f"{runs} runs")
        if pin_cpus is None:
            pid = int(_decode(client.lindex(key, 0)).split(":")[0])
            wait_until(lambda: _threads_free(pid), 60, "the idle group on every CPU again")
    seen = []
    for entry in client.lrange(key, 0, -1):
        pid, cpus = _decode(entry).split(":")
        seen.append((int(pid), {int(c) for c in cpus.split(",")}))
    return seen


def _decode(entry: Any) -> str:
    return entry.decode() if isinstance(entry, bytes) else str(entry)


def _threads_free(pid: int) -> bool:
    """Whether every thread of process ``pid`` may run on all of this test's CPUs."""
    mine = os.sched_getaffinity(0)
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if os.sched_getaffinity(int(tid)) != mine:
                return False
        except ProcessLookupError:  # the thread ended meanwhile
            continue
    return True


@pytest.mark.parametrize("kind", ["thread", "reuse"])
def test_pinned_children_each_keep_to_one_cpu(redis_backend: RedisBackend, kind: str) -> None:
    mine = os.sched_getaffinity(0)
    seen = dict(_affinities(redis_backend, kind, pin_cpus=True))
    assert all(len(cpus) == 1 and cpus <= mine for cpus in seen.values()), seen
    if len(seen) == 2 and len(mine) >= 2:
        first, second = seen.values()
        assert first != second, f"two children on one CPU: {seen}"
    assert os.sched_getaffinity(0) == mine, "the supervisor is not pinned"


@pytest.mark.parametrize("kind", ["thread", "reuse"])
def test_children_are_never_pinned_when_told_not_to(redis_backend: RedisBackend, kind: str) -> None:
    mine = os.sched_getaffinity(0)
    seen = _affinities(redis_backend, kind, pin_cpus=False, runs=BACKLOG)
    assert all(cpus == mine for _, cpus in seen)


@pytest.mark.skipif(
    hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) < 2, reason="one CPU"
)
@pytest.mark.parametrize("kind", ["thread", "reuse"])
def test_a_busy_child_keeps_to_one_cpu_until_it_is_idle(
    redis_backend: RedisBackend, kind: str
) -> None:
    mine = os.sched_getaffinity(0)
    seen = _affinities(redis_backend, kind, pin_cpus=None, runs=BACKLOG)
    pinned = [cpus for _, cpus in seen if cpus != mine]
    assert pinned, f"none of {BACKLOG} runs of a backlog kept to one CPU"
    assert all(len(cpus) == 1 and cpus <= mine for cpus in pinned), pinned
    # _affinities waited until the group, idle, was back on every CPU


#: A process that waits (30 s at most) until it may run on every CPU its parent's pool may use.
WAIT_FOR_ALL_CPUS = (
    "import os, sys, time\n"
    "want = {int(c) for c in sys.argv[1].split(',')}\n"
    "deadline = time.monotonic() + 30\n"
    "while os.sched_getaffinity(0) != want and time.monotonic() < deadline:\n"
    "    time.sleep(0.01)\n"
    "sys.exit(0 if os.sched_getaffinity(0) == want else 1)\n"
)


@pytest.mark.skipif(
    hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) < 2, reason="one CPU"
)
def test_a_process_started_by_a_task_of_a_busy_group_gets_every_cpu_back(
    redis_backend: RedisBackend,
) -> None:
    broker, key = Broker(redis_backend), f"{redis_backend.namespace}:spawn"
    client, mine = redis_backend.client, os.sched_getaffinity(0)
    cpus = ",".join(map(str, sorted(mine)))

    @task(broker, queue="spawn", mechanism="thread")
    def noop() -> None:
        return None

    @task(broker, queue="spawn", mechanism="thread")
    def spawn() -> None:
        at_start = len(os.sched_getaffinity(0))
        done = subprocess.run([sys.executable, "-c", WAIT_FOR_ALL_CPUS, cpus], timeout=60)
        client.rpush(key, f"{at_start}:{done.returncode}")

    noop.generate_many([{} for _ in range(BACKLOG)])  # queued before the pool starts: FIFO
    spawn.generate()
    noop.generate_many([{} for _ in range(BACKLOG)])
    with running(ThreadWorkerPool([noop, spawn], n_threads=2, n_processes=1, **FAST)):
        wait_until(lambda: client.llen(key) == 1, 120, "the spawning task")
    at_start, code = _decode(client.lindex(key, 0)).split(":")
    assert at_start == "1", "the busy group was not kept on one CPU when the task ran"
    assert code == "0", "the task's process stayed on one CPU"
