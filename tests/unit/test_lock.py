"""Lock against InMemoryBackend: ownership, strictness, TTL, release rules, context manager."""

from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.memory import InMemoryBackend
from alsek.core.concurrency import Lock, ProcessLock, ThreadLock
from alsek.domain.model.errors import (
    LockAlreadyAcquiredError,
    LockNotAcquiredError,
    ValidationError,
)
from tests.contract.fakes import FakeClock
from tests.unit.waiting import WAIT_S


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock)


def test_one_owner_at_a_time(backend: InMemoryBackend) -> None:
    a, b = Lock("job", backend=backend), Lock("job", backend=backend)
    assert a.acquire()
    assert not b.acquire() and not b.acquire(strict=False)
    assert a.held and not b.held
    assert a.holder == b.holder == a.owner_id
    assert not b.release()  # only the owner can release
    assert a.held
    assert a.release() and not a.held
    assert b.acquire()


def test_strict_decides_what_a_second_acquire_by_the_owner_returns(
    backend: InMemoryBackend,
) -> None:
    lock = Lock("job", backend=backend)
    assert lock.acquire()
    assert not lock.acquire(strict=True)
    assert lock.acquire(strict=False)


def test_two_lock_objects_never_share_ownership_by_default(backend: InMemoryBackend) -> None:
    a, b = Lock("job", backend=backend), Lock("job", backend=backend)
    assert a.owner_id != b.owner_id
    shared = Lock("job", backend=backend, owner_id="me")
    assert shared.acquire()
    assert Lock("job", backend=backend, owner_id="me").acquire(strict=False)


def test_the_ttl_frees_the_lock_of_a_crashed_holder(
    backend: InMemoryBackend, clock: FakeClock
) -> None:
    crashed = Lock("job", backend=backend, ttl=10_000)
    assert crashed.acquire()
    other = Lock("job", backend=backend)
    assert not other.acquire()
    clock.advance(10_000)
    assert other.acquire()
    assert not crashed.release()  # it lost the lock; it cannot delete the new holder's
    assert other.held


def test_release_deletes_only_the_record_it_read(backend: InMemoryBackend) -> None:
    lock = Lock("job", backend=backend, ttl=5_000)
    assert lock.acquire()
    record = backend.get(lock.long_name)
    successor = {**record, "owner": "someone-else"}
    # The lock changed hands between the read and the delete: nothing is deleted.
    assert not backend.delete_if_equal(lock.long_name, successor)
    assert lock.held
    assert lock.release() and not lock.held


def test_no_ttl_means_no_expiry(backend: InMemoryBackend, clock: FakeClock) -> None:
    lock = Lock("job", backend=backend, ttl=None)
    assert lock.acquire()
    clock.advance(10**9)
    assert lock.held and lock.release() and not lock.held


def test_the_tour_example(backend: InMemoryBackend) -> None:
    said = []
    with Lock("send_data", backend=backend) as lock:
        if lock.acquire(strict=False):
            said.append("Sending data...")
        else:
            said.append("Failed to acquire lock")
        assert lock.held
    assert said == ["Sending data..."]
    assert not lock.held  # released on exit


def test_exit_releases_even_on_error_but_only_its_own(backend: InMemoryBackend) -> None:
    holder = Lock("job", backend=backend)
    assert holder.acquire()
    with pytest.raises(RuntimeError), Lock("job", backend=backend) as other:
        assert not other.acquire()
        raise RuntimeError
    assert holder.held
    with pytest.raises(RuntimeError), holder:
        raise RuntimeError
    assert not holder.held


def test_auto_release_can_be_turned_off(backend: InMemoryBackend) -> None:
    with Lock("job", backend=backend, auto_release=False) as lock:
        lock.acquire()
    assert lock.held


