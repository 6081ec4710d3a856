"""A failover in the middle of a drain of thousands of tasks, on Redis Sentinel (``SENTINEL
FAILOVER``) and on Redis Cluster (``CLUSTER FAILOVER`` on the replica of the queue's primary):
the worker reconnects on its own, every task runs, and the runs done twice are bounded by what
was running at the failover.

The tasks count their runs in the session's single redis-server, which does not fail over, so
the count is the truth whatever the topology lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alsek.adapters.redis import LocalCluster, LocalSentinel
from tests.integration.test_worker_harness import Harness, submit_counts, wait_until

N = 2_000
#: How each pool runs: 8 threads in one process, or 2 processes; each claims 8 ahead.
POOLS = {
    "thread": ("--n_processes", "1", "--n_threads", "8", "--prefetch", "8"),
    "process": ("--n_processes", "2", "--prefetch", "8"),
}
#: Messages a pool holds at once (at most 8 running, 8 prefetched) and up to 8 finished whose
#: acks are in flight: what may run again when the primary changes under them.
RUNNING = 24


def _drain_through(harness: Harness, failover: object, pool: str) -> dict[str, float]:
    submit_counts(harness, N)
    worker = harness.start(pool, *POOLS[pool], "--lease_ms", "5000")
    try:
        wait_until(lambda: len(harness.counts()) >= N // 5, 60, "the drain to get going", worker)
        before = len(harness.counts())
        started = time.monotonic()
        failover()  # type: ignore[operator]
        took = time.monotonic() - started
        wait_until(lambda: len(harness.counts()) == N, 120, "every task to run", worker)
        wait_until(lambda: harness.leftover() == 0, 60, "every task to be acked", worker)
        assert worker.stop() == 0, worker.tail()
    finally:
        harness.close()
    counts = harness.counts()
    assert sorted(counts) == list(range(N)), "a task never ran"
    twice = sum(count - 1 for count in counts.values())
    assert twice <= RUNNING, f"{twice} runs repeated, more than the {RUNNING} that were running"
    return {"done_before": before, "failover_s": took, "twice": twice}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_sentinel_failover_mid_drain_loses_nothing(
    local_sentinel: LocalSentinel, redis_url: str, redis_namespace: str, tmp_path: Path, pool: str
) -> None:
    harness = Harness(tmp_path, local_sentinel.url, redis_namespace, counter_url=redis_url)
    report = _drain_through(harness, local_sentinel.failover, pool)
    print(f"\n[sentinel, {pool} pool] failover after {report['done_before']} of {N} tasks "
          f"({report['failover_s']:.1f} s): {N} of {N} done, {report['twice']} ran twice")  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_cluster_failover_mid_drain_loses_nothing(
    local_cluster: LocalCluster, redis_url: str, redis_namespace: str, tmp_path: Path, pool: str
) -> None:
    harness = Harness(tmp_path, local_cluster.url, redis_namespace, counter_url=redis_url)
    client = local_cluster.client()
    node = client.get_node_from_key(harness.tasks.backend.full_name("queues:rel"))
    primary = (node.host, node.port)
    client.close()
    report = _drain_through(harness, lambda: local_cluster.failover(primary), pool)
    print(f"\n[cluster, {pool} pool] failover after {report['done_before']} of {N} tasks "
          f"({report['failover_s']:.1f} s): {N} of {N} done, {report['twice']} ran twice")  # fmt: skip
