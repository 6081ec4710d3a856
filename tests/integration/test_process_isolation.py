"""The tour's process isolation: "Each task runs in its own dedicated process".

Real ``alsek process-pool`` workers on a real redis-server. By default every task runs in a fresh
process forked from the warm zygote (the task module is imported once per pool, not per task), so
a global one task changes, or a crash, never reaches the next; ``--max_tasks_per_child N`` opts
into reusing a process for N tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.integration.test_worker_harness import Worker, wait_until

TASKS = """
import os

import redis

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

NS = os.environ["ALSEK_TEST_NAMESPACE"]
URL = os.environ["ALSEK_TEST_REDIS_URL"]
broker = Broker(RedisBackend(URL, namespace=NS))
_record = redis.Redis.from_url(URL)
_record.incr(f"{NS}:imports")  # every import of this module, anywhere
SEEN: list[int] = []  # a global each run appends to


@task(broker, queue="iso", max_retries=0)
def probe(i: int) -> None:
    SEEN.append(i)
    _record.hset(f"{NS}:probe", str(i), f"{os.getpid()}:{len(SEEN)}")


@task(broker, queue="iso", max_retries=0)
def crash() -> None:
    SEEN.append(-1)
    os._exit(9)
"""


class Pool:
    """The task module in a directory, and workers started on it through the CLI."""

    def __init__(self, directory: Path, url: str, namespace: str) -> None:
        self.directory, self.namespace = directory, namespace
        (directory / "iso_tasks.py").write_text(TASKS)
        self.env = {**os.environ, "ALSEK_TEST_REDIS_URL": url, "ALSEK_TEST_NAMESPACE": namespace,
                    "PYTHONUNBUFFERED": "1"}  # fmt: skip
        self.client = redis.Redis.from_url(url)
        self.workers: list[Worker] = []
        sys.path.insert(0, str(directory))
        os.environ.update(ALSEK_TEST_REDIS_URL=url, ALSEK_TEST_NAMESPACE=namespace)
        import iso_tasks  # the test submits through the same module

        self.tasks = iso_tasks

    def start(self, *args: str) -> Worker:
        log = self.directory / f"worker-{len(self.workers)}.log"
        command = [sys.executable, "-m", "alsek.cli.main", "process-pool", "iso_tasks", *args]
        process = subprocess.Popen(
            command, cwd=self.directory, env=self.env, stdout=log.open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.workers.append(Worker(process, log))
        return self.workers[-1]

    def imports(self) -> int:
        return int(self.client.get(f"{self.namespace}:imports") or 0)

    def probes(self) -> dict[int, tuple[int, int]]:
        """``{i: (pid, how many runs that process had seen)}``."""
        raw = self.client.hgetall(f"{self.namespace}:probe")
        return {int(k): tuple(map(int, v.split(b":"))) for k, v in raw.items()}  # type: ignore[misc]

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive:
                worker.kill_all()
        sys.path.remove(str(self.directory))
        sys.modules.pop("iso_tasks", None)
        self.client.close()


@pytest.fixture
def pool(tmp_path: Path, redis_url: str, redis_namespace: str) -> Iterator[Pool]:
    made = Pool(tmp_path, redis_url, redis_namespace)
    yield made
    made.close()


def test_every_task_gets_a_fresh_process_forked_from_a_warm_parent(pool: Pool) -> None:
    imported_here = pool.imports()
    worker = pool.start("--n_processes", "2")
    for i in range(20):
        pool.tasks.probe.generate(args=(i,))
    wait_until(lambda: len(pool.probes()) == 20, 60, "20 probes", worker)
    probes = pool.probes()
    assert {seen for _, seen in probes.values()} == {1}, "no run saw another run's global"
    pids = {pid for pid, _ in probes.values()}
    assert len(pids) == 20, "every run had a process of its own"
    assert worker.process.pid not in pids
    # The supervisor imported the module once; the zygote and the 20 task processes are forks.
    assert pool.imports() - imported_here == 1
    assert worker.stop() == 0, worker.tail()


def test_a_crash_and_its_globals_stay_in_its_own_process(pool: Pool) -> None:
    worker = pool.start("--n_processes", "1")
    crashed = pool.tasks.crash.generate()
    pool.tasks.probe.generate(args=(1,))
    wait_until(lambda: len(pool.probes()) == 1, 60, "the probe after the crash", worker)
    assert pool.probes()[1][1] == 1, "the crashed run's global did not reach the next run"
    dead = pool.tasks.broker.sync_from_backend(crashed)
    assert dead.exception_details["name"] == "ChildProcessError", dead.exception_details
    assert worker.stop() == 0, worker.tail()


def test_max_tasks_per_child_reuses_a_process_for_that_many_tasks(pool: Pool) -> None:
    worker = pool.start("--n_processes", "1", "--max_tasks_per_child", "5", "--prefetch", "0")
    for i in range(10):
        pool.tasks.probe.generate(args=(i,))
    wait_until(lambda: len(pool.probes()) == 10, 60, "10 probes", worker)
    by_pid: dict[int, list[int]] = {}
    for _, (pid, seen) in sorted(pool.probes().items()):
        by_pid.setdefault(pid, []).append(seen)
    assert sorted(by_pid.values()) == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]], by_pid
    assert worker.stop() == 0, worker.tail()
