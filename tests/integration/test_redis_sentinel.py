"""RedisBackend on a ``Sentinel.master_for()`` client (issue 15): every command must reach the
primary Sentinel reports, scripts included, and a pickled backend must reach it too.

A decoy redis-server of this module's own stands where a misrouted connection goes: the
``master_for`` client is built with the decoy's host and port as its connection defaults (in
production those defaults are localhost:6379, another Redis or none). The decoy must stay empty.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
import redis

from alsek.adapters.redis import LocalSentinel, RedisBackend, RedisServer
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name


@pytest.fixture(scope="module")
def decoy() -> Iterator[RedisServer]:
    """A redis-server nothing should write to."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def decoy_client(decoy: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(decoy.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def sentinel_backend(
    local_sentinel: LocalSentinel, decoy: RedisServer, redis_namespace: str
) -> Iterator[RedisBackend]:
    """A backend on a ``master_for`` client whose default host and port are the decoy's."""
    sentinel = local_sentinel.sentinel_client()
    client = sentinel.master_for(local_sentinel.service_name, host="127.0.0.1", port=decoy.port)
    backend = RedisBackend(client, namespace=redis_namespace)
    yield backend
    backend.clear_namespace()
    backend.close()


# Issue 15.1: from redis-py 6 on, send_packed_command() connects a connection that has no
# socket with connect_check_health(), which skips Sentinel's connect(): the script connections
# connect through connect() before sending.
def test_submit_claim_and_ack_reach_the_primary_sentinel_reports(
    local_sentinel: LocalSentinel, sentinel_backend: RedisBackend, decoy_client: redis.Redis
):
    backend = sentinel_backend
    message = Message("task", queue="q")
    backend.set("results:plain", 1)  # a plain command: routed by the Sentinel pool
    backend.submit(message)  # a script
    assert backend.exists(message_name(message)), "the submitted body is not on the primary"
    assert backend.count("queues:q") == 1
    claim = backend.claim(["q"], limit=1, lease_ms=60_000)
    assert [m.uuid for m in claim.messages] == [message.uuid]
    assert backend.ack(claim.messages[0]) is True
    assert backend.count("queues:q") == 0
    assert decoy_client.dbsize() == 0, f"landed on the decoy: {decoy_client.keys()}"
    with redis.Redis(*local_sentinel.master_address()) as primary:
        assert primary.exists(backend.full_name("results:plain")) == 1


def test_a_pickled_sentinel_backend_reaches_the_primary(
    local_sentinel: LocalSentinel, sentinel_backend: RedisBackend, decoy_client: redis.Redis
):
    sentinel_backend.set("results:before", "parent")
    clone = pickle.loads(pickle.dumps(sentinel_backend))
    try:
        assert clone.get("results:before") == "parent"
        clone.set("results:after", "child")
        assert sentinel_backend.get("results:after") == "child"
    finally:
        clone.close()
    assert decoy_client.dbsize() == 0, f"landed on the decoy: {decoy_client.keys()}"
