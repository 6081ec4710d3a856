"""Feeder against InMemoryBackend: batched acknowledgements and claims, claiming only for free
executors, prefetch and its give-back, executor-side settlement of failures and retries, stop,
wake and close, an unencodable result inside a batch, and acknowledgements while parked."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from alsek import Broker, Message, task
from alsek.adapters.memory import InMemoryBackend
from alsek.core.backoff import LinearBackoff
from alsek.core.task import Task
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.processing import Settlement, Verdict
from alsek.domain.services.result_store import ResultStore
from alsek.ports.queue import Claim
from alsek.worker import feeder as feeder_module
from alsek.worker.feeder import Feeder
from alsek.worker.lifecycle import StopSignal
from tests.unit.waiting import WAIT_S, wait_until

#: A window in which something must NOT happen (the feeder had every chance to misbehave).
QUIET_S = 0.2
LEASE_MS = 20_000
QUEUE = "q"
#: Idle waits short enough that a feeder parked in wait_for_work looks around again quickly.
SHORT_BACKOFF = LinearBackoff(factor=50, floor=50, ceiling=200, zero_override=False)
#: Idle waits far longer than any bounded wait of these tests: a parked feeder stays parked.
LONG_BACKOFF = LinearBackoff(factor=30_000, floor=30_000, ceiling=30_000, zero_override=False)


class RecordingBackend(InMemoryBackend):
    """Records claims, batched acknowledgements, settlements (with their thread) and parking."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.claim_limits: list[int] = []
        self.batches: list[list[str]] = []  # uuids of each ack_many_and_claim call
        self.settled: list[tuple[str, str, str]] = []  # (operation, uuid, thread name)
        self.parked = threading.Event()
        self.parked_in: list[str] = []  # the thread of each wait for work
        self.round_trip_s = 0.0  # simulated latency of ack_many_and_claim (a Redis round trip)
        self._record_lock = threading.Lock()

    def _note(self, operation: str, message: Message) -> None:
        with self._record_lock:
            self.settled.append((operation, str(message.uuid), threading.current_thread().name))

    def claim(self, queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        with self._record_lock:
            self.claim_limits.append(limit)
        return super().claim(queues, limit=limit, lease_ms=lease_ms)

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
    ) -> Claim:
        with self._record_lock:
            self.batches.append([str(message.uuid) for message, _ in acks])
        if self.round_trip_s:
            time.sleep(self.round_trip_s)  # latency of the call itself, not a wait for a race
        claim = super().ack_many_and_claim(acks, queues=queues, limit=limit, lease_ms=lease_ms)
        for message, _ in acks:
            self._note("ack_many", message)
        return claim

    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        existed = super().ack(message, effects=effects)
        self._note("ack", message)
        return existed

    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        super().retry(message, effects=effects)
        self._note("retry", message)

    def fail(self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS) -> None:
        super().fail(message, dlq_ttl=dlq_ttl, effects=effects)
        self._note("fail", message)

    def wait_for_work(self, queues: Sequence[str], timeout_ms: int) -> bool:
        with self._record_lock:
            self.parked_in.append(threading.current_thread().name)
        self.parked.set()
        return super().wait_for_work(queues, timeout_ms)

    def nudge(self) -> None:
        """Wake whoever waits for work on the queue (as a submission would)."""
        with self.store.condition:
            self.store.signal(self.namespace, [QUEUE])

    def ops_for(self, message: Message) -> list[tuple[str, str]]:
        """(operation, thread name) of every settlement of ``message``."""
        with self._record_lock:
            return [(op, thread) for op, uuid, thread in self.settled if uuid == str(message.uuid)]

    def leased(self) -> int:
        """How many messages of the queue are stored but not waiting (nothing here is delayed)."""
        return self.count(f"queues:{QUEUE}") - self.depth(QUEUE)


class Tasks:
    def __init__(self, broker: Broker, store: ResultStore) -> None:
        @task(broker, queue=QUEUE, result_store=store)
        def echo(i: int) -> int:
            return i

        @task(broker, queue=QUEUE, max_retries=0)
        def boom() -> None:
            raise ValueError("boom")

        @task(broker, queue=QUEUE, max_retries=3)
        def flaky() -> None:
            raise ValueError("flaky")

        @task(broker, queue=QUEUE, result_store=store, max_retries=0)
        def unencodable() -> object:
            return object()

        self.echo: Task = echo
        self.boom: Task = boom
        self.flaky: Task = flaky
        self.unencodable: Task = unencodable


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def broker(backend: RecordingBackend) -> Broker:
    return Broker(backend)


