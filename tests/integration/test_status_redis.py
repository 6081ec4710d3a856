"""Statuses on a real redis-server with a real worker pool: every change recorded and announced,
the integrity scan, and revocation."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from alsek import Broker, Message, task
from alsek.adapters.redis import RedisBackend
from alsek.core.status import StatusTracker, StatusTrackerIntegrityScanner, TaskStatus
from alsek.domain.model.naming import REVOCATION_CHANNEL
from alsek.storage.result import ResultStore
from alsek.tools import ResultPool
from tests.integration.test_results_redis import N_TASKS, running_pool


@pytest.fixture
def broker(redis_backend: RedisBackend) -> Broker:
    return Broker(redis_backend)


@pytest.fixture
def tracker(redis_backend: RedisBackend) -> StatusTracker:
    return StatusTracker(redis_backend)


def test_thousands_of_statuses_and_results_round_trip(
    broker: Broker, tracker: StatusTracker
) -> None:
    store = ResultStore(broker.backend)

    @task(broker, status_tracker=tracker, result_store=store, mechanism="thread")  # volume
    def triple(n: int) -> int:
        return 3 * n

    messages = [triple.generate(args=(n,)) for n in range(N_TASKS)]
    assert {tracker.get(m) for m in messages} == {TaskStatus.SUBMITTED}
    with running_pool([triple]):
        results = dict((m.uuid, r) for m, r in ResultPool(store).istream(*messages, timeout=60_000))
    assert results == {m.uuid: 3 * n for n, m in enumerate(messages)}
    assert {tracker.get(m) for m in messages} == {TaskStatus.SUCCEEDED}


def test_every_change_is_heard_as_it_happens(broker: Broker, tracker: StatusTracker) -> None:
    @task(broker, status_tracker=tracker, max_retries=1, backoff=None)
    def flaky(fail_times: int, message: Message) -> str:
        if message.retries < fail_times:
            raise RuntimeError("not yet")
        return "ok"

    retried, failed = flaky.generate(args=(1,)), flaky.generate(args=(5,))
    listeners = {m.uuid: tracker.listen_to_updates(m, timeout=30_000) for m in (retried, failed)}
    assert [next(updates).status for updates in listeners.values()] == [TaskStatus.SUBMITTED] * 2
    with running_pool([flaky]):
        heard = {uuid: [u.status for u in updates] for uuid, updates in listeners.items()}
    run, retry = TaskStatus.RUNNING, TaskStatus.RETRYING
    assert heard == {
        retried.uuid: [run, retry, run, TaskStatus.SUCCEEDED],
        failed.uuid: [run, retry, run, TaskStatus.FAILED],
    }


def test_wait_for_many_messages_at_once(broker: Broker, tracker: StatusTracker) -> None:
    @task(broker, status_tracker=tracker, mechanism="thread")
    def quick() -> None:
        return None

    outcomes: list[TaskStatus] = []

    def wait(message: Message) -> None:
        outcomes.append(tracker.wait_for(message, TaskStatus.SUCCEEDED, timeout=30_000))

    with running_pool([quick]):
        messages = [quick.generate(delay=500) for _ in range(50)]  # the waiters come first
        waiters = [threading.Thread(target=wait, args=(m,)) for m in messages]
        for waiter in waiters:
            waiter.start()
        for waiter in waiters:
            waiter.join(30)
    assert outcomes == [TaskStatus.SUCCEEDED] * len(messages)


def test_the_integrity_scanner_marks_a_lost_message_unknown(
    broker: Broker, tracker: StatusTracker
) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    @task(broker, status_tracker=tracker)
    def lost() -> None:
        return None

    message = lost.generate()
    claimed = broker.backend.claim(["alsek_queue"], limit=1, lease_ms=60_000).messages
    assert [m.uuid for m in claimed] == [message.uuid]
    tracker.set(message, TaskStatus.RUNNING)
    broker.remove(message)  # the worker died and the message will never come back
    updates = tracker.listen_to_updates(message, timeout=10_000)
    assert next(updates).status is TaskStatus.RUNNING
    scanner = StatusTrackerIntegrityScanner(tracker, broker, trigger=IntervalTrigger(seconds=0.05))
    try:
        assert [u.status for u in updates] == [TaskStatus.UNKNOWN]
    finally:
        scanner.shutdown()
    assert tracker.get(message) is TaskStatus.UNKNOWN


def test_revoking_on_redis(broker: Broker, tracker: StatusTracker) -> None:
    @task(broker, status_tracker=tracker)
    def doomed() -> None:
        return None

    message = doomed.generate(delay=60_000)
    with broker.backend.subscribe(REVOCATION_CHANNEL) as announcements:
        doomed.revoke(message)
        assert announcements.get(5_000) == {"uuid": message.uuid, "interrupt": True}
    assert not broker.exists(message) and broker.backend.depth("alsek_queue") == 0
    assert doomed.is_revoked(message)
    assert tracker.get(message) is TaskStatus.FAILED
    ttl = broker.backend.client.pttl(broker.backend.full_name(f"revoked:{message.uuid}"))
    assert ttl > 0


def test_statuses_expire_on_redis(make_redis_backend: Callable[..., RedisBackend]) -> None:
    backend = make_redis_backend()
    tracker = StatusTracker(backend, ttl=60_000)
    broker = Broker(backend)

    @task(broker, status_tracker=tracker)
    def noop() -> None:
        return None

    message = noop.generate()
    ttl = backend.client.pttl(backend.full_name(f"status:{message.uuid}"))
    assert 0 < ttl <= 60_000
