"""StatusTracker and the integrity scan against InMemoryBackend."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.status import (
    StatusTracker,
    StatusTrackerIntegrityScanner,
    StatusTrackerIntegryScanner,
    StatusUpdate,
    TaskStatus,
)
from alsek.domain.model.errors import ValidationError
from alsek.domain.services.status_scanner import StatusIntegrityScan
from alsek.ports.keyvalue import Subscription
from tests.contract.fakes import FakeClock


class Backend(InMemoryBackend):
    """Counts reads; runs a hook right after each subscription is made."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads = 0
        self.on_subscribe: Any = None
        self.subscribed = threading.Event()

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.reads += 1
        return super().get(name, default)

    def subscribe(self, *channels: str) -> Subscription:
        subscription = super().subscribe(*channels)
        if self.on_subscribe is not None:
            self.on_subscribe()
        self.subscribed.set()
        return subscription


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> Backend:
    return Backend(clock=clock)


@pytest.fixture
def tracker(backend: Backend) -> StatusTracker:
    return StatusTracker(backend)


@pytest.fixture
def broker(backend: Backend) -> Broker:
    return Broker(backend)


M = Message("t", uuid="m1", queue="q")


def test_generate_records_submitted_atomically_with_the_submission(
    broker: Broker, tracker: StatusTracker
) -> None:
    @task(broker, status_tracker=tracker)
    def sum_n(n: int) -> int:
        return int(n * (n + 1) / 2)

    message = sum_n.generate(kwargs={"n": 100})
    assert tracker.get(message) is TaskStatus.SUBMITTED
    assert tracker.exists(message)


def test_unknown_when_nothing_is_recorded(tracker: StatusTracker) -> None:
    assert tracker.get(M) is TaskStatus.UNKNOWN
    assert tracker.get_update(M) is None
    assert not tracker.exists(M)


def test_effects_write_and_publish_with_a_ttl(tracker: StatusTracker, clock: FakeClock) -> None:
    effects = tracker.effects_for(M, TaskStatus.RUNNING)
    (write,) = effects.writes
    (publish,) = effects.publishes
    assert write.name == publish.channel == "status:m1"
    assert write.value == publish.value
    assert write.value == {
        "status": "RUNNING", "details": None, "timestamp": clock.now_ms(), "uuid": "m1",
        "queue": "q", "task_name": "t",
    }  # fmt: skip
    assert write.ttl_ms == tracker.ttl == 7 * 24 * 3_600_000


def test_statuses_expire(backend: Backend, clock: FakeClock) -> None:
    tracker = StatusTracker(backend, ttl=1_000)
    tracker.set(M, TaskStatus.RUNNING)
    clock.advance(1_000)
    assert tracker.get(M) is TaskStatus.UNKNOWN


def test_set_get_delete(tracker: StatusTracker) -> None:
    tracker.set(M, TaskStatus.RETRYING)
    assert tracker.get(M) is TaskStatus.RETRYING
    tracker.delete(M, check=False)
    assert not tracker.exists(M)
    with pytest.raises(KeyError):
        tracker.delete(M)
    tracker.delete(M, missing_ok=True)


@pytest.mark.parametrize("status", list(TaskStatus))
def test_delete_checks_that_the_status_is_terminal_as_alsek_1_3_2(
    tracker: StatusTracker, status: TaskStatus
) -> None:
    tracker.set(M, status)
    if status.terminal:
        tracker.delete(M)
        assert not tracker.exists(M)
    else:
        with pytest.raises(ValidationError, match="not terminal"):
            tracker.delete(M)
        assert tracker.exists(M)


def test_the_alsek_1_3_2_surface(tracker: StatusTracker, backend: Backend) -> None:
    tracker.set(M, TaskStatus.FAILED, details={"why": "bad input"})
    assert tracker.get(M).status is TaskStatus.FAILED  # 1.3.2's get(m).status still runs
    update = tracker.get_update(M)
    assert update is not None
    status, details = update
    assert (status, details) == (TaskStatus.FAILED, {"why": "bad input"})
    assert update.as_dict()["details"] == {"why": "bad input"}
    assert tracker.get_storage_name(M) == tracker.get_pubsub_name(M) == "status:m1"
    with backend.subscribe("status:m1") as heard:
        tracker.publish_update(M, update)
        assert StatusUpdate.parse(heard.get(1_000)) == update
    assert StatusTracker(backend, enable_pubsub=False).enable_pubsub is False


# -- waiting ---------------------------------------------------------------------------------


