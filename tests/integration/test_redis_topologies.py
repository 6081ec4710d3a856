"""RedisBackend on Redis Sentinel and Redis Cluster: every way to connect, pickling to a child
process, scans over every primary, wake-ups, durable submissions (WAIT) and default socket
timeouts for clients given without them."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from alsek.adapters.redis import LazyClient, LocalCluster, LocalSentinel, RedisBackend
from alsek.domain.model.effects import NO_EFFECTS
from alsek.domain.model.errors import BackendConnectionError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name

QUEUES = [f"q{i}" for i in range(12)]  # spread over the three primaries


def _sentinel_connections(topology: LocalSentinel) -> dict[str, Callable[[], Any]]:
    def master() -> redis.Redis:
        return topology.sentinel_client().master_for(topology.service_name)

    return {"url": lambda: topology.url, "master_for": master, "lazy": lambda: LazyClient(master)}


def _cluster_connections(topology: LocalCluster) -> dict[str, Callable[[], Any]]:
    return {
        "url": lambda: topology.url,
        "client": lambda: topology.client(),
        "lazy": lambda: LazyClient(lambda: topology.client(decode_responses=False)),
    }


@pytest.fixture(params=["sentinel", "cluster"])
def topology(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"local_{request.param}")


@pytest.fixture
def make(topology: Any, redis_namespace: str) -> Iterator[Callable[..., RedisBackend]]:
    """Backends on the topology, by kind of connection (cleared and closed after the test)."""
    made: list[RedisBackend] = []
    kinds = (
        _sentinel_connections(topology)
        if isinstance(topology, LocalSentinel)
        else _cluster_connections(topology)
    )

    def build(kind: str = "url", **kwargs: Any) -> RedisBackend:
        backend = RedisBackend(kinds[kind](), namespace=redis_namespace, **kwargs)
        made.append(backend)
        return backend

    yield build
    if made:
        made[0].clear_namespace()
    for backend in made:
        backend.close()


def _child(backend: RedisBackend, uuid: str) -> None:
    backend.submit(Message("t", queue="q0", uuid=uuid))
    backend.close()


@pytest.mark.parametrize(
    ("topology", "kind"),
    [
        ("sentinel", "url"),
        ("sentinel", "master_for"),
        ("sentinel", "lazy"),
        ("cluster", "url"),
        ("cluster", "client"),
        ("cluster", "lazy"),
    ],  # fmt: skip
    indirect=["topology"],
)
def test_every_connection_works_and_pickles_to_a_spawned_child(make, kind):
    backend = make(kind)
    backend.set("results:parent", 1)
    data = pickle.dumps(backend)
    assert b"socket.socket" not in data and b"ConnectionPool" not in data
    clone = pickle.loads(data)
    assert clone.get("results:parent") == 1
    clone.close()
    child = multiprocessing.get_context("spawn").Process(target=_child, args=(backend, "kid"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    (message,) = backend.claim(["q0"], limit=5, lease_ms=10_000).messages
    assert message.uuid == "kid" and backend.ack(message)


def test_scans_counts_and_queues_cover_every_primary(make):
    backend = make()
    for queue in QUEUES:
        backend.submit(Message("t", queue=queue))
        backend.set(f"results:{queue}", queue)
    assert backend.queues() == sorted(QUEUES)
    assert backend.count("queues:") == len(QUEUES)
    assert backend.count("queues:q1") == 1  # not q10 or q11: the tag ends the queue name
    assert sorted(backend.scan("results:")) == sorted(f"results:{q}" for q in QUEUES)
    assert backend.get_many([f"results:{q}" for q in QUEUES]) == QUEUES
    claim = backend.claim(QUEUES, limit=len(QUEUES), lease_ms=10_000)
    assert [m.queue for m in claim.messages] == QUEUES  # queue by queue, in order
    backend.fail(claim.messages[0], dlq_ttl=None)
    backend.fail(claim.messages[1], dlq_ttl=60_000)
    assert [m.uuid for m in backend.dead_letters()] == [claim.messages[1].uuid]
    assert backend.clear_namespace() == len(QUEUES) * 2 - 1  # bodies left, results, dead letter


def test_a_consumer_of_several_queues_wakes_for_any_of_them(make):
    backend, producer = make(), make()
    got: dict[str, Any] = {}

    def consume() -> None:
        started = time.monotonic()
        got["claim"] = backend.wait_and_claim(
            ["q0", "q5", "q9"], timeout_ms=20_000, limit=1, lease_ms=10_000
        )
        got["after"] = time.monotonic() - started

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.2)  # the consumer waits already (a later submission would be found at once)
    message = Message("t", queue="q9")
    producer.submit(message)
    consumer.join(30)
    assert [m.uuid for m in got["claim"].messages] == [message.uuid]
    assert got["after"] < 10  # woken, not timed out


def test_a_durable_submission_is_on_a_replica_when_submit_returns(make, topology):
    backend = make(durable=True)
    message = Message("t", queue="q0")
    backend.submit(message)
    batch = [(Message("t", queue=q), NO_EFFECTS) for q in ("q0", "q3")]
    assert backend.submit_many(batch) == [True, True]
    key = backend.full_name(message_name(message))
    if isinstance(topology, LocalSentinel):
        replicas = [s.address for s in topology.servers if s.address != topology.master_address()]
    else:
        node = backend.client.get_node_from_key(key)
        replicas = topology.replicas_of((node.host, node.port))
    for host, port in replicas:
        with redis.Redis(host, port) as replica:
            if isinstance(topology, LocalCluster):
                replica.execute_command("READONLY")  # a cluster replica serves reads only then
            assert replica.exists(key) == 1, f"not on the replica {host}:{port} yet"


def test_a_durable_submission_without_replicas_fails_after_its_timeout(make_redis_backend):
    backend = make_redis_backend(durable=1, durable_timeout_ms=50)
    message = Message("t", queue="q")
    with pytest.raises(BackendConnectionError, match="0 of 1 replica"):
        backend.submit(message)
    assert backend.exists(message_name(message))  # stored on the primary all the same


def test_a_replica_client_is_refused(local_sentinel):
    replica = local_sentinel.sentinel_client().slave_for(local_sentinel.service_name)
    with pytest.raises(ValidationError, match="master_for"):
        RedisBackend(replica)


@pytest.mark.parametrize("make_client", ["plain", "cluster"])
def test_a_client_without_socket_timeouts_is_given_some(redis_url, local_cluster, make_client):
    client: Any = (
        redis.Redis.from_url(redis_url)
        if make_client == "plain"
        else RedisCluster.from_url(local_cluster.urls[0])
    )
    backend = RedisBackend(client, namespace="timeouts")
    kwargs = (
        backend.client.connection_pool.connection_kwargs
        if make_client == "plain"
        else backend.client.nodes_manager.connection_kwargs
    )
    assert kwargs["socket_timeout"] == 30.0 and kwargs["socket_connect_timeout"] == 5.0
    given = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=1.0)
    assert RedisBackend(given).client is given  # one with its own timeouts is used as it is
    backend.close()


def test_a_subscription_rides_out_a_sentinel_failover(local_sentinel, redis_namespace):
    # No retry in redis-py: the subscription itself must ride out the dropped connection.
    client = local_sentinel.sentinel_client().master_for(
        local_sentinel.service_name, retry=Retry(NoBackoff(), 0)
    )
    backend = RedisBackend(client, namespace=redis_namespace)
    with backend.subscribe("news") as subscription:
        backend.publish("news", "before")
        assert subscription.get(5_000) == "before"
        local_sentinel.failover()  # the old primary drops every client, subscribers included
        deadline = time.monotonic() + 20
        heard = []
        while not heard and time.monotonic() < deadline:  # "look again" answers come first
            backend.publish("news", "after")
            heard = [v for v in [subscription.get(200)] if v == "after"]
        assert heard == ["after"]
    backend.close()
