"""The admin services (``alsek.app.services.admin``) and the dead letter rules, in memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alsek.adapters.memory import InMemoryBackend
from alsek.app.services import admin
from alsek.domain.model.dead_letters import HISTORY_KEY, DeadLetterFilter, requeued
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.result_store import result_name
from alsek.domain.services.status_tracker import StatusTracker
from tests.contract.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock)


def _dead(backend, clock, *, task="t", queue="q", error="ValueError", retries=2) -> Message:
    message = Message(task, queue=queue, created_at=clock.now_ms())
    backend.submit(message)
    (claimed,) = backend.claim([queue], limit=1, lease_ms=1_000).messages
    claimed.update(
        retries=retries, exception_details={"name": error, "text": "x", "traceback": "tb"}
    )
    backend.fail(claimed, dlq_ttl=60_000)
    return claimed


def test_dead_letters_by_filter(backend, clock) -> None:
    a = _dead(backend, clock)
    clock.advance(1_000)
    b = _dead(backend, clock, task="u", error="KeyError")
    c = _dead(backend, clock, queue="r")
    uuids = lambda where: sorted(m.uuid for m in admin.dead_letters(backend, where))  # noqa: E731
    assert uuids(DeadLetterFilter()) == sorted([a.uuid, b.uuid, c.uuid])
    assert uuids(DeadLetterFilter(queue="q")) == sorted([a.uuid, b.uuid])
    assert uuids(DeadLetterFilter(task="u")) == [b.uuid]
    assert uuids(DeadLetterFilter(exception="ValueError", queue="q")) == [a.uuid]
    assert uuids(DeadLetterFilter(older_than_ms=1_000)) == [a.uuid]
    assert admin.find_dead_letter(backend, a.uuid) == a
    assert admin.find_dead_letter(backend, "nope") is None


def test_requeue_resets_status_and_keeps_history(backend, clock) -> None:
    dead = _dead(backend, clock)
    StatusTracker(backend).set(dead, TaskStatus.FAILED)
    clock.advance(500)
    assert admin.requeue_dead_letters(backend, DeadLetterFilter(), dry_run=True) == [dead]
    assert backend.exists(dlq_name(dead))
    (fresh,) = admin.requeue_dead_letters(backend, DeadLetterFilter())
    assert not backend.exists(dlq_name(dead))
    assert StatusTracker(backend).get(fresh) is TaskStatus.SUBMITTED
    (claimed,) = backend.claim(["q"], limit=1, lease_ms=1_000).messages
    assert claimed.retries == 0 and claimed.exception_details is None
    (past,) = claimed.metadata[HISTORY_KEY]
    assert past["retries"] == 2 and past["exception_details"]["name"] == "ValueError"
    assert past["requeued_at"] == clock.now_ms()
    assert admin.requeue_dead_letters(backend, DeadLetterFilter()) == []


def test_requeue_skips_a_dead_letter_whose_uuid_is_queued_again(backend, clock) -> None:
    dead = _dead(backend, clock)
    backend.submit(dead.clone())
    assert admin.requeue_dead_letters(backend, DeadLetterFilter()) == []
    assert backend.exists(dlq_name(dead))


def test_purge_dead_letters_with_dry_run(backend, clock) -> None:
    keep = _dead(backend, clock, task="keep")
    drop = _dead(backend, clock)
    where = DeadLetterFilter(task="t")
    assert admin.purge_dead_letters(backend, where, dry_run=True) == [drop]
    assert backend.count_dead_letters("q") == 2
    assert admin.purge_dead_letters(backend, where) == [drop]
    assert [m.uuid for m in admin.dead_letters(backend, DeadLetterFilter())] == [keep.uuid]


def test_purge_queue_leaves_leased_messages_to_their_holder(backend, clock) -> None:
    for _ in range(2_500):
        backend.submit(Message("t", queue="q", created_at=clock.now_ms()))
    (held,) = backend.claim(["q"], limit=1, lease_ms=1_000).messages
    assert admin.purge_queue(backend, "q") == 2_499
    counts = backend.queue_counts("q")
    assert (counts.ready, counts.leased) == (0, 1)
    assert backend.ack(held) is True


def test_revoke_by_uuid(backend, clock) -> None:
    message = Message("t", queue="q", created_at=clock.now_ms())
    backend.submit(message)
    StatusTracker(backend).set(message, TaskStatus.SUBMITTED)
    found = admin.revoke(backend, message.uuid)
    assert found is not None and found.state == "ready"
    assert StatusTracker(backend).get(message) is TaskStatus.FAILED
    dead = admin.find_dead_letter(backend, message.uuid)
    assert dead is not None and dead.exception_details["name"] == "RevokedError"
    assert admin.revoke(backend, message.uuid).state == "dead"  # nothing more to do
    assert admin.revoke(backend, "nope") is None


def test_message_report_with_lineage_status_and_result(backend, clock) -> None:
    callback = Message("cb", queue="q", created_at=clock.now_ms())
    message = Message("t", queue="q", created_at=clock.now_ms(),
                      callback_message_data=callback.data)  # fmt: skip
    backend.submit(message)
    report = admin.message_report(backend, message.uuid)
    assert report is not None and report.state == "ready" and report.status is None
    assert report.callbacks == [(callback.uuid, None)]
    assert report.as_dict()["lineage"]["callbacks"] == [{"uuid": callback.uuid, "state": None}]
    backend.ack(message, effects=_result(message.uuid))
    gone = admin.message_report(backend, message.uuid)
    assert gone is not None and (gone.state, gone.message) == ("gone", None)
    assert gone.result is not None
    assert admin.message_report(backend, "nope") is None


def _result(uuid: str):
    from alsek.domain.model.effects import Effects, Write

    return Effects(writes=(Write(result_name(uuid), {"result": 3}),))


_names = st.sampled_from(["a", "b"])
_filters = st.builds(
    DeadLetterFilter,
    queue=st.none() | _names, task=st.none() | _names, exception=st.none() | _names,
    older_than_ms=st.none() | st.integers(0, 100), newer_than_ms=st.none() | st.integers(0, 100),
)  # fmt: skip


@given(_filters, _names, _names, _names, st.integers(0, 100))
def test_a_filter_matches_exactly_when_every_criterion_holds(where, queue, task, error, age):
    message = Message(task, queue=queue, created_at=0, updated_at=0,
                      exception_details={"name": error, "text": "", "traceback": None})  # fmt: skip
    expected = all([
        where.queue in (None, queue), where.task in (None, task), where.exception in (None, error),
        where.older_than_ms is None or age >= where.older_than_ms,
        where.newer_than_ms is None or age <= where.newer_than_ms,
    ])  # fmt: skip
    assert where.matches(message, age) is expected
    assert DeadLetterFilter().matches(message, age)


@given(st.integers(0, 5), st.integers(0, 10**6))
def test_requeued_keeps_every_past_life(lives: int, now: int) -> None:
    message = Message("t", queue="q", created_at=0, retries=3)
    for life in range(lives):
        message = requeued(message, now + life)
    history = (message.metadata or {}).get(HISTORY_KEY, [])
    assert len(history) == lives and message.retries == (3 if lives == 0 else 0)
    assert [h["requeued_at"] for h in history] == [now + i for i in range(lives)]