def test_wait_for_a_status_already_there(tracker: StatusTracker) -> None:
    tracker.set(M, TaskStatus.SUCCEEDED)
    assert tracker.wait_for(M, TaskStatus.SUCCEEDED, timeout=0) is TaskStatus.SUCCEEDED
    reached = tracker.wait_for(M, [TaskStatus.FAILED, TaskStatus.SUCCEEDED], timeout=0)
    assert reached is TaskStatus.SUCCEEDED


def test_wait_for_sees_a_status_passed_through(tracker: StatusTracker, backend: Backend) -> None:
    def run_quickly() -> None:  # RUNNING is replaced before the waiter can read it
        tracker.set(M, TaskStatus.RUNNING)
        tracker.set(M, TaskStatus.SUCCEEDED)

    backend.on_subscribe = run_quickly
    assert tracker.wait_for(M, TaskStatus.RUNNING, timeout=1_000)


def test_wait_for_times_out_without_polling(tracker: StatusTracker, backend: Backend) -> None:
    with pytest.raises(TimeoutError):
        tracker.wait_for(M, TaskStatus.SUCCEEDED, timeout=300)
    assert backend.reads == 3  # before and after subscribing, at the deadline: nothing between


def test_wait_for_without_raising_returns_the_current_status(tracker: StatusTracker) -> None:
    assert tracker.wait_for(M, TaskStatus.SUCCEEDED, 10, raise_on_timeout=False) is (
        TaskStatus.UNKNOWN
    )
    tracker.set(M, TaskStatus.RUNNING)
    status = tracker.wait_for(
        M, TaskStatus.SUCCEEDED, 10, poll_interval=0.05, raise_on_timeout=False
    )
    assert status is TaskStatus.RUNNING


def test_wait_for_refuses_seconds(tracker: StatusTracker) -> None:
    with pytest.raises(ValidationError, match="milliseconds .*1.3.2 took seconds"):
        tracker.wait_for(M, TaskStatus.SUCCEEDED, timeout=5.0)


def test_wait_for_a_status_set_later(tracker: StatusTracker, backend: Backend) -> None:
    def later() -> None:
        assert backend.subscribed.wait(5)
        tracker.set(M, TaskStatus.RUNNING)
        tracker.set(M, TaskStatus.FAILED)

    thread = threading.Thread(target=later)
    thread.start()
    assert tracker.wait_for(M, TaskStatus.FAILED, timeout=5_000)
    thread.join(5)


@pytest.mark.parametrize("wrong", ["SUCCEEDED", 123, object()])
def test_wait_for_rejects_non_statuses(tracker: StatusTracker, wrong: Any) -> None:
    with pytest.raises(ValidationError):
        tracker.wait_for(M, wrong, timeout=0)


# -- listening -------------------------------------------------------------------------------


def statuses(updates: list[StatusUpdate]) -> list[TaskStatus]:
    return [u.status for u in updates]


def test_listen_yields_every_change_until_a_terminal_one(
    tracker: StatusTracker, backend: Backend, clock: FakeClock
) -> None:
    tracker.set(M, TaskStatus.SUBMITTED)

    def life() -> None:
        assert backend.subscribed.wait(5)
        for status in (
            TaskStatus.RUNNING,
            TaskStatus.RETRYING,
            TaskStatus.RUNNING,
            TaskStatus.SUCCEEDED,
        ):
            clock.advance(1)
            tracker.set(M, status)
        tracker.set(M, TaskStatus.RUNNING)  # after the end: not listened to

    thread = threading.Thread(target=life)
    thread.start()
    got = list(tracker.listen_to_updates(M, timeout=5_000))
    thread.join(5)
    assert statuses(got) == [
        TaskStatus.SUBMITTED, TaskStatus.RUNNING, TaskStatus.RETRYING, TaskStatus.RUNNING,
        TaskStatus.SUCCEEDED,
    ]  # fmt: skip


def test_listen_does_not_repeat_what_it_read(
    tracker: StatusTracker, backend: Backend, clock: FakeClock
) -> None:
    def between_subscribe_and_read() -> None:
        tracker.set(M, TaskStatus.SUBMITTED)
        clock.advance(1)
        tracker.set(M, TaskStatus.RUNNING)

    backend.on_subscribe = between_subscribe_and_read
    stream = tracker.listen_to_updates(M, timeout=1_000)
    assert statuses([next(stream)]) == [TaskStatus.RUNNING]  # SUBMITTED is already superseded
    backend.on_subscribe = None
    clock.advance(1)
    tracker.set(M, TaskStatus.FAILED)
    assert statuses(list(stream)) == [TaskStatus.FAILED]


def test_listen_stops_at_once_on_a_final_status(tracker: StatusTracker) -> None:
    tracker.set(M, TaskStatus.UNKNOWN)  # the integrity scanner's verdict
    assert statuses(list(tracker.listen_to_updates(M))) == [TaskStatus.UNKNOWN]


