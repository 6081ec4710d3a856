"""ResultStore against InMemoryBackend: effects, fetching, waiting without polling, descendants."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.callback import next_callback
from alsek.domain.model.effects import Effects
from alsek.domain.model.errors import ResultNotFoundError, ValidationError
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.result_store import result_channel, result_name
from alsek.ports.keyvalue import Subscription
from alsek.storage.result import ResultStore
from tests.contract.fakes import FakeClock


class CountingBackend(InMemoryBackend):
    """Counts reads, and tells when someone subscribed (so a writer can act after that)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads = 0
        self.subscribed = threading.Event()

    def get(self, name: str, default: Any = ...) -> Any:  # type: ignore[override]
        self.reads += 1
        return super().get(name) if default is ... else super().get(name, default)

    def get_many(self, names: Any) -> list[Any]:
        self.reads += 1
        return super().get_many(names)

    def subscribe(self, *channels: str) -> Subscription:
        subscription = super().subscribe(*channels)
        self.subscribed.set()
        return subscription


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> CountingBackend:
    return CountingBackend(clock=clock)


@pytest.fixture
def store(backend: CountingBackend) -> ResultStore:
    return ResultStore(backend)


def work(broker: Broker) -> int:
    """Process every ready message by hand, as a worker does: claim, run, ack with effects."""
    backend, done = broker.backend, 0
    while claimed := backend.claim(backend.queues(), limit=100, lease_ms=60_000).messages:
        for message in claimed:
            current = broker.tasks[message.task_name]
            result = current.op(message)
            effects = current.result_effects(message, result)
            effects += current.status_effects(message, TaskStatus.SUCCEEDED)
            callback = next_callback(message, result)
            if callback is not None:
                after = broker.tasks[callback.task_name]
                effects += Effects(submits=(callback,))
                effects += after.status_effects(callback, TaskStatus.SUBMITTED)
            backend.ack(message, effects=effects)
            done += 1
            if isinstance(backend.clock, FakeClock):  # distinct write times
                backend.clock.advance(1)
    return done


def msg(uuid: str = "m1", **fields: Any) -> Message:
    return Message("t", uuid=uuid, **fields)


# -- effects ---------------------------------------------------------------------------------


def test_effects_write_the_result_with_metadata_and_notify(
    store: ResultStore, clock: FakeClock
) -> None:
    effects = store.effects_for(msg(result_ttl=5_000), {"a": 1})
    (write,) = effects.writes
    assert write.name == "results:m1" and write.ttl_ms == 5_000
    assert write.value == {
        "result": {"a": 1}, "timestamp": clock.now_ms(), "uuid": "m1", "progenitor_uuid": None,
    }  # fmt: skip
    assert [p.channel for p in effects.publishes] == ["results:m1"]


def test_a_descendant_also_notifies_its_progenitor(store: ResultStore) -> None:
    effects = store.effects_for(msg("child", progenitor_uuid="root"), 1)
    assert [p.channel for p in effects.publishes] == ["results:child", "results:root"]


def test_a_zero_result_ttl_stores_nothing(store: ResultStore) -> None:
    assert not store.effects_for(msg(result_ttl=0), 1)


def test_result_ttl_expires_the_result(store: ResultStore, clock: FakeClock) -> None:
    store.set(msg(result_ttl=1_000), 7)
    clock.advance(999)
    assert store.get(msg(), keep=True) == 7
    clock.advance(1)
    assert not store.exists(msg())


# -- fetching --------------------------------------------------------------------------------


def test_get_deletes_on_fetch_unless_keep(store: ResultStore) -> None:
    store.set(msg(), None)  # None is a result like any other
    assert store.get(msg(), keep=True) is None
    assert store.exists(msg())
    assert store.get(msg()) is None
    assert not store.exists(msg())


def test_with_metadata_returns_the_record(store: ResultStore, clock: FakeClock) -> None:
    store.set(msg(), 3)
    assert store.get(msg(), with_metadata=True) == {
        "result": 3, "timestamp": clock.now_ms(), "uuid": "m1", "progenitor_uuid": None,
    }  # fmt: skip


def test_missing_result_raises_a_clear_error(store: ResultStore) -> None:
    with pytest.raises(ResultNotFoundError, match="m1"):
        store.get(msg())
    with pytest.raises(KeyError):  # ResultNotFoundError is a KeyError too
        store.get(msg(), timeout=0)


@pytest.mark.parametrize("timeout", [-1, 1.5, None, True])
def test_timeout_must_be_milliseconds(store: ResultStore, timeout: Any) -> None:
    with pytest.raises(ValidationError):
        store.get(msg(), timeout=timeout)


def test_delete(store: ResultStore) -> None:
    store.set(msg(), 1)
    assert store.delete(msg()) == 1
    with pytest.raises(ResultNotFoundError):
        store.delete(msg())
    assert store.delete(msg(), missing_ok=True) == 0


