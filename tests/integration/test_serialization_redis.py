"""Alsek 1.3.2's serialize()/deserialize() of tasks, brokers, trackers and stores, round-tripped
through pickle (as 1.3.2 code hands them to another process) on a real redis-server."""

from __future__ import annotations

import pickle

from alsek import Broker, ResultStore, StatusTracker, TaskStatus
from alsek.core.backoff import LinearBackoff
from alsek.core.task import Task
from alsek.storage.backends.redis import RedisBackend


def _double(n: int) -> int:
    return 2 * n


def test_a_task_and_its_parts_round_trip(redis_backend: RedisBackend) -> None:
    broker = Broker(redis_backend, dlq_ttl=1_000)
    tracker, store = StatusTracker(redis_backend, ttl=60_000), ResultStore(redis_backend)

    double = Task(_double, broker, "double", "ser", backoff=LinearBackoff(5),
                  status_tracker=tracker, result_store=store, mechanism="thread")  # fmt: skip
    data = pickle.loads(pickle.dumps(double.serialize()))
    assert set(data) == {"task", "settings"} and data["task"] is Task
    rebuilt = Task.deserialize(data)
    assert isinstance(rebuilt, Task) and rebuilt is not double
    assert (rebuilt.name, rebuilt.queue, rebuilt.mechanism) == ("double", "ser", "thread")
    assert rebuilt.backoff == LinearBackoff(5)
    assert rebuilt.broker.dlq_ttl == 1_000 and rebuilt.broker.backend is not redis_backend
    assert rebuilt.broker.backend.namespace == redis_backend.namespace
    message = rebuilt.generate(args=(21,))
    assert broker.exists(message)  # the same Redis, through a fresh backend
    assert rebuilt.status_tracker is not None and rebuilt.status_tracker.ttl == 60_000
    rebuilt.status_tracker.set(message, TaskStatus.SUCCEEDED)
    assert tracker.get(message) is TaskStatus.SUCCEEDED
    assert Broker.deserialize(broker.serialize()).backend.namespace == redis_backend.namespace
    assert isinstance(ResultStore.deserialize(store.serialize()), ResultStore)
    assert StatusTracker.deserialize(tracker.serialize()).ttl == 60_000


def test_alsek_1_3_2_backend_spelling(redis_url: str) -> None:
    backend = RedisBackend(conn=redis_url)
    assert backend.conn is backend.client and backend.conn.ping()
    assert (backend.IS_ASYNC, backend.SUPPORTS_PUBSUB) == (False, True)
    backend.close()
