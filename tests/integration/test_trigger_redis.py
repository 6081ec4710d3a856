"""Trigger tasks end to end: apscheduler fires, a real worker pool runs, every run's result is
reached through the progenitor; pause, resume, clear and shutdown on the live scheduler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from alsek import Broker, Message, task
from alsek.adapters.redis import RedisBackend
from alsek.core.task import TriggerTask
from alsek.domain.services.lineage import runs_name
from alsek.storage.result import ResultStore
from tests.integration.test_results_redis import running_pool

TICK = IntervalTrigger(seconds=0.1)


@pytest.fixture
def broker(redis_backend: RedisBackend) -> Broker:
    return Broker(redis_backend)


@pytest.fixture
def store(redis_backend: RedisBackend) -> ResultStore:
    return ResultStore(redis_backend)


@pytest.fixture
def ticking(broker: Broker, store: ResultStore) -> Iterator[TriggerTask]:
    @task(broker, result_store=store, trigger=TICK, mechanism="thread")
    def tick() -> str:
        return "tick"

    yield tick  # type: ignore[misc]
    tick.shutdown()


def runs(broker: Broker, progenitor: Message) -> int:
    return broker.backend.get(runs_name(progenitor.uuid), default=0)


def wait_for_runs(broker: Broker, progenitor: Message, at_least: int) -> int:
    deadline = time.monotonic() + 10
    while (count := runs(broker, progenitor)) < at_least:
        assert time.monotonic() < deadline, f"only {count} runs fired"
        time.sleep(0.02)
    return count


def test_every_run_is_reached_through_the_progenitor(
    ticking: Any, broker: Broker, store: ResultStore
) -> None:
    with running_pool([ticking]):
        progenitor = ticking.generate()
        first = store.get(progenitor, timeout=10_000, descendants=True, with_metadata=True)
        wait_for_runs(broker, progenitor, 4)
        ticking.clear()
        fired = runs(broker, progenitor)
        rest: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(first) + len(rest) < fired:
            assert time.monotonic() < deadline, "not every run's result arrived"
            rest += store.get(progenitor, timeout=1_000, descendants=True, with_metadata=True)
    records = first + rest
    assert len({r["uuid"] for r in records}) == len(records) == fired
    assert all(r["result"] == "tick" and r["progenitor_uuid"] == progenitor.uuid for r in records)
    assert [r["timestamp"] for r in first] == sorted(r["timestamp"] for r in first)


def test_pause_and_resume_the_live_schedule(ticking: Any, broker: Broker) -> None:
    progenitor = ticking.generate()
    fired = wait_for_runs(broker, progenitor, 2)
    ticking.pause()
    paused_at = runs(broker, progenitor)
    assert paused_at - fired <= 1  # at most the run that was already firing
    time.sleep(0.5)  # five ticks' worth: none of them may fire
    assert runs(broker, progenitor) == paused_at
    ticking.resume()
    wait_for_runs(broker, progenitor, paused_at + 2)
    ticking.shutdown()
    stopped_at = runs(broker, progenitor)
    time.sleep(0.3)
    assert runs(broker, progenitor) == stopped_at
