"""The message queue contract: claims for some tasks only (task-specific pools, mechanisms)."""

from __future__ import annotations

import time

from alsek.domain.model.effects import NO_EFFECTS
from tests.contract.support import BOUND_S, LEASE, ContractBase, run_in_thread


class FilterContract(ContractBase):
    """``claim``/``ack_many_and_claim``/``wait_and_claim`` with ``tasks``."""

    def _mixed(self, backend, clock, pattern: str = "abab"):
        messages = [self.make(clock, task=f"task_{t}") for t in pattern]
        for message in messages:
            backend.submit(message)
        return messages

    def test_a_filtered_claim_takes_only_its_tasks_in_order(self, backend, clock):
        messages = self._mixed(backend, clock, "abbab")
        claim = backend.claim(["q"], limit=10, lease_ms=LEASE, tasks={"task_b"})
        assert [m.uuid for m in claim.messages] == [
            m.uuid for m in messages if m.task_name == "task_b"
        ]
        assert backend.depth("q") == 2  # the others stay ready, untouched
        assert self.uuids(backend) == [m.uuid for m in messages if m.task_name == "task_a"]

    def test_a_filtered_claim_respects_its_limit_and_priority(self, backend, clock):
        low = self.make(clock, task="task_b", priority=5)
        other = self.make(clock, task="task_a", priority=0)
        high = self.make(clock, task="task_b", priority=1)
        for message in (low, other, high):
            backend.submit(message)
        claim = backend.claim(["q"], limit=1, lease_ms=LEASE, tasks={"task_b"})
        assert [m.uuid for m in claim.messages] == [high.uuid]
        assert self.uuids(backend) == [other.uuid, low.uuid]

    def test_a_filtered_claim_finds_nothing_among_other_tasks(self, backend, clock):
        self._mixed(backend, clock, "aaa")
        assert backend.claim(["q"], limit=5, lease_ms=LEASE, tasks={"task_b"}).messages == []
        assert backend.depth("q") == 3

    def test_ack_many_and_claim_filters_its_claim(self, backend, clock):
        first, other, second = self._mixed(backend, clock, "bab")
        [claimed] = backend.claim(["q"], limit=1, lease_ms=LEASE, tasks={"task_b"}).messages
        assert claimed.uuid == first.uuid
        claim = backend.ack_many_and_claim(
            [(first, NO_EFFECTS)], queues=["q"], limit=5, lease_ms=LEASE, tasks={"task_b"}
        )
        assert [m.uuid for m in claim.messages] == [second.uuid]
        assert not backend.exists(f"queues:q:tasks:task_b:messages:{first.uuid}")
        assert self.uuids(backend) == [other.uuid]

    def test_wait_and_claim_wakes_for_its_own_task_only(self, backend, clock):
        started = time.monotonic()
        join = run_in_thread(
            lambda: backend.wait_and_claim(
                ["q"], timeout_ms=int(BOUND_S * 1000), limit=1, lease_ms=LEASE, tasks={"task_b"}
            )
        )
        backend.submit(self.make(clock, task="task_a"))
        mine = self.make(clock, task="task_b")
        backend.submit(mine)
        assert [m.uuid for m in join().messages] == [mine.uuid]
        assert time.monotonic() - started < BOUND_S
        assert backend.depth("q") == 1
