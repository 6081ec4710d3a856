"""Issue 15 against a real redis-server: scripts that fail halfway lose nothing (15.2), one
damaged queue does not stall the others (15.3), a claim's work is capped (15.5), message ids
and sizes are checked (15.9).

Redis does not roll back a script's earlier writes: before, a corrupt counter or a key of the
wrong type stopped a script after it had removed a message's index entry (lost) or stored a
body nobody indexed (a stray that blocked its own resubmission).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.backoff import ConstantBackoff
from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import (
    BackendError,
    MessageTooLargeError,
    ValidationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from tests.contract.fakes import FakeClock

LEASE = 1_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(make_redis_backend: Callable[..., RedisBackend], clock: FakeClock) -> RedisBackend:
    return make_redis_backend(clock=clock)


def _make(clock: FakeClock, queue: str = "q", **fields: object) -> Message:
    return Message("t", queue=queue, created_at=clock.now_ms(), **fields)  # type: ignore[arg-type]


def _claimed_again(backend: RedisBackend, clock: FakeClock, message: Message) -> bool:
    """Whether ``message`` is claimed once its lease (or delay) has run out: it was not lost."""
    clock.advance(60_000)
    claimed = backend.claim([str(message.queue)], limit=10, lease_ms=LEASE).messages
    return message.uuid in [m.uuid for m in claimed]


# -- 15.2 scripts that fail halfway ------------------------------------------------------------


def test_a_retry_that_meets_a_corrupt_counter_loses_nothing(backend, clock, redis_client):
    message = _make(clock)
    backend.submit(message)
    [held] = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    seq = KeyLayout(backend.namespace).queue("q").seq
    redis_client.set(seq, "not a number")
    with pytest.raises(BackendError):
        backend.retry(held.clone().increment_retries(clock.now_ms()))
    redis_client.delete(seq)
    assert _claimed_again(backend, clock, message), "the message lost its index entry"


def test_a_retry_into_a_damaged_delayed_set_loses_nothing(backend, clock, redis_client):
    message = _make(clock, backoff_settings=ConstantBackoff(constant=5_000, floor=0).settings)
    backend.submit(message)
    [held] = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    delayed = KeyLayout(backend.namespace).queue("q").delayed
    redis_client.set(delayed, "not a sorted set")
    with pytest.raises(BackendError):
        backend.retry(held.clone().increment_retries(clock.now_ms()))
    redis_client.delete(delayed)
    assert _claimed_again(backend, clock, message)


def test_a_submit_that_meets_a_corrupt_counter_writes_nothing(backend, clock, redis_client):
    message = _make(clock)
    seq = KeyLayout(backend.namespace).queue("q").seq
    redis_client.set(seq, "not a number")
    with pytest.raises(BackendError):
        backend.submit(message)
    assert not backend.exists(message_name(message)), "a stray body was left"
    redis_client.delete(seq)
    backend.submit(message)  # before: MessageAlreadyExistsError, for a message never indexed
    assert [m.uuid for m in backend.claim(["q"], limit=1, lease_ms=LEASE).messages] == [
        message.uuid
    ]


def test_a_release_of_a_message_whose_slot_is_gone_loses_nothing(backend, clock, redis_client):
    message = _make(clock)
    backend.submit(message)
    [held] = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    redis_client.hdel(KeyLayout(backend.namespace).queue("q").slots, message.uuid)
    backend.release([held])
    claimed = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    assert [m.uuid for m in claimed] == [message.uuid]


def test_an_ack_whose_callback_cannot_be_stored_keeps_the_message(backend, clock, redis_client):
    message, callback = _make(clock), _make(clock, queue="cb")
    backend.submit(message)
    [held] = backend.claim(["q"], limit=1, lease_ms=LEASE).messages
    redis_client.set(KeyLayout(backend.namespace).queue("cb").ready, "not a sorted set")
    with pytest.raises(BackendError):
        backend.ack(held, effects=Effects(submits=[callback]))
    assert backend.exists(message_name(message)), "the ack went through, the callback did not"
    assert not backend.exists(message_name(callback))
    redis_client.delete(KeyLayout(backend.namespace).queue("cb").ready)
    assert backend.ack(held, effects=Effects(submits=[callback])) is True
    assert backend.depth("cb") == 1


def test_repair_indexes_bodies_that_no_index_holds(backend, clock, redis_client):
    kept, stray, delayed = _make(clock), _make(clock, priority=-1), _make(clock, delay=5_000)
    for message in (kept, stray, delayed):
        backend.submit(message)
    queue = KeyLayout(backend.namespace).queue("q")
    redis_client.zrem(queue.ready, f"{stray.uuid}|t")  # as a script failing halfway left it
    redis_client.hdel(queue.slots, stray.uuid)
    redis_client.zrem(queue.delayed, f"{delayed.uuid}|t")
    unreadable = _make(clock)
    redis_client.set(KeyLayout(backend.namespace).body(unreadable), b"\xff not a message")
    assert backend.repair(["q"]) == 2
    assert backend.repair(["q"]) == 0
    claimed = backend.claim(["q"], limit=10, lease_ms=60_000).messages
    assert [m.uuid for m in claimed] == [stray.uuid, kept.uuid]
    clock.advance(5_000)
    assert [m.uuid for m in backend.claim(["q"], limit=10, lease_ms=LEASE).messages] == [
        delayed.uuid
    ]
    assert not backend.exists(message_name(unreadable))
    assert backend.exists("dtq:" + message_name(unreadable)), "unreadable: a dead letter"


# -- 15.3 one damaged queue, not every queue ----------------------------------------------------


def test_a_claim_serves_the_healthy_queues_and_names_the_damaged_one(backend, clock, redis_client):
    good = [_make(clock, queue=q) for q in ("a", "c")]
    for message in good:
        backend.submit(message)
    backend.submit(_make(clock, queue="b"))
    redis_client.delete(KeyLayout(backend.namespace).queue("b").ready)
    redis_client.set(KeyLayout(backend.namespace).queue("b").ready, "not a sorted set")
    claim = backend.claim(["a", "b", "c"], limit=10, lease_ms=LEASE)
    assert [m.uuid for m in claim.messages] == [m.uuid for m in good]
    assert list(claim.broken) == ["b"] and "WRONGTYPE" in claim.broken["b"]
    assert backend.extend(claim.messages, lease_ms=LEASE) == []
    assert backend.release(claim.messages) == []


def test_acks_with_a_damaged_callback_queue_cost_only_their_message(
    backend, clock, redis_client, caplog
):
    for _ in range(3):
        backend.submit(_make(clock))
    first, second, third = backend.claim(["q"], limit=3, lease_ms=LEASE).messages
    redis_client.set(KeyLayout(backend.namespace).queue("cb").ready, "not a sorted set")
    with caplog.at_level(logging.ERROR):
        claim = backend.ack_many_and_claim(
            [(first, Effects()), (second, Effects(submits=[_make(clock, queue="cb")])),
             (third, Effects())], queues=["q"], limit=1, lease_ms=LEASE,
        )  # fmt: skip
    assert claim.lost == []
    assert not backend.exists(message_name(first)) and not backend.exists(message_name(third))
    assert backend.exists(message_name(second)), "its ack failed: it runs again, not lost"
    assert "Could not acknowledge" in caplog.text


# -- 15.5 capped work per claim ------------------------------------------------------------------


def test_a_claim_promotes_a_bounded_number_of_due_messages(backend, clock, redis_client):
    batch = [(_make(clock, delay=1_000), Effects()) for _ in range(3_000)]
    backend.submit_many(batch)
    clock.advance(1_000)
    delayed = KeyLayout(backend.namespace).queue("q").delayed
    claim = backend.claim(["q"], limit=1, lease_ms=LEASE)
    assert len(claim.messages) == 1
    left = redis_client.zcard(delayed)
    assert 3_000 - 1_000 <= left < 3_000, "at most about a thousand promotions per claim"
    assert claim.next_due_ms is not None and claim.next_due_ms <= clock.now_ms()
    calls = 1
    while redis_client.zcard(delayed) and calls < 100:
        backend.claim(["q"], limit=1, lease_ms=LEASE)
        calls += 1
    assert redis_client.zcard(delayed) == 0 and calls > 1
    assert backend.depth("q") == 3_000 - calls


def test_a_claim_looks_at_a_bounded_number_of_entries_without_bodies(
    backend, clock, redis_client, caplog
):
    queue = KeyLayout(backend.namespace).queue("q")
    redis_client.zadd(queue.ready, {f"ghost-{i}|t": i for i in range(2_000)})
    good = _make(clock, priority=1)  # after every ghost
    backend.submit(good)
    with caplog.at_level(logging.WARNING):
        claim = backend.claim(["q"], limit=1, lease_ms=LEASE)
    assert claim.messages == []
    assert 0 < redis_client.zcard(queue.ready) < 2_001, "bounded, and some were dropped"
    assert claim.next_due_ms is not None and claim.next_due_ms <= clock.now_ms()
    assert caplog.text.count("whose body is gone") == 1, "logged once per claim, not each"
    for _ in range(100):
        claim = backend.claim(["q"], limit=1, lease_ms=LEASE)
        if claim.messages:
            break
    assert [m.uuid for m in claim.messages] == [good.uuid]


# -- 15.9 ids and sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("uuid", ["a:b", "x|y", "*", "a b", "x" * 201, "{tag}"])
def test_a_uuid_that_could_share_a_body_key_is_refused(uuid):
    with pytest.raises(ValidationError):
        Message("t", queue="q", uuid=uuid)


def test_a_stored_body_with_a_bad_uuid_goes_to_the_dead_letter_queue(backend, clock):
    message = _make(clock)
    backend.submit(message)
    data = {**message.data, "uuid": "two:parts"}
    backend.client.set(backend.full_name(message_name(message)), backend.serializer.forward(data))
    claim = backend.claim(["q"], limit=1, lease_ms=LEASE)
    assert claim.messages == [] and claim.corrupt == [message_name(message)]


def test_a_message_over_the_size_limit_is_refused_whole(make_redis_backend, clock):
    small = make_redis_backend(clock=clock, max_message_bytes=2_000)
    big = _make(clock, args=("x" * 5_000,))
    with pytest.raises(MessageTooLargeError):
        small.submit(big)
    with pytest.raises(MessageTooLargeError):
        small.submit(_make(clock), effects=Effects(submits=[big]))
    assert small.count("queues:q") == 0
    small.submit(_make(clock))
    assert small.depth("q") == 1
    assert RedisBackend.from_description(small.describe()).max_message_bytes == 2_000


# -- server checks at start ----------------------------------------------------------------------


def test_check_health_names_damaged_keys_and_warns_on_eviction(redis_backend, redis_client):
    assert redis_backend.check_health(["q"], lease_ms=5_000) == []
    saved = redis_client.config_get("maxmemory*")
    redis_client.config_set("maxmemory", "1gb")
    redis_client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        [warning] = redis_backend.check_health(["q"], lease_ms=5_000)
        assert "allkeys-lru" in warning
    finally:
        redis_client.config_set("maxmemory", saved["maxmemory"])
        redis_client.config_set("maxmemory-policy", saved["maxmemory-policy"])
    redis_client.set(KeyLayout(redis_backend.namespace).queue("q").leased, "garbage")
    with pytest.raises(BackendError, match="leased is a string"):
        redis_backend.check_health(["q"], lease_ms=5_000)


def test_check_health_refuses_a_server_older_than_6_2(redis_backend, monkeypatch):
    client = redis_backend.client
    monkeypatch.setattr(client, "info", lambda *a, **k: {"redis_version": "6.0.16"})
    with pytest.raises(BackendError, match="6.2 or later"):
        redis_backend.check_health(["q"], lease_ms=5_000)


def test_check_health_refuses_an_own_clock_far_from_redis(make_redis_backend):
    skewed = make_redis_backend(clock=FakeClock())  # years ahead: its clock sets the leases
    with pytest.raises(BackendError, match="half a lease"):
        skewed.check_health(["q"], lease_ms=5_000)
