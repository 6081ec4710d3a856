"""Garbage written by hand into a queue's index or a message body: logged and skipped (corrupt
bodies go to the dead letter queue), and the worker keeps going."""

from __future__ import annotations

import redis

from alsek import Message
from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.keys import KeyLayout
from tests.integration.test_worker_harness import (  # noqa: F401
    Harness,
    assert_exactly_once,
    harness_fixture,
    submit_counts,
    wait_until,
)


def test_garbage_is_logged_and_skipped_and_the_worker_goes_on(harness: Harness) -> None:
    keys = KeyLayout(harness.namespace)
    queue = keys.queue("rel")
    client = harness.client
    tasks = harness.tasks

    # Bodies overwritten with garbage: not JSON, not UTF-8, JSON but not a message, another message.
    for raw in (b"{not json", b"\xff\xfe\x00\x01", b'{"foo": 1}', b"[1, 2, 3]"):
        victim = tasks.count.generate(args=(-1,))
        client.set(keys.body(victim), raw)
    impostor = tasks.count.generate(args=(-2,))
    other = Message(task_name="count", queue="rel", args=(-3,))
    client.set(keys.body(impostor), tasks.backend.serializer.forward(other.data))
    # Index entries with no body, a member that is not even "<uuid>|<task>", a bogus score.
    client.zadd(queue.ready, {"ghost-uuid|count": 0, "no-separator-at-all": 1, "x|": -5})
    # A readable message of a task nobody runs.
    tasks.broker.submit(Message(task_name="stranger", queue="rel"))

    worker = harness.start("thread", "--n_processes", "1", "--unknown_task_window", "0")
    submit_counts(harness, 50)
    wait_until(lambda: len(harness.counts()) == 50, 30, "the good messages", worker)
    wait_until(lambda: harness.leftover() == 0, 30, "the queue to empty", worker)
    log = worker.log.read_text(errors="replace")
    assert worker.stop() == 0, worker.tail()

    assert harness.counts() == {i: 1 for i in range(50)}, "no garbage ran"
    assert log.count("corrupt message body") >= 5, log
    assert "whose body is gone" in log
    assert log.count("whose body is gone") <= 2, "dropped entries are logged once per claim"
    assert "Unknown task 'stranger'" in log
    dead = {key.decode() for key in client.scan_iter(f"{harness.namespace}:dtq:*")}
    assert len(dead) >= 6, "corrupt bodies and the unknown task are kept as dead letters"
    for zset in (queue.ready, queue.delayed, queue.leased):
        assert client.zcard(zset) == 0, f"{zset} still holds {client.zrange(zset, 0, -1)}"


def test_a_queue_key_of_the_wrong_type_is_logged_until_fixed(harness: Harness) -> None:
    queue = KeyLayout(harness.namespace).queue("rel")
    worker = harness.start("process", "--n_processes", "1")
    submit_counts(harness, 5)
    wait_until(lambda: len(harness.counts()) == 5, 30, "the first runs", worker)
    harness.client.delete(queue.ready)
    harness.client.set(queue.ready, "this should be a sorted set")
    wait_until(
        lambda: "WRONGTYPE" in worker.log.read_text(errors="replace"), 30, "the error", worker
    )
    harness.client.delete(queue.ready)
    for i in range(5, 10):
        harness.tasks.count.generate(args=(i,))
    wait_until(lambda: len(harness.counts()) == 10, 30, "the runs after the fix", worker)
    assert worker.stop() == 0, worker.tail()
    assert_exactly_once(harness, 10)


def test_a_malformed_index_member_in_a_claim_batch_costs_no_good_message(
    redis_backend: RedisBackend, redis_client: redis.Redis
) -> None:
    queue = KeyLayout(redis_backend.namespace).queue("mixed")
    good = [Message(task_name="t", queue="mixed") for _ in range(3)]
    for message in good:
        redis_backend.submit(message)
    # A script error after ZPOPMIN would not be rolled back: the good messages popped with the
    # garbage would lose their index entries. The claim must read past it instead.
    redis_client.zadd(queue.ready, {"no-separator-at-all": 0, "x|": 0})
    redis_client.zadd(queue.leased, {"expired-garbage": 1})  # promoted back, then dropped
    redis_client.hset(queue.slots, "expired-garbage", "not-a-score")
    claim = redis_backend.claim(["mixed"], limit=10, lease_ms=60_000)
    assert sorted(m.uuid for m in claim.messages) == sorted(m.uuid for m in good)
    assert redis_client.zcard(queue.ready) == 0
    assert redis_backend.depth("mixed") == 0
