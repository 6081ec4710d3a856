"""A worker killed with SIGKILL mid-task: its message runs again elsewhere and completes, within
about one lease (default settings: 5 s), not the task's timeout."""

from __future__ import annotations

import time

import pytest

from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    Worker,
    harness_fixture,
    wait_until,
)

DEFAULT_LEASE_S = 5.0


def _booted(worker: Worker) -> bool:
    """Whether the pool has started its children (its consumers then wait for the lease)."""
    return "pool: " in worker.log.read_text(errors="replace")


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_killed_workers_message_runs_again_elsewhere(harness: Harness, pool: str) -> None:
    victim = harness.start(pool, "--n_processes", "1")
    harness.tasks.sleepy.generate(args=(1, 2.0))
    wait_until(lambda: harness.counts("started").get(1) == 1, 30, "the first run to start")
    rescuer = harness.start(pool, "--n_processes", "1")
    wait_until(lambda: _booted(rescuer), 30, "the rescuer to start", rescuer)
    killed_at = time.time()
    victim.kill_all()

    wait_until(lambda: harness.counts("started").get(1) == 2, 3 * DEFAULT_LEASE_S, "a second run")
    redelivery = harness.start_times(1)[1] - killed_at
    print(f"\n[{pool} pool] SIGKILL -> message running again elsewhere after {redelivery:.2f} s "
          f"(default lease {DEFAULT_LEASE_S:.0f} s)")  # fmt: skip
    assert redelivery <= DEFAULT_LEASE_S + 1.5

    wait_until(lambda: harness.counts().get(1) == 1, 30, "the second run to complete")
    wait_until(lambda: harness.leftover() == 0, 10, "the message to be acknowledged")
    assert rescuer.stop() == 0, rescuer.tail()
    assert harness.counts() == {1: 1}


def test_a_short_lease_recovers_faster(harness: Harness) -> None:
    victim = harness.start("thread", "--n_processes", "1", "--lease_ms", "1000")
    harness.tasks.sleepy.generate(args=(2, 1.0))
    wait_until(lambda: harness.counts("started").get(2) == 1, 30, "the first run to start")
    rescuer = harness.start("thread", "--n_processes", "1", "--lease_ms", "1000")
    wait_until(lambda: _booted(rescuer), 30, "the rescuer to start", rescuer)
    killed_at = time.time()
    victim.kill_all()
    wait_until(lambda: harness.counts("started").get(2) == 2, 10, "a second run")
    redelivery = harness.start_times(2)[1] - killed_at
    print(f"\n[thread pool] SIGKILL -> running again after {redelivery:.2f} s (lease 1 s)")
    assert redelivery <= 2.5
    wait_until(lambda: harness.counts().get(2) == 1, 30, "the second run to complete")
    assert rescuer.stop() == 0, rescuer.tail()
