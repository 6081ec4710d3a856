"""SIGTERM during a batch: running tasks finish, the rest is released; nothing is lost and
nothing runs twice once another worker finishes the batch."""

from __future__ import annotations

import pytest

from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    assert_exactly_once,
    harness_fixture,
    wait_until,
)

N = 300


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_sigterm_mid_batch_loses_nothing(harness: Harness, pool: str) -> None:
    for i in range(N):
        harness.tasks.sleepy.generate(args=(i, 0.05))  # the batch outlasts the stop
    harness.tasks.sleepy.generate(args=(N, 1.5), priority=-1)  # still running at SIGTERM
    sizes = ["--n_processes", "2"] + (["--n_threads", "4"] if pool == "thread" else [])
    worker = harness.start(pool, *sizes)
    wait_until(lambda: len(harness.counts()) >= 30, 30, "some runs", worker)
    wait_until(lambda: N in harness.counts("started"), 30, "the long run to start", worker)
    assert worker.stop() == 0, worker.tail()

    done, started = harness.counts(), harness.counts("started")
    assert done.get(N) == 1, "a task running at SIGTERM finishes within the grace period"
    assert started == done, "every run that started also finished (none cut short)"
    assert len(done) < N + 1, "the stop came mid-batch"
    assert set(done.values()) == {1}
    assert harness.leftover() == N + 1 - len(done), "the rest is back in the queue"

    finisher = harness.start("thread", "--n_processes", "1")
    wait_until(lambda: len(harness.counts()) == N + 1, 60, "the rest of the batch")
    assert finisher.stop() == 0, finisher.tail()
    assert_exactly_once(harness, N + 1)


def test_sigterm_past_the_grace_period_releases_the_running_message(harness: Harness) -> None:
    harness.tasks.sleepy.generate(args=(0, 30.0))
    worker = harness.start("process", "--n_processes", "1", "--grace_period", "300")
    wait_until(lambda: harness.counts("started").get(0) == 1, 30, "the run to start")
    assert worker.stop() == 0, worker.tail()
    assert harness.counts() == {}
    assert harness.leftover() == 1
    [again] = harness.tasks.broker.backend.claim(["rel"], limit=1, lease_ms=1_000).messages
    assert again.retries == 0, "released, not retried: the shutdown is not the task's fault"
