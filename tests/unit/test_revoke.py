"""Task.revoke and Task.is_revoked against InMemoryBackend."""

from __future__ import annotations

import pytest

from alsek import Broker, task
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.naming import REVOCATION_CHANNEL, revoked_name
from alsek.domain.model.status import TaskStatus
from alsek.domain.services.revocation import DEFAULT_REVOCATION_TTL_MS
from alsek.domain.services.status_tracker import StatusTracker
from tests.contract.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker(clock: FakeClock) -> Broker:
    return Broker(InMemoryBackend(clock=clock))


@pytest.fixture
def tracker(broker: Broker) -> StatusTracker:
    return StatusTracker(broker.backend)


def test_revoke_removes_marks_and_announces(broker: Broker, tracker: StatusTracker) -> None:
    @task(broker, status_tracker=tracker)
    def slow() -> None:
        return None

    message = slow.generate()
    with broker.backend.subscribe(REVOCATION_CHANNEL) as announcements:
        slow.revoke(message)
        assert announcements.get(1_000) == {"uuid": message.uuid, "interrupt": True}
    assert not broker.exists(message)
    assert broker.in_dlq(message)  # as any failure, whichever pool would have run it
    assert broker.sync_from_backend(message).exception_details["name"] == "RevokedError"
    assert tracker.get(message) is TaskStatus.FAILED
    assert slow.is_revoked(message)
    assert broker.backend.get(revoked_name(message.uuid))["uuid"] == message.uuid


def test_skip_if_running_leaves_a_running_message_alone(
    broker: Broker, tracker: StatusTracker
) -> None:
    @task(broker, status_tracker=tracker)
    def slow() -> None:
        return None

    message = slow.generate()
    broker.backend.claim(["alsek_queue"], limit=1, lease_ms=60_000)
    tracker.set(message, TaskStatus.RUNNING)
    slow.revoke(message, skip_if_running=True)  # Alsek 1.3.2: skipped entirely while running
    assert not slow.is_revoked(message) and broker.exists(message)
    assert tracker.get(message) is TaskStatus.RUNNING
    tracker.set(message, TaskStatus.RETRYING)
    slow.revoke(message, skip_if_running=True)  # not running any more: revoked
    assert slow.is_revoked(message) and not broker.exists(message)


def test_skip_if_running_needs_a_status_tracker(broker: Broker) -> None:
    @task(broker)
    def slow() -> None:
        return None

    with pytest.raises(AttributeError, match="status_tracker"):
        slow.revoke(slow.generate(), skip_if_running=True)


def test_a_finished_message_is_not_revoked(broker: Broker, tracker: StatusTracker) -> None:
    @task(broker, status_tracker=tracker)
    def quick() -> None:
        return None

    message = quick.generate()
    broker.backend.ack(message, effects=tracker.effects_for(message, TaskStatus.SUCCEEDED))
    quick.revoke(message)
    assert tracker.get(message) is TaskStatus.SUCCEEDED
    assert not quick.is_revoked(message)


def test_the_marker_expires(broker: Broker, clock: FakeClock) -> None:
    @task(broker)
    def job() -> None:
        return None

    message = job.generate()
    assert not job.is_revoked(message)
    job.revoke(message)
    clock.advance(DEFAULT_REVOCATION_TTL_MS)
    assert not job.is_revoked(message)
    assert not broker.backend.exists(revoked_name(message.uuid))
