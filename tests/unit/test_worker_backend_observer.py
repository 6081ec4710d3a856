"""The backend observer of a consumer and a watchdog, on InMemoryBackend with a fake clock: what
it hears of claims (batch sizes), lease renewals and lapses, and backend errors by operation;
that a failing observer never breaks a claim; and how a pool wires it in."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest

from alsek import Broker, Message
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import BackendConnectionError
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, Verdict
from alsek.ports.observer import BackendObserver
from alsek.ports.queue import Claim
from alsek.worker.leases import Running
from alsek.worker.watchdog import Watchdog
from tests.contract.fakes import FakeClock


class Recorder(BackendObserver):
    """Records every event it hears."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def claimed(self, count: int) -> None:
        self.events.append(("claimed", count))

    def renewed(self, count: int) -> None:
        self.events.append(("renewed", count))

    def lapsed(self, count: int, stage: str) -> None:
        self.events.append(("lapsed", count, stage))

    def backend_error(self, operation: str, error: BaseException) -> None:
        self.events.append(("error", operation, type(error).__name__))


class FlakyBackend(InMemoryBackend):
    """Fails the next ``failures[name]`` calls of each named method."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures: dict[str, int] = {}

    def _maybe_fail(self, name: str) -> None:
        if self.failures.get(name):
            self.failures[name] -= 1
            raise BackendConnectionError(f"{name}: down")

    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        self._maybe_fail("claim")
        return super().claim(queues, limit=limit, lease_ms=lease_ms)

    def wait_for_work(self, queues: Sequence[str], timeout_ms: int) -> bool:
        self._maybe_fail("wait_for_work")
        return False

    def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        self._maybe_fail("extend")
        return super().extend(messages, lease_ms=lease_ms)

    def subscribe(self, *channels: str) -> Any:
        self._maybe_fail("subscribe")
        return super().subscribe(*channels)


class _Instant:
    """A stop signal never set that never waits (pauses after errors cost nothing)."""

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        return False


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> FlakyBackend:
    return FlakyBackend(clock=clock)


def _consumer(backend: InMemoryBackend, observer: BackendObserver | None, **kw: Any) -> Consumer:
    return Consumer(
        Broker(backend), ["q"], lease_ms=1_000, stop_signal=_Instant(), observer=observer, **kw
    )


def _submit(backend: InMemoryBackend, n: int) -> None:
    for i in range(n):
        backend.submit(Message("t", args=(i,), queue="q"))


def test_each_claim_reply_tells_its_batch_size_and_acks_alone_tell_nothing(
    backend: FlakyBackend,
) -> None:
    recorder = Recorder()
    consumer = _consumer(backend, recorder)
    _submit(backend, 5)
    first = consumer.claim(3)
    consumer.claim(3)
    consumer.claim(3)
    consumer.ack_many_and_claim([(m, Settlement(Verdict.ACK, m).effects) for m in first], 0)
    assert recorder.events == [("claimed", 3), ("claimed", 2), ("claimed", 0)]


def test_backend_errors_are_told_by_operation(backend: FlakyBackend) -> None:
    recorder = Recorder()
    consumer = _consumer(backend, recorder)
    backend.failures = {"claim": 1}
    assert consumer.claim(1) == []
    backend.failures = {"wait_for_work": 1}
    assert consumer.wait_for_work() is False
    backend.failures = {"claim": 1}
    assert consumer.wait_and_claim(1) == []  # a wait and a claim at once: a claim
    assert recorder.events == [
        ("error", "claim", "BackendConnectionError"),
        ("error", "wait", "BackendConnectionError"),
        ("error", "claim", "BackendConnectionError"),
    ]


def test_settlements_refused_for_a_lapsed_lease_are_told_at_the_settle_stage(
    backend: FlakyBackend, clock: FakeClock
) -> None:
    recorder = Recorder()
    mine, other = _consumer(backend, recorder), _consumer(backend, None)
    _submit(backend, 2)
    first, second = mine.claim(2)
    clock.advance(1_001)  # both leases lapse; another consumer takes them over
    assert len(other.claim(2)) == 2
    recorder.events.clear()
    mine.ack_many_and_claim([(first, Settlement(Verdict.ACK, first).effects)], 1)
    processor = MessageProcessor(mine, {})
    processor.finish(Settlement(Verdict.ACK, second))
    assert recorder.events == [("claimed", 0), ("lapsed", 1, "settle"), ("lapsed", 1, "settle")]


def test_an_observer_that_raises_never_breaks_a_claim(
    backend: FlakyBackend, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(BackendObserver):
        def claimed(self, count: int) -> None:
            raise RuntimeError("observer bug")

    _submit(backend, 1)
    with caplog.at_level(logging.ERROR, logger="alsek.consumer"):
        assert len(_consumer(backend, Broken()).claim(1)) == 1
    assert "A consumer observer failed" in caplog.text


class _Hooks:
    def __init__(self) -> None:
        self.runs: list[Running] = []

    def running(self) -> Sequence[Running]:
        return list(self.runs)

    def on_timeout(self, running: Running) -> None: ...

    def on_revoke(self, uuid: str) -> None: ...

    def on_tick(self) -> None: ...


def test_the_watchdog_tells_renewals_lapses_once_per_run_and_errors(
    backend: FlakyBackend, clock: FakeClock
) -> None:
    recorder, hooks = Recorder(), _Hooks()
    mine = _consumer(backend, None)
    _submit(backend, 1)
    messages = mine.claim(1)
    clock.advance(1_001)  # its lease lapses; another consumer takes it over
    assert len(_consumer(backend, None).claim(1)) == 1
    _submit(backend, 2)
    messages += mine.claim(2)
    for n, message in enumerate(messages):
        hooks.runs.append(Running(message=message, deadline_ms=clock.now_ms() + 60_000, key=n,
                                  run=n))  # fmt: skip
    watchdog = Watchdog(backend, hooks, lease_ms=1_000, heartbeat_ms=200, observer=recorder)
    watchdog.heartbeat()
    watchdog.heartbeat()  # the lost run is told once
    backend.failures = {"extend": 2, "subscribe": 1}
    watchdog.heartbeat()
    watchdog.step(_Instant())  # subscribing to revocations fails, and the heartbeat again
    assert recorder.events == [
        ("renewed", 2), ("lapsed", 1, "running"),
        ("renewed", 2),
        ("error", "extend", "BackendConnectionError"),
        ("error", "subscribe", "BackendConnectionError"),
        ("error", "extend", "BackendConnectionError"),
    ]  # fmt: skip
    watchdog.close()


def test_without_an_observer_nothing_is_told_and_claims_work(backend: FlakyBackend) -> None:
    consumer = _consumer(backend, None)
    _submit(backend, 2)
    backend.failures = {"claim": 1}
    assert consumer.claim(2) == []
    assert len(consumer.claim(2)) == 2
    assert consumer.observer is None
