"""InMemoryBackend: the backend contract, plus what only the in-memory adapter promises."""

from __future__ import annotations

import ast
import logging
import threading

import pytest

from alsek.adapters.clock import SystemClock
from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.backoff import NO_BACKOFF
from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.errors import ValidationError
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING
from alsek.ports.serializer import Serializer
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


def test_readers_get_independent_copies(backend):
    backend.set("k", {"list": [1]})
    backend.get("k")["list"].append(2)
    assert backend.get("k") == {"list": [1]}


class _ReprSerializer(Serializer):
    """A serializer that stores Python literals as text, to show serializers are pluggable."""

    def forward(self, obj):
        return repr(obj)

    def reverse(self, data):
        return ast.literal_eval(data)


def test_a_custom_serializer_is_used_for_everything(clock):
    backend = InMemoryBackend(serializer=_ReprSerializer(), clock=clock)
    backend.set("k", (1, 2))
    assert backend.get("k") == (1, 2)
    message = make(clock, args=(1, (2, 3)))
    backend.submit(message)
    assert backend.claim(["q"], limit=1, lease_ms=LEASE).messages == [message]
    with backend.subscribe("c") as subscription:
        backend.publish("c", {1: "one"})
        assert subscription.get(1_000) == {1: "one"}


def test_ttl_boundaries_follow_the_clock(backend, clock):
    backend.set("k", 1, ttl=100)
    clock.advance(99)
    assert backend.exists("k")
    clock.advance(1)
    assert not backend.exists("k")


def test_a_zero_ttl_stores_nothing_visible(backend):
    backend.set("k", 1, ttl=0)
    assert not backend.exists("k")


@pytest.mark.parametrize("ttl", [-1, 1.5, True])
def test_invalid_ttls_raise_before_writing(backend, clock, ttl):
    with pytest.raises(ValidationError):
        backend.set("k", 1, ttl=ttl)
    with pytest.raises(ValidationError):
        backend.ack(make(clock), effects=Effects(writes=[Write("w", 1, ttl_ms=ttl)]))
    with pytest.raises(ValidationError):
        backend.fail(make(clock), dlq_ttl=ttl)
    assert list(backend.scan()) == []


@pytest.mark.parametrize(("limit", "lease_ms"), [(-1, LEASE), (1, 0), (1, -5), (1.5, LEASE)])
def test_invalid_claim_arguments_raise(backend, limit, lease_ms):
    with pytest.raises(ValidationError):
        backend.claim(["q"], limit=limit, lease_ms=lease_ms)


def test_claim_with_limit_zero_only_promotes(backend, clock):
    message = make(clock, delay=10)
    backend.submit(message)
    clock.advance(10)
    claim = backend.claim(["q"], limit=0, lease_ms=LEASE)
    assert claim.messages == [] and claim.next_due_ms is None
    assert uuids(backend) == [message.uuid]


def test_a_redelivered_message_keeps_its_place_among_equals(backend, clock):
    first, second, third = (make(clock) for _ in range(3))
    backend.submit(first)
    backend.submit(second)
    assert uuids(backend, limit=1) == [first.uuid]
    backend.submit(third)
    backend.release([first])
    assert uuids(backend) == [first.uuid, second.uuid, third.uuid]
    clock.advance(LEASE)
    assert uuids(backend) == [first.uuid, second.uuid, third.uuid]


def test_a_delayed_message_keeps_its_submission_place(backend, clock):
    delayed = make(clock, delay=500)
    backend.submit(delayed)
    later = make(clock)
    backend.submit(later)
    clock.advance(500)
    assert uuids(backend) == [delayed.uuid, later.uuid]


def test_a_retried_message_goes_behind_its_equals(backend, clock):
    first, second = make(clock, backoff_settings=NO_BACKOFF.settings), make(clock)
    backend.submit(first)
    backend.submit(second)
    assert uuids(backend, limit=1) == [first.uuid]
    backend.retry(first.increment_retries(clock.now_ms()))
    assert uuids(backend) == [second.uuid, first.uuid]


def test_extend_renews_an_expired_lease_nobody_reclaimed(backend, clock):
    message = make(clock)
    backend.submit(message)
    uuids(backend)
    clock.advance(LEASE + 5)
    assert backend.extend([message], lease_ms=LEASE) == []
    assert uuids(backend) == []


def test_depth_counts_an_expired_lease_only_after_a_claim_returns_it(backend, clock):
    backend.submit(make(clock))
    uuids(backend)
    clock.advance(LEASE)
    assert backend.depth("q") == 0
    backend.claim(["q"], limit=0, lease_ms=LEASE)
    assert backend.depth("q") == 1


def test_wait_for_work_counts_due_delayed_and_expired_leases(backend, clock):
    backend.submit(make(clock, delay=100))
    assert backend.wait_for_work(["q"], 0) is False
    clock.advance(100)
    assert backend.wait_for_work(["q"], 0) is True
    uuids(backend)
    assert backend.wait_for_work(["q"], 0) is False
    clock.advance(LEASE)
    assert backend.wait_for_work(["q"], 0) is True


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


def test_dead_letters_skip_unreadable_entries_with_a_warning(backend, clock, caplog):
    backend.store.values.put(backend.full_name("dtq:queues:q:tasks:t:messages:x"), b"{oops")
    good = make(clock)
    backend.fail(good, dlq_ttl=60_000)
    with caplog.at_level(logging.WARNING, logger="alsek.adapters.memory"):
        assert list(backend.dead_letters("q")) == [good]
    assert any("dtq:queues:q:tasks:t:messages:x" in r.getMessage() for r in caplog.records)


def test_subscribe_needs_a_channel(backend):
    with pytest.raises(ValidationError):
        backend.subscribe()


def test_close_ends_the_backends_subscriptions(backend):
    subscription = backend.subscribe("c")
    join_result: list[object] = []
    waiter = threading.Thread(target=lambda: join_result.append(subscription.get(5_000)))
    waiter.start()
    backend.close()
    waiter.join(5)
    assert not waiter.is_alive() and join_result == [MISSING]
    backend.publish("c", 1)
    assert subscription.get(0) is MISSING


def test_scan_glob_escapes_and_classes(backend):
    for name in ["a*b", "axb", "a1", "a2", "a3"]:
        backend.set(name, 0)
    assert sorted(backend.scan("a\\*")) == ["a*b"]
    assert sorted(backend.scan("a[12]")) == ["a1", "a2"]
    assert sorted(backend.scan("a[^12x*]")) == ["a3"]
    assert sorted(backend.scan("a[1-2]")) == ["a1", "a2"]
    assert sorted(backend.scan("a[")) == []


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
