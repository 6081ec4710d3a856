"""InMemoryBackend: the backend contract (``tests/contract``), plus what only the in-memory
adapter promises."""

from __future__ import annotations

import logging
import threading

import pytest

from alsek.adapters.clock import SystemClock
from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING
from tests.contract.backend_contract import BackendContract
from tests.contract.fakes import FakeClock


class TestInMemoryBackendContract(BackendContract):
    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def backend(self, clock: FakeClock):
        backend = InMemoryBackend(clock=clock)
        yield backend
        backend.close()

    def write_raw(self, backend: Backend, name: str, raw: bytes) -> None:
        assert isinstance(backend, InMemoryBackend)
        backend.store.values.put(backend.full_name(name), raw)

    def make_sibling(self, backend: Backend, namespace: str) -> Backend:
        assert isinstance(backend, InMemoryBackend)
        return InMemoryBackend(namespace, clock=backend.clock, store=backend.store)


# -- what only the in-memory adapter promises ---------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock):
    backend = InMemoryBackend(clock=clock)
    yield backend
    backend.close()


def make(clock: FakeClock, **fields) -> Message:
    fields.setdefault("created_at", clock.now_ms())
    return Message("task", queue=fields.pop("queue", "q"), **fields)


def uuids(backend: InMemoryBackend, *queues: str, limit: int = 100) -> list[str]:
    claim = backend.claim(list(queues or ("q",)), limit=limit, lease_ms=LEASE)
    return [m.uuid for m in claim.messages]


LEASE = 1_000


def test_defaults():
    backend = InMemoryBackend()
    assert backend.namespace == "alsek"
    assert isinstance(backend.serializer, JsonSerializer)
    assert isinstance(backend.clock, SystemClock)
    assert repr(backend) == "InMemoryBackend(namespace='alsek')"
    assert backend.full_name("a:b") == "alsek:a:b"
    assert backend.short_name("alsek:a:b") == "a:b"


@pytest.mark.parametrize("namespace", ["", None, 3])
def test_invalid_namespace(namespace):
    with pytest.raises(ValidationError):
        InMemoryBackend(namespace)


def test_values_are_stored_encoded(backend, clock):
    backend.set("k", {"a": 1})
    message = make(clock)
    backend.submit(message)
    now = clock.now_ms()
    assert backend.store.values.get("alsek:k", now) == backend.serializer.forward({"a": 1})
    stored = backend.store.values.get(backend.full_name(message_name(message)), now)
    assert stored == backend.serializer.forward(message.data)


def test_ttl_boundaries_follow_the_clock(backend, clock):
    backend.set("k", 1, ttl=100)
    clock.advance(99)
    assert backend.exists("k")
    clock.advance(1)
    assert not backend.exists("k")


def test_a_corrupt_body_is_logged_by_the_memory_logger(backend, clock, caplog):
    message = make(clock)
    backend.submit(message)
    name = message_name(message)
    backend.store.values.put(backend.full_name(name), b"{oops")
    with caplog.at_level(logging.ERROR, logger="alsek.adapters.memory"):
        assert backend.claim(["q"], limit=5, lease_ms=LEASE).corrupt == [name]
    (record,) = [r for r in caplog.records if r.name == "alsek.adapters.memory"]
    assert record.levelno == logging.ERROR and name in record.getMessage()
    assert backend.store.values.get(backend.full_name(f"dtq:{name}"), clock.now_ms()) == b"{oops"


def test_close_wakes_a_subscriber_waiting_in_another_thread(backend):
    subscription = backend.subscribe("c")
    join_result: list[object] = []
    waiter = threading.Thread(target=lambda: join_result.append(subscription.get(5_000)))
    waiter.start()
    backend.close()
    waiter.join(5)
    assert not waiter.is_alive() and join_result == [MISSING]
    backend.publish("c", 1)
    assert subscription.get(0) is MISSING


def test_a_shared_store_is_one_lock_for_every_namespace(backend):
    other = InMemoryBackend("other", clock=backend.clock, store=backend.store)
    assert other.store.lock is backend.store.lock


def test_many_lease_renewals_do_not_grow_memory(backend, clock):
    messages = [make(clock) for _ in range(10)]
    for message in messages:
        backend.submit(message)
    uuids(backend)
    for _ in range(2_000):
        assert backend.extend(messages, lease_ms=LEASE) == []
    index = backend.store.queue("alsek", "q")
    assert index is not None and len(index._leased._heap) <= 2 * len(messages) + 64 + 1


def test_the_store_is_cleared_per_namespace(backend, clock):
    other = InMemoryBackend("other", clock=clock, store=backend.store)
    backend.submit(make(clock))
    other.submit(make(clock, queue="q2"))
    assert backend.clear_namespace() == 1
    assert other.queues() == ["q2"] and other.depth("q2") == 1
