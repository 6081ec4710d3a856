"""Consumer: queue order, priority, FIFO, delayed and retried messages, idle waits, outages."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import LinearBackoff
from alsek.core.consumer import Consumer
from alsek.domain.model.errors import BackendConnectionError, ValidationError
from alsek.ports.queue import Claim
from tests.contract.fakes import FakeClock

BACKOFF = LinearBackoff(factor=100, floor=100, ceiling=400, zero_override=False)


class RecordingBackend(InMemoryBackend):
    """Records the idle waits asked of it and can fail a number of claims."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waits: list[int] = []
        self.failures = 0

    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        if self.failures:
            self.failures -= 1
            raise BackendConnectionError("down")
        return super().claim(queues, limit=limit, lease_ms=lease_ms)

    def wait_for_work(self, queues: Sequence[str], timeout_ms: int) -> bool:
        self.waits.append(timeout_ms)
        return False


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> RecordingBackend:
    return RecordingBackend(clock=clock)


@pytest.fixture
def broker(backend: RecordingBackend) -> Broker:
    return Broker(backend)


def _names(consumer: Consumer, n: int) -> list[str]:
    return [m.kwargs["name"] for m in consumer.claim(n)]


def test_queue_order_then_priority_then_fifo(broker: Broker) -> None:
    @task(broker, queue="b")
    def work(name: str) -> None: ...

    for name, queue, priority in [
        ("b-low", "b", 5), ("a-1", "a", 0), ("b-high", "b", -1), ("a-2", "a", 0), ("b-mid", "b", 0),
    ]:  # fmt: skip
        work.generate(kwargs={"name": name}, queue=queue, priority=priority)

    assert _names(Consumer(broker, ["b", "a"]), 10) == ["b-high", "b-mid", "b-low", "a-1", "a-2"]


def test_without_queues_every_queue_is_consumed_alphabetically(broker: Broker) -> None:
    @task(broker)
    def work(name: str) -> None: ...

    for queue in ("zeta", "alpha", "mid"):
        work.generate(kwargs={"name": queue}, queue=queue)

    consumer = Consumer(broker)
    assert consumer.queues == ["alpha", "mid", "zeta"]
    assert _names(consumer, 10) == ["alpha", "mid", "zeta"]


def test_queues_may_be_a_comma_separated_string(broker: Broker) -> None:
    assert list(Consumer(broker, "x, y").queues) == ["x", "y"]
    with pytest.raises(ValidationError):
        Consumer(broker, ["x", "x"])
    with pytest.raises(ValidationError):
        Consumer(broker, [])


def test_a_claimed_message_is_leased_until_the_lease_lapses(
    broker: Broker, clock: FakeClock
) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    work.generate(kwargs={"name": "only"})
    consumer = Consumer(broker, ["q"], lease_ms=1_000)
    assert _names(consumer, 1) == ["only"]
    assert consumer.claim(1) == []
    clock.advance(1_001)
    assert _names(consumer, 1) == ["only"]


def test_delayed_and_retried_messages_appear_when_due(broker: Broker, clock: FakeClock) -> None:
    @task(broker, queue="q", backoff=LinearBackoff(factor=500, floor=500, ceiling=500))
    def work(name: str) -> None: ...

    work.generate(kwargs={"name": "later"}, delay=2_000)
    work.generate(kwargs={"name": "now"})
    consumer = Consumer(broker, ["q"])
    [now] = consumer.claim(5)
    broker.retry(now)
    assert consumer.claim(5) == []
    clock.advance(500)
    assert _names(consumer, 5) == ["now"]
    clock.advance(1_500)
    assert _names(consumer, 5) == ["later"]


def test_idle_waits_follow_the_backoff_bounded_by_the_next_due_message(
    broker: Broker, backend: RecordingBackend, clock: FakeClock
) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    consumer = Consumer(broker, ["q"], BACKOFF)
    for _ in range(5):
        assert consumer.claim(1) == []
        consumer.wait_for_work()
    assert backend.waits == [100, 200, 300, 400, 400]

    work.generate(kwargs={"name": "soon"}, delay=150)
    assert consumer.claim(1) == []
    consumer.wait_for_work()
    assert backend.waits[-1] == 150
    clock.advance(150)
    assert _names(consumer, 1) == ["soon"]
    assert consumer.claim(1) == []
    consumer.wait_for_work()
    assert backend.waits[-1] == 100  # a pass that found work resets the backoff


def test_stream_yields_in_order_and_stops_with_the_stop_signal(broker: Broker) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    for i in range(3):
        work.generate(kwargs={"name": str(i)}, priority=-i)
    stop = threading.Event()
    seen = []
    for message in Consumer(broker, ["q"], BACKOFF, stop_signal=stop).stream():
        seen.append(message.kwargs["name"])
        if len(seen) == 3:
            stop.set()
    assert seen == ["2", "1", "0"]


def test_an_outage_is_logged_and_ridden_out(
    broker: Broker, backend: RecordingBackend, caplog: pytest.LogCaptureFixture
) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    work.generate(kwargs={"name": "survivor"})
    backend.failures = 2
    stop = threading.Event()
    pauses: list[float] = []
    stop.wait = lambda timeout=None: pauses.append(timeout) or False  # type: ignore[method-assign]
    consumer = Consumer(broker, ["q"], stop_signal=stop)
    assert consumer.claim(1) == [] and consumer.claim(1) == []
    assert _names(consumer, 1) == ["survivor"]
    assert pauses == [0.1, 0.2]
    assert "Backend unavailable" in caplog.text


def test_a_real_wake_up_ends_the_wait_at_once(broker: Broker) -> None:
    backend = InMemoryBackend()
    broker = Broker(backend)

    @task(broker, queue="q")
    def work(name: str) -> None: ...

    consumer = Consumer(broker, ["q"], LinearBackoff(factor=5_000, floor=5_000, ceiling=5_000))
    woke = threading.Event()

    def wait() -> None:
        consumer.wait_for_work()
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    work.generate(kwargs={"name": "wake"})
    assert woke.wait(2), "a submission must wake an idle consumer"
    waiter.join(2)
    assert _names(consumer, 1) == ["wake"]


def test_wait_and_claim_waits_by_the_backoff_then_claims(broker: Broker, backend) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    consumer = Consumer(broker, ["q"], BACKOFF)
    assert consumer.claim(1) == []  # one empty pass: the next wait is the backoff's first step
    assert consumer.wait_and_claim(2) == []
    assert backend.waits == [BACKOFF.get(1)]
    work.generate(kwargs={"name": "arrived"})
    assert [m.kwargs["name"] for m in consumer.wait_and_claim(2)] == ["arrived"]


def test_wait_and_claim_after_the_stop_claims_nothing(broker: Broker, backend) -> None:
    @task(broker, queue="q")
    def work(name: str) -> None: ...

    work.generate(kwargs={"name": "waiting"})
    stop = threading.Event()
    stop.set()
    assert Consumer(broker, ["q"], BACKOFF, stop_signal=stop).wait_and_claim(1) == []
    assert backend.waits == []
    assert backend.depth("q") == 1


def test_wait_and_claim_rides_out_a_backend_error(broker: Broker, backend) -> None:
    consumer = Consumer(broker, ["q"], BACKOFF, stop_signal=_Instant())
    consumer.claim(1)
    backend.failures = 1
    assert consumer.wait_and_claim(1) == []  # logged, paused, no exception


class _Instant:
    """A stop signal that is never set and never waits (pauses after errors cost nothing)."""

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        return False
