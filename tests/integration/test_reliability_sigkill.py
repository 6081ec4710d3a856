"""A worker killed with SIGKILL mid-task: its message runs again elsewhere and completes, within
about one lease (default settings: 5 s), not the task's timeout.

The victim runs one message at a time without prefetch, so that a marker message submitted
after the rescuer started proves the rescuer is claiming before the kill: the time measured is
the recovery, not the rescuer's start-up. The killed run blocks until the kill (a task that
merely slept could finish first on a busy machine, and then nothing would run again: issue
15.10 traced the failures of the old test to that, not to a slow recovery).
"""

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
ONE_AT_A_TIME = {
    "thread": ["--n_processes", "1", "--n_threads", "1", "--prefetch", "0"],
    "process": ["--n_processes", "1", "--prefetch", "0"],
}


def _kill_mid_run(harness: Harness, pool: str, *lease: str) -> tuple[Worker, float]:
    """Start a victim running ``stall(1)`` and a rescuer that is claiming; SIGKILL the victim.
    Returns the rescuer and how long after the kill the message started again (s)."""
    victim = harness.start(pool, *ONE_AT_A_TIME[pool], *lease)
    harness.tasks.stall.generate(args=(1, 120.0))
    wait_until(lambda: harness.counts("started").get(1) == 1, 30, "the first run", victim)
    rescuer = harness.start(pool, "--n_processes", "1", *lease)
    harness.tasks.count.generate(args=(7,))  # the victim is busy and claims nothing more
    wait_until(lambda: harness.counts().get(7) == 1, 60, "the rescuer to claim", rescuer)
    assert harness.counts().get(1) is None, "the first run is still running"
    killed_at = time.time()
    victim.kill_all()
    wait_until(lambda: len(harness.start_times(1)) == 2, 60, "a second run", rescuer)
    return rescuer, harness.start_times(1)[1] - killed_at


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_a_killed_workers_message_runs_again_elsewhere(harness: Harness, pool: str) -> None:
    rescuer, redelivery = _kill_mid_run(harness, pool)
    print(f"\n[{pool} pool] SIGKILL -> message running again elsewhere after {redelivery:.2f} s "
          f"(default lease {DEFAULT_LEASE_S:.0f} s)")  # fmt: skip
    assert redelivery <= DEFAULT_LEASE_S + 3.0  # a lease, with room for a busy machine
    wait_until(lambda: harness.counts().get(1) == 1, 30, "the second run to complete")
    wait_until(lambda: harness.leftover() == 0, 10, "the message to be acknowledged")
    assert rescuer.stop() == 0, rescuer.tail()
    assert harness.counts() == {1: 1, 7: 1}


def test_a_short_lease_recovers_faster(harness: Harness) -> None:
    rescuer, redelivery = _kill_mid_run(harness, "thread", "--lease_ms", "1000")
    print(f"\n[thread pool] SIGKILL -> running again after {redelivery:.2f} s (lease 1 s)")
    assert redelivery < DEFAULT_LEASE_S - 1.0, "faster than the default lease could be"
    wait_until(lambda: harness.counts().get(1) == 1, 30, "the second run to complete")
    assert rescuer.stop() == 0, rescuer.tail()
