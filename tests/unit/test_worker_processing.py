"""Message processing: hooks, results, statuses, callbacks, retries, failures, unknown tasks."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from alsek import Broker, Message, TaskStatus, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import ConstantBackoff
from alsek.core.task import Task
from alsek.domain.model.errors import BackendConnectionError, RevokedError
from alsek.domain.model.naming import message_name
from alsek.domain.model.outcome import Outcome
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Verdict, run_task, settle
from alsek.domain.services.result_store import ResultStore
from alsek.domain.services.status_tracker import StatusTracker
from tests.contract.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock)


@pytest.fixture
def broker(backend: InMemoryBackend) -> Broker:
    return Broker(backend)


@pytest.fixture
def tracker(backend: InMemoryBackend) -> StatusTracker:
    return StatusTracker(backend)


@pytest.fixture
def store(backend: InMemoryBackend) -> ResultStore:
    return ResultStore(backend)


def _run_one(broker: Broker, **consumer: Any) -> Message:
    """Claim the next message and process it like a worker does; return it."""
    processor = MessageProcessor(Consumer(broker, **consumer), broker.tasks)
    [message] = processor.consumer.claim(1)
    processor.finish(processor.process(message))
    return message


def test_hooks_run_in_order_around_the_function(broker: Broker) -> None:
    calls: list[str] = []

    class Traced(Task):
        def pre_op(self, message: Message) -> None:
            calls.append("pre_op")

        def post_op(self, message: Message, result: Any) -> None:
            calls.append(f"post_op:{result}")

    @task(broker, base_task=Traced)
    def add(a: int, b: int) -> int:
        calls.append("function")
        return a + b

    message = add.generate(args=(1, 2))
    assert run_task(add, message) == Outcome(result=3)
    assert calls == ["pre_op", "function", "post_op:3"]


def test_success_stores_the_result_and_status_atomically_with_the_ack(
    broker: Broker, tracker: StatusTracker, store: ResultStore
) -> None:
    @task(broker, status_tracker=tracker, result_store=store)
    def answer() -> int:
        return 42

    message = answer.generate()
    assert tracker.get(message) == TaskStatus.SUBMITTED
    _run_one(broker)
    assert not broker.exists(message)
    assert store.get(message) == 42
    assert tracker.get(message) == TaskStatus.SUCCEEDED


def test_running_is_recorded_only_with_a_status_tracker(
    broker: Broker, tracker: StatusTracker, backend: InMemoryBackend
) -> None:
    seen: list[TaskStatus] = []

    @task(broker, status_tracker=tracker)
    def tracked(message: Message) -> None:
        seen.append(tracker.get(message))

    @task(broker)
    def untracked() -> None:
        return None

    tracked.generate()
    _run_one(broker)
    assert seen == [TaskStatus.RUNNING]
    writes_before = backend.count()
    untracked.generate()
    _run_one(broker)
    assert backend.count() == writes_before  # no status key written, nothing left behind


def test_callbacks_are_submitted_with_the_result_unless_do_callback_says_no(
    broker: Broker,
) -> None:
    class Picky(Task):
        def do_callback(self, message: Message, result: Any) -> bool:
            return result > 1

    @task(broker, base_task=Picky)
    def value(x: int) -> int:
        return x

    @task(broker)
    def follow(message: Message) -> Any:
        return message.previous_result

    parent = value.generate(args=(5,), callback=follow.defer().generate())
    _run_one(broker)
    [callback] = Consumer(broker).claim(5)
    assert (callback.task_name, callback.previous_result) == ("follow", 5)
    assert callback.previous_message_uuid == parent.uuid
    assert callback.progenitor_uuid == parent.uuid

    value.generate(args=(0,), callback=follow.defer().generate())
    _run_one(broker)
    assert Consumer(broker).claim(5) == []


def test_a_failure_is_retried_with_backoff_and_details(broker: Broker, clock: FakeClock) -> None:
    @task(broker, max_retries=2, backoff=ConstantBackoff(constant=1_000, floor=0))
    def flaky() -> None:
        raise ValueError("boom")

    message = flaky.generate()
    _run_one(broker)
    stored = broker.sync_from_backend(message)
    assert stored.retries == 1
    assert stored.exception_details["name"] == "ValueError"
    assert stored.exception_details["text"] == "boom"
    assert "raise ValueError" in stored.exception_details["traceback"]
    assert Consumer(broker).claim(1) == []  # waiting out its backoff
    clock.advance(1_000)
    assert [m.uuid for m in Consumer(broker).claim(1)] == [message.uuid]


def test_a_failure_past_max_retries_goes_to_the_dead_letter_queue(
    broker: Broker, tracker: StatusTracker
) -> None:
    @task(broker, max_retries=0, status_tracker=tracker)
    def broken() -> None:
        raise KeyError("missing")

    message = broken.generate()
    _run_one(broker)
    assert not broker.exists(message)
    assert broker.in_dlq(message)
    [dead] = list(broker.dead_letters())
    assert dead.exception_details["name"] == "KeyError"
    assert tracker.get(message) == TaskStatus.FAILED


def test_do_retry_decides_and_a_raising_do_retry_fails(broker: Broker) -> None:
    class NoZeroDivision(Task):
        def do_retry(self, message: Message, exception: BaseException) -> bool:
            if isinstance(exception, ZeroDivisionError):
                return False
            raise RuntimeError("do_retry itself broke")

    @task(broker, base_task=NoZeroDivision)
    def divide(x: int) -> float:
        return 1 / x

    message = divide.generate(args=(0,))
    assert settle(divide, message, run_task(divide, message)).verdict is Verdict.FAIL
    other = divide.generate(args=("x",))
    assert settle(divide, other, run_task(divide, other)).verdict is Verdict.FAIL


def test_a_revoked_run_is_never_retried(broker: Broker) -> None:
    @task(broker, max_retries=None)
    def anything() -> None: ...

    message = anything.generate()
    settlement = settle(anything, message, Outcome.failure(RevokedError("revoked")))
    assert settlement.verdict is Verdict.FAIL


def test_an_unknown_task_is_logged_and_failed(
    broker: Broker, backend: InMemoryBackend, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = Message(task_name="nobody_knows_me", queue="q")
    broker.submit(stranger)
    processor = MessageProcessor(Consumer(broker, ["q"]), {}, unknown_task_window_ms=0)
    [message] = processor.consumer.claim(1)
    processor.finish(processor.process(message))
    assert "Unknown task 'nobody_knows_me'" in caplog.text
    assert broker.in_dlq(stranger)
    [dead] = list(broker.dead_letters())
    assert dead.exception_details["name"] == "UnknownTaskError"


def test_an_unknown_task_is_given_back_with_growing_waits_then_failed(
    broker: Broker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = Message(task_name="nobody_knows_me", queue="q", created_at=clock.now_ms())
    broker.submit(stranger)
    processor = MessageProcessor(Consumer(broker, ["q"]), {}, unknown_task_window_ms=10_000)
    waits = []
    while not broker.in_dlq(stranger):
        claim = broker.backend.claim(["q"], limit=1, lease_ms=1_000)
        assert len(claim.messages) == 1, "it is never lost meanwhile"
        settlement = processor.process(claim.messages[0])
        processor.finish(settlement)
        if settlement.verdict is Verdict.DEFER:
            waits.append(settlement.delay_ms)
            assert broker.backend.claim(["q"], limit=1, lease_ms=1_000).messages == []
            clock.advance(settlement.delay_ms)
    assert waits == [1_000, 1_000, 2_000, 4_000, 2_000]  # doubling, cut by the 10 s window
    assert "giving it back" in caplog.text and "failing it" in caplog.text
    assert not broker.backend.exists("unknown_tasks:" + stranger.uuid)


def test_a_message_whose_settlement_raises_is_failed_not_looped(broker: Broker) -> None:
    @task(broker, queue="q", max_retries=3)
    def fine() -> None:
        return None

    message = fine.generate()
    # A body written by an older version or by hand: its callback cannot become a message,
    # which shows only when the success is settled. Before: the run ended with no settlement
    # and the message ran again every lease, forever.
    message.callback_message_data = {"task_name": "x", "uuid": "bad|uuid"}
    broker.backend.set(message_name(message), message.data)
    _run_one(broker, queues=["q"])
    assert broker.in_dlq(message)
    assert broker.backend.claim(["q"], limit=1, lease_ms=1_000).messages == []


def test_a_result_the_serializer_rejects_fails_the_run(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, max_retries=0)
    def unencodable() -> object:
        return object()

    message = unencodable.generate()
    _run_one(broker)
    assert broker.in_dlq(message)
    [dead] = list(broker.dead_letters())
    assert dead.exception_details["name"] == "SerializationError"


def test_finish_acks_returns_the_next_messages(broker: Broker) -> None:
    @task(broker, queue="q")
    def noop(i: int) -> int:
        return i

    first, second = noop.generate(args=(1,)), noop.generate(args=(2,))
    processor = MessageProcessor(Consumer(broker, ["q"]), broker.tasks)
    [claimed] = processor.consumer.claim(1)
    assert claimed.uuid == first.uuid
    [following] = processor.finish_acks([processor.process(claimed)], claim_next=1)
    assert following.uuid == second.uuid
    assert not broker.exists(first)


class FlakyAckBackend(InMemoryBackend):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ack_failures = 0

    def ack(self, message: Message, **kwargs: Any) -> bool:
        if self.ack_failures:
            self.ack_failures -= 1
            raise BackendConnectionError("Redis went away")
        return super().ack(message, **kwargs)


def test_settling_rides_out_an_outage() -> None:
    backend = FlakyAckBackend()
    broker = Broker(backend)

    @task(broker, queue="q")
    def noop() -> None: ...

    message = noop.generate()
    stop = threading.Event()
    stop.wait = lambda timeout=None: False  # type: ignore[method-assign]  # no real pauses
    processor = MessageProcessor(Consumer(broker, ["q"], stop_signal=stop), broker.tasks)
    [claimed] = processor.consumer.claim(1)
    backend.ack_failures = 3
    processor.finish(processor.process(claimed))
    assert not backend.exists(message_name(message))


def test_settling_gives_up_after_a_lease_when_stopping(clock: FakeClock) -> None:
    backend = FlakyAckBackend(clock=clock)
    broker = Broker(backend)

    @task(broker, queue="q")
    def noop() -> None: ...

    noop.generate()
    stop = threading.Event()
    stop.set()
    stop.wait = lambda timeout=None: clock.advance(int((timeout or 0) * 1000)) > 0  # type: ignore[method-assign]
    consumer = Consumer(broker, ["q"], stop_signal=stop, lease_ms=1_000)
    processor = MessageProcessor(consumer, broker.tasks)
    [claimed] = consumer.claim(1)
    backend.ack_failures = 10_000
    processor.finish(processor.process(claimed))  # returns instead of retrying for ever
    assert backend.ack_failures > 9_000  # gave up after about a lease's worth of pauses
