"""The consumer's heartbeat (LeaseHolder) on InMemoryBackend with a hand-driven ticker."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from alsek import Broker, Message
from alsek.adapters.memory import InMemoryBackend
from alsek.core.consumer import Consumer as TourConsumer
from alsek.domain.services.consumer import Consumer
from tests.contract.fakes import FakeClock

LEASE = 1_000


class HandTicker:
    """A ticker whose ticks the test fires."""

    def __init__(self) -> None:
        self.ticks: list[Callable[[], None]] = []
        self.stopped = 0

    def start(self, interval_ms: int, tick: Callable[[], None], *, name: str) -> HandTicker:
        assert interval_ms == LEASE // 5
        self.ticks.append(tick)
        return self

    def stop(self) -> None:
        self.stopped += 1

    def fire(self) -> None:
        for tick in self.ticks:
            tick()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker(clock: FakeClock) -> Broker:
    return Broker(InMemoryBackend(clock=clock))


def _other_claim(broker: Broker) -> list[Message]:
    return broker.backend.claim(["q"], limit=10, lease_ms=LEASE).messages


def test_a_yielded_message_stays_leased_until_it_is_settled(
    broker: Broker, clock: FakeClock
) -> None:
    ticker = HandTicker()
    held, later = Message("t", queue="q"), Message("t", queue="q")
    broker.submit(held)
    stream = Consumer(broker, ["q"], lease_ms=LEASE, ticker=ticker).stream()
    assert next(stream) == held
    for _ in range(5):  # far longer than a lease, renewed every fifth of it
        clock.advance(LEASE // 2)
        ticker.fire()
        assert _other_claim(broker) == []
    broker.ack(held)
    ticker.fire()  # the settled message is forgotten
    broker.submit(later)
    assert next(stream) == later
    stream.close()
    assert ticker.stopped == 1
    clock.advance(LEASE)  # no more heartbeats: the unsettled message comes back a lease later
    assert _other_claim(broker) == [later]


def test_without_a_ticker_the_lease_lapses(broker: Broker, clock: FakeClock) -> None:
    message = Message("t", queue="q")
    broker.submit(message)
    stream = Consumer(broker, ["q"], lease_ms=LEASE).stream()
    assert next(stream) == message
    clock.advance(LEASE)
    assert _other_claim(broker) == [message]


def test_closing_or_dropping_the_consumer_stops_the_heartbeat(broker: Broker) -> None:
    ticker = HandTicker()
    broker.submit(Message("t", queue="q"))
    broker.submit(Message("t", queue="q"))
    consumer = Consumer(broker, ["q"], lease_ms=LEASE, ticker=ticker)
    stream = consumer.stream()
    next(stream)
    consumer.close()
    assert ticker.stopped == 1
    other = Consumer(broker, ["q"], lease_ms=LEASE, ticker=ticker).stream()
    next(other)
    del other
    gc.collect()
    assert ticker.stopped == 2


def test_the_tours_consumer_has_a_heartbeat(broker: Broker) -> None:
    consumer = TourConsumer(broker)
    assert consumer.ticker is not None
    assert TourConsumer(broker, ["q"], None, lease_ms=LEASE).lease_ms == LEASE
