"""The process pool claims ahead (prefetch) without ever sitting on work: a long task holds back
neither the messages prefetched with it nor the other task processes."""

from __future__ import annotations

import time

from alsek import Broker, task
from alsek.adapters.redis import RedisBackend
from alsek.domain.model.effects import NO_EFFECTS
from alsek.storage.result import ResultStore
from alsek.worker.process.pool import ProcessWorkerPool
from tests.integration.test_worker_harness import wait_until
from tests.integration.test_worker_pools import running

SLOW_S = 6.0


def test_a_long_task_does_not_hold_back_what_its_child_prefetched(
    redis_backend: RedisBackend,
) -> None:
    broker, store = Broker(redis_backend), ResultStore(redis_backend)

    @task(broker, queue="pf", timeout=60_000, result_store=store)
    def slow() -> str:
        time.sleep(SLOW_S)  # the task's work: it runs long
        return "slow"

    @task(broker, queue="pf", result_store=store)
    def quick(n: int) -> int:
        return n

    pool = ProcessWorkerPool([slow, quick], n_processes=2, prefetch=8, lease_ms=5_000)
    with running(pool, started=lambda: pool.ready):
        long_one = slow.generate(submit=False)
        shorts = [quick.generate(args=(n,), submit=False) for n in range(6)]
        started = time.monotonic()
        # All at once: the pool claims the slow task and prefetches every quick one; they must
        # run in the other task process while the slow one runs.
        assert broker.submit_many([(m, NO_EFFECTS) for m in (long_one, *shorts)]) == [True] * 7
        wait_until(lambda: all(store.exists(m) for m in shorts), SLOW_S / 2, "the quick tasks")
        assert time.monotonic() - started < SLOW_S / 2
        assert not store.exists(long_one)
        assert [store.get(m) for m in shorts] == list(range(6))
        wait_until(lambda: store.exists(long_one), SLOW_S * 3, "the slow task")