@pytest.mark.parametrize("kwargs", [{"name": ""}, {"ttl": 0}, {"ttl": -5}, {"ttl": 1.5}])
def test_invalid_arguments(backend: InMemoryBackend, kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        Lock(**{"name": "job", "backend": backend, **kwargs})


def test_threads_race_for_it_and_one_wins(backend: InMemoryBackend) -> None:
    barrier = threading.Barrier(16)
    wins: list[bool] = []

    def contend() -> None:
        lock = Lock("race", backend=backend)
        barrier.wait(5)
        wins.append(lock.acquire())

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted(wins) == [False] * 15 + [True]


@given(
    st.lists(
        st.tuples(st.sampled_from("abc"), st.sampled_from(["acquire", "release"])), max_size=30
    )
)
def test_at_most_one_holder_and_only_holders_release(steps: list[tuple[str, str]]) -> None:
    backend = InMemoryBackend(clock=FakeClock())
    locks = {owner: Lock("x", backend=backend, ttl=None, owner_id=owner) for owner in "abc"}
    holder = None
    for owner, action in steps:
        if action == "acquire":
            assert locks[owner].acquire() == (holder is None)
            holder = holder or owner
        else:
            assert locks[owner].release() == (holder == owner)
            holder = None if holder == owner else holder
        assert [o for o, lock in locks.items() if lock.held] == ([holder] if holder else [])


# -- Alsek 1.3.2 ------------------------------------------------------------------------------


def test_positional_order_is_alsek_1_3_2s(backend: InMemoryBackend) -> None:
    lock = Lock("n", backend, 1_000, False, "me")
    assert (lock.ttl, lock.auto_release, lock.owner_id) == (1_000, False, "me")
    assert lock.full_name == "alsek:locks:n"


def test_if_already_acquired(backend: InMemoryBackend) -> None:
    lock = Lock("job", backend)
    assert lock.acquire()
    assert lock.acquire(if_already_acquired="return_true")
    assert not lock.acquire(if_already_acquired="return_false")
    with pytest.raises(LockAlreadyAcquiredError):
        lock.acquire(if_already_acquired="raise_error")
    with pytest.raises(ValidationError):
        lock.acquire(if_already_acquired="maybe")


def test_release_can_raise_when_not_held(backend: InMemoryBackend) -> None:
    lock = Lock("job", backend)
    assert not lock.release()
    with pytest.raises(LockNotAcquiredError):
        lock.release(raise_if_not_acquired=True)


def test_acquire_waits_for_a_release_without_polling(backend: InMemoryBackend) -> None:
    holder, waiter = Lock("job", backend), Lock("job", backend)
    assert holder.acquire()
    assert not waiter.acquire(wait=0)
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.acquire(wait=int(WAIT_S * 1000))))
    thread.start()
    holder.release()
    thread.join(WAIT_S)
    assert got == [True] and waiter.held


def test_acquire_wait_gives_up_and_refuses_seconds(backend: InMemoryBackend) -> None:
    holder, waiter = Lock("job", backend), Lock("job", backend)
    holder.acquire()
    assert not waiter.acquire(wait=50)
    with pytest.raises(ValidationError, match="milliseconds .*1.3.2 took seconds"):
        waiter.acquire(wait=0.5)


def test_process_and_thread_locks_are_owned_by_who_uses_them(backend: InMemoryBackend) -> None:
    thread_lock = ThreadLock("t", backend)
    assert thread_lock.acquire()
    other: list[bool] = []
    thread = threading.Thread(target=lambda: other.append(thread_lock.acquire(strict=False)))
    thread.start()
    thread.join(WAIT_S)
    assert other == [False] and thread_lock.held
    process_lock = ProcessLock("p", backend)
    assert process_lock.acquire() and process_lock.owner_id.endswith(f":{os.getpid()}")
    thread = threading.Thread(target=lambda: other.append(process_lock.acquire(strict=False)))
    thread.start()
    thread.join(WAIT_S)
    assert other[-1] is True  # another thread of the same process is the same owner
