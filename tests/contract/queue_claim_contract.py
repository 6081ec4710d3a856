"""The message queue contract: submit, claim, leases and their order."""

from __future__ import annotations

import pytest

from alsek.domain.model.errors import (
    ValidationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.domain.model.priority import PRIORITY_MAX, PRIORITY_MIN
from alsek.ports.queue import Claim
from tests.contract.support import LEASE, ContractBase, run_in_thread


class ClaimContract(ContractBase):
    """Submitting and claiming: readiness, order, leases."""

    # == submit and claim =========================================================================

    def test_submit_stores_the_body_under_the_message_name(self, backend, clock):
        message = self.make(clock, args=(1, 2), kwargs={"a": [1]}, metadata={"m": 1})
        backend.submit(message)
        name = message_name(message)
        assert backend.exists(name)
        assert Message.from_data(backend.get(name)) == message
        assert backend.count(f"queues:{message.queue}") == 1
        assert name in set(backend.scan("queues:"))
        assert backend.depth("q") == 1

    def test_claim_returns_a_ready_message_intact(self, backend, clock):
        message = self.make(clock, args=(1, "x"), kwargs={"k": {"n": None}}, priority=3)
        backend.submit(message)
        claim = self.claim(backend)
        assert claim.messages == [message]
        assert claim.corrupt == []

    def test_delayed_message_waits_until_ready_at(self, backend, clock):
        message = self.make(clock, delay=5_000)
        backend.submit(message)
        claim = self.claim(backend)
        assert claim.messages == []
        assert claim.next_due_ms == message.ready_at
        assert backend.depth("q") == 1
        clock.advance(4_999)
        assert self.uuids(backend) == []
        clock.advance(1)
        assert self.uuids(backend) == [message.uuid]

    def test_lower_priority_first_then_submission_order(self, backend, clock):
        messages = [self.make(clock, priority=p) for p in (2, 0, 1, 0, 2, -1, 1)]
        for message in messages:
            backend.submit(message)
        expected = [
            m.uuid for _, _, m in sorted((m.priority, i, m) for i, m in enumerate(messages))
        ]
        assert self.uuids(backend) == expected

    def test_equal_priorities_stay_fifo_across_many_messages(self, backend, clock):
        messages = [self.make(clock) for _ in range(50)]
        for message in messages:
            backend.submit(message)
        assert self.uuids(backend) == [m.uuid for m in messages]

    def test_priority_extremes_keep_their_order(self, backend, clock):
        low, mid, high = (self.make(clock, priority=p) for p in (PRIORITY_MAX, 0, PRIORITY_MIN))
        for message in (low, mid, high):
            backend.submit(message)
        assert self.uuids(backend) == [high.uuid, mid.uuid, low.uuid]

    def test_a_due_delayed_message_competes_by_priority(self, backend, clock):
        delayed = self.make(clock, priority=0, delay=1_000)
        ready = self.make(clock, priority=1)
        backend.submit(delayed)
        backend.submit(ready)
        clock.advance(1_000)
        assert self.uuids(backend) == [delayed.uuid, ready.uuid]

    def test_claim_takes_at_most_limit(self, backend, clock):
        messages = [self.make(clock) for _ in range(5)]
        for message in messages:
            backend.submit(message)
        assert self.uuids(backend, limit=2) == [m.uuid for m in messages[:2]]
        assert self.uuids(backend, limit=2) == [m.uuid for m in messages[2:4]]
        assert self.uuids(backend, limit=2) == [messages[4].uuid]
        assert self.uuids(backend, limit=2) == []

    def test_claim_takes_queues_in_the_order_given(self, backend, clock):
        a = [self.make(clock, queue="q_a", priority=-5) for _ in range(2)]
        b = [self.make(clock, queue="q_b", priority=5) for _ in range(2)]
        for message in a + b:
            backend.submit(message)
        got = self.uuids(backend, "q_b", "q_a", limit=3)
        assert got == [b[0].uuid, b[1].uuid, a[0].uuid]

    def test_claim_of_unknown_queues_is_empty(self, backend):
        claim = backend.claim(["never_used"], limit=5, lease_ms=LEASE)
        assert claim == Claim(messages=[], corrupt=[], next_due_ms=None)

    def test_a_claimed_message_is_invisible_to_other_claims(self, backend, clock):
        first, second = self.make(clock), self.make(clock)
        backend.submit(first)
        backend.submit(second)
        assert self.uuids(backend, limit=1) == [first.uuid]
        assert self.uuids(backend) == [second.uuid]
        assert self.uuids(backend) == []
        assert backend.exists(message_name(first))

    def test_an_expired_lease_returns_the_message(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        assert self.uuids(backend) == [message.uuid]
        clock.advance(LEASE - 1)
        assert self.uuids(backend) == []
        clock.advance(1)
        assert self.uuids(backend) == [message.uuid]

    def test_a_redelivered_message_keeps_its_priority(self, backend, clock):
        urgent, later = self.make(clock, priority=0), self.make(clock, priority=1)
        backend.submit(urgent)
        assert self.uuids(backend) == [urgent.uuid]
        backend.submit(later)
        clock.advance(LEASE)
        assert self.uuids(backend) == [urgent.uuid, later.uuid]

    def test_next_due_ms_is_the_earliest_delay_or_lease(self, backend, clock):
        start = clock.now_ms()
        backend.submit(self.make(clock, delay=5 * LEASE))
        backend.submit(self.make(clock))
        claim = self.claim(backend)
        assert len(claim.messages) == 1
        assert claim.next_due_ms == start + LEASE
        other = self.claim(backend, "q_other")
        assert other.next_due_ms is None

    def test_extend_keeps_a_lease(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        assert self.uuids(backend) == [message.uuid]
        clock.advance(LEASE - 100)
        assert backend.extend([message], lease_ms=LEASE) == []
        clock.advance(LEASE - 1)  # past the first lease, not the renewed one
        assert self.uuids(backend) == []
        clock.advance(1)
        assert self.uuids(backend) == [message.uuid]

    def test_extend_reports_messages_that_are_not_leased(self, backend, clock):
        kept, acked, removed, released, ready, unknown = (self.make(clock) for _ in range(6))
        for message in (kept, acked, removed, released):
            backend.submit(message)
        assert len(self.claim(backend).messages) == 4
        backend.submit(ready)
        backend.ack(acked)
        backend.remove(removed)
        backend.release([released])
        batch = [kept, acked, removed, released, ready, unknown]
        lost = backend.extend(batch, lease_ms=LEASE)
        assert {m.uuid for m in lost} == {m.uuid for m in batch[1:]}
        assert {m.uuid for m in self.claim(backend).messages} == {released.uuid, ready.uuid}

    def test_extend_renews_an_expired_lease_nobody_reclaimed(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        clock.advance(LEASE + 5)
        assert backend.extend([message], lease_ms=LEASE) == []
        assert self.uuids(backend) == []

    def test_a_redelivered_message_keeps_its_place_among_equals(self, backend, clock):
        first, second, third = (self.make(clock) for _ in range(3))
        backend.submit(first)
        backend.submit(second)
        assert self.uuids(backend, limit=1) == [first.uuid]
        backend.submit(third)
        backend.release([first])
        assert self.uuids(backend) == [first.uuid, second.uuid, third.uuid]
        clock.advance(LEASE)  # every lease lapses: back in their original order
        assert self.uuids(backend) == [first.uuid, second.uuid, third.uuid]

    def test_a_delayed_message_keeps_its_submission_place(self, backend, clock):
        delayed = self.make(clock, delay=500)
        backend.submit(delayed)
        later = self.make(clock)
        backend.submit(later)
        clock.advance(500)
        assert self.uuids(backend) == [delayed.uuid, later.uuid]

    def test_claim_with_limit_zero_only_promotes(self, backend, clock):
        message = self.make(clock, delay=10)
        backend.submit(message)
        clock.advance(10)
        claim = backend.claim(["q"], limit=0, lease_ms=LEASE)
        assert claim.messages == [] and claim.next_due_ms is None
        assert backend.depth("q") == 1
        assert self.uuids(backend) == [message.uuid]

    @pytest.mark.parametrize(
        ("limit", "lease_ms"),
        [(-1, LEASE), (1.5, LEASE), ("1", LEASE), (True, LEASE), (1, 0), (1, -5), (1, 1.5),
         (1, True)],
    )  # fmt: skip
    def test_invalid_claim_arguments_raise_and_change_nothing(
        self, backend, clock, limit, lease_ms
    ):
        message = self.make(clock)
        backend.submit(message)
        with pytest.raises(ValidationError):
            backend.claim(["q"], limit=limit, lease_ms=lease_ms)
        with pytest.raises(ValidationError):
            backend.ack_many_and_claim([], queues=["q"], limit=limit, lease_ms=lease_ms)
        with pytest.raises(ValidationError):
            backend.wait_and_claim(["q"], timeout_ms=0, limit=limit, lease_ms=lease_ms)
        assert backend.depth("q") == 1
        assert self.uuids(backend) == [message.uuid]

    @pytest.mark.parametrize("lease_ms", [0, -5, 1.5, True])
    def test_an_invalid_lease_is_not_extended(self, backend, clock, lease_ms):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        with pytest.raises(ValidationError):
            backend.extend([message], lease_ms=lease_ms)
        clock.advance(LEASE)
        assert self.uuids(backend) == [message.uuid]  # the lease was not changed

    def test_concurrent_claims_lease_each_message_once(self, backend, clock):
        messages = [self.make(clock) for _ in range(120)]
        for message in messages:
            backend.submit(message)

        def consume() -> list[str]:
            got: list[str] = []
            while batch := self.uuids(backend, limit=3):
                got.extend(batch)
            return got

        joins = [run_in_thread(consume) for _ in range(6)]
        claimed = [uuid for join in joins for uuid in join()]
        assert sorted(claimed) == sorted(m.uuid for m in messages)

    def test_concurrent_submits_are_all_indexed(self, backend, clock):
        messages = [self.make(clock, priority=i % 3) for i in range(120)]
        joins = [
            run_in_thread(lambda part=part: [backend.submit(m) for m in part])
            for part in (messages[i::4] for i in range(4))
        ]
        for join in joins:
            join()
        assert backend.depth("q") == len(messages)
        assert sorted(self.uuids(backend, limit=1_000)) == sorted(m.uuid for m in messages)
