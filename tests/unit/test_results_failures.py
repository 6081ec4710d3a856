"""Results of messages that fail: ``get`` raises the task's error at once (sync and asyncio
stores, result pools, descendants), revoked messages raise ``TaskRevokedError``, retried ones
do not raise, requeued dead letters are waited for again; the default result ttl."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.app.services.admin import requeue_one
from alsek.app.services.admin import revoke as admin_revoke
from alsek.domain.model.errors import (
    ResultNotFoundError,
    TaskFailedError,
    TaskRevokedError,
    ValidationError,
)
from alsek.domain.model.failure import failure_name, first_failure, is_failure
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.result_rules import DEFAULT_RESULT_TTL_MS
from alsek.ports.keyvalue import Subscription
from alsek.storage.result import AsyncResultStore, ResultStore
from alsek.tools import ResultPool
from tests.contract.fakes import FakeClock


class SubscribedBackend(InMemoryBackend):
    """Tells when someone subscribed (so the test fails the message after that)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subscribed = threading.Event()

    def subscribe(self, *channels: str) -> Subscription:
        subscription = super().subscribe(*channels)
        self.subscribed.set()
        return subscription


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> SubscribedBackend:
    return SubscribedBackend(clock=clock)


@pytest.fixture
def broker(backend: SubscribedBackend) -> Broker:
    return Broker(backend)


@pytest.fixture
def store(backend: SubscribedBackend) -> ResultStore:
    return ResultStore(backend)


def run_next(broker: Broker) -> Message:
    """Claim the next message and process it as a worker does (retries come due at once)."""
    processor = MessageProcessor(Consumer(broker), broker.tasks)
    [message] = processor.consumer.claim(1)
    processor.finish(processor.process(message))
    return message


def failing_task(broker: Broker, store: ResultStore, max_retries: int = 0) -> Any:
    @task(broker, result_store=store, max_retries=max_retries, backoff=None, mechanism="thread")
    def explode(text: str) -> int:
        raise ValueError(text)

    return explode


def test_get_raises_the_failure_at_once(broker: Broker, store: ResultStore) -> None:
    message = failing_task(broker, store).generate(args=("boom",))
    run_next(broker)
    with pytest.raises(TaskFailedError, match="ValueError: boom") as caught:
        store.get(message)  # no timeout: still the failure, not "not found"
    error = caught.value
    assert (error.uuid, error.exception_name, error.exception_text) == (
        message.uuid, "ValueError", "boom",
    )  # fmt: skip
    assert "ValueError: boom" in (error.traceback or "")
    with pytest.raises(TaskFailedError):  # it stays: get() may be asked again
        store.get(message, keep=False)
    assert not store.exists(message)


def test_a_retried_message_does_not_raise_until_it_fails_for_good(
    broker: Broker, store: ResultStore
) -> None:
    message = failing_task(broker, store, max_retries=1).generate(args=("once",))
    run_next(broker)  # failed, will be retried
    with pytest.raises(ResultNotFoundError):
        store.get(message)
    run_next(broker)  # failed for good
    with pytest.raises(TaskFailedError, match="once"):
        store.get(message)


def test_a_waiter_wakes_when_the_message_fails(
    broker: Broker, store: ResultStore, backend: SubscribedBackend
) -> None:
    message = failing_task(broker, store).generate(args=("late",))
    outcome: list[BaseException] = []

    def waiter() -> None:
        try:
            store.get(message, timeout=30_000)
        except BaseException as error:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(error)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert backend.subscribed.wait(10)
    run_next(broker)
    thread.join(20)
    assert not thread.is_alive()
    assert [type(e) for e in outcome] == [TaskFailedError]


def test_the_fail_announces_on_the_result_channel(broker: Broker, store: ResultStore) -> None:
    message = failing_task(broker, store).generate(args=("x",))
    with broker.backend.subscribe(*store.channels(message)) as subscription:
        run_next(broker)
        assert subscription.get(5_000) == {"uuid": message.uuid, "progenitor_uuid": None}


def test_a_result_wins_over_a_failure_record(broker: Broker, store: ResultStore) -> None:
    message = failing_task(broker, store).generate(args=("x",))
    run_next(broker)
    store.set(message, 7)
    assert store.get(message) == 7


def test_revoked_messages_raise_a_revoked_error(broker: Broker, store: ResultStore) -> None:
    explode = failing_task(broker, store)
    message = explode.generate(args=("never",))
    explode.revoke(message)
    with pytest.raises(TaskRevokedError, match="revoked") as caught:
        store.get(message, timeout=30_000)
    assert isinstance(caught.value, TaskFailedError)
    assert caught.value.exception_name == "RevokedError"


