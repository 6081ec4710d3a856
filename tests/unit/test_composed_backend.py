"""ComposedBackend: a backend is its two components, and behaves as if it inherited them."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pytest

from alsek.adapters.memory import InMemoryBackend, MemoryKeyValueStore, MemoryMessageQueue
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.message import Message
from alsek.ports.queue import Claim
from tests.contract.fakes import FakeClock

LEASE = 1_000


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_port_methods_are_the_components_bound_methods(clock: FakeClock) -> None:
    backend = InMemoryBackend(clock=clock)
    assert isinstance(backend.key_value, MemoryKeyValueStore)
    assert isinstance(backend.message_queue, MemoryMessageQueue)
    for name in ("submit", "claim", "ack_many_and_claim", "extend", "ack", "retry", "fail"):
        assert getattr(backend, name).__self__ is backend.message_queue, name
    for name in ("get", "set", "delete", "scan", "publish", "subscribe"):
        assert getattr(backend, name).__self__ is backend.key_value, name


def test_assigning_the_context_rebuilds_both_components(clock: FakeClock) -> None:
    backend = InMemoryBackend(clock=clock)
    backend.submit(Message("t", queue="q", created_at=clock.now_ms()))
    later, serializer = FakeClock(clock.now_ms() + 5_000), JsonSerializer()
    backend.namespace, backend.clock, backend.serializer = "other", later, serializer
    for component in (backend.key_value, backend.message_queue):
        assert component.namespace == "other"
        assert component.clock is later and component.serializer is serializer
    assert backend.submit.__self__ is backend.message_queue
    assert backend.depth("q") == 0 and backend.queues() == []
    backend.namespace = "alsek"
    assert backend.depth("q") == 1


def test_a_copy_with_another_namespace_leaves_the_original_alone(clock: FakeClock) -> None:
    backend = InMemoryBackend(clock=clock)
    twin = copy.copy(backend)
    twin.namespace = "twin"
    twin.set("k", 1)
    assert backend.namespace == "alsek" and not backend.exists("k")
    assert twin.store is backend.store and twin.get("k") == 1


class Recording(InMemoryBackend):
    """Overrides two port methods, as a user's test double would."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.calls: list[str] = []

    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        self.calls.append("claim")
        return super().claim(queues, limit=limit, lease_ms=lease_ms)

    def wait_for_work(self, queues: Sequence[str], timeout_ms: int) -> bool:
        self.calls.append("wait_for_work")
        return super().wait_for_work(queues, timeout_ms)


def test_an_override_is_never_shadowed_and_super_reaches_the_component(clock: FakeClock) -> None:
    backend = Recording(clock=clock)
    message = Message("t", queue="q", created_at=clock.now_ms())
    backend.submit(message)
    assert backend.claim(["q"], limit=1, lease_ms=LEASE).messages == [message]
    assert backend.calls == ["claim"]


def test_a_port_default_runs_on_the_backend_and_uses_its_overrides(clock: FakeClock) -> None:
    backend = Recording(clock=clock)  # the memory queue keeps the port's wait_and_claim
    message = Message("t", queue="q", created_at=clock.now_ms())
    backend.submit(message)
    claim = backend.wait_and_claim(["q"], timeout_ms=0, limit=1, lease_ms=LEASE)
    assert claim.messages == [message]
    assert backend.calls == ["wait_for_work", "claim"]
