"""The inspection service (``alsek.app.services.inspection``) on the in-memory backend."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.memory import InMemoryBackend
from alsek.app.services.inspection import QueueStats, queue_stats
from alsek.domain.model.inspection import oldest_ready_age_ms
from alsek.domain.model.message import Message
from tests.contract.fakes import FakeClock


def _backend() -> tuple[InMemoryBackend, FakeClock]:
    clock = FakeClock()
    return InMemoryBackend(clock=clock), clock


def test_queue_stats_of_every_queue_sorted() -> None:
    backend, clock = _backend()
    for queue in ("b", "a", "a"):
        backend.submit(Message("t", queue=queue, created_at=clock.now_ms()))
    claimed = backend.claim(["b"], limit=1, lease_ms=1_000).messages
    backend.fail(claimed[0], dlq_ttl=10_000)
    clock.advance(250)
    stats = queue_stats(backend)
    assert stats == [
        QueueStats(queue="a", ready=2, oldest_ready_age_ms=250),
        QueueStats(queue="b", dead=1),
    ]
    assert stats[0].as_dict()["ready"] == 2


def test_queue_stats_of_given_queues_under_another_namespace() -> None:
    backend, clock = _backend()
    other = InMemoryBackend("other", clock=clock, store=backend.store)
    other.submit(Message("t", queue="q", created_at=clock.now_ms()))
    assert queue_stats(backend) == []
    assert [s.ready for s in queue_stats(backend, namespace="other")] == [1]
    assert queue_stats(backend, queues=["q", "none"]) == [QueueStats(queue="q"),
                                                          QueueStats(queue="none")]  # fmt: skip


@given(st.integers(0, 10**12), st.lists(st.integers(0, 10**12), max_size=20))
def test_oldest_ready_age_is_the_wait_of_the_earliest(now: int, ready_ats: list[int]) -> None:
    age = oldest_ready_age_ms(now, ready_ats)
    if not ready_ats:
        assert age is None
    else:
        assert age is not None and age >= 0
        assert all(now - r <= age for r in ready_ats)
        assert age == 0 or any(now - r == age for r in ready_ats)
