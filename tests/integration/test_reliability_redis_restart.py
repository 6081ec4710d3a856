"""Redis restarts during a batch (append-only file on): workers log, back off, reconnect and
finish every message."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from alsek.adapters.redis import RedisServer
from tests.integration.test_worker_harness import Harness, wait_until

N = 400
_names = itertools.count()


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(appendonly=True).start()
    yield server
    server.stop()


@pytest.mark.parametrize("pool", ["thread", "process"])
def test_workers_ride_out_a_redis_restart(
    restartable: RedisServer, tmp_path: Path, pool: str
) -> None:
    harness = Harness(tmp_path, restartable.url, f"restart-{next(_names)}")
    try:
        for i in range(N):
            harness.tasks.sleepy.generate(args=(i, 0.005))
        worker = harness.start(pool, "--n_processes", "2", "--lease_ms", "3000")
        wait_until(lambda: len(harness.counts()) >= 50, 30, "the batch to get going", worker)
        # Down until the worker says so (a restart of a few ms is absorbed by the client's own
        # retry, silently), then up again on the same port with the same data.
        restartable.stop(keep_data=True)
        wait_until(lambda: _outage_logged(worker.log), 60, "the outage to be logged", worker)
        restartable.start()
        wait_until(lambda: len(harness.counts()) == N, 90, "every message to run", worker)
        wait_until(lambda: harness.leftover() == 0, 30, "every message to be settled", worker)
        log = worker.log.read_text(errors="replace")
        if "Backend unavailable" in log:  # a consumer saw it: it says when it is over too
            assert "Backend reconnected" in log, log[-3000:]
        assert worker.stop() == 0, worker.tail()
        assert set(range(N)) == set(harness.counts())
        twice = sum(c > 1 for c in harness.counts().values())
        print(f"\n[{pool} pool] Redis restarted mid-batch: {N} of {N} done, {twice} ran twice "
              "(a run whose ack was lost with the connection is delivered again)")  # fmt: skip
    finally:
        harness.close()


def _outage_logged(log: Path) -> bool:
    text = log.read_text(errors="replace")
    return "unavailable" in text or "unreachable" in text
