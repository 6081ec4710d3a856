"""RedisBackend connections: lazy construction, accepted connection kinds, error translation,
and the picklable description child processes rebuild the backend from."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable

import pytest
import redis

from alsek.adapters.redis import LazyClient, RedisBackend, RedisServer
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.server import free_port
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.errors import BackendConnectionError, BackendError, ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from tests.contract.fakes import FakeClock


class TaggingSerializer(JsonSerializer):
    """A serializer of our own, to check that its class travels with the description."""

    def forward(self, obj):
        return b"T" + super().forward(obj)

    def reverse(self, data):
        return super().reverse(data[1:])


@pytest.fixture
def dead_url() -> str:
    """A URL nobody listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


def _connections(url: str) -> dict[str, Callable[[], object]]:
    return {
        "url": lambda: url,
        "redis": lambda: redis.Redis.from_url(url),
        "lazy": lambda: LazyClient(lambda: redis.Redis.from_url(url)),
        "text-client": lambda: redis.Redis.from_url(url, decode_responses=True),
    }


# -- construction ----------------------------------------------------------------------------


def test_construction_connects_nothing(dead_url):
    calls = []
    lazy = RedisBackend(LazyClient(lambda: calls.append(1) or redis.Redis.from_url(dead_url)))
    by_url = RedisBackend(dead_url)
    default = RedisBackend()
    assert calls == []
    for backend in (lazy, by_url, default):
        assert repr(backend).startswith("RedisBackend(")
        backend.full_name("queues:q")
        backend.close()  # nothing to close yet: still no connection
    assert calls == []


def test_lazy_client_is_built_on_first_use_only(redis_url):
    built = []

    def factory() -> redis.Redis:
        built.append(1)
        return redis.Redis.from_url(redis_url)

    lazy = LazyClient(factory)
    backend = RedisBackend(lazy, namespace="lazy")
    assert not lazy.resolved and built == []
    assert backend.count("queues:math_ops") == 0  # the tour's example
    backend.set("k", 1)
    assert backend.get("k") == 1
    assert lazy.resolved and built == [1]
    assert lazy.ping() is True  # it stands in for the client it built


@pytest.mark.parametrize("kind", ["url", "redis", "lazy", "text-client"])
def test_every_kind_of_connection_works(redis_url, redis_namespace, kind):
    backend = RedisBackend(_connections(redis_url)[kind](), namespace=redis_namespace)
    message = Message("t", queue="q")
    backend.submit(message)
    backend.client.set(backend.full_name("results:raw"), b"\xff\xfe not utf-8")
    assert backend.claim(["q"], limit=5, lease_ms=1_000).messages == [message]
    assert backend.ack(message) is True
    with pytest.raises(Exception, match="decode"):
        backend.get("results:raw")  # a serializer error, not a redis-py decoding crash
    backend.close()


@pytest.mark.parametrize("connection", [3, object(), b"redis://localhost"])
def test_an_unknown_connection_kind_is_rejected(connection):
    with pytest.raises(ValidationError):
        RedisBackend(connection)


def test_a_malformed_url_is_rejected_without_connecting():
    with pytest.raises(ValidationError, match="invalid Redis URL"):
        RedisBackend("http://localhost:6379")


def test_lazy_client_needs_a_callable_and_is_not_picklable():
    with pytest.raises(ValidationError):
        LazyClient(redis.Redis())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pickle.dumps(LazyClient(redis.Redis))


# -- error translation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        lambda b: b.get("k"),
        lambda b: b.set("k", 1),
        lambda b: list(b.scan()),
        lambda b: b.submit(Message("t", queue="q")),
        lambda b: b.claim(["q"], limit=1, lease_ms=1_000),
        lambda b: b.ack(Message("t", queue="q")),
        lambda b: b.depth("q"),
        lambda b: b.wait_for_work(["q"], 10),
        lambda b: b.subscribe("c"),
        lambda b: b.publish("c", 1),
    ],
)
def test_an_unreachable_server_raises_backend_connection_error(dead_url, operation):
    backend = RedisBackend(dead_url)
    with pytest.raises(BackendConnectionError) as caught:
        operation(backend)
    assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)
    assert isinstance(caught.value, ConnectionError)  # usable as the builtin too


def test_a_failing_lazy_factory_is_translated():
    def factory() -> redis.Redis:
        raise redis.exceptions.ConnectionError("no route")

    with pytest.raises(BackendConnectionError):
        RedisBackend(LazyClient(factory)).get("k")


def test_other_redis_errors_become_backend_errors(redis_backend):
    redis_backend.client.rpush(redis_backend.full_name("k"), "a list, not a string")
    with pytest.raises(BackendError) as caught:
        redis_backend.get("k")
    assert not isinstance(caught.value, BackendConnectionError)
    assert isinstance(caught.value.__cause__, redis.exceptions.ResponseError)
    ready = KeyLayout(redis_backend.namespace).queue("q").ready
    redis_backend.client.set(ready, "not a sorted set")
    with pytest.raises(BackendError):  # an error raised inside a script
        redis_backend.submit(Message("t", queue="q"))
    # A claim serves each queue on its own: it names the damaged one instead of failing.
    assert "WRONGTYPE" in redis_backend.claim(["q"], limit=1, lease_ms=1_000).broken["q"]


