"""The worker registry on InMemoryBackend: records, expiry, a thread group's heartbeat, counters,
``Broker.workers()`` and ``alsek workers``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.serialization.json import JsonSerializer
from alsek.app.services.registry import list_workers, worker_rows
from alsek.cli import render
from alsek.cli.main import main
from alsek.core.backoff import LinearBackoff
from alsek.domain.model.errors import BackendConnectionError, BackendError
from alsek.domain.model.worker_record import (
    RunningMessage,
    WorkerCounters,
    WorkerRecord,
    record_name,
)
from alsek.domain.services.consumer import Consumer
from alsek.domain.services.message_processor import MessageProcessor
from alsek.domain.services.worker_registry import WorkerRegistry
from alsek.worker.lifecycle import StopSignal
from alsek.worker.registry import Heartbeat, Identity
from alsek.worker.stats import WorkStats
from alsek.worker.thread.group import ThreadGroup
from tests.contract.fakes import FakeClock
from tests.unit.waiting import wait_until

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
counts = st.integers(min_value=0, max_value=2**53)
records = st.builds(
    WorkerRecord,
    id=names, kind=st.sampled_from(["process-pool", "thread-group"]), host=names,
    pid=counts, pool_pid=counts, version=names, queues=st.lists(names, max_size=3),
    tasks=st.lists(names, max_size=3), concurrency=counts, started_ms=counts, seen_ms=counts,
    heartbeat_ms=counts,
    running=st.lists(
        st.builds(RunningMessage, uuid=names, task=names, queue=names, started_ms=counts),
        max_size=3,
    ),
    counters=st.builds(
        WorkerCounters, processed=counts, succeeded=counts, failed=counts, retried=counts
    ),
)  # fmt: skip


def _record(worker_id: str = "h:1", **changes: object) -> WorkerRecord:
    values: dict[str, object] = dict(
        id=worker_id, kind="process-pool", host="h", pid=1, pool_pid=1, version="0.1.0",
        queues=["q"], tasks=["t"], concurrency=2, started_ms=1_000, seen_ms=2_000,
    )  # fmt: skip
    values.update(changes)
    return WorkerRecord(**values)  # type: ignore[arg-type]


@given(records)
def test_a_record_survives_json_unchanged(record: WorkerRecord) -> None:
    serializer = JsonSerializer()
    assert WorkerRecord.from_dict(serializer.reverse(serializer.forward(record.to_dict()))) == (
        record
    )


def test_a_record_from_a_newer_version_keeps_what_it_knows() -> None:
    data = {**_record().to_dict(), "metrics_port": 9100}
    data["counters"] = {"processed": 3}
    record = WorkerRecord.from_dict(data)
    assert record.counters == WorkerCounters(processed=3)
    assert record == _record(counters=WorkerCounters(processed=3))


def test_records_expire_and_graceful_stops_delete_them() -> None:
    clock = FakeClock()
    backend = InMemoryBackend(clock=clock)
    registry = WorkerRegistry(backend)
    registry.beat(_record("h:1"), ttl_ms=6_000)
    registry.beat(_record("h:2", pid=2), ttl_ms=12_000)
    assert [r.id for r in registry.workers()] == ["h:1", "h:2"]
    clock.advance(6_001)
    assert [r.id for r in registry.workers()] == ["h:2"]
    registry.remove("h:2")
    registry.remove("h:2")  # gone already: no error
    assert registry.workers() == []


def test_an_unreadable_record_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    backend = InMemoryBackend()
    backend.set(record_name("junk"), {"id": "junk"})
    WorkerRegistry(backend).beat(_record())
    assert [r.id for r in list_workers(backend)] == ["h:1"]
    assert "unreadable worker record" in caplog.text


def test_rows_say_how_long_ago_a_worker_started_and_was_seen() -> None:
    record = _record(running=[RunningMessage(uuid="u", task="t", queue="q", started_ms=1)])
    (row,) = worker_rows([record], now_ms=3_500)
    assert (row["age_s"], row["seen_s_ago"], row["busy"]) == (2.5, 1.5, 1)


class _Boom:
    def started(self, task: str, queue: str) -> None:
        raise RuntimeError("observer bug")

    finished = started  # type: ignore[assignment]


# -- a thread group in this process ------------------------------------------------------------


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


@pytest.fixture
def group(broker: Broker) -> Iterator[ThreadGroup]:
    gate = threading.Event()

    @task(broker, queue="q", mechanism="thread", max_retries=1, backoff=None)
    def hold() -> None:
        gate.wait(5)

    @task(broker, queue="q", mechanism="thread", max_retries=1, backoff=None)
    def flaky(fail: bool) -> None:
        if fail:
            raise ValueError("no")

    stop = StopSignal()
    backoff = LinearBackoff(factor=50, floor=50, ceiling=200, zero_override=False)
    consumer = Consumer(broker, ["q"], backoff, lease_ms=2_000, stop_signal=stop)
    made = ThreadGroup(
        MessageProcessor(consumer, broker.tasks), n_threads=2, stop=stop, heartbeat_ms=400,
        tick_ms=20, registry_heartbeat_ms=50,
        identity=Identity(kind="thread-group", queues=["q"], tasks=sorted(broker.tasks),
                          concurrency=2, pool_pid=12345),
    )  # fmt: skip
    made.stats.observers.append(_Boom())  # an observer that fails changes nothing
    made.gate = gate  # type: ignore[attr-defined]
    made.start()
    yield made
    gate.set()
    made.shutdown(grace_ms=1_000)


def test_a_thread_group_is_listed_with_what_it_runs_and_has_done(
    broker: Broker, group: ThreadGroup
) -> None:
    running = broker.tasks["hold"].generate()
    assert wait_until(lambda: any(r.running for r in broker.workers()))
    (record,) = broker.workers()
    assert (record.kind, record.pid, record.pool_pid, record.concurrency) == (
        "thread-group", os.getpid(), 12345, 2,
    )  # fmt: skip
    assert (record.queues, record.tasks) == (("q",), ("flaky", "hold"))
    assert [(r.uuid, r.task, r.queue) for r in record.running] == [(running.uuid, "hold", "q")]
    group.gate.set()  # type: ignore[attr-defined]
    broker.tasks["flaky"].generate(args=(False,))
    broker.tasks["flaky"].generate(args=(True,))
    expected = WorkerCounters(processed=4, succeeded=2, failed=1, retried=1)
    assert wait_until(lambda: broker.workers()[0].counters == expected)
    assert broker.workers()[0].running == ()


def test_a_graceful_stop_deletes_the_record(broker: Broker, group: ThreadGroup) -> None:
    assert wait_until(lambda: len(broker.workers()) == 1)
    group.shutdown(grace_ms=1_000)
    assert broker.workers() == []


def test_a_registry_that_fails_is_logged_once_and_retried(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = InMemoryBackend()
    heartbeat = Heartbeat(
        backend, Identity(kind="process-pool", queues=["q"], tasks=["t"], concurrency=1),
        group_runs(), WorkStats(),
    )  # fmt: skip

    def down(*args: object, **kwargs: object) -> None:
        raise BackendError("down")

    monkeypatch.setattr(backend, "set", down)
    heartbeat.beat()
    heartbeat.beat()
    assert caplog.text.count("Cannot write this worker's registry record") == 1
    monkeypatch.undo()
    heartbeat.beat()
    assert [r.id for r in list_workers(backend)] == [heartbeat.worker_id]
    assert heartbeat.record().heartbeat_ms == 2_000 and heartbeat.ttl_ms == 6_000


def group_runs():  # type: ignore[no-untyped-def]
    from alsek.worker.leases import RunTable

    return RunTable()


# -- alsek workers ---------------------------------------------------------------------------


def _invoke(backend: InMemoryBackend, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["workers", *args], obj={"backend": backend})


def test_alsek_workers_prints_a_table_and_json() -> None:
    backend = InMemoryBackend()
    empty = _invoke(backend)
    assert (empty.exit_code, empty.output) == (0, "No live workers.\n")
    WorkerRegistry(backend).beat(_record("web-1:77", pid=77, pool_pid=77))
    table = _invoke(backend)
    header, line = table.output.splitlines()
    assert header.split()[:5] == ["WORKER", "KIND", "POOL", "QUEUES", "BUSY"]
    assert line.split()[:5] == ["web-1:77", "process-pool", "77", "q", "0/2"]
    as_json = _invoke(backend, "--json")
    (row,) = json.loads(as_json.output)
    assert (row["id"], row["counters"]["processed"], row["busy"]) == ("web-1:77", 0, 0)


def test_alsek_workers_exits_4_when_redis_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = InMemoryBackend()

    def down(pattern: object = None) -> Iterator[str]:
        raise BackendConnectionError("connection refused")

    monkeypatch.setattr(backend, "scan", down)
    result = _invoke(backend)
    assert result.exit_code == 4
    assert "cannot reach Redis: connection refused" in result.output


def test_alsek_workers_reads_the_redis_url_and_namespace_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[tuple[object, object]] = []
    backend = InMemoryBackend()

    def admin_backend(url: object, namespace: object) -> InMemoryBackend:
        opened.append((url, namespace))
        return backend

    monkeypatch.setattr(render, "admin_backend", admin_backend)
    result = CliRunner().invoke(
        main, ["workers", "--redis-url", "redis://r:1/0", "--namespace", "n"]
    )
    assert result.exit_code == 0, result.output
    assert opened == [("redis://r:1/0", "n")]


def test_a_revoked_run_is_revoked_to_observers_and_failed_in_the_counters() -> None:
    from alsek.domain.model.message import Message
    from alsek.domain.services.processing import Settlement, Verdict

    heard: list[str] = []

    class Recorder:
        def started(self, task: str, queue: str) -> None:
            heard.append(f"started {task} {queue}")

        def finished(self, task: str, queue: str, outcome: str, runtime_s: float | None) -> None:
            heard.append(f"{outcome} {task} {queue}")

    stats = WorkStats()
    stats.observers.append(Recorder())
    revoked = Message("t", queue="q", exception_details={"name": "RevokedError", "text": "x"})
    failed = Message("t", queue="q", exception_details={"name": "ValueError", "text": "x"})
    for message in (revoked, failed):
        stats.started(message)
        stats.finished(message, Settlement(Verdict.FAIL, message), 0.1)
    stats.finished(failed, None, 0.1)  # released: not a settled run
    assert heard == [
        "started t q", "revoked t q", "started t q", "failed t q", "released t q"
    ]  # fmt: skip
    assert stats.counters() == WorkerCounters(processed=2, failed=2)
