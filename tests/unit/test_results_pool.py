"""ResultPool against InMemoryBackend: istream yields as results arrive, stream keeps order."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from alsek import Message
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import ResultNotFoundError, ValidationError
from alsek.ports.keyvalue import Subscription
from alsek.storage.result import ResultStore
from alsek.tools import ResultPool


class Backend(InMemoryBackend):
    """Counts reads and tells when the pool subscribed."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.subscribed = threading.Event()

    def get_many(self, names: Any) -> list[Any]:
        self.reads += 1
        return super().get_many(names)

    def subscribe(self, *channels: str) -> Subscription:
        subscription = super().subscribe(*channels)
        self.subscribed.set()
        return subscription


@pytest.fixture
def backend() -> Backend:
    return Backend()


@pytest.fixture
def store(backend: Backend) -> ResultStore:
    return ResultStore(backend)


@pytest.fixture
def pool(store: ResultStore) -> ResultPool:
    return ResultPool(store)


def messages(n: int) -> list[Message]:
    return [Message("t", uuid=f"m{i}") for i in range(n)]


def write_later(
    backend: Backend, store: ResultStore, items: list[tuple[Message, Any]]
) -> threading.Thread:
    """Write ``items`` in order once the pool has subscribed."""

    def run() -> None:
        assert backend.subscribed.wait(5)
        for message, result in items:
            store.set(message, result)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_istream_yields_results_as_they_arrive(
    pool: ResultPool, store: ResultStore, backend: Backend
) -> None:
    m = messages(3)
    store.set(m[1], "already there")
    yielded = threading.Semaphore(0)

    def writer() -> None:  # each result only after the previous one was yielded
        for message, result in [(m[2], 2), (m[0], 0)]:
            assert yielded.acquire(timeout=5)
            store.set(message, result)

    thread = threading.Thread(target=writer)
    thread.start()
    got = []
    for message, result in pool.istream(*m, timeout=5_000):
        got.append((message.uuid, result))
        yielded.release()
    thread.join(5)
    assert got == [("m1", "already there"), ("m2", 2), ("m0", 0)]
    assert not any(store.exists(x) for x in m)  # fetched results are deleted by default


def test_stream_keeps_the_order_given(
    pool: ResultPool, store: ResultStore, backend: Backend
) -> None:
    m = messages(4)
    thread = write_later(backend, store, [(m[3], 3), (m[1], 1), (m[0], 0), (m[2], 2)])
    got = [(message.uuid, result) for message, result in pool.stream(*m, timeout=5_000)]
    thread.join(5)
    assert got == [("m0", 0), ("m1", 1), ("m2", 2), ("m3", 3)]


def test_a_timeout_ends_the_stream_with_an_error_after_yielding_what_exists(
    pool: ResultPool, store: ResultStore
) -> None:
    m = messages(2)
    store.set(m[0], 0)
    stream = pool.istream(*m, timeout=50, keep=True)
    assert next(stream)[1] == 0
    with pytest.raises(ResultNotFoundError, match="1 of 2"):
        next(stream)
    assert store.exists(m[0])


def test_many_messages_cost_one_read_per_notification_batch(
    pool: ResultPool, store: ResultStore, backend: Backend
) -> None:
    m = messages(500)
    thread = write_later(backend, store, [(x, i) for i, x in enumerate(m)])
    got = dict((message.uuid, result) for message, result in pool.istream(*m, timeout=10_000))
    thread.join(5)
    assert got == {x.uuid: i for i, x in enumerate(m)}
    assert backend.reads <= 1 + len(m)  # never a re-read of every pending message per arrival


def test_with_metadata_and_descendants(pool: ResultPool, store: ResultStore) -> None:
    root = Message("t", uuid="root", callback_message_data=Message("t", uuid="cb").data)
    store.set(root, 1)
    store.set(Message("t", uuid="cb", progenitor_uuid="root"), 2)
    ((message, results),) = list(pool.istream(root, descendants=True, timeout=1_000))
    assert message is root and results == [1, 2]
    store.set(root, 3)
    ((_, record),) = list(pool.stream(root, with_metadata=True, timeout=0))
    assert record["result"] == 3 and record["uuid"] == "root"


def test_duplicates_and_bad_timeouts_are_rejected(pool: ResultPool) -> None:
    m = messages(1)
    with pytest.raises(ValidationError):
        list(pool.istream(m[0], m[0]))
    with pytest.raises(ValidationError):
        list(pool.istream(*m, timeout=-1))


def test_no_messages_no_results(pool: ResultPool) -> None:
    assert list(pool.istream()) == [] and list(pool.stream()) == []
