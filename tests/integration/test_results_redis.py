"""Results on a real redis-server, processed by a real worker pool.

``running_pool`` (used by the other result, status and tour tests too) runs the pool of the tasks'
mechanism (a ProcessWorkerPool for the tour's default, ``"process"``; a ThreadWorkerPool for
``mechanism="thread"`` tasks) in a background thread of the test process; its processes are
forked, so tasks defined in a test (or a tour snippet) work as they are. It returns once the first
child is forked: a fork while another thread of the test uses the same Redis client can copy
redis-py's pool lock in its locked state and hang the child (reported to the workers' owner).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.redis import RedisBackend
from alsek.domain.model.errors import ResultNotFoundError
from alsek.storage.result import ResultStore
from alsek.tools import ResultPool
from alsek.worker.process.pool import ProcessWorkerPool
from alsek.worker.thread.pool import ThreadWorkerPool
from tests.integration.test_worker_pools import running

N_TASKS = 3_000


def _forked(pool: Any) -> bool:
    """Whether the pool has started its first children (so no fork is still to come at once)."""
    if isinstance(pool, ThreadWorkerPool):
        return pool.groups >= 1
    return pool.ready


@contextlib.contextmanager
def running_pool(
    tasks: list[Any], *, processes: bool | None = None, **options: Any
) -> Iterator[Any]:
    """A worker pool working on ``tasks`` until the block ends, then stopped gracefully: a
    ProcessWorkerPool with ``processes`` (default: when some task has the process mechanism),
    else a ThreadWorkerPool."""
    if processes is None:
        processes = any(t.mechanism == "process" for t in tasks)
    if processes:
        pool: Any = ProcessWorkerPool(tasks, **{"n_processes": 4, "grace_period": 5_000, **options})
    else:
        settings = {"n_threads": 8, "n_processes": 1, "grace_period": 5_000, **options}
        pool = ThreadWorkerPool(tasks, **settings)
    with running(pool, started=lambda: _forked(pool)):
        yield pool


@pytest.fixture
def backend(redis_backend: RedisBackend) -> RedisBackend:
    return redis_backend


@pytest.fixture
def broker(backend: RedisBackend) -> Broker:
    return Broker(backend)


@pytest.fixture
def store(backend: RedisBackend) -> ResultStore:
    return ResultStore(backend)


def test_thousands_of_results_round_trip(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, mechanism="thread")  # volume, not forks: a thread pool
    def square(n: int) -> int:
        return n * n

    messages = [square.generate(args=(n,)) for n in range(N_TASKS)]
    with running_pool([square]):
        got = {m.uuid: r for m, r in ResultPool(store).istream(*messages, timeout=60_000)}
    assert got == {m.uuid: n * n for n, m in enumerate(messages)}
    assert broker.backend.count("results:") == 0  # fetched means deleted


def test_results_and_statuses_through_a_process_pool(broker: Broker, store: ResultStore) -> None:
    from alsek.core.status import StatusTracker, TaskStatus

    tracker = StatusTracker(broker.backend)

    @task(broker, result_store=store, status_tracker=tracker)
    def cube(n: int) -> int:
        return n**3

    messages = [cube.generate(args=(n,)) for n in range(300)]
    with running_pool([cube], processes=True):
        got = {m.uuid: r for m, r in ResultPool(store).stream(*messages, timeout=60_000)}
    assert got == {m.uuid: n**3 for n, m in enumerate(messages)}
    assert {tracker.get(m) for m in messages} == {TaskStatus.SUCCEEDED}


def test_get_waits_for_the_worker(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store, mechanism="thread")
    def done() -> str:
        return "done"

    message = done.generate()
    with pytest.raises(ResultNotFoundError):
        store.get(message, timeout=0)
    with running_pool([done]):
        assert store.get(message, timeout=10_000) == "done"


def test_callback_chains_are_found_from_the_root(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store)
    def add_1(number: int) -> int:
        return number + 1

    @task(broker, result_store=store)
    def add_1_previous(message: Message) -> int:
        return message.previous_result + 1

    roots = [
        add_1.generate(
            args=(n,),
            callback=(add_1_previous.defer().generate(), add_1_previous.defer().generate()),
        )
        for n in range(20)
    ]
    with running_pool([add_1, add_1_previous]):
        got = {
            m.uuid: r for m, r in ResultPool(store).stream(*roots, descendants=True, timeout=30_000)
        }
    assert got == {m.uuid: [n + 1, n + 2, n + 3] for n, m in enumerate(roots)}


def test_result_ttl_on_redis(broker: Broker, store: ResultStore) -> None:
    @task(broker, result_store=store)
    def one() -> int:
        return 1

    message = one.generate(result_ttl=60_000)
    with running_pool([one]):
        assert store.get(message, timeout=10_000, keep=True) == 1
    ttl = broker.backend.client.pttl(broker.backend.full_name(f"results:{message.uuid}"))
    assert 0 < ttl <= 60_000