def test_the_backend_recovers_when_the_server_restarts(tmp_path):
    with RedisServer(data_dir=tmp_path, appendonly=True) as server:
        backend = RedisBackend(server.url)
        backend.submit(Message("t", queue="q"))
        server.restart()
        # The pooled connection died with the server: one retry replaces it transparently.
        assert backend.depth("q") == 1
        assert len(backend.claim(["q"], limit=5, lease_ms=1_000).messages) == 1
        server.stop(keep_data=True)
        with pytest.raises(BackendConnectionError):
            backend.depth("q")
        server.start()
        assert backend.depth("q") == 0
        backend.close()


def test_close_is_idempotent_and_the_backend_reconnects(redis_backend):
    redis_backend.set("k", 1)
    subscription = redis_backend.subscribe("c")
    redis_backend.close()
    redis_backend.close()
    assert redis_backend.get("k") == 1
    subscription.close()


# -- waiting -------------------------------------------------------------------------------


def test_a_wait_longer_than_the_socket_timeout_is_split(redis_url, redis_namespace):
    client = redis.Redis.from_url(redis_url, socket_timeout=0.3)
    backend = RedisBackend(client, namespace=redis_namespace)
    started = time.monotonic()
    assert backend.wait_for_work(["q"], 700) is False  # no read timeout error
    assert 0.65 <= time.monotonic() - started < 5


def test_a_waiting_consumer_wakes_quickly_on_a_submit_from_elsewhere(make_redis_backend):
    waiter, submitter = make_redis_backend(), make_redis_backend()
    result: dict[str, float] = {}

    def wait() -> None:
        started = time.monotonic()
        result["woke"] = waiter.wait_for_work(["q"], 5_000)
        result["after"] = time.monotonic() - started

    thread = threading.Thread(target=wait)
    thread.start()
    deadline = time.monotonic() + 5
    while not any(  # wait (bounded) until the waiter blocks in BLPOP
        c.get("cmd") == "blpop" for c in submitter.client.client_list()
    ):
        assert time.monotonic() < deadline
        time.sleep(0.001)
    submitter.submit(Message("t", queue="q"))
    thread.join(5)
    assert result["woke"] is True
    assert result["after"] < 4


# -- description and pickling --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["url", "redis", "lazy", "text-client"])
def test_a_pickled_backend_carries_a_description_not_the_client(redis_url, redis_namespace, kind):
    backend = RedisBackend(
        _connections(redis_url)[kind](), namespace=redis_namespace, serializer=TaggingSerializer()
    )
    backend.set("k", {"v": 1})
    data = pickle.dumps(backend)
    assert b"ConnectionPool" not in data and b"socket.socket" not in data
    copy = pickle.loads(data)
    assert copy.namespace == redis_namespace
    assert isinstance(copy.serializer, TaggingSerializer)
    assert copy.get("k") == {"v": 1}
    assert copy.client is not backend.client
    description = copy.describe()
    assert RedisBackend.from_description(description).get("k") == {"v": 1}


def test_a_unix_socket_description_round_trips(tmp_path):
    with RedisServer(unix_socket=tmp_path / "redis.sock") as server:
        backend = RedisBackend(redis.Redis.from_url(server.url), namespace="sock")
        backend.set("k", 1)
        description = backend.describe()
        assert description["connection"]["kwargs"]["path"] == str(tmp_path / "redis.sock")
        assert pickle.loads(pickle.dumps(backend)).get("k") == 1


def test_the_clock_class_travels_with_the_description(redis_url):
    backend = RedisBackend(redis_url, clock=FakeClock())
    assert isinstance(pickle.loads(pickle.dumps(backend)).clock, FakeClock)


def _submit_in_child(backend: RedisBackend, uuid: str) -> None:
    backend.submit(Message("t", queue="q", uuid=uuid))


def test_a_spawned_child_process_builds_its_own_backend(redis_backend):
    redis_backend.serializer = TaggingSerializer()
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_submit_in_child, args=(redis_backend, "from-child"))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    (claimed,) = redis_backend.claim(["q"], limit=5, lease_ms=1_000).messages
    assert claimed.uuid == "from-child"
    raw = redis_backend.client.get(redis_backend.full_name(message_name(claimed)))
    assert raw.startswith(b"T")  # the child used the parent's serializer class


def test_the_default_connection_describes_the_url_in_use(monkeypatch):
    import alsek.adapters.redis.client as client_module

    monkeypatch.setattr(client_module, "DEFAULT_URL", "redis://127.0.0.1:9/3")
    assert RedisBackend().describe()["connection"] == {"url": "redis://127.0.0.1:9/3"}


def test_a_shallow_copy_shares_client_and_clock(redis_backend):
    import copy

    redis_backend.clock = FakeClock()
    twin = copy.copy(redis_backend)
    assert twin.client is redis_backend.client and twin.clock is redis_backend.clock
    twin.namespace = f"{redis_backend.namespace}-twin"
    twin.submit(Message("t", queue="q", created_at=twin.clock.now_ms()))
    assert twin.depth("q") == 1 and redis_backend.depth("q") == 0
    assert len(twin.claim(["q"], limit=1, lease_ms=1_000).messages) == 1
