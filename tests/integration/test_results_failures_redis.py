"""Failed and revoked messages on a real redis-server, run by real worker pools: whoever waits
for their result gets the task's error instead of waiting out the timeout; results expire after
the store's default ttl."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.redis import RedisBackend
from alsek.domain.model.errors import TaskFailedError, TaskRevokedError
from alsek.domain.services.result_rules import DEFAULT_RESULT_TTL_MS
from alsek.storage.result import AsyncResultStore, ResultStore
from alsek.tools import ResultPool
from tests.integration.test_results_redis import running_pool

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(redis_backend: RedisBackend) -> Broker:
    return Broker(redis_backend)


@pytest.fixture
def store(redis_backend: RedisBackend) -> ResultStore:
    return ResultStore(redis_backend)


def waiting(store: ResultStore, message: Message, **options: Any) -> tuple[threading.Thread, list]:
    """A thread that waits for the result of ``message``; what it got (or raised) lands in the
    list."""
    outcome: list[Any] = []

    def wait() -> None:
        try:
            outcome.append(store.get(message, **options))
        except BaseException as error:  # noqa: BLE001 - the outcome is what the test checks
            outcome.append(error)

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread, outcome


def test_a_waiter_gets_the_failure_from_a_process_pool(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, max_retries=0)
    def explode(text: str) -> int:
        raise ValueError(text)

    message = explode.generate(args=("boom",))
    thread, outcome = waiting(store, message, timeout=30_000)
    with running_pool([explode], processes=True):
        thread.join(60)  # far beyond "a few seconds"; the outcome tells it did not time out
    assert not thread.is_alive()
    [error] = outcome
    assert isinstance(error, TaskFailedError) and not isinstance(error, TimeoutError)
    assert (error.exception_name, error.exception_text) == ("ValueError", "boom")
    with pytest.raises(TaskFailedError, match="ValueError: boom"):
        store.get(message)  # no wait needed afterwards either


def test_a_retried_message_is_waited_for_until_it_succeeds(
    broker: Broker, store: ResultStore
) -> None:
    @task(broker, result_store=store, max_retries=2, backoff=None, mechanism="thread")
    def flaky(message: Message) -> int:
        if message.retries < 2:
            raise RuntimeError("not yet")
        return message.retries

    message = flaky.generate()
    thread, outcome = waiting(store, message, timeout=30_000)
    with running_pool([flaky]):
        thread.join(60)
    assert outcome == [2]


def test_a_result_pool_raises_the_failure_after_the_results(
    broker: Broker, store: ResultStore
) -> None:
    @task(broker, result_store=store, max_retries=0, mechanism="thread")
    def half(n: int) -> int:
        if n == 3:
            raise ZeroDivisionError("three")
        return n // 2

    messages = [half.generate(args=(n,)) for n in range(3)] + [half.generate(args=(3,))]
    seen: list[Any] = []
    with running_pool([half]), pytest.raises(TaskFailedError, match="ZeroDivisionError"):
        for message, result in ResultPool(store).stream(*messages, timeout=30_000):
            seen.append((message.uuid, result))
    assert seen == [(m.uuid, n // 2) for n, m in enumerate(messages[:3])]


def test_a_revoked_message_wakes_its_waiter(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, mechanism="thread")
    def never() -> None: ...

    message = never.generate(delay=3_600_000)
    thread, outcome = waiting(store, message, timeout=30_000)
    never.revoke(message)
    thread.join(60)
    assert [type(e) for e in outcome] == [TaskRevokedError]


def test_the_async_store_gets_the_failure(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, max_retries=0, mechanism="thread")
    def explode() -> None:
        raise KeyError("missing")

    message = explode.generate()
    async_store = AsyncResultStore(broker.backend.to_async())

    async def scenario() -> Any:
        try:
            return await async_store.get(message, timeout=30_000)
        except TaskFailedError as error:
            return error

    with running_pool([explode]):
        error = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert isinstance(error, TaskFailedError) and error.exception_name == "KeyError"


def test_results_expire_after_a_week_unless_told_otherwise(
    broker: Broker, redis_backend: RedisBackend
) -> None:
    store, forever = ResultStore(redis_backend), ResultStore(redis_backend, default_ttl=None)

    @task(broker, result_store=store, mechanism="thread")
    def one() -> int:
        return 1

    message = one.generate()
    with running_pool([one]):
        assert store.get(message, timeout=30_000, keep=True) == 1
    ttl = redis_backend.client.pttl(redis_backend.full_name(f"results:{message.uuid}"))
    assert DEFAULT_RESULT_TTL_MS - 60_000 < ttl <= DEFAULT_RESULT_TTL_MS
    forever.set(Message("one", uuid="kept"), 1)
    assert redis_backend.client.pttl(redis_backend.full_name("results:kept")) == -1
    rebuilt = ResultStore.deserialize(forever.serialize())
    assert rebuilt.default_ttl is None and rebuilt.get(Message("one", uuid="kept")) == 1
