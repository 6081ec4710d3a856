"""The tour's Triggers, Status Tracking, Result Storage, Triggers & Result Storage, Result Iteration
and Concurrency sections, run as written on the session's redis-server with a real worker pool.

Two substitutions only: ``"<connection_url>"`` is the session server's URL, and the tour's typo
``check_resource_usage`` is the ``check_system_usage`` task defined above it. Where a snippet both
defines tasks and waits for their results, it runs in two consecutive parts with the same
namespace, the worker pool starting in between (a pool must know the tasks it runs).
"""

from __future__ import annotations

from typing import Any

import pytest

from alsek.core.status import StatusTracker, TaskStatus
from alsek.storage.result import ResultStore
from tests.integration.test_results_redis import running_pool
from tests.integration.tour import redirect_localhost, run

TRIGGERS = """
from alsek import Broker, task
from alsek.storage.backends.redis.standard import RedisBackend
from apscheduler.triggers.interval import IntervalTrigger

broker = Broker(RedisBackend())

@task(broker, trigger=IntervalTrigger(hours=1))
def check_system_usage() -> int:
    return 99
"""

TRIGGERS_GENERATE = """
message = check_system_usage.generate()
"""

TRIGGERS_PAUSE = """
check_resource_usage.pause()
"""

TRIGGERS_RESUME = """
check_resource_usage.resume()
"""

TRIGGERS_CLEAR = """
check_resource_usage.clear()
"""

TRIGGERS_SHUTDOWN = """
check_resource_usage.shutdown()
"""

STATUS_TRACKING = """
from alsek import Broker, StatusTracker, task
from alsek.storage.backends.redis import RedisBackend

backend = RedisBackend("<connection_url>")

broker = Broker(backend)
status_tracker = StatusTracker(backend)

@task(broker, status_tracker=status_tracker)
def sum_n(n: int) -> int:
    return int(n * (n + 1) / 2)

message = sum_n.generate(kwargs={"n": 100})
"""

STATUS_GET = """
status_tracker.get(message)
"""

RESULT_STORAGE = """
from typing import Dict

from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend
from alsek.storage.result import ResultStore

backend = RedisBackend("<connection_url>")

broker = Broker(backend)
result_store = ResultStore(backend)

@task(broker, result_store=result_store)
def valuable_output() -> Dict[str, int]:
    return {"a": 1, "b": 2, "c": 3}
"""

TRIGGERS_AND_RESULTS = """
from random import randint
from apscheduler.triggers.interval import IntervalTrigger

from alsek import Broker, task
from alsek.storage.backends.redis.standard import RedisBackend
from alsek.storage.result import ResultStore

backend = RedisBackend()
broker = Broker(backend)
result_storage = ResultStore(backend)


@task(broker, result_store=result_storage, trigger=IntervalTrigger(seconds=10))
def harvest_data() -> int:
    data = randint(0, 100)
    return data
"""

TRIGGERS_AND_RESULTS_START = """
# Start
message = harvest_data.generate()

# Get all of the results as a list. By setting `descendants=True` we
# will also data for any descendant messages which have completed.
results = result_storage.get(message, timeout=30 * 1000, descendants=True)

print(results)
"""

RESULT_ITERATION = """
from alsek import Broker, task
from alsek.storage.backends.redis import RedisBackend
from alsek.storage.result import ResultStore
from alsek.tools import ResultPool

backend = RedisBackend("<connection_url>")

broker = Broker(backend)
result_store = ResultStore(backend)
result_pool = ResultPool(result_store)

@task(broker, result_store=result_store)
def sum_n(n: int) -> int:
    return int(n * (n + 1) / 2)
"""

RESULT_ITERATION_LOOP = """
for message, result in result_pool.istream(
    sum_n.generate(kwargs=dict(n=10)),
    sum_n.generate(kwargs=dict(n=100)),
    sum_n.generate(kwargs=dict(n=1000)),
    descendants=False,  # enable if any messages contain callbacks
):
    print(f"The result of message '{message.uuid}' is {result}.")
"""

CONCURRENCY = """
from alsek import Lock, task
from alsek.storage.backends.redis.standard import RedisBackend

backend = RedisBackend()

@task(...)
def send_data() -> None:
    with Lock("send_data", backend=backend) as lock:
        if lock.acquire(strict=False):
            print("Sending data...")
        else:
            print("Failed to acquire lock")
"""


