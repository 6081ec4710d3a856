"""The message queue checked against a plain model with random operations (Hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from alsek.domain.model.backoff import ConstantBackoff
from alsek.domain.model.errors import (
    MessageDoesNotExistError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING
from tests.contract.support import LEASE, ContractBase


class ModelContract(ContractBase):
    """Random queue operations agree with a model."""

    # == random operations against a model ========================================================

    def test_random_operations_match_the_model(self, backend, clock):
        run_state_machine_as_test(
            lambda: _QueueMachine(backend, clock),
            settings=settings(max_examples=50, stateful_step_count=40, deadline=None),
        )


class _QueueMachine(RuleBasedStateMachine):
    """Random queue operations on one queue, checked against a plain model.

    The model pins only what the port documents: which messages are claimable, that a claim
    takes the best priorities first, ``next_due_ms``, ``depth`` right after a claim, and what
    ack/remove/retry/extend report. FIFO among equals is checked by the example tests.
    """

    def __init__(self, backend: Backend, clock: Any) -> None:
        super().__init__()
        self.backend, self.clock = backend, clock
        backend.clear_namespace()
        self.known: dict[str, Message] = {}
        self.state: dict[str, tuple[str, int]] = {}  # uuid -> (ready|delayed|leased, due at)

    def _pick(self, data: st.DataObject) -> Message:
        """Mostly a leased message (where the interesting cases are), else any known one."""
        leased = sorted(u for u, (state, _) in self.state.items() if state == "leased")
        pool = leased if leased and data.draw(st.integers(0, 3)) else sorted(self.known)
        return self.known[data.draw(st.sampled_from(pool))]

    def _promote(self, now: int) -> None:
        for uuid, (state, due) in list(self.state.items()):
            if state != "ready" and due <= now:
                self.state[uuid] = ("ready", 0)

    @rule(priority=st.integers(-1, 1), delay=st.sampled_from([0, 500, 1_500]))
    def submit(self, priority: int, delay: int) -> None:
        message = Message(
            "task", queue="q", priority=priority, delay=delay, created_at=self.clock.now_ms(),
            uuid=f"m-{len(self.known):05d}",  # deterministic, so Hypothesis can replay a case
            backoff_settings=ConstantBackoff(constant=700, floor=0, ceiling=None).settings,
        )  # fmt: skip
        self.backend.submit(message)
        self.known[message.uuid] = message
        self.state[message.uuid] = ("delayed", message.ready_at) if delay else ("ready", 0)

    @rule(limit=st.integers(1, 3))
    def claim(self, limit: int) -> None:
        now = self.clock.now_ms()
        self._promote(now)
        ready = sorted(self.known[u].priority for u, (s, _) in self.state.items() if s == "ready")
        claim = self.backend.claim(["q"], limit=limit, lease_ms=LEASE)
        assert claim.corrupt == []
        assert len(claim.messages) == min(limit, len(ready))
        assert sorted(m.priority for m in claim.messages) == ready[: len(claim.messages)]
        for message in claim.messages:
            assert self.state[message.uuid][0] == "ready"
            assert message == self.known[message.uuid]
            self.state[message.uuid] = ("leased", now + LEASE)
        dues = [due for state, due in self.state.values() if state != "ready"]
        assert claim.next_due_ms == min(dues, default=None)

    @rule(ms=st.sampled_from([100, 499, 500, 1_000]))
    def advance(self, ms: int) -> None:
        self.clock.advance(ms)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        message = self._pick(data)
        assert self.backend.ack(message) is (message.uuid in self.state)
        self.state.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        message = self._pick(data)
        assert self.backend.remove(message) is (message.uuid in self.state)
        self.state.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        message = self._pick(data)
        self.backend.fail(message, dlq_ttl=None)
        self.state.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        message = self._pick(data)
        self.backend.release([message])
        if self.state.get(message.uuid, ("", 0))[0] == "leased":
            self.state[message.uuid] = ("ready", 0)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        retried = self._pick(data).clone().increment_retries(self.clock.now_ms())
        if retried.uuid not in self.state:
            with pytest.raises(MessageDoesNotExistError):
                self.backend.retry(retried)
            return
        self.backend.retry(retried)
        self.known[retried.uuid] = retried
        self.state[retried.uuid] = ("delayed", retried.ready_at)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def extend(self, data: st.DataObject) -> None:
        message, now = self._pick(data), self.clock.now_ms()
        state, due = self.state.get(message.uuid, ("gone", 0))
        if state == "leased" and due <= now:
            return  # an expired lease not yet reclaimed: the port leaves this open
        lost = self.backend.extend([message], lease_ms=LEASE)
        assert [m.uuid for m in lost] == ([] if state == "leased" else [message.uuid])
        if state == "leased":
            self.state[message.uuid] = ("leased", now + LEASE)

    @invariant()
    def depth_counts_what_waits(self) -> None:
        now = self.clock.now_ms()
        if any(s == "leased" and due <= now for s, due in self.state.values()):
            return  # expired, not yet reclaimed: the port leaves its depth open
        assert self.backend.depth("q") == sum(s != "leased" for s, _ in self.state.values())

    @invariant()
    def bodies_exist_exactly_for_stored_messages(self) -> None:
        names = [message_name(message) for message in self.known.values()]
        stored = [value is not MISSING for value in self.backend.get_many(names)]
        assert stored == [uuid in self.state for uuid in self.known]