def test_admin_revoke_of_a_task_without_result_store_still_ends_waiting(broker: Broker) -> None:
    @task(broker, mechanism="thread")
    def plain() -> None: ...

    message = plain.generate()
    assert admin_revoke(broker.backend, message.uuid) is not None
    with pytest.raises(TaskRevokedError):
        ResultStore(broker.backend).get(message, timeout=30_000)


def test_a_requeued_dead_letter_is_waited_for_again(broker: Broker, store: ResultStore) -> None:
    message = failing_task(broker, store).generate(args=("x",))
    run_next(broker)
    [dead] = broker.dead_letters()
    assert requeue_one(broker.backend, dead) is not None
    with pytest.raises(ResultNotFoundError):
        store.get(message)
    run_next(broker)
    resubmitted = broker.resubmit_dead_letter(next(iter(broker.dead_letters())))
    assert not broker.backend.exists(failure_name(resubmitted.uuid))


def test_descendants_raise_when_a_callback_fails(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, mechanism="thread")
    def first() -> int:
        return 1

    explode = failing_task(broker, store)
    message = first.generate(callback=explode.defer().generate(args=("in the chain",)))
    run_next(broker)
    run_next(broker)
    with pytest.raises(TaskFailedError, match="in the chain"):
        store.get(message, timeout=30_000, descendants=True)


def test_a_result_pool_yields_what_arrived_then_raises(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, mechanism="thread")
    def ok() -> int:
        return 1

    good, bad = ok.generate(), failing_task(broker, store).generate(args=("pool",))
    run_next(broker)
    run_next(broker)
    seen: list[Any] = []
    with pytest.raises(TaskFailedError, match="pool"):
        for message, result in ResultPool(store).istream(bad, good, timeout=30_000):
            seen.append((message.uuid, result))
    assert seen == [(good.uuid, 1)]


def test_the_async_store_raises_and_wakes_too(
    broker: Broker, store: ResultStore, backend: SubscribedBackend
) -> None:
    message = failing_task(broker, store).generate(args=("async",))
    async_store = AsyncResultStore(backend.to_async())

    async def scenario() -> BaseException | None:
        waiter = asyncio.ensure_future(async_store.get(message, timeout=30_000))
        await asyncio.get_running_loop().run_in_executor(None, backend.subscribed.wait, 10)
        await asyncio.get_running_loop().run_in_executor(None, run_next, broker)
        try:
            await asyncio.wait_for(waiter, 20)
        except TaskFailedError as error:
            return error
        return None

    error = asyncio.run(scenario())
    assert isinstance(error, TaskFailedError) and error.exception_text == "async"
    with pytest.raises(TaskFailedError):
        asyncio.run(async_store.get(message))


# -- the default ttl --------------------------------------------------------------------------


def test_results_expire_after_a_week_by_default(
    broker: Broker, store: ResultStore, clock: FakeClock
) -> None:
    message = Message("t", uuid="m1")
    store.set(message, 1)
    clock.advance(DEFAULT_RESULT_TTL_MS - 1)
    assert store.exists(message)
    clock.advance(1)
    assert not store.exists(message)


def test_the_default_ttl_is_configurable_and_messages_override_it(
    backend: SubscribedBackend, clock: FakeClock
) -> None:
    forever, short = ResultStore(backend, default_ttl=None), ResultStore(backend, default_ttl=10)
    forever.set(Message("t", uuid="kept"), 1)
    short.set(Message("t", uuid="short"), 1)
    short.set(Message("t", uuid="own", result_ttl=DEFAULT_RESULT_TTL_MS * 2), 1)
    clock.advance(DEFAULT_RESULT_TTL_MS + 1)
    assert forever.exists(Message("t", uuid="kept"))
    assert not short.exists(Message("t", uuid="short"))
    assert short.exists(Message("t", uuid="own"))


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_a_bad_default_ttl_is_refused(backend: SubscribedBackend, bad: Any) -> None:
    with pytest.raises(ValidationError, match="default_ttl"):
        ResultStore(backend, default_ttl=bad)


# -- the rule -----------------------------------------------------------------------------------

failure_values = st.one_of(
    st.none(),
    st.integers(),
    st.builds(
        lambda n: {"exception": {"name": "E", "text": str(n)}, "uuid": str(n)}, st.integers()
    ),
)


@given(st.lists(st.tuples(st.booleans(), failure_values), max_size=8))
def test_first_failure_is_the_first_member_failed_without_a_result(
    chain: list[tuple[bool, Any]],
) -> None:
    has_result = [stored for stored, _ in chain]
    failures = [failure for _, failure in chain]
    found = first_failure(has_result, failures)
    ends = [f for stored, f in chain if not stored and is_failure(f)]
    assert found == (ends[0] if ends else None)
    if all(has_result):  # results always win
        assert found is None
