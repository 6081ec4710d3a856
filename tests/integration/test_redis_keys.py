"""RedisBackend key layout: namespaces, cluster hash tags, index keys, scan patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.crc import key_slot

from alsek.adapters.redis import RedisBackend
from alsek.adapters.redis.keys import KeyLayout
from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import (
    dlq_name,
    message_name,
    validate_queue_name,
    validate_task_name,
)

LAYOUT = KeyLayout("alsek")


def _valid(check):
    def accept(name: str) -> bool:
        try:
            check(name)
        except ValidationError:
            return False
        return True

    return accept


queue_names = st.text(st.characters(codec="utf-8"), min_size=1).filter(_valid(validate_queue_name))
task_names = st.text(st.characters(codec="utf-8"), min_size=1).filter(_valid(validate_task_name))
uuids = st.uuids().map(str)


@pytest.mark.parametrize(
    ("short", "stored"),
    [
        ("queues:q:tasks:t:messages:u", "alsek:queues:{q}:tasks:t:messages:u"),
        ("queues:q", "alsek:queues:{q}"),
        ("dtq:queues:q:tasks:t:messages:u", "alsek:dtq:queues:{q}:tasks:t:messages:u"),
        ("results:u", "alsek:results:u"),
        ("status:q:u", "alsek:status:q:u"),
        ("queues:", "alsek:queues:"),
    ],
)
def test_full_name_tags_the_queue_and_short_name_inverts_it(short, stored):
    assert LAYOUT.full_name(short) == stored
    assert LAYOUT.short_name(stored) == short
    assert LAYOUT.short_name(stored.encode()) == short


@given(queue=queue_names, task=task_names, uuid=uuids)
def test_message_names_round_trip_and_share_the_queue_slot(queue, task, uuid):
    message = Message(task, queue=queue, uuid=uuid)
    for name in (message_name(message), dlq_name(message)):
        stored = LAYOUT.full_name(name)
        assert LAYOUT.short_name(stored) == name
        assert key_slot(stored.encode()) == key_slot(LAYOUT.queue(queue).ready.encode())


@pytest.mark.parametrize(
    ("prefix", "pattern"),
    [
        (None, "alsek:*"),
        ("queues:math_ops", "alsek:queues:{math_ops}*"),
        ("queues:math_ops:tasks:", "alsek:queues:{math_ops}:tasks:*"),
        ("dtq:queues:q:", "alsek:dtq:queues:{q}:*"),
        ("dtq:queues:", "alsek:dtq:queues:*"),
        ("results:*:1", "alsek:results:*:1*"),
    ],
)
def test_scan_patterns_go_through_the_same_mapping(prefix, pattern):
    assert LAYOUT.pattern(prefix) == pattern


@pytest.mark.parametrize(
    "namespace", ["", "a{b", "b}", 3, "app:tenant2", "a*b", "a?", "a[1]", "a\\b"]
)
def test_a_namespace_with_braces_colons_glob_characters_or_empty_is_rejected(namespace):
    with pytest.raises(ValidationError):
        RedisBackend(namespace=namespace)


def test_stored_keys_of_one_queue_share_one_cluster_slot(redis_backend, redis_client):
    messages = [Message("t", queue="q"), Message("other:task", queue="q"), Message("t", queue="q")]
    for message in messages:
        redis_backend.submit(message)
    claimed = redis_backend.claim(["q"], limit=2, lease_ms=10_000).messages
    redis_backend.fail(claimed[0], dlq_ttl=60_000)
    redis_backend.retry(claimed[1].increment_retries())
    keys = [key.decode() for key in redis_client.scan_iter(match="*{q}*")]
    kinds = {key.split(":")[1] for key in keys}
    assert kinds == {"queues", "dtq", "idx"}
    assert len({key_slot(key.encode()) for key in keys}) == 1
    ns = redis_backend.namespace
    assert {f"{ns}:idx:{{q}}:{name}" for name in ("slots", "delayed", "seq", "signal")} <= set(keys)


def test_count_of_a_queue_counts_exactly_that_queue(redis_backend):
    for queue in ("math_ops", "math_ops", "math_ops2", "math"):
        redis_backend.submit(Message("t", queue=queue))
    assert redis_backend.count("queues:math_ops") == 2
    assert redis_backend.count("queues:math") == 1
    assert redis_backend.count("queues:") == 4
    assert redis_backend.count("queues") == 4


def test_scan_hides_indexes_and_clear_namespace_removes_them(redis_backend, redis_client):
    message = Message("t", queue="q")
    redis_backend.submit(message, effects=Effects(writes=[Write("results:r", 1)]))
    assert sorted(redis_backend.scan()) == sorted([message_name(message), "results:r"])
    assert redis_backend.queues() == ["q"]
    assert redis_client.dbsize() > 2  # bodies, results and the queue's indexes
    assert redis_backend.clear_namespace() == 2
    assert redis_client.dbsize() == 0


def test_clearing_a_namespace_spares_every_other_tenant(make_redis_backend, redis_client):
    # Issue 15.8: namespace "app" matched "app:tenant2:*" and clear_namespace() wiped it. A
    # namespace can no longer hold ":", so no other tenant's keys start with "app:".
    app, app2 = make_redis_backend(namespace="app"), make_redis_backend(namespace="app2")
    for backend in (app, app2):
        backend.set("k", backend.namespace)
        backend.submit(Message("t", queue="q"))
    redis_client.set("app-other:k", "not alsek's")
    app.clear_namespace()
    assert app2.get("k") == "app2"
    assert app2.depth("q") == 1
    assert redis_client.get("app-other:k") == b"not alsek's"
    assert list(app.scan()) == []


def test_assigning_a_namespace_moves_the_backend(redis_backend):
    redis_backend.set("k", "first")
    first = redis_backend.namespace
    redis_backend.namespace = f"{first}-second"
    assert not redis_backend.exists("k")
    redis_backend.submit(Message("t", queue="q"))
    assert redis_backend.depth("q") == 1
    redis_backend.namespace = first
    assert redis_backend.get("k") == "first"
    assert redis_backend.depth("q") == 0


def test_a_queue_first_indexed_by_a_retry_is_listed(redis_backend):
    message = Message("t", queue="raw_q")
    redis_backend.set(message_name(message), message.data)  # a body written by hand
    redis_backend.retry(message.increment_retries())
    assert redis_backend.queues() == ["raw_q"]
