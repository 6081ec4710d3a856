"""Chaos (issue 15.11): 10,000 tasks drained by two thread pools while a random worker process
is SIGKILLed every few seconds (now and then a whole worker, which another replaces) and Redis
is restarted once. Nothing is lost, and a task runs more than once only if it was in flight
(leased) when a process was killed.

Every run records itself under an id of its own (``chaos_started``/``chaos_runs``), so that a
write retried across the Redis restart never counts twice. Bounded to a few minutes; run on its
own with ``-m chaos``, print the counts with ``-s``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from alsek.adapters.redis import RedisServer
from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.effects import NO_EFFECTS
from tests.integration.test_worker_harness import Harness, wait_until

N = 10_000
TASK_S = 0.04
KILL_EVERY_S = (2.0, 4.0)
WORKER = ("--n_processes", "2", "--n_process_floor", "2", "--n_threads", "4")

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(420)]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    started = RedisServer(appendonly=True).start()  # a restart keeps every acknowledged write
    yield started
    started.stop()


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _runs(harness: Harness, key: str) -> Counter[int]:
    return Counter(
        int(f.split(b":")[0]) for f in harness.client.hkeys(f"{harness.namespace}:{key}")
    )


def _in_flight(harness: Harness, index: dict[str, int]) -> set[int]:
    """The tasks leased right now (their run may be cut short by the kill that just happened)."""
    leased = KeyLayout(harness.namespace).queue("rel").leased
    uuids = {m.split(b"|")[0].decode() for m in harness.client.zrange(leased, 0, -1)}
    return {index[u] for u in uuids if u in index}


class Chaos:
    """Kills worker processes at random and keeps two workers running."""

    def __init__(self, harness: Harness, rng: random.Random, index: dict[str, int]) -> None:
        self.harness, self.rng, self.index = harness, rng, index
        self.workers = [harness.start("thread", *WORKER) for _ in range(2)]
        self.kills = self.whole = 0
        self.in_flight: set[int] = set()

    def kill_one(self) -> None:
        live = [w for w in self.workers if w.alive]
        worker = self.rng.choice(live)
        children = _children(worker.process.pid)
        if not children or self.rng.random() < 0.2:  # now and then the whole worker
            worker.kill_all()
            self.workers.remove(worker)
            self.workers.append(self.harness.start("thread", *WORKER))
            self.whole += 1
        else:
            os.kill(self.rng.choice(children), signal.SIGKILL)
        self.kills += 1
        self.in_flight |= _in_flight(self.harness, self.index)

    def stop(self) -> None:
        for worker in self.workers:
            assert worker.stop(60) == 0, worker.tail()


def test_chaos_loses_nothing(server: RedisServer, tmp_path: Path) -> None:
    harness = Harness(tmp_path, server.url, "chaos")
    rng = random.Random(os.environ.get("ALSEK_CHAOS_SEED", "15"))
    try:
        batch = [harness.tasks.chaos.defer().generate(args=(i, TASK_S)) for i in range(N)]
        index = {str(m.uuid): i for i, m in enumerate(batch)}
        harness.tasks.broker.submit_many([(m, NO_EFFECTS) for m in batch])
        chaos = Chaos(harness, rng, index)
        started = time.monotonic()
        restarted = False
        while len(_runs(harness, "chaos_runs")) < N:
            assert time.monotonic() - started < 300, (
                f"not drained: {len(_runs(harness, 'chaos_runs'))}"
            )
            deadline = time.monotonic() + rng.uniform(*KILL_EVERY_S)
            while time.monotonic() < deadline and len(_runs(harness, "chaos_runs")) < N:
                time.sleep(0.2)
            if len(_runs(harness, "chaos_runs")) >= N:
                break
            if not restarted and len(_runs(harness, "chaos_runs")) >= N // 2:
                chaos.in_flight |= _in_flight(harness, index)  # an outage may cut leases too
                server.restart()
                restarted = True
                continue
            chaos.kill_one()
        wait_until(lambda: harness.leftover() == 0, 60, "every message to be acknowledged")
        drained_s = time.monotonic() - started
        chaos.stop()
        runs, starts = _runs(harness, "chaos_runs"), _runs(harness, "chaos_started")
        lost = sorted(set(range(N)) - set(runs))
        extra = {i: n for i, n in runs.items() if n > 1}
        cut = sum(starts.values()) - sum(runs.values())
        print(f"\n[chaos] {N:,} tasks in {drained_s:.1f} s; {chaos.kills} SIGKILLs "
              f"({chaos.whole} whole workers), Redis restarted: {restarted}; lost {len(lost)}; "
              f"ran more than once {len(extra)} (all in flight at a kill: "
              f"{set(extra) <= chaos.in_flight}); runs cut short by kills {cut}")  # fmt: skip
        assert restarted and chaos.kills >= 5
        assert not lost, f"{len(lost)} lost, e.g. {lost[:10]}"
        assert set(extra) <= chaos.in_flight, sorted(set(extra) - chaos.in_flight)[:10]
        assert list(harness.tasks.broker.dead_letters()) == []
    finally:
        for worker in harness.workers:
            if worker.alive:
                worker.kill_all()
        harness.close()
