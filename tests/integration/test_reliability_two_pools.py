"""Two pools (one of threads, one of processes) share a queue: a few thousand tasks, each
counting its own runs. Zero lost, zero run twice."""

from __future__ import annotations

from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    assert_exactly_once,
    harness_fixture,
    submit_counts,
    wait_until,
)

N = 3_000


def test_two_pools_on_one_queue_run_everything_exactly_once(harness: Harness) -> None:
    submit_counts(harness, N)
    threads = harness.start("thread", "--n_processes", "1", "--n_threads", "8")
    processes = harness.start("process", "--n_processes", "2")
    wait_until(lambda: len(harness.counts()) == N, 120, f"{N} runs", threads, processes)
    wait_until(lambda: harness.leftover() == 0, 30, "every ack", threads, processes)
    assert threads.stop() == 0, threads.tail()
    assert processes.stop() == 0, processes.tail()
    assert_exactly_once(harness, N)
    assert len(harness.counts("pids")) >= 2, "both pools took part"
    for worker in (threads, processes):
        assert "ran more than once" not in worker.log.read_text()
        assert "was lost" not in worker.log.read_text(), worker.tail()