@pytest.fixture(autouse=True)
def _localhost_is_the_test_server(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    redirect_localhost(monkeypatch, redis_url)


@pytest.fixture
def tour(redis_url: str) -> Any:
    """Run a snippet with the tour's placeholders filled in."""

    def run_snippet(snippet: str, scope: dict[str, Any] | None = None) -> dict[str, Any]:
        text = snippet.replace("<connection_url>", redis_url)
        return run(text.replace("check_resource_usage", "check_system_usage"), scope)

    return run_snippet


def test_triggers(tour: Any) -> None:
    scope = tour(TRIGGERS)
    check = scope["check_system_usage"]
    jobs = check.scheduler
    try:
        tour(TRIGGERS_GENERATE, scope)
        assert type(check).__name__ == "TriggerTask"
        assert scope["message"].progenitor_uuid is None
        job = jobs._scheduler.get_job("check_system_usage")
        assert job.next_run_time is not None
        tour(TRIGGERS_PAUSE, scope)
        assert jobs._scheduler.get_job("check_system_usage").next_run_time is None
        tour(TRIGGERS_RESUME, scope)
        assert jobs._scheduler.get_job("check_system_usage").next_run_time is not None
        tour(TRIGGERS_CLEAR, scope)
        assert not jobs.has_job("check_system_usage")
    finally:
        tour(TRIGGERS_SHUTDOWN, scope)
    assert not jobs.has_job("check_system_usage")
    assert scope["broker"].backend.depth("alsek_queue") == 0  # hourly: nothing fired yet


def test_status_tracking(tour: Any) -> None:
    scope = tour(STATUS_TRACKING)
    tracker: StatusTracker = scope["status_tracker"]
    message = scope["message"]
    assert eval("status_tracker.get(message)", scope) is TaskStatus.SUBMITTED  # noqa: S307
    tour(STATUS_GET, scope)
    assert [repr(s) for s in TaskStatus] == [
        "<TaskStatus.UNKNOWN: 0>", "<TaskStatus.SUBMITTED: 1>", "<TaskStatus.RUNNING: 2>",
        "<TaskStatus.RETRYING: 3>", "<TaskStatus.FAILED: 4>", "<TaskStatus.SUCCEEDED: 5>",
    ]  # fmt: skip
    updates = tracker.listen_to_updates(message, timeout=20_000)
    assert next(updates).status is TaskStatus.SUBMITTED
    with running_pool([scope["sum_n"]]):
        seen = [u.status for u in updates]
        assert tracker.wait_for(message, TaskStatus.SUCCEEDED, timeout=10_000)
    assert seen == [TaskStatus.RUNNING, TaskStatus.SUCCEEDED]
    assert tracker.get(message) is TaskStatus.SUCCEEDED


def test_result_storage(tour: Any) -> None:
    scope = tour(RESULT_STORAGE)
    store: ResultStore = scope["result_store"]
    first, second = scope["valuable_output"].generate(), scope["valuable_output"].generate()
    with running_pool([scope["valuable_output"]]):
        assert store.get(first, timeout=10_000) == {"a": 1, "b": 2, "c": 3}
        assert store.get(second, timeout=10_000, keep=True) == {"a": 1, "b": 2, "c": 3}
    assert not store.exists(first)  # deleted once fetched
    assert store.exists(second)  # kept


def test_triggers_and_result_storage(tour: Any, capsys: pytest.CaptureFixture[str]) -> None:
    scope = tour(TRIGGERS_AND_RESULTS)
    harvest = scope["harvest_data"]
    try:
        with running_pool([harvest]):
            tour(TRIGGERS_AND_RESULTS_START, scope)
    finally:
        harvest.shutdown()
    results = scope["results"]
    assert len(results) >= 1 and all(0 <= r <= 100 for r in results)
    assert capsys.readouterr().out.strip() == str(results)


def test_result_iteration(tour: Any, capsys: pytest.CaptureFixture[str]) -> None:
    scope = tour(RESULT_ITERATION)
    with running_pool([scope["sum_n"]]):
        tour(RESULT_ITERATION_LOOP, scope)
    lines = capsys.readouterr().out.strip().splitlines()
    assert sorted(line.rsplit(" is ", 1)[1] for line in lines) == ["500500.", "5050.", "55."]
    assert all(line.startswith("The result of message '") for line in lines)


def test_concurrency(tour: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from alsek import Lock

    scope = tour(CONCURRENCY)
    scope["send_data"]()
    holder = Lock("send_data", backend=scope["backend"])
    assert holder.acquire()
    scope["send_data"]()
    assert holder.release()
    scope["send_data"]()
    assert capsys.readouterr().out.splitlines() == [
        "Sending data...", "Failed to acquire lock", "Sending data...",
    ]  # fmt: skip
    assert not scope["backend"].exists("locks:send_data")
