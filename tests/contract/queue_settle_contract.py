"""The message queue contract: ack, retry, fail and the dead letter queue."""

from __future__ import annotations

import logging

import pytest

from alsek.domain.model.backoff import NO_BACKOFF, ConstantBackoff
from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.errors import (
    MessageDoesNotExistError,
    SerializationError,
    ValidationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name, message_name
from alsek.ports.queue import Claim
from tests.contract.support import BOUND_S, LEASE, TTL, ContractBase


class SettleContract(ContractBase):
    """Ending a lease: ack, retry, fail, each with its effects."""

    # == ack ======================================================================================

    def test_ack_drops_body_index_and_lease(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        assert backend.ack(message) is True
        assert not backend.exists(message_name(message))
        assert backend.count("queues:q") == 0
        assert backend.depth("q") == 0
        clock.advance(LEASE)
        assert self.claim(backend) == Claim(messages=[], corrupt=[], next_due_ms=None)

    def test_ack_of_a_message_not_claimed_still_finishes_it(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        assert backend.ack(message) is True
        assert self.uuids(backend) == []

    def test_ack_of_an_unknown_message_returns_false_and_applies_effects(self, backend, clock):
        message = self.make(clock)
        effects = Effects(writes=[Write("results:x", 1)])
        assert backend.ack(message, effects=effects) is False
        assert backend.get("results:x") == 1
        assert backend.ack(message) is False

    def test_ack_applies_effects(self, backend, clock):
        message, callback = self.make(clock), self.make(clock, "callback", queue="q_cb")
        backend.submit(message)
        self.claim(backend)
        backend.set("status:old", "x")
        effects = Effects(
            writes=[Write("results:r", {"v": [1, 2]}), Write("results:short", 1, ttl_ms=TTL)],
            deletes=["status:old", "status:never_existed"],
            publishes=[Publish("channel:done", {"uuid": message.uuid})],
            submits=[callback],
        )
        with backend.subscribe("channel:done") as subscription:
            assert backend.ack(message, effects=effects) is True
            assert subscription.get(int(BOUND_S * 1000)) == {"uuid": message.uuid}
        assert backend.get("results:r") == {"v": [1, 2]}
        assert backend.get("results:short") == 1
        assert not backend.exists("status:old")
        assert self.claim(backend, "q_cb").messages == [callback]
        self.let_ttl_elapse(clock, TTL)
        assert not backend.exists("results:short")
        assert backend.exists("results:r")

    def test_effects_are_all_or_nothing(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        backend.set("status:s", 1)
        callback = self.make(clock, "callback")
        effects = Effects(
            writes=[Write("results:ok", 1), Write("results:bad", object())],
            deletes=["status:s"],
            submits=[callback],
        )
        with pytest.raises(SerializationError):
            backend.ack(message, effects=effects)
        assert backend.exists(message_name(message))
        assert backend.extend([message], lease_ms=LEASE) == []  # still leased
        assert not backend.exists("results:ok")
        assert backend.get("status:s") == 1
        assert not backend.exists(message_name(callback))

    def test_an_effect_submit_of_a_stored_message_is_skipped(self, backend, clock):
        message, callback = self.make(clock), self.make(clock, "callback", queue="q_cb")
        backend.submit(message)
        backend.submit(callback)
        self.claim(backend)
        assert backend.ack(message, effects=Effects(submits=[callback])) is True
        assert self.claim(backend, "q_cb").messages == [callback]
        assert backend.depth("q_cb") == 0

    def test_ack_many_and_claim_of_one_finishes_it_and_leases_the_next(self, backend, clock):
        first, second = self.make(clock), self.make(clock)
        backend.submit(first)
        backend.submit(second)
        self.claim(backend, limit=1)
        claim = backend.ack_many_and_claim(
            [(first, Effects(writes=[Write("results:first", 1)]))],
            queues=["q"],
            limit=5,
            lease_ms=LEASE,
        )
        assert claim.messages == [second]
        assert not backend.exists(message_name(first))
        assert backend.get("results:first") == 1

    def test_ack_many_and_claim_finishes_each_with_its_effects(self, backend, clock):
        messages = [self.make(clock) for _ in range(4)]
        other_queue = self.make(clock, queue="q_other")
        for message in [*messages, other_queue]:
            backend.submit(message)
        self.claim(backend, limit=3)
        self.claim(backend, "q_other")
        acks = [(m, Effects(writes=[Write(f"results:{i}", i)])) for i, m in enumerate(messages[:3])]
        acks.append((other_queue, NO_EFFECTS))
        claim = backend.ack_many_and_claim(acks, queues=["q"], limit=5, lease_ms=LEASE)
        assert claim.messages == [messages[3]]
        for index, message in enumerate(messages[:3]):
            assert not backend.exists(message_name(message))
            assert backend.get(f"results:{index}") == index
        assert not backend.exists(message_name(other_queue))
        assert backend.depth("q_other") == 0

    def test_ack_many_and_claim_finishes_messages_leased_or_not(self, backend, clock):
        lapsed, waiting = self.make(clock), self.make(clock)
        delayed = self.make(clock, delay=60_000)
        for message in (lapsed, waiting, delayed):
            backend.submit(message)
        self.claim(backend, limit=1)  # lapsed: its lease runs out, nothing has put it back yet
        clock.advance(LEASE + 1)
        acks = [(m, NO_EFFECTS) for m in (lapsed, waiting, delayed)]
        claim = backend.ack_many_and_claim(acks, queues=["q"], limit=5, lease_ms=LEASE)
        assert claim.messages == []
        for message in (lapsed, waiting, delayed):
            assert not backend.exists(message_name(message))
        assert backend.depth("q") == 0
        clock.advance(120_000)
        assert self.claim(backend, limit=5).messages == []

    def test_ack_many_and_claim_with_an_unencodable_effect_applies_nothing(self, backend, clock):
        first, second = self.make(clock), self.make(clock)
        backend.submit(first)
        backend.submit(second)
        self.claim(backend, limit=2)
        acks = [
            (first, Effects(writes=[Write("results:first", 1)])),
            (second, Effects(writes=[Write("results:second", object())])),
        ]
        with pytest.raises(SerializationError):
            backend.ack_many_and_claim(acks, queues=["q"], limit=1, lease_ms=LEASE)
        assert backend.exists(message_name(first)) and backend.exists(message_name(second))
        assert not backend.exists("results:first")
        assert backend.extend([first, second], lease_ms=LEASE) == []

    # == retry ====================================================================================

    def test_retry_reindexes_the_message_delayed_by_its_backoff(self, backend, clock):
        backoff = ConstantBackoff(constant=5_000, floor=0, ceiling=None)
        message = self.make(clock, backoff_settings=backoff.settings)
        backend.submit(message)
        (claimed,) = self.claim(backend).messages
        claimed.increment_retries(clock.now_ms())
        claimed.exception_details = {"name": "ValueError", "text": "boom", "traceback": "tb"}
        backend.retry(claimed)
        assert backend.depth("q") == 1
        assert Message.from_data(backend.get(message_name(message))) == claimed
        claim = self.claim(backend)
        assert claim.messages == []
        assert claim.next_due_ms == claimed.ready_at == clock.now_ms() + 5_000
        clock.advance(5_000)
        (again,) = self.claim(backend).messages
        assert again == claimed
        assert again.retries == 1

    def test_retry_without_backoff_is_claimable_at_once(self, backend, clock):
        message = self.make(clock, backoff_settings=NO_BACKOFF.settings)
        backend.submit(message)
        (claimed,) = self.claim(backend).messages
        backend.retry(claimed.increment_retries(clock.now_ms()))
        assert [m.retries for m in self.claim(backend).messages] == [1]

    def test_retry_applies_effects(self, backend, clock):
        message = self.make(clock, backoff_settings=NO_BACKOFF.settings)
        backend.submit(message)
        self.claim(backend)
        message.increment_retries(clock.now_ms())
        backend.retry(message, effects=Effects(writes=[Write("status:s", 3)]))
        assert backend.get("status:s") == 3

    def test_retry_of_a_missing_message_raises_and_writes_nothing(self, backend, clock):
        message = self.make(clock)
        effects = Effects(writes=[Write("status:s", 3)])
        with pytest.raises(MessageDoesNotExistError):
            backend.retry(message.increment_retries(clock.now_ms()), effects=effects)
        assert not backend.exists(message_name(message))
        assert not backend.exists("status:s")
        assert backend.depth("q") == 0
        assert self.uuids(backend) == []

    def test_retry_after_ack_raises(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        backend.ack(message)
        with pytest.raises(MessageDoesNotExistError):
            backend.retry(message.increment_retries(clock.now_ms()))
        assert self.uuids(backend) == []

    def test_retry_with_unencodable_message_changes_nothing(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        message.increment_retries(clock.now_ms())
        message.metadata = {"bad": object()}
        with pytest.raises(SerializationError):
            backend.retry(message)
        assert backend.get(message_name(message))["retries"] == 0
        assert backend.extend([message], lease_ms=LEASE) == []

    # == fail and the dead letter queue ===========================================================

    def test_fail_keeps_a_dead_letter_for_dlq_ttl(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        (claimed,) = self.claim(backend).messages
        claimed.exception_details = {"name": "KeyError", "text": "'k'", "traceback": "..."}
        backend.fail(claimed, dlq_ttl=TTL)
        assert not backend.exists(message_name(message))
        assert backend.depth("q") == 0
        assert backend.exists(dlq_name(message))
        assert list(backend.dead_letters("q")) == [claimed]
        assert list(backend.dead_letters()) == [claimed]
        clock.advance(LEASE)
        assert self.uuids(backend) == []
        self.let_ttl_elapse(clock, TTL)
        assert not backend.exists(dlq_name(message))
        assert list(backend.dead_letters("q")) == []

    @pytest.mark.parametrize("dlq_ttl", [None, 0])
    def test_fail_without_dlq_keeps_nothing(self, backend, clock, dlq_ttl):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        backend.fail(message, dlq_ttl=dlq_ttl)
        assert not backend.exists(message_name(message))
        assert not backend.exists(dlq_name(message))
        assert list(backend.dead_letters()) == []
        clock.advance(LEASE)
        assert self.uuids(backend) == []

    def test_fail_applies_effects(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        backend.fail(message, dlq_ttl=None, effects=Effects(writes=[Write("status:s", 4)]))
        assert backend.get("status:s") == 4

    def test_fail_writes_and_announces_a_failure_record(self, backend, clock):
        # As a result store's failure effects: keys of other slots than the queue's, a ttl,
        # and a notification that wakes whoever waits for the result.
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        record = {"exception": {"name": "ValueError", "text": "boom"}, "uuid": message.uuid}
        effects = Effects(
            writes=[Write(f"failures:{message.uuid}", record, ttl_ms=TTL)],
            publishes=[Publish(f"results:{message.uuid}", {"uuid": message.uuid})],
        )
        with backend.subscribe(f"results:{message.uuid}") as subscription:
            backend.fail(message, dlq_ttl=60_000, effects=effects)
            assert subscription.get(int(BOUND_S * 1000)) == {"uuid": message.uuid}
        assert backend.get(f"failures:{message.uuid}") == record
        self.let_ttl_elapse(clock, TTL)
        assert not backend.exists(f"failures:{message.uuid}")

    def test_dead_letters_by_queue(self, backend, clock):
        # "q" is a prefix of "q2": the dead letters of one must not show in the other's.
        one, two = self.make(clock, queue="q"), self.make(clock, queue="q2")
        for message in (one, two):
            backend.submit(message)
            backend.fail(message, dlq_ttl=60_000)
        assert [m.uuid for m in backend.dead_letters("q")] == [one.uuid]
        assert [m.uuid for m in backend.dead_letters("q2")] == [two.uuid]
        assert {m.uuid for m in backend.dead_letters()} == {one.uuid, two.uuid}
        assert list(backend.dead_letters("q3")) == []

    def test_a_retried_message_goes_behind_its_equals(self, backend, clock):
        first = self.make(clock, backoff_settings=NO_BACKOFF.settings)
        second = self.make(clock)
        backend.submit(first)
        backend.submit(second)
        assert self.uuids(backend, limit=1) == [first.uuid]
        backend.retry(first.increment_retries(clock.now_ms()))
        assert self.uuids(backend) == [second.uuid, first.uuid]

    @pytest.mark.parametrize("ttl", [-1, 1.5, True, "5"])
    def test_invalid_ttls_in_queue_operations_raise_before_writing(self, backend, clock, ttl):
        message = self.make(clock)
        backend.submit(message)
        write = Effects(writes=[Write("results:w", 1, ttl_ms=ttl)])
        with pytest.raises(ValidationError):
            backend.ack(message, effects=write)
        with pytest.raises(ValidationError):
            backend.apply(write)
        with pytest.raises(ValidationError):
            backend.fail(message, dlq_ttl=ttl)
        assert not backend.exists("results:w")
        assert list(backend.dead_letters()) == []
        assert self.uuids(backend) == [message.uuid]

    def test_dead_letters_skip_unreadable_entries_with_a_warning(self, backend, clock, caplog):
        self.write_raw(backend, "dtq:queues:q:tasks:t:messages:x", b"{oops")
        good = self.make(clock)
        backend.fail(good, dlq_ttl=60_000)
        with caplog.at_level(logging.WARNING, logger="alsek"):
            assert list(backend.dead_letters("q")) == [good]
        assert any("dtq:queues:q:tasks:t:messages:x" in r.getMessage() for r in caplog.records)
