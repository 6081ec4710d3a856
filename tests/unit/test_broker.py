"""The broker's operations on the in-memory backend."""

from __future__ import annotations

import pytest

from alsek import Broker, Message
from alsek.adapters.memory import InMemoryBackend
from alsek.domain.model.errors import MessageAlreadyExistsError, MessageDoesNotExistError


@pytest.fixture
def broker() -> Broker:
    return Broker(InMemoryBackend())


def test_submit_exists_remove(broker: Broker) -> None:
    message = Message("job")
    broker.submit(message)
    assert broker.exists(message)
    with pytest.raises(MessageAlreadyExistsError):
        broker.submit(message)
    broker.remove(message)
    assert not broker.exists(message)


def test_ack_is_remove(broker: Broker) -> None:
    message = Message("job")
    broker.submit(message)
    broker.ack(message)
    assert not broker.exists(message)


def test_retry_counts_and_reschedules(broker: Broker) -> None:
    message = Message("job")
    broker.submit(message)
    broker.retry(message)
    assert message.retries == 1
    assert broker.sync_from_backend(message).retries == 1
    assert message.ready_at == message.updated_at + message.backoff_duration()


def test_retry_of_a_missing_message_raises_and_leaves_it_unchanged(broker: Broker) -> None:
    message = Message("job")
    with pytest.raises(MessageDoesNotExistError):
        broker.retry(message)
    assert message.retries == 0


def test_fail_moves_to_the_dead_letter_queue(broker: Broker) -> None:
    message = Message("job")
    broker.submit(message)
    broker.fail(message)
    assert not broker.exists(message)
    assert broker.in_dlq(message)
    assert [m.uuid for m in broker.dead_letters()] == [message.uuid]
    again = broker.resubmit_dead_letter(message)
    assert broker.exists(again) and not broker.in_dlq(message)


def test_fail_without_a_dead_letter_queue(broker: Broker) -> None:
    broker = Broker(broker.backend, dlq_ttl=None)
    message = Message("job")
    broker.submit(message)
    broker.fail(message)
    assert not broker.exists(message) and not broker.in_dlq(message)


def test_sync_from_backend_of_an_unknown_message_raises(broker: Broker) -> None:
    with pytest.raises(MessageDoesNotExistError):
        broker.sync_from_backend(Message("job"))
