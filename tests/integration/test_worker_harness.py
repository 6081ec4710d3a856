"""A harness for end-to-end worker tests: real ``alsek`` pools in their own process groups.

The tasks live in a module written into the test's directory; every run records itself in Redis
(``HINCRBY <ns>:runs <i> 1``, start times under ``<ns>:started_at``), so the tests judge delivery
by what the tasks did, not by what the worker says. Workers are started through the CLI
(``python -m alsek.cli.main``) in a new session, so a test can SIGKILL the whole worker.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis

TASKS_SOURCE = '''
"""Tasks of the reliability tests: each run counts itself in Redis."""
import os
import time
import uuid

import redis

from alsek import Broker, Message, task
from alsek.storage.backends.redis import RedisBackend

NS = os.environ["ALSEK_TEST_NAMESPACE"]
# The pool a worker runs decides the mechanism (a pool runs only its own mechanism's tasks).
MECHANISM = os.environ.get("ALSEK_TEST_MECHANISM", "thread")
backend = RedisBackend(os.environ["ALSEK_TEST_REDIS_URL"], namespace=NS)
broker = Broker(backend)
_counter = redis.Redis.from_url(os.environ["ALSEK_TEST_COUNTER_URL"])


def _count(key: str, i: int) -> None:
    for attempt in range(600):  # the counter rides out a Redis restart like the worker does
        try:
            _counter.hincrby(f"{NS}:{key}", str(i), 1)
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("Redis did not come back")


@task(broker, queue="rel", mechanism=MECHANISM, max_retries=5, backoff=None)
def count(i: int) -> None:
    _count("runs", i)
    _count("pids", os.getpid())


@task(broker, queue="rel", mechanism=MECHANISM, max_retries=5, backoff=None)
def sleepy(i: int, seconds: float) -> None:
    _counter.hset(f"{NS}:started_at", f"{i}:{time.time()}", 1)
    _count("started", i)
    time.sleep(seconds)
    _count("runs", i)


@task(broker, queue="rel", mechanism=MECHANISM, max_retries=5, backoff=None)
def stall(i: int, seconds: float) -> None:
    """The first run of ``i`` blocks for ``seconds`` (its worker is killed meanwhile); the
    runs after it end at once."""
    _counter.hset(f"{NS}:started_at", f"{i}:{time.time()}", 1)
    if _counter.hincrby(f"{NS}:started", str(i), 1) == 1:
        time.sleep(seconds)
    _count("runs", i)


def _mark(key: str, field: str) -> None:
    for attempt in range(600):  # idempotent (HSET of a field unique to the run)
        try:
            _counter.hset(f"{NS}:{key}", field, 1)
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("Redis did not come back")


@task(broker, queue="rel", mechanism=MECHANISM, max_retries=5, backoff=None)
def chaos(i: int, seconds: float) -> None:
    """Records each run (start and end) under an id of its own, so that retried writes during
    a Redis restart never count twice."""
    run = uuid.uuid4().hex
    _mark("chaos_started", f"{i}:{run}")
    time.sleep(seconds)
    _mark("chaos_runs", f"{i}:{run}")


@task(broker, queue="rel", mechanism=MECHANISM, max_retries=0, timeout=300)
def stuck(i: int) -> None:
    """Never ends, and swallows the timeout's interrupt (like code stuck in C)."""
    _count("started", i)
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
'''


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, *workers: Worker) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail naming ``what`` after ``timeout`` s,
    or at once if one of ``workers`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for worker in workers:
            if not worker.alive:
                pytest.fail(f"the worker exited while waiting for {what}:\n{worker.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Worker:
    """A pool started through the CLI in its own session (process group)."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the pool's supervisor."""
        if self.alive:
            self.process.send_signal(signum)

    def kill_all(self) -> None:
        """SIGKILL the supervisor and every child, as if the machine died."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_all()
            pytest.fail(f"the worker did not stop in {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Harness:
    """Writes the tasks module, starts workers, reads what the tasks recorded.

    Args:
        directory: where the tasks module and the worker logs go.
        url: the backend's Redis (any URL ``RedisBackend`` takes).
        namespace: the backend's namespace.
        counter_url: the single Redis server the tasks count their runs in (default: ``url``);
            give another one when ``url`` is a topology that fails over in the test.
    """

    def __init__(
        self, directory: Path, url: str, namespace: str, counter_url: str | None = None
    ) -> None:
        self.directory = directory
        self.url = url
        self.namespace = namespace
        self.counter_url = counter_url or url
        self.client = redis.Redis.from_url(self.counter_url)
        self.workers: list[Worker] = []
        (directory / "rel_tasks.py").write_text(TASKS_SOURCE)
        self.env = {
            **os.environ,
            "ALSEK_TEST_REDIS_URL": url,
            "ALSEK_TEST_COUNTER_URL": self.counter_url,
            "ALSEK_TEST_NAMESPACE": namespace,
            "PYTHONUNBUFFERED": "1",
        }
        self.tasks = self._import_tasks()

    def _import_tasks(self) -> ModuleType:
        names = ("ALSEK_TEST_REDIS_URL", "ALSEK_TEST_COUNTER_URL", "ALSEK_TEST_NAMESPACE")
        saved = {k: os.environ.get(k) for k in names}
        os.environ.update(
            ALSEK_TEST_REDIS_URL=self.url,
            ALSEK_TEST_COUNTER_URL=self.counter_url,
            ALSEK_TEST_NAMESPACE=self.namespace,
        )
        try:
            name = f"rel_tasks_{self.namespace.replace('-', '_')}"
            spec = importlib.util.spec_from_file_location(name, self.directory / "rel_tasks.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def start(self, pool: str, *args: str, module: str = "rel_tasks") -> Worker:
        """Start ``alsek <pool>-pool <module> *args`` (a module in the test's directory)."""
        log = self.directory / f"worker-{len(self.workers)}.log"
        command = [sys.executable, "-m", "alsek.cli.main", f"{pool}-pool", module, *args]
        env = {**self.env, "ALSEK_TEST_MECHANISM": pool}
        process = subprocess.Popen(
            command, cwd=self.directory, env=env, stdout=log.open("wb"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        worker = Worker(process, log)
        self.workers.append(worker)
        return worker

    def counts(self, key: str = "runs") -> dict[int, int]:
        """``{i: how many times}`` recorded under ``key``."""
        raw = self.client.hgetall(f"{self.namespace}:{key}")
        return {int(k): int(v) for k, v in raw.items()}

    def start_times(self, i: int) -> list[float]:
        """When the runs of ``sleepy(i, ...)`` started (epoch seconds), in order."""
        keys = self.client.hkeys(f"{self.namespace}:started_at")
        return sorted(float(k.split(b":")[1]) for k in keys if k.split(b":")[0] == str(i).encode())

    def leftover(self) -> int:
        """Message bodies still stored for the queue (0 when everything finished)."""
        return self.tasks.backend.count("queues:rel")

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive:
                worker.kill_all()
        self.tasks.backend.close()
        self.client.close()


@pytest.fixture(name="harness")
def harness_fixture(tmp_path: Path, redis_url: str, redis_namespace: str) -> Iterator[Harness]:
    """A :class:`Harness` on the session's Redis, in the test's own namespace and directory."""
    made = Harness(tmp_path, redis_url, redis_namespace)
    yield made
    made.close()


def assert_exactly_once(harness: Harness, n: int) -> None:
    """Every ``i`` in ``range(n)`` ran once and nothing is left in the queue."""
    counts = harness.counts()
    missing = [i for i in range(n) if i not in counts]
    twice = {i: c for i, c in counts.items() if c > 1}
    assert not missing, f"{len(missing)} message(s) never ran: {missing[:10]}"
    assert not twice, (
        f"{len(twice)} message(s) ran more than once: {dict(list(twice.items())[:10])}"
    )
    assert harness.leftover() == 0


def submit_counts(harness: Harness, n: int, **options: Any) -> None:
    for i in range(n):
        harness.tasks.count.generate(args=(i,), **options)


@pytest.mark.parametrize(
    ("pool", "start_method"),
    [("thread", "fork"), ("process", "fork"), ("thread", "spawn"), ("process", "forkserver")],
)
def test_the_harness_runs_a_pool_and_stops_it(
    harness: Harness, pool: str, start_method: str
) -> None:
    worker = harness.start(
        pool, "--n_processes", "1", "--log-level", "debug", "--start_method", start_method
    )
    submit_counts(harness, 20)
    wait_until(lambda: len(harness.counts()) == 20, 30, "20 runs")
    assert worker.stop() == 0, worker.tail()
    assert_exactly_once(harness, 20)
    assert "started" in worker.log.read_text(), "children log like the supervisor"
