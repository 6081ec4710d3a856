"""Feeder with ``park_in_executors`` (leader/follower) against InMemoryBackend: an idle executor
waits for work itself and runs the first message it gets, the others go to the other executors,
each once; a stop or close does not wait for the parked executor, and what its claim brings back
after the feeder closed is released, not lost."""

# ruff: noqa: F811 - the fixtures of test_worker_feeder are imported, then taken as arguments

from __future__ import annotations

import threading
import time
from collections import Counter

from alsek import Broker
from tests.unit.test_worker_feeder import (  # noqa: F401 - fixtures among them
    LONG_BACKOFF,
    QUEUE,
    RecordingBackend,
    Rig,
    Tasks,
    backend,
    broker,
    rig,
    stop,
    store,
    submit,
    tasks,
)
from tests.unit.waiting import WAIT_S, wait_until


def parked_executor(feeder, rig: Rig, backend: RecordingBackend):  # type: ignore[no-untyped-def]
    """Start one executor and wait until it (not the feeder) is parked in wait_for_work."""
    executor = rig.executor(feeder)
    assert wait_until(lambda: backend.parked.is_set() and feeder.parked_in(executor))
    return executor


def test_an_idle_executor_waits_for_work_and_runs_what_comes(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    feeder = rig.feeder(executors=1, backoff=LONG_BACKOFF, park_in_executors=True)
    executor = parked_executor(feeder, rig, backend)
    assert backend.parked_in == [executor.name]

    message = tasks.echo.generate(args=(1,))  # wakes the parked executor, which claims it
    assert wait_until(lambda: [m.uuid for m in executor.taken] == [message.uuid])
    assert wait_until(lambda: not broker.exists(message))
    assert "alsek-feeder" not in backend.parked_in
    assert wait_until(lambda: feeder.parked_in(executor))  # idle again: parked again


def test_what_one_parked_claim_brings_goes_to_every_executor_once(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    n_executors = 3
    feeder = rig.feeder(executors=n_executors, backoff=LONG_BACKOFF, park_in_executors=True)
    gate = threading.Event()
    executors = [rig.executor(feeder, gate=gate) for _ in range(n_executors)]
    assert wait_until(lambda: any(feeder.parked_in(e) for e in executors))
    with backend.store.condition:  # three submissions before the parked claim runs
        messages = submit(tasks, n_executors)

    assert wait_until(lambda: all(len(e.taken) == 1 for e in executors))
    gate.set()
    assert wait_until(lambda: backend.count(f"queues:{QUEUE}") == 0)
    handed = Counter(m.uuid for e in executors for m in e.taken)
    assert handed == Counter(m.uuid for m in messages)


def test_close_does_not_wait_for_a_parked_executor(rig: Rig, backend: RecordingBackend) -> None:
    feeder = rig.feeder(executors=1, backoff=LONG_BACKOFF, park_in_executors=True)
    executor = parked_executor(feeder, rig, backend)
    stop(feeder)
    started = time.monotonic()
    feeder.close(timeout_s=10)
    assert time.monotonic() - started < 5.0  # far below the executor's 30 s wait
    assert feeder.parked_in(executor)  # still in that wait: nobody waited for it


def test_a_claim_that_returns_after_close_is_released(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    feeder = rig.feeder(executors=1, backoff=LONG_BACKOFF, park_in_executors=True)
    executor = parked_executor(feeder, rig, backend)
    stop(feeder)
    feeder.close(timeout_s=10)

    message = tasks.echo.generate(args=(1,))  # the parked claim takes it, after the close
    executor.join(WAIT_S)
    assert executor.returned_none.is_set() and executor.taken == []
    assert wait_until(lambda: backend.leased() == 0)  # released: ready for another worker
    assert broker.exists(message) and backend.depth(QUEUE) == 1
