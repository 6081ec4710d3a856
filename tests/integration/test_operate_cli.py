"""Operating alsek against a real redis-server: a worker pool logs a failing task with its
traceback; the admin commands (run as programs, ``python -m alsek``) see it in the dead letter
queue, requeue it and it runs; queues, message lookup and purge; ``--redis-url`` reaching a
``RedisBackend()`` built without a URL."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alsek.adapters.redis import RedisBackend
from alsek.domain.model.message import Message
from tests.integration.test_worker_harness import Harness, harness_fixture, wait_until  # noqa: F401

OPERATE_TASKS = """
import os
import redis
from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

NS = os.environ["ALSEK_TEST_NAMESPACE"]
broker = Broker(RedisBackend(os.environ["ALSEK_TEST_REDIS_URL"], namespace=NS))
_counter = redis.Redis.from_url(os.environ["ALSEK_TEST_COUNTER_URL"])


@task(broker, queue="ops", mechanism="thread", max_retries=1, backoff=None)
def flaky(i: int) -> None:
    if not _counter.exists(f"{NS}:fixed"):
        raise ValueError(f"not fixed yet: {i}")
    _counter.hincrby(f"{NS}:runs", str(i), 1)
"""

#: Tasks whose broker is built without a URL: --redis-url must reach it, in every process.
NO_URL_TASKS = """
import os
import redis
from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend

NS = os.environ["ALSEK_TEST_NAMESPACE"]
broker = Broker(RedisBackend(namespace=NS))
_counter = redis.Redis.from_url(os.environ["ALSEK_TEST_COUNTER_URL"])


@task(broker, queue="nourl")
def mark(i: int) -> None:
    _counter.hincrby(f"{NS}:runs", str(i), 1)
"""


def load(harness: Harness, name: str) -> Any:
    """Import the tasks module ``name`` of the test's directory, as the worker does."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in harness.env.items() if k.startswith("ALSEK_TEST_")})
    try:
        spec = importlib.util.spec_from_file_location(
            f"{name}_{harness.namespace.replace('-', '_')}", harness.directory / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        os.environ.clear()
        os.environ.update(saved)


def alsek(harness: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m alsek *args`` on the harness's Redis and namespace."""
    env = {k: v for k, v in harness.env.items() if k != "ALSEK_REDIS_URL"}
    return subprocess.run(
        [sys.executable, "-m", "alsek", *args, "--redis-url", harness.url,
         "--namespace", harness.namespace],
        env=env, cwd=harness.directory, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def as_json(harness: Harness, *args: str) -> Any:
    done = alsek(harness, *args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_a_failure_is_logged_requeued_from_the_cli_and_runs(harness: Harness) -> None:
    (harness.directory / "ops_tasks.py").write_text(OPERATE_TASKS)
    worker = harness.start("thread", "--n-processes", "1", "--log-tasks", module="ops_tasks")
    tasks = load(harness, "ops_tasks")
    message = tasks.flaky.generate(args=(7,))

    def dead() -> list[dict[str, Any]]:
        return as_json(harness, "dead-letters", "list")

    wait_until(lambda: len(dead()) == 1, 30, "the message to fail for good", worker)
    [letter] = dead()
    assert (letter["uuid"], letter["task"], letter["attempts"]) == (message.uuid, "flaky", 2)
    assert letter["exception"]["name"] == "ValueError"
    log = worker.log.read_text(errors="replace")
    assert f"flaky[{message.uuid}] failed; it will be retried (attempt 1" in log
    assert f"flaky[{message.uuid}] failed for good (attempt 2" in log
    assert "Traceback (most recent call last)" in log and "ValueError: not fixed yet: 7" in log
    assert f"Redis {harness.url}" in log and "Queues: ops" in log  # the banner
    report = as_json(harness, "message", message.uuid)
    assert report["state"] == "dead" and report["message"]["retries"] == 1

    harness.client.set(f"{harness.namespace}:fixed", 1)
    requeued = alsek(harness, "dead-letters", "requeue", "--task", "flaky")
    assert requeued.returncode == 0, requeued.stderr
    assert "Requeued 1 dead letter(s)" in requeued.stdout
    wait_until(lambda: harness.counts() == {7: 1}, 30, "the requeued message to run", worker)
    wait_until(lambda: f"Succeeded flaky[{message.uuid}]" in worker.log.read_text(errors="replace"),
               30, "the success to be logged", worker)  # fmt: skip
    assert worker.stop() == 0, worker.tail()

    [stats] = as_json(harness, "queues")
    assert stats["queue"] == "ops" and (stats["ready"], stats["leased"], stats["dead"]) == (0, 0, 0)
    for i in range(5):
        tasks.flaky.generate(args=(i,))
    assert as_json(harness, "queues")[0]["ready"] == 5
    purged = alsek(harness, "purge", "ops", "--yes")
    assert purged.returncode == 0 and "Removed 5 message(s)" in purged.stdout
    assert alsek(harness, "dead-letters", "list").returncode == 1  # nothing matched
    missing = alsek(harness, "message", "no-such-uuid")
    assert missing.returncode == 1 and "No message" in missing.stderr
    tasks.broker.backend.close()


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_redis_url_reaches_a_backend_built_without_one(harness: Harness, pool: str) -> None:
    source = (
        NO_URL_TASKS
        if pool == "process"
        else NO_URL_TASKS.replace(
            '@task(broker, queue="nourl")', '@task(broker, queue="nourl", mechanism="thread")'
        )
    )
    (harness.directory / "nourl_tasks.py").write_text(source)
    harness.env.pop("ALSEK_REDIS_URL", None)
    worker = harness.start(pool, "--n-processes", "1", "--redis-url", harness.url,
                           module="nourl_tasks")  # fmt: skip
    backend = RedisBackend(harness.url, namespace=harness.namespace)
    try:
        for i in range(3):
            backend.submit(Message("mark", queue="nourl", args=(i,)))
        wait_until(lambda: harness.counts() == {0: 1, 1: 1, 2: 1}, 30, "the runs", worker)
    finally:
        backend.close()
    assert worker.stop() == 0, worker.tail()
    assert f"Redis {harness.url}" in worker.log.read_text(errors="replace")


def test_python_dash_m_alsek_is_the_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "alsek", "--help"], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))  # fmt: skip
    assert done.returncode == 0
    for command in ("thread-pool", "process-pool", "queues", "dead-letters", "purge", "revoke"):
        assert command in done.stdout
