"""The message queue contract: waiting for work without polling."""

from __future__ import annotations

import time

from alsek.domain.model.effects import Effects
from tests.contract.support import BOUND_S, LEASE, ContractBase, run_in_thread


class WaitContract(ContractBase):
    """``wait_for_work`` and ``wait_and_claim``."""

    # == wait_for_work ============================================================================

    def test_wait_for_work_times_out_without_work(self, backend):
        started = time.monotonic()
        assert backend.wait_for_work(["q"], 50) is False
        assert 0.04 <= time.monotonic() - started < BOUND_S

    def test_wait_for_work_returns_at_once_when_work_is_ready(self, backend, clock):
        backend.submit(self.make(clock))
        started = time.monotonic()
        assert backend.wait_for_work(["q"], int(BOUND_S * 1000)) is True
        assert time.monotonic() - started < BOUND_S / 2

    def test_wait_for_work_wakes_on_submit(self, backend, clock):
        started = time.monotonic()
        join = run_in_thread(lambda: backend.wait_for_work(["q_x", "q"], int(BOUND_S * 2000)))
        backend.submit(self.make(clock))
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_wakes_on_release(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        started = time.monotonic()
        join = run_in_thread(lambda: backend.wait_for_work(["q"], int(BOUND_S * 2000)))
        backend.release([message])
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_wakes_on_a_callback_submitted_by_ack(self, backend, clock):
        message, callback = self.make(clock), self.make(clock, "callback", queue="q_cb")
        backend.submit(message)
        self.claim(backend)
        started = time.monotonic()
        join = run_in_thread(lambda: backend.wait_for_work(["q_cb"], int(BOUND_S * 2000)))
        backend.ack(message, effects=Effects(submits=[callback]))
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_ignores_other_queues(self, backend, clock):
        join = run_in_thread(lambda: backend.wait_for_work(["q"], 300))
        backend.submit(self.make(clock, queue="q_other"))
        assert join() is False

    def test_wait_for_work_counts_due_delayed_and_expired_leases(self, backend, clock):
        backend.submit(self.make(clock, delay=100))
        assert backend.wait_for_work(["q"], 0) is False
        clock.advance(100)
        assert backend.wait_for_work(["q"], 0) is True
        self.claim(backend)
        assert backend.wait_for_work(["q"], 0) is False
        clock.advance(LEASE)
        assert backend.wait_for_work(["q"], 0) is True

    # == wait_and_claim ===========================================================================

    def test_wait_and_claim_takes_a_message_submitted_during_the_wait(self, backend, clock):
        message = self.make(clock)
        started = time.monotonic()
        join = run_in_thread(
            lambda: backend.wait_and_claim(
                ["q_x", "q"], timeout_ms=int(BOUND_S * 2000), limit=2, lease_ms=LEASE
            )
        )
        backend.submit(message)
        claim = join()
        assert claim.messages == [message]
        assert time.monotonic() - started < BOUND_S
        assert backend.extend([message], lease_ms=LEASE) == []  # leased to the waiter

    def test_wait_and_claim_returns_ready_work_at_once(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        started = time.monotonic()
        claim = backend.wait_and_claim(
            ["q"], timeout_ms=int(BOUND_S * 2000), limit=1, lease_ms=LEASE
        )
        assert claim.messages == [message]
        assert time.monotonic() - started < BOUND_S

    def test_wait_and_claim_times_out_empty_and_never_takes_work_early(self, backend, clock):
        delayed = self.make(clock, delay=60_000)
        backend.submit(delayed)
        started = time.monotonic()
        claim = backend.wait_and_claim(["q"], timeout_ms=50, limit=1, lease_ms=LEASE)
        assert claim.messages == []
        assert 0.04 <= time.monotonic() - started < BOUND_S
        assert backend.depth("q") == 1
