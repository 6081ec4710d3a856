"""The message queue contract: every lease has an owner (issue 15.6).

A stalled holder whose lease lapsed while another consumer took the message must not hurt the
new holder: its ``extend``, ``release``, ``ack``, ``retry`` and ``fail`` change nothing and say
so. Before owner tokens, a stale holder's release let a third consumer run the message while
the second still ran it, and a stale ack or fail dropped the new holder's run.
"""

from __future__ import annotations

import pytest

from alsek.domain.model.backoff import ConstantBackoff
from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.errors import LeaseLostError
from alsek.domain.model.naming import dlq_name, message_name
from tests.contract.support import LEASE, ContractBase


class OwnerContract(ContractBase):
    """Leases have owners; only the holder of a lease acts on it."""

    def _taken_over(self, backend, clock, **fields):
        """A message claimed by ``stale``, whose lease lapsed, then claimed by ``holder``."""
        backend.submit(self.make(clock, **fields))
        [stale] = self.claim(backend).messages
        clock.advance(LEASE)
        [holder] = self.claim(backend).messages
        return stale, holder

    def test_each_claim_sets_an_owner_token_not_kept_in_copies(self, backend, clock):
        backend.submit(self.make(clock))
        [message] = self.claim(backend).messages
        assert message.lease_token
        clock.advance(LEASE)
        [again] = self.claim(backend).messages
        assert again.lease_token and again.lease_token != message.lease_token
        assert message.clone().lease_token is None
        assert message.clone() == message  # the token is no part of equality or data
        assert "lease_token" not in message.data

    def test_a_stale_release_leaves_the_new_holders_lease_alone(self, backend, clock):
        stale, holder = self._taken_over(backend, clock)
        not_released = backend.release([stale])
        assert self.claim(backend).messages == [], "a third consumer must not get it"
        assert not_released == [stale]
        assert backend.extend([holder], lease_ms=LEASE) == []
        assert backend.release([holder]) == []
        assert self.uuids(backend) == [holder.uuid]

    def test_a_stale_ack_changes_nothing(self, backend, clock):
        stale, holder = self._taken_over(backend, clock)
        with pytest.raises(LeaseLostError):
            backend.ack(stale, effects=Effects(writes=[Write("results:stale", 1)]))
        assert backend.exists(message_name(holder))
        assert not backend.exists("results:stale"), "a stale ack's effects are skipped"
        assert backend.ack(holder) is True
        assert not backend.exists(message_name(holder))

    def test_a_stale_retry_or_fail_changes_nothing(self, backend, clock):
        stale, holder = self._taken_over(backend, clock, backoff_settings=ConstantBackoff(
            constant=5_000, floor=0).settings)  # fmt: skip
        retried = stale.clone().increment_retries(clock.now_ms())
        retried.lease_token = stale.lease_token
        with pytest.raises(LeaseLostError):
            backend.retry(retried)
        with pytest.raises(LeaseLostError):
            backend.fail(stale, dlq_ttl=60_000)
        assert not backend.exists(dlq_name(holder))
        assert backend.extend([holder], lease_ms=LEASE) == [], "still the holder's lease"
        backend.fail(holder, dlq_ttl=60_000)
        assert backend.exists(dlq_name(holder))

    def test_a_stale_heartbeat_is_lost_and_does_not_renew(self, backend, clock):
        stale, holder = self._taken_over(backend, clock)
        assert backend.extend([stale], lease_ms=10 * LEASE) == [stale]
        clock.advance(LEASE)  # the holder's lease ran its course: the stale beat renewed nothing
        assert [m.uuid for m in self.claim(backend).messages] == [holder.uuid]

    def test_stale_acks_in_a_batch_are_reported_lost(self, backend, clock):
        stale, holder = self._taken_over(backend, clock)
        other = self.make(clock)
        backend.submit(other)
        [mine] = self.claim(backend).messages
        claim = backend.ack_many_and_claim(
            [(stale, Effects()), (mine, Effects())], queues=["q"], limit=1, lease_ms=LEASE
        )
        assert claim.lost == [stale]
        assert backend.exists(message_name(holder))
        assert not backend.exists(message_name(other))

    def test_a_holder_whose_lease_lapsed_untaken_may_still_settle(self, backend, clock):
        backend.submit(self.make(clock))
        [late] = self.claim(backend).messages
        clock.advance(2 * LEASE)  # lapsed, but nobody claimed it since
        assert backend.ack(late) is True
        assert self.claim(backend).messages == []

    def test_a_message_without_token_is_an_administrators(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        assert message.lease_token is None
        assert backend.extend([message], lease_ms=LEASE) == []
        assert backend.release([message]) == []
        assert backend.remove(message) is True

    def test_a_release_with_a_delay_waits_then_keeps_its_place(self, backend, clock):
        first = self.make(clock)
        backend.submit(first)
        [held] = self.claim(backend).messages
        assert backend.release([held], delay_ms=2_000) == []
        claim = self.claim(backend)
        assert claim.messages == []
        assert claim.next_due_ms == clock.now_ms() + 2_000
        second = self.make(clock)
        backend.submit(second)
        clock.advance(2_000)
        assert self.uuids(backend) == [first.uuid, second.uuid]
