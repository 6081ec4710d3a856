"""TriggerTask end to end against InMemoryBackend, with a scheduler fired by hand."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.task import TriggerTask
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.lineage import callback_uuid, make_run, run_uuid, runs_name
from alsek.domain.services.status_tracker import StatusTracker
from alsek.ports.keyvalue import Subscription
from alsek.storage.result import ResultStore
from tests.contract.fakes import FakeClock
from tests.unit.test_results import work


class ManualScheduler:
    """The scheduler port, fired by the test."""

    def __init__(self) -> None:
        self.jobs: dict[str, Any] = {}
        self.paused: set[str] = set()
        self.running = True

    def validate_trigger(self, trigger: Any) -> None:
        return None

    def add_job(self, job_id: str, function: Any, trigger: Any) -> None:
        self.jobs[job_id] = function
        self.paused.discard(job_id)

    def pause_job(self, job_id: str) -> None:
        assert job_id in self.jobs
        self.paused.add(job_id)

    def resume_job(self, job_id: str) -> None:
        assert job_id in self.jobs
        self.paused.discard(job_id)

    def remove_job(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def has_job(self, job_id: str) -> bool:
        return job_id in self.jobs

    def shutdown(self) -> None:
        self.running = False
        self.jobs.clear()

    def fire(self, job_id: str, times: int = 1) -> None:
        for _ in range(times):
            if self.running and job_id in self.jobs and job_id not in self.paused:
                self.jobs[job_id]()


class Backend(InMemoryBackend):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subscribed = threading.Event()

    def subscribe(self, *channels: str) -> Subscription:
        subscription = super().subscribe(*channels)
        self.subscribed.set()
        return subscription


@pytest.fixture
def backend() -> Backend:
    return Backend(clock=FakeClock())


@pytest.fixture
def broker(backend: Backend) -> Broker:
    return Broker(backend)


@pytest.fixture
def store(backend: Backend) -> ResultStore:
    return ResultStore(backend)


@pytest.fixture
def scheduler() -> ManualScheduler:
    return ManualScheduler()


def triggered(
    broker: Broker, scheduler: ManualScheduler, function: Any, **options: Any
) -> TriggerTask:
    made = TriggerTask(function, "every tick", broker, scheduler=scheduler, **options)
    broker.register(made)
    return made


def counter() -> Any:
    calls = iter(range(1, 10**6))

    def tick() -> int:
        return next(calls)

    return tick


def test_every_run_is_reachable_through_the_progenitor(
    broker: Broker, store: ResultStore, scheduler: ManualScheduler
) -> None:
    tracker = StatusTracker(broker.backend)
    tick = triggered(
        broker, scheduler, counter(), name="tick", result_store=store, status_tracker=tracker
    )
    progenitor = tick.generate()
    assert not broker.exists(progenitor)  # the progenitor itself never runs
    scheduler.fire("tick", 3)
    runs = [Message("tick", uuid=run_uuid(progenitor.uuid, n)) for n in range(3)]
    assert all(broker.exists(run) for run in runs)
    assert all(tracker.get(run) is TaskStatus.SUBMITTED for run in runs)
    assert broker.backend.get(runs_name(progenitor.uuid)) == 3
    assert work(broker) == 3
    records = store.get(progenitor, descendants=True, with_metadata=True, keep=True)
    assert [r["result"] for r in records] == [1, 2, 3]
    assert [r["uuid"] for r in records] == [run.uuid for run in runs]
    assert {r["progenitor_uuid"] for r in records} == {progenitor.uuid}
    assert store.get(progenitor, descendants=True) == [1, 2, 3]  # fetched, then deleted
    scheduler.fire("tick", 2)
    work(broker)
    assert store.get(progenitor, descendants=True) == [4, 5]  # only what came since


def test_callbacks_of_runs_are_distinct_and_reachable(
    broker: Broker, store: ResultStore, scheduler: ManualScheduler
) -> None:
    @task(broker, result_store=store)
    def double(message: Message) -> int:
        return message.previous_result * 2

    tick = triggered(broker, scheduler, counter(), name="tick", result_store=store)
    progenitor = tick.generate(callback=double.defer().generate())
    scheduler.fire("tick", 2)
    assert work(broker) == 4
    assert store.get(progenitor, descendants=True) == [1, 2, 2, 4]
    first = run_uuid(progenitor.uuid, 0)
    assert not store.exists(Message("double", uuid=callback_uuid(first, 0)))


def test_waiting_on_the_progenitor_wakes_on_the_first_run(
    broker: Broker, store: ResultStore, scheduler: ManualScheduler, backend: Backend
) -> None:
    tick = triggered(broker, scheduler, counter(), name="tick", result_store=store)
    progenitor = tick.generate()

    def first_run() -> None:
        assert backend.subscribed.wait(5)
        scheduler.fire("tick")
        work(broker)

    thread = threading.Thread(target=first_run)
    thread.start()
    assert store.get(progenitor, timeout=5_000, descendants=True) == [1]
    thread.join(5)


def test_pause_resume_clear_shutdown(broker: Broker, scheduler: ManualScheduler) -> None:
    tick = triggered(broker, scheduler, counter(), name="tick")
    tick.pause()  # before anything is scheduled: holds the schedule made next
    progenitor = tick.generate()
    scheduler.fire("tick")
    assert broker.backend.depth("alsek_queue") == 0
    tick.resume()
    scheduler.fire("tick")
    assert broker.exists(Message("tick", uuid=run_uuid(progenitor.uuid, 0)))
    tick.clear()
    assert not scheduler.has_job("tick")
    tick.clear()  # nothing scheduled: no error
    tick.pause()
    tick.resume()
    tick.shutdown()
    assert not scheduler.running


def test_generate_without_submitting_schedules_nothing(
    broker: Broker, scheduler: ManualScheduler
) -> None:
    tick = triggered(broker, scheduler, counter(), name="tick")
    tick.generate(submit=False)
    tick.defer().generate()
    assert scheduler.jobs == {}


def test_a_failed_submission_is_logged_and_the_next_run_goes_on(
    broker: Broker, scheduler: ManualScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    tick = triggered(broker, scheduler, counter(), name="tick")
    progenitor = tick.generate()
    submit = broker.submit
    broker.submit = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("down"))  # type: ignore[method-assign]
    scheduler.fire("tick")
    assert "could not submit" in caplog.text
    broker.submit = submit  # type: ignore[method-assign]
    scheduler.fire("tick")
    assert broker.exists(Message("tick", uuid=run_uuid(progenitor.uuid, 1)))


def test_a_reused_progenitor_uuid_continues_the_run_count(
    broker: Broker, store: ResultStore, scheduler: ManualScheduler
) -> None:
    tick = triggered(broker, scheduler, counter(), name="tick", result_store=store)
    tick.generate(uuid="daily")
    scheduler.fire("tick", 2)
    tick.generate(uuid="daily")  # e.g. the scheduling process restarted
    scheduler.fire("tick")
    assert broker.exists(Message("tick", uuid=run_uuid("daily", 2)))
    work(broker)
    assert store.get(Message("tick", uuid="daily"), descendants=True) == [1, 2, 3]


def test_the_decorator_builds_a_trigger_task_on_apscheduler(
    broker: Broker, store: ResultStore
) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    @task(broker, result_store=store, trigger=IntervalTrigger(hours=1))
    def check_system_usage() -> int:
        return 99

    message = check_system_usage.generate()
    try:
        assert check_system_usage.scheduler.has_job("check_system_usage")
        check_system_usage.pause()
        check_system_usage.resume()
        check_system_usage.clear()
        assert not check_system_usage.scheduler.has_job("check_system_usage")
    finally:
        check_system_usage.shutdown()
    assert message.progenitor_uuid is None


# -- lineage rules ---------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=20), st.integers(0, 10**6), st.integers(0, 10**6))
def test_run_uuids_are_stable_and_distinct(progenitor: str, a: int, b: int) -> None:
    assert run_uuid(progenitor, a) == run_uuid(progenitor, a)
    assert (run_uuid(progenitor, a) == run_uuid(progenitor, b)) == (a == b)
    assert run_uuid(progenitor, a) != run_uuid(progenitor + "x", a)


@given(st.integers(0, 5), st.integers(0, 100))
def test_a_run_renames_its_whole_callback_chain(length: int, index: int) -> None:
    chain = None
    for position in reversed(range(length)):
        chain = Message(
            "cb", uuid=f"cb{position}", kwargs={"p": position}, callback_message_data=chain
        ).data
    progenitor = Message("t", uuid="p", callback_message_data=chain, created_at=1)
    run = make_run(progenitor, index, now_ms=5)
    assert (run.uuid, run.progenitor_uuid, run.created_at, run.updated_at) == (
        run_uuid("p", index),
        "p",
        5,
        5,
    )
    assert run.descendant_uuids == ([callback_uuid(run.uuid, i) for i in range(length)] or None)
    data, position = run.callback_message_data, 0
    while data:
        assert data["kwargs"] == {"p": position}
        data, position = data["callback_message_data"], position + 1
    assert progenitor.descendant_uuids == ([f"cb{i}" for i in range(length)] or None)  # untouched


def test_direct_construction_as_alsek_1_3_2(broker: Broker) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    from alsek.exceptions import SchedulingError

    def ping() -> int:
        return 1

    made = TriggerTask(ping, IntervalTrigger(hours=1), broker, "pinger", "q")
    try:
        assert (made.name, made.queue, made.generated) == ("pinger", "q", False)
        made.generate()
        assert made.generated
    finally:
        made.shutdown()
    with pytest.raises(SchedulingError):
        TriggerTask(lambda x: x, IntervalTrigger(hours=1), broker)