# -- waiting ---------------------------------------------------------------------------------


def test_get_waits_for_a_result_written_later(store: ResultStore, backend: CountingBackend) -> None:
    def writer() -> None:
        assert backend.subscribed.wait(5)
        store.set(msg(), "late")

    thread = threading.Thread(target=writer)
    thread.start()
    assert store.get(msg(), timeout=5_000) == "late"
    thread.join(5)


def test_waiting_does_not_poll(store: ResultStore, backend: CountingBackend) -> None:
    with pytest.raises(ResultNotFoundError, match="after 300 ms"):
        store.get(msg(), timeout=300)
    # look, subscribe, look, sleep until the deadline, look once more: nothing in between
    assert backend.reads == 3


def test_unrelated_notifications_cost_one_look_each(
    store: ResultStore, backend: CountingBackend
) -> None:
    def noise_then_result() -> None:
        assert backend.subscribed.wait(5)
        for _ in range(3):
            backend.publish(result_channel("m1"), {"uuid": "m1"})
        store.set(msg(), 1)

    thread = threading.Thread(target=noise_then_result)
    thread.start()
    assert store.get(msg(), timeout=5_000) == 1
    thread.join(5)
    assert backend.reads <= 2 + 4


# -- descendants -----------------------------------------------------------------------------


@pytest.fixture
def broker(backend: CountingBackend) -> Broker:
    return Broker(backend)


def test_descendants_of_a_callback_chain_in_the_order_written(
    broker: Broker, store: ResultStore
) -> None:
    @task(broker, result_store=store)
    def add_1(number: int) -> int:
        return number + 1

    @task(broker, result_store=store)
    def add_1_previous(message: Message) -> int:
        return message.previous_result + 1

    root = add_1.generate(
        args=(1,), callback=(add_1_previous.defer().generate(), add_1_previous.defer().generate())
    )
    work(broker)
    assert store.get(root, descendants=True, keep=True) == [2, 3, 4]
    records = store.get(root, descendants=True, with_metadata=True)
    assert [r["uuid"] for r in records] == [root.uuid, *root.descendant_uuids]
    assert {r["progenitor_uuid"] for r in records[1:]} == {root.uuid}
    assert not store.exists(root)


def test_descendants_wait_for_the_whole_chain(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store)
    def one() -> int:
        return 1

    root = one.generate(callback=one.defer().generate())
    first = broker.backend.claim(["alsek_queue"], limit=1, lease_ms=1_000).messages[0]
    store.set(first, 1)  # the root is done, its callback is not
    assert not store.exists(root, descendants=True)
    assert store.get(root, descendants=True, timeout=50, keep=True) == [1]  # partial at timeout
    store.set(next_callback(first, 1), 2)  # type: ignore[arg-type]
    assert store.exists(root, descendants=True)
    assert store.get(root, descendants=True) == [1, 2]


def test_descendants_without_any_result_raise(store: ResultStore) -> None:
    with pytest.raises(ResultNotFoundError):
        store.get(msg(), descendants=True, timeout=10)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8))
def test_descendants_are_ordered_by_time_of_writing(times: list[int]) -> None:
    clock = FakeClock(start_ms=0)
    store = ResultStore(InMemoryBackend(clock=clock))
    family = ["root", *(f"c{i}" for i in range(1, len(times)))]
    root = Message("t", uuid="root", callback_message_data=_chain_data(family[1:]))
    written = sorted(range(len(times)), key=lambda i: times[i])
    for position in written:
        clock.advance(times[position] - clock.now_ms())
        progenitor = None if position == 0 else "root"
        store.set(Message("t", uuid=family[position], progenitor_uuid=progenitor), position)
    assert store.get(root, descendants=True) == written


def _chain_data(uuids: list[str]) -> dict[str, Any] | None:
    data = None
    for uuid in reversed(uuids):
        data = Message("t", uuid=uuid, callback_message_data=data).data
    return data


def test_result_names_are_per_uuid() -> None:
    assert result_name("abc") == "results:abc"


# -- Alsek 1.3.2 ------------------------------------------------------------------------------


def test_alsek_1_3_2_result_store_defaults() -> None:
    from alsek import Broker, Message, ResultStore
    from alsek.adapters.memory import InMemoryBackend
    from alsek.domain.model.errors import ResultNotFoundError

    store = ResultStore(Broker(InMemoryBackend()).backend)
    message = Message("t")
    store.set(message, 1)
    with pytest.raises(KeyError):
        store.set(message, 2)  # nx=True by default
    store.set(message, 3, nx=False)
    assert store.get(message, keep=True) == 3
    assert store.delete(message) == 1  # descendants=True by default: the chain, here one
    with pytest.raises(TimeoutError) as waited:
        store.get(message, timeout=10)
    assert isinstance(waited.value, KeyError) and isinstance(waited.value, ResultNotFoundError)
