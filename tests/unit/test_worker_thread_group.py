"""ThreadGroup in this process against InMemoryBackend: throughput path, timeouts, abandonment,
revocation, leases, free-slot claiming and graceful shutdown."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import LinearBackoff
from alsek.domain.model.naming import REVOCATION_CHANNEL
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.worker.lifecycle import StopSignal
from alsek.worker.thread.group import ThreadGroup
from tests.unit.waiting import WAIT_S, wait_until

BACKOFF = LinearBackoff(factor=50, floor=50, ceiling=200, zero_override=False)


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


@pytest.fixture
def make_group(broker: Broker) -> Iterator[Callable[..., ThreadGroup]]:
    groups: list[ThreadGroup] = []

    def make(
        n_threads: int = 4, lease_ms: int = 2_000, unknown_task_window_ms: int = 300_000,
        **kwargs: object,
    ) -> ThreadGroup:  # fmt: skip
        stop = StopSignal()
        consumer = Consumer(broker, ["q"], BACKOFF, lease_ms=lease_ms, stop_signal=stop)
        processor = MessageProcessor(
            consumer, broker.tasks, unknown_task_window_ms=unknown_task_window_ms
        )
        group = ThreadGroup(
            processor, n_threads=n_threads, stop=stop,
            heartbeat_ms=max(lease_ms // 5, 10), tick_ms=20, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip
        group.start()
        groups.append(group)
        return group

    yield make
    for group in groups:
        group.shutdown(grace_ms=1_000)


def test_every_message_runs_exactly_once(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    runs: Counter[int] = Counter()

    @task(broker, queue="q")
    def count(i: int) -> None:
        runs[i] += 1

    for i in range(500):
        count.generate(args=(i,))
    make_group(n_threads=4)
    assert wait_until(lambda: len(runs) == 500)
    assert wait_until(lambda: broker.backend.count("queues:q") == 0)
    assert set(runs.values()) == {1}


def test_a_timeout_raises_timeout_error_in_the_thread(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    interrupted = threading.Event()

    @task(broker, queue="q", timeout=100, max_retries=0)
    def spin() -> None:
        try:
            while True:
                pass
        except TimeoutError:
            interrupted.set()
            raise

    @task(broker, queue="q")
    def after() -> None: ...

    message = spin.generate()
    make_group(n_threads=1)
    assert interrupted.wait(WAIT_S)
    assert wait_until(lambda: broker.in_dlq(message))
    [dead] = list(broker.dead_letters())
    assert dead.exception_details["name"] == "TimeoutError"
    assert "exceeded its timeout of 100 ms" in dead.exception_details["text"]
    follower = after.generate()  # the same (only) thread serves the next message
    assert wait_until(lambda: not broker.exists(follower))


def test_a_thread_stuck_outside_python_is_abandoned_and_replaced(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    release = threading.Event()

    @task(broker, queue="q", timeout=50, max_retries=0)
    def stuck() -> None:
        release.wait(30)  # blocked in C: the TimeoutError cannot land until it returns

    @task(broker, queue="q")
    def after() -> None: ...

    message = stuck.generate()
    make_group(n_threads=1, abandon_ms=100)
    assert wait_until(lambda: broker.in_dlq(message))
    follower = after.generate()
    assert wait_until(lambda: not broker.exists(follower)), "a fresh thread took over"
    release.set()


def test_complete_only_on_thread_exit_waits_for_the_thread(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    release = threading.Event()
    finished = threading.Event()

    @task(broker, queue="q", timeout=50, max_retries=0)
    def stuck() -> None:
        release.wait(30)
        finished.set()

    message = stuck.generate()
    group = make_group(n_threads=1, abandon_ms=50, complete_only_on_thread_exit=True)
    assert wait_until(
        lambda: bool(group.runs.snapshot()) and group.runs.snapshot()[0].interrupted_at is not None
    )
    time.sleep(0.2)  # several abandon periods pass: the run must still be in place
    assert broker.exists(message) and not broker.in_dlq(message)
    release.set()
    assert wait_until(lambda: broker.in_dlq(message))
    assert not finished.is_set()  # the TimeoutError landed as soon as the wait returned


def test_revocation_interrupts_the_run_and_fails_it(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    started = threading.Event()

    @task(broker, queue="q", max_retries=None)
    def long() -> None:
        started.set()
        while True:
            time.sleep(0.001)

    message = long.generate()
    make_group(n_threads=1)
    assert started.wait(WAIT_S)
    broker.backend.publish(REVOCATION_CHANNEL, {"uuid": message.uuid, "interrupt": False})
    broker.backend.publish(REVOCATION_CHANNEL, {"uuid": message.uuid, "interrupt": True})
    assert wait_until(lambda: broker.in_dlq(message))
    [dead] = list(broker.dead_letters())
    assert dead.exception_details["name"] == "RevokedError"
    assert dead.retries == 0


def test_leases_of_running_messages_are_renewed(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    started, release = threading.Event(), threading.Event()

    @task(broker, queue="q")
    def slow() -> None:
        started.set()
        release.wait(WAIT_S)

    slow.generate()
    make_group(n_threads=1, lease_ms=150)
    assert started.wait(WAIT_S)
    other = Consumer(broker, ["q"], lease_ms=150)
    deadline = time.monotonic() + 0.6  # four leases
    while time.monotonic() < deadline:
        assert other.claim(1) == [], "a renewed lease must not lapse"
        time.sleep(0.02)
    release.set()


def test_the_group_claims_only_for_free_threads(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    release = threading.Event()
    running = threading.Semaphore(0)

    @task(broker, queue="q")
    def block() -> None:
        running.release()
        release.wait(WAIT_S)

    for _ in range(10):
        block.generate()
    make_group(n_threads=2)
    assert running.acquire(timeout=WAIT_S) and running.acquire(timeout=WAIT_S)
    assert broker.backend.depth("q") == 8
    release.set()
    assert wait_until(lambda: broker.backend.count("queues:q") == 0)


def test_shutdown_lets_runs_finish_then_releases_the_rest(broker: Broker) -> None:
    finished: list[int] = []
    started = threading.Semaphore(0)

    @task(broker, queue="q", max_retries=0)
    def job(seconds: float, i: int) -> None:
        started.release()
        time.sleep(seconds)
        finished.append(i)

    quick = job.generate(args=(0.1, 1))
    endless = job.generate(args=(5.0, 2), priority=1)
    waiting = [job.generate(args=(0.0, 3 + i), priority=2) for i in range(3)]
    stop = StopSignal()
    consumer = Consumer(broker, ["q"], BACKOFF, stop_signal=stop)
    group = ThreadGroup(
        MessageProcessor(consumer, broker.tasks),
        n_threads=2,
        stop=stop,
        heartbeat_ms=200,
        tick_ms=20,
        abandon_ms=100,
    )
    group.start()
    assert started.acquire(timeout=WAIT_S) and started.acquire(timeout=WAIT_S)
    group.shutdown(grace_ms=300)
    assert finished == [1]
    assert not broker.exists(quick)
    for message in (endless, *waiting):
        assert broker.exists(message) and not broker.in_dlq(message)
    again = Consumer(broker, ["q"]).claim(10)  # released: ready at once, retries untouched
    assert [m.uuid for m in again] == [endless.uuid] + [m.uuid for m in waiting]
    assert {m.retries for m in again} == {0}


def test_an_unknown_task_fails_and_the_group_goes_on(
    broker: Broker, make_group: Callable[..., ThreadGroup]
) -> None:
    @task(broker, queue="q")
    def known() -> None: ...

    stranger = Message(task_name="stranger", queue="q")
    broker.submit(stranger)
    follower = known.generate()
    make_group(n_threads=1, unknown_task_window_ms=0)
    assert wait_until(lambda: broker.in_dlq(stranger) and not broker.exists(follower))


def test_an_idle_thread_waits_for_work_itself_and_shutdown_does_not_wait_for_it(
    broker: Broker,
) -> None:
    ran: list[str] = []

    @task(broker, queue="q")
    def note() -> None:
        ran.append(threading.current_thread().name)

    stop = StopSignal()
    idle = LinearBackoff(factor=30_000, floor=30_000, ceiling=30_000, zero_override=False)
    consumer = Consumer(broker, ["q"], idle, stop_signal=stop)
    group = ThreadGroup(
        MessageProcessor(consumer, broker.tasks), n_threads=2, stop=stop, heartbeat_ms=400
    )
    group.start()
    try:
        parked = lambda: [w for w in group._workers if group.feeder.parked_in(w.thread)]  # noqa: E731
        assert wait_until(lambda: len(parked()) == 1)
        waiting = parked()[0].thread.name
        note.generate()
        assert wait_until(lambda: ran == [waiting])  # the thread that waited runs it
        assert wait_until(lambda: len(parked()) == 1)  # and an idle thread waits again
    finally:
        started = time.monotonic()
        group.shutdown(grace_ms=30_000)
    assert time.monotonic() - started < 10.0  # not the 30 s wait of the parked thread