def test_listen_is_bounded_by_its_timeout(tracker: StatusTracker) -> None:
    assert list(tracker.listen_to_updates(M, timeout=50)) == []


# -- integrity scan --------------------------------------------------------------------------


def test_scan_marks_lost_non_terminal_statuses_unknown(
    broker: Broker, tracker: StatusTracker
) -> None:
    @task(broker, status_tracker=tracker, queue="q")
    def work() -> None:
        return None

    alive = work.generate()
    lost_running = work.generate()
    finished = work.generate()
    broker.remove(lost_running)  # a worker died: the body is gone, RUNNING was never replaced
    tracker.set(lost_running, TaskStatus.RUNNING)
    broker.backend.ack(finished, effects=tracker.effects_for(finished, TaskStatus.SUCCEEDED))
    ghost = Message("gone", uuid="ghost")
    tracker.set(ghost, TaskStatus.RETRYING)

    marked = StatusIntegrityScan(tracker, broker).scan()

    assert sorted(m.uuid for m in marked) == sorted([lost_running.uuid, "ghost"])
    assert tracker.get(lost_running) is TaskStatus.UNKNOWN
    assert tracker.get(ghost) is TaskStatus.UNKNOWN
    assert tracker.get(alive) is TaskStatus.SUBMITTED
    assert tracker.get(finished) is TaskStatus.SUCCEEDED
    assert StatusIntegrityScan(tracker, broker).scan() == []  # UNKNOWN is left alone


def test_scan_skips_unreadable_entries(broker: Broker, tracker: StatusTracker) -> None:
    broker.backend.set("status:junk", {"status": "RUNNING", "timestamp": 1})
    broker.backend.set("status:worse", "not a status")
    assert StatusIntegrityScan(tracker, broker).scan() == []


class ManualScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, Any] = {}
        self.stopped = False

    def validate_trigger(self, trigger: Any) -> None:
        return None

    def add_job(self, job_id: str, function: Any, trigger: Any) -> None:
        self.jobs[job_id] = function

    def remove_job(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def shutdown(self) -> None:
        self.stopped = True


def test_the_scanner_runs_the_scan_on_its_trigger(broker: Broker, tracker: StatusTracker) -> None:
    assert StatusTrackerIntegryScanner is StatusTrackerIntegrityScanner
    tracker.set(M, TaskStatus.RUNNING)
    scheduler = ManualScheduler()
    scanner = StatusTrackerIntegrityScanner(tracker, broker, trigger="t", scheduler=scheduler)  # type: ignore[arg-type]
    (job,) = scheduler.jobs.values()
    job()
    assert tracker.get(M) is TaskStatus.UNKNOWN
    scanner.shutdown()
    assert scheduler.jobs == {} and not scheduler.stopped  # not its scheduler to stop


def test_a_failing_scan_does_not_kill_the_scheduler(broker: Broker, tracker: StatusTracker) -> None:
    scheduler = ManualScheduler()
    StatusTrackerIntegrityScanner(tracker, broker, trigger="t", scheduler=scheduler)  # type: ignore[arg-type]
    tracker.backend.scan = None  # type: ignore[method-assign, assignment]
    (job,) = scheduler.jobs.values()
    job()  # logged, not raised


def test_the_default_scanner_uses_apscheduler_hourly(
    broker: Broker, tracker: StatusTracker
) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    scanner = StatusTrackerIntegrityScanner(tracker, broker)
    try:
        assert isinstance(scanner.trigger, IntervalTrigger)
        assert scanner.trigger.interval.total_seconds() == 3_600
    finally:
        scanner.shutdown()


def test_a_scanner_without_a_trigger_scans_only_when_asked(
    broker: Broker, tracker: StatusTracker
) -> None:
    scanner = StatusTrackerIntegrityScanner(tracker, broker, trigger=None)  # Alsek 1.3.2
    try:
        assert scanner.trigger is None and not scanner.scheduler.has_job(scanner._job_id)
        tracker.set(M, TaskStatus.RUNNING)  # the message is not in the broker
        scanner.scan()
        assert tracker.get(M) is TaskStatus.UNKNOWN
    finally:
        scanner.shutdown()


def test_listening_goes_on_after_the_end_without_auto_exit(tracker: StatusTracker) -> None:
    tracker.set(M, TaskStatus.SUCCEEDED)
    assert statuses(list(tracker.listen_to_updates(M))) == [TaskStatus.SUCCEEDED]
    heard = list(tracker.listen_to_updates(M, auto_exit=False, timeout=200))
    assert statuses(heard) == [TaskStatus.SUCCEEDED]  # and it waited for the timeout
