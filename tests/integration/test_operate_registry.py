"""The worker registry and Prometheus metrics of real pools on the session's redis-server: a
pool shows up in ``alsek workers`` with its counters, serves ``/metrics``, and drops out of the
registry at once when stopped gracefully (a thread pool's groups counted in the supervisor's
metrics), and within the record's time to live after SIGKILL."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

from click.testing import CliRunner

from alsek.adapters.redis import LocalCluster, RedisBackend
from alsek.app.services.registry import list_workers
from alsek.cli.main import main
from alsek.domain.model.worker_record import DEFAULT_RECORD_TTL_MS, WorkerRecord
from alsek.domain.services.worker_registry import WorkerRegistry
from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    harness_fixture,
    submit_counts,
    wait_until,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _records(harness: Harness) -> list[WorkerRecord]:
    return list_workers(harness.tasks.backend)


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        return str(reply.read().decode())


def test_a_process_pool_is_listed_counted_scraped_and_gone_after_sigkill(
    harness: Harness,
) -> None:
    port = _free_port()
    worker = harness.start("process", "--n_processes", "2", "--metrics-port", str(port))
    wait_until(lambda: len(_records(harness)) == 1, 30, "the pool's record", worker)
    submit_counts(harness, 5)
    wait_until(lambda: len(harness.counts()) == 5, 30, "5 runs", worker)
    wait_until(lambda: _records(harness)[0].counters.succeeded == 5, 10, "the counters", worker)
    (record,) = _records(harness)
    assert (record.kind, record.pid, record.concurrency) == ("process-pool", worker.process.pid, 2)
    assert (record.queues, record.tasks[:1]) == (("rel",), ("chaos",))

    result = CliRunner().invoke(
        main, ["workers", "--json", "--redis-url", harness.url, "--namespace", harness.namespace]
    )
    assert result.exit_code == 0, result.output
    assert [row["pid"] for row in json.loads(result.output)] == [worker.process.pid]

    counted = 'alsek_tasks_succeeded_total{queue="rel",task="count"} 5.0'
    wait_until(lambda: counted in _scrape(port), 10, "the metrics", worker)
    assert 'alsek_queue_depth{queue="rel",state="ready"}' in _scrape(port)

    worker.kill_all()
    killed = time.monotonic()
    wait_until(lambda: not _records(harness), DEFAULT_RECORD_TTL_MS / 1000 + 10, "expiry")
    print(f"\n[process pool] SIGKILL -> out of the registry after {time.monotonic() - killed:.1f} s "
          f"(time to live {DEFAULT_RECORD_TTL_MS / 1000:.0f} s)")  # fmt: skip


def test_a_thread_pool_lists_its_groups_and_a_graceful_stop_removes_them(
    harness: Harness, redis_url: str
) -> None:
    port = _free_port()
    worker = harness.start(
        "thread", "--n_processes", "1", "--n_threads", "3", "--metrics-port", str(port)
    )
    wait_until(lambda: len(_records(harness)) == 1, 30, "the group record", worker)
    submit_counts(harness, 3)
    wait_until(lambda: len(harness.counts()) == 3, 30, "3 runs", worker)
    # the group counts in its own process; the supervisor's server adds the processes up
    counted = 'alsek_tasks_succeeded_total{queue="rel",task="count"} 3.0'
    wait_until(lambda: counted in _scrape(port), 10, "the metrics", worker)
    (record,) = _records(harness)
    assert (record.kind, record.pool_pid, record.concurrency) == (
        "thread-group", worker.process.pid, 3,
    )  # fmt: skip
    assert record.pid != worker.process.pid
    other = RedisBackend(redis_url, namespace=harness.namespace + "-other")
    try:
        assert list_workers(other) == []  # each namespace has its own registry
    finally:
        other.close()
    assert worker.stop() == 0, worker.tail()
    assert _records(harness) == []


def test_the_registry_lists_records_of_every_shard_of_a_cluster(
    local_cluster: LocalCluster, redis_namespace: str
) -> None:
    backend = RedisBackend(local_cluster.url, namespace=redis_namespace)
    registry = WorkerRegistry(backend)
    try:
        ids = [f"host-{i}:{i}" for i in range(12)]  # spread over the slots of 3 primaries
        for i, worker_id in enumerate(ids):
            registry.beat(
                WorkerRecord(id=worker_id, kind="process-pool", host=f"host-{i}", pid=i,
                             pool_pid=i, version="v", queues=["q"], tasks=["t"], concurrency=1,
                             started_ms=1, seen_ms=1)
            )  # fmt: skip
        assert sorted(r.id for r in list_workers(backend)) == sorted(ids)
        registry.remove(ids[0])
        assert len(list_workers(backend)) == 11
    finally:
        for worker_id in ids:
            registry.remove(worker_id)
        backend.close()