@pytest.fixture
def store(backend: RecordingBackend) -> ResultStore:
    return ResultStore(backend)


@pytest.fixture
def tasks(broker: Broker, store: ResultStore) -> Tasks:
    return Tasks(broker, store)


class Executor(threading.Thread):
    """An executor like a thread group's worker: takes a message from the feeder, runs it, hands
    back its settlement with the next call. ``gate`` (if given) must be set before each run."""

    def __init__(
        self,
        feeder: Feeder,
        name: str,
        *,
        gate: threading.Event | None = None,
        first: Settlement | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.feeder = feeder
        self.gate = gate
        self.first = first
        self.taken: list[Message] = []
        self.calling = threading.Event()
        self.returned_none = threading.Event()

    def run(self) -> None:
        settlement = self.first
        while True:
            self.calling.set()
            message = self.feeder.next(settlement)
            if message is None:
                self.returned_none.set()
                return
            self.taken.append(message)
            if self.gate is not None and not self.gate.wait(WAIT_S):
                return
            settlement = self.feeder.processor.process(message)


class Rig:
    """Feeders built on one broker, stopped and closed at teardown."""

    def __init__(self, broker: Broker, backend: RecordingBackend) -> None:
        self.broker = broker
        self.backend = backend
        self.feeders: list[Feeder] = []
        self.threads: list[threading.Thread] = []

    def feeder(
        self,
        *,
        executors: int = 1,
        prefetch: int = 0,
        hold_ms: int = 50,
        ack_delay_ms: float = 1.0,
        backoff: LinearBackoff = SHORT_BACKOFF,
        start: bool = True,
        park_in_executors: bool = False,
    ) -> Feeder:
        stop = StopSignal()
        consumer = Consumer(self.broker, [QUEUE], backoff, lease_ms=LEASE_MS, stop_signal=stop)
        feeder = Feeder(
            MessageProcessor(consumer, self.broker.tasks), executors=executors, stop=stop,
            prefetch=prefetch, hold_ms=hold_ms, ack_delay_ms=ack_delay_ms,
            park_in_executors=park_in_executors,
        )  # fmt: skip
        self.feeders.append(feeder)
        if start:
            feeder.start()
        return feeder

    def executor(self, feeder: Feeder, **kwargs: Any) -> Executor:
        executor = Executor(feeder, f"executor-{len(self.threads)}", **kwargs)
        self.threads.append(executor)
        executor.start()
        return executor

    def take(self, feeder: Feeder, finished: Settlement | None = None) -> Message | None:
        """``feeder.next(finished)`` in a thread named ``taker`` (bounded: fails if it hangs)."""
        box: list[Message | None] = []
        thread = threading.Thread(
            target=lambda: box.append(feeder.next(finished)), name="taker", daemon=True
        )
        self.threads.append(thread)
        thread.start()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "feeder.next() did not return"
        return box[0]

    def close(self) -> None:
        for feeder in self.feeders:
            stop(feeder)
            feeder.close(timeout_s=2)
        self.backend.nudge()  # a feeder parked in a long wait_for_work winds down now
        for feeder in self.feeders:
            if feeder._thread.ident is not None:  # a test may fail before starting it
                feeder._thread.join(2)
        for thread in self.threads:
            thread.join(2)


@pytest.fixture
def rig(broker: Broker, backend: RecordingBackend, tasks: Tasks) -> Iterator[Rig]:
    rig = Rig(broker, backend)
    yield rig
    rig.close()


def stop(feeder: Feeder) -> None:
    feeder.stop.set()


def submit(tasks: Tasks, n: int) -> list[Message]:
    return [tasks.echo.generate(args=(i,)) for i in range(n)]


# -- 1. exactly once, batched ----------------------------------------------------------------------


def test_every_message_is_handed_out_once_and_acks_go_in_batches(
    rig: Rig, backend: RecordingBackend, broker: Broker, store: ResultStore, tasks: Tasks
) -> None:
    n_tasks, n_executors = 200, 4
    messages = submit(tasks, n_tasks)
    backend.round_trip_s = 0.001
    feeder = rig.feeder(executors=n_executors)
    executors = [rig.executor(feeder) for _ in range(n_executors)]

    assert wait_until(lambda: sum(len(e.taken) for e in executors) >= n_tasks)
    assert wait_until(lambda: backend.count(f"queues:{QUEUE}") == 0), "every ack was applied"
    handed = Counter(str(m.uuid) for e in executors for m in e.taken)
    assert handed == Counter(str(m.uuid) for m in messages)  # each exactly once
    assert all(store.get(m, keep=True) == i for i, m in enumerate(messages))
    batched = [uuid for batch in backend.batches for uuid in batch]
    assert len(batched) == len(set(batched))
    # Only while the feeder is parked on an empty queue (at most one run per executor) does an
    # executor acknowledge on its own; everything else goes through ack_many_and_claim.
    assert len(batched) >= n_tasks - n_executors
    assert len(backend.batches) < n_tasks
    assert max(len(batch) for batch in backend.batches) > 1
    assert sum(len(e.taken) for e in executors) == n_tasks  # nothing handed out twice later


# -- 2. prefetch=0 claims only for free executors ------------------------------------------------


def test_without_prefetch_only_waiting_executors_are_claimed_for(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    messages = submit(tasks, 10)
    feeder = rig.feeder(executors=1, prefetch=0)

    first = rig.take(feeder)
    assert first is not None and first.uuid == messages[0].uuid
    assert backend.depth(QUEUE) == 9 and feeder.pending() == []
    assert not wait_until(lambda: backend.depth(QUEUE) != 9 or bool(feeder.pending()), QUIET_S)

    second = rig.take(feeder, feeder.processor.process(first))
    assert second is not None and second.uuid == messages[1].uuid
    assert not broker.exists(first)  # its ack rode in the round trip that claimed ``second``
    assert backend.depth(QUEUE) == 8 and feeder.pending() == []
    assert backend.claim_limits and set(backend.claim_limits) == {1}


# -- 3. prefetch=k: a buffer of k, given back after hold_ms ----------------------------------------


def test_prefetch_keeps_up_to_k_messages_ready(
    rig: Rig, backend: RecordingBackend, tasks: Tasks
) -> None:
    submit(tasks, 10)
    feeder = rig.feeder(executors=1, prefetch=3, hold_ms=60_000)

    assert rig.take(feeder) is not None
    # Refilled once down to half of k: between ceil(k / 2) and k wait in the buffer.
    assert wait_until(lambda: 2 <= len(feeder.pending()) <= 3)
    held = len(feeder.pending())
    assert backend.depth(QUEUE) == 9 - held and backend.leased() == 1 + held
    assert not wait_until(
        lambda: len(feeder.pending()) != held or backend.depth(QUEUE) != 9 - held, QUIET_S
    )
    assert max(backend.claim_limits) <= 4  # the free executor plus the prefetch, never more


def test_prefetched_messages_go_back_when_the_executor_stays_busy(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    messages = submit(tasks, 10)
    feeder = rig.feeder(executors=1, prefetch=3, hold_ms=20)

    first = rig.take(feeder)
    assert first is not None
    assert wait_until(lambda: backend.depth(QUEUE) == 9 and feeder.pending() == [])
    assert max(backend.claim_limits) >= 3, "it did prefetch before giving back"
    assert backend.leased() == 1
    # No refill while the executor is still busy.
    assert not wait_until(lambda: backend.depth(QUEUE) != 9 or bool(feeder.pending()), QUIET_S)

    second = rig.take(feeder, feeder.processor.process(first))
    assert second is not None and second.uuid == messages[1].uuid  # given back in place
    assert not broker.exists(first)
    assert wait_until(lambda: backend.depth(QUEUE) == 8 and feeder.pending() == [])
    assert backend.leased() == 1


def test_an_executor_that_keeps_taking_messages_keeps_the_prefetch(
    rig: Rig, backend: RecordingBackend, tasks: Tasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    released: list[int] = []
    release = backend.release
    monkeypatch.setattr(backend, "release", lambda m, **k: released.append(1) or release(m, **k))
    submit(tasks, 25)
    # A prefetched message waits up to ~10 runs: longer than hold_ms, while each run is far
    # shorter (what "every executor busy" used to mistake for a stuck executor).
    feeder = rig.feeder(executors=1, prefetch=10, hold_ms=100)

    message = rig.take(feeder)
    for _ in range(24):
        assert message is not None
        time.sleep(0.02)
        message = rig.take(feeder, feeder.processor.process(message))
    assert message is not None
    assert released == [], "a slow but progressing executor is not stuck"


def test_prefetched_messages_go_back_when_a_refill_finds_the_queue_empty(
    rig: Rig, backend: RecordingBackend, tasks: Tasks
) -> None:
    submit(tasks, 2)
    feeder = rig.feeder(executors=1, prefetch=2, hold_ms=20, backoff=LONG_BACKOFF)

    assert rig.take(feeder) is not None  # the other message is prefetched; a refill finds none
    # No executor needs work, so the feeder does not park on the long idle wait: the
    # prefetched message goes back after hold_ms, where another worker can run it.
    assert wait_until(lambda: backend.depth(QUEUE) == 1 and feeder.pending() == [], 2.0)
    assert not backend.parked.is_set()


# -- 4. failures and retries are settled by the executor -------------------------------------------


@pytest.mark.parametrize("verdict", [Verdict.FAIL, Verdict.RETRY])
def test_a_failure_or_retry_is_settled_by_the_calling_executor(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks, verdict: Verdict
) -> None:
    bad = (tasks.boom if verdict is Verdict.FAIL else tasks.flaky).generate()
    follower = tasks.echo.generate(args=(1,))
    feeder = rig.feeder(executors=1)

    taken = rig.take(feeder)
    assert taken is not None and taken.uuid == bad.uuid
    settlement = feeder.processor.process(taken)
    assert settlement.verdict is verdict
    nxt = rig.take(feeder, settlement)
    assert nxt is not None and nxt.uuid == follower.uuid
    # Applied before next() returned, in the executor's own thread, and never batched.
    op = "fail" if verdict is Verdict.FAIL else "retry"
    assert backend.ops_for(bad) == [(op, "taker")]
    assert all(str(bad.uuid) not in batch for batch in backend.batches)
    if verdict is Verdict.FAIL:
        assert broker.in_dlq(bad) and not broker.exists(bad)
    else:
        assert broker.sync_from_backend(bad).retries == 1


# -- 5. stop, wake and close ---------------------------------------------------------------------


def test_wake_after_stop_returns_none_to_waiting_executors_promptly(
    rig: Rig, backend: RecordingBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the wake an executor would only notice the stop after STOP_CHECK_S.
    monkeypatch.setattr(feeder_module, "STOP_CHECK_S", 30.0)
    feeder = rig.feeder(executors=3, backoff=LONG_BACKOFF)
    executors = [rig.executor(feeder) for _ in range(3)]
    assert all(e.calling.wait(WAIT_S) for e in executors)
    assert wait_until(backend.parked.is_set)  # the queue is empty: the feeder parked

    stop(feeder)
    feeder.wake()
    deadline = time.monotonic() + 1.0
    for executor in executors:
        executor.join(max(deadline - time.monotonic(), 0))
    assert not any(e.is_alive() for e in executors)
    assert all(e.returned_none.is_set() and not e.taken for e in executors)


def test_close_flushes_acks_handed_over_after_the_stop(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    messages = submit(tasks, 5)
    # Not started yet: the acks below are certain to be pending when the feeder winds down.
    feeder = rig.feeder(executors=3, ack_delay_ms=60_000, start=False)
    claimed = feeder.consumer.claim(3)
    settlements = [feeder.processor.process(m) for m in claimed]
    stop(feeder)
    assert [feeder.next(s) for s in settlements] == [None] * 3  # handed over, nothing taken
    assert all(broker.exists(m) for m in claimed)  # queued, not applied by the executor
    feeder.start()
    feeder.close(timeout_s=2)

    assert not feeder._thread.is_alive()
    assert not any(broker.exists(m) for m in claimed)
    assert backend.batches == [[str(m.uuid) for m in claimed]]  # one round trip
    assert backend.leased() == 0 and backend.depth(QUEUE) == len(messages) - 3


def test_close_releases_prefetched_messages(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    submit(tasks, 10)
    feeder = rig.feeder(executors=1, prefetch=3, hold_ms=60_000)
    first = rig.take(feeder)
    assert first is not None
    assert wait_until(lambda: len(feeder.pending()) >= 2)

    stop(feeder)
    feeder.close(timeout_s=2)

    assert not feeder._thread.is_alive()
    assert feeder.pending() == []
    assert backend.depth(QUEUE) == 9 and backend.leased() == 1  # only the one being run
    # The executor's ack after the close is applied by the executor itself.
    assert rig.take(feeder, feeder.processor.process(first)) is None
    assert not broker.exists(first) and backend.ops_for(first) == [("ack", "taker")]


def test_close_does_not_wait_for_a_parked_feeder(rig: Rig, backend: RecordingBackend) -> None:
    feeder = rig.feeder(executors=1, backoff=LONG_BACKOFF)
    executor = rig.executor(feeder)
    assert wait_until(backend.parked.is_set)
    stop(feeder)
    started = time.monotonic()
    feeder.close(timeout_s=10)
    assert time.monotonic() - started < 1.0
    executor.join(WAIT_S)
    assert executor.returned_none.is_set()


# -- 6. an unencodable result inside a batch -----------------------------------------------------


def test_an_unencodable_result_does_not_lose_the_rest_of_its_batch(
    rig: Rig, backend: RecordingBackend, broker: Broker, store: ResultStore, tasks: Tasks
) -> None:
    good = [tasks.echo.generate(args=(1,)), tasks.echo.generate(args=(2,))]
    bad = tasks.unencodable.generate()
    feeder = rig.feeder(executors=3, start=False)
    claimed = feeder.consumer.claim(3)
    assert len(claimed) == 3
    settlements = [feeder.processor.process(m) for m in claimed]
    assert [s.verdict for s in settlements] == [Verdict.ACK] * 3
    for settlement in settlements:  # every ack is queued before the feeder runs: one batch
        rig.executor(feeder, first=settlement)
    assert wait_until(lambda: len(feeder._acks) == 3)
    feeder.start()

    assert wait_until(lambda: broker.in_dlq(bad))
    assert wait_until(lambda: not any(broker.exists(m) for m in [*good, bad]))
    assert sorted(backend.batches[0]) == sorted(str(m.uuid) for m in claimed)
    assert [store.get(m) for m in good] == [1, 2]
    [dead] = list(broker.dead_letters())
    assert dead.uuid == bad.uuid
    assert dead.exception_details is not None
    assert dead.exception_details["name"] == "SerializationError"
    assert backend.leased() == 0


# -- 7. parked: an executor acknowledges at once -----------------------------------------------


def test_while_parked_an_executor_applies_its_own_ack_at_once(
    rig: Rig, backend: RecordingBackend, broker: Broker, tasks: Tasks
) -> None:
    first, second = submit(tasks, 2)
    feeder = rig.feeder(executors=2, backoff=LONG_BACKOFF)
    gate_a, gate_b = threading.Event(), threading.Event()
    a = rig.executor(feeder, gate=gate_a)
    b = rig.executor(feeder, gate=gate_b)
    assert wait_until(lambda: len(a.taken) == 1 and len(b.taken) == 1)
    backend.parked.clear()

    gate_a.set()  # its ack goes with a claim that finds nothing: the feeder parks
    assert wait_until(lambda: not broker.exists(a.taken[0]))
    assert wait_until(backend.parked.is_set)
    gate_b.set()  # the feeder is parked for 30 s: b must acknowledge on its own, now
    assert wait_until(lambda: not broker.exists(b.taken[0]), 2.0)
    assert backend.ops_for(b.taken[0]) == [("ack", b.name)]
    assert backend.ops_for(a.taken[0]) == [("ack_many", "alsek-feeder")]
    assert set(backend.parked_in) == {"alsek-feeder"}  # by default the feeder itself parks
    assert backend.leased() == 0 and backend.count(f"queues:{QUEUE}") == 0
    assert {m.uuid for m in (*a.taken, *b.taken)} == {first.uuid, second.uuid}


# -- 8. the feeder thread never dies for good --------------------------------------------------


def test_the_feeder_carries_on_after_an_unexpected_error(
    rig: Rig, backend: RecordingBackend, tasks: Tasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeder_module, "RESTART_PAUSE_S", 0.01)
    [message] = submit(tasks, 1)
    claim, calls = backend.claim, []

    def claim_with_a_bug(queues: Sequence[str], *, limit: int, lease_ms: int) -> Claim:
        calls.append(limit)
        if len(calls) == 1:
            raise RuntimeError("a bug, not a backend error")
        return claim(queues, limit=limit, lease_ms=lease_ms)

    monkeypatch.setattr(backend, "claim", claim_with_a_bug)
    feeder = rig.feeder(executors=1)
    taken = rig.take(feeder)
    assert taken is not None and taken.uuid == message.uuid
    assert len(calls) >= 2
