"""The behaviour contract of the storage port (``alsek.ports.backend.Backend``).

Subclass :class:`BackendContract` once per adapter and provide:

* fixture ``clock``: a :class:`tests.contract.fakes.FakeClock` (``now_ms()``, ``advance(ms)``);
* fixture ``backend``: a fresh, empty backend built with that clock (default JSON serializer),
  cleaned up by the fixture;
* hook :meth:`BackendContract.write_raw`: store raw bytes under a short name, bypassing the
  serializer (to plant corrupt bodies).

Two hooks have defaults that an adapter may override:

* :meth:`BackendContract.make_sibling`: a second backend on the same store under another
  namespace (default: a shallow copy with ``namespace`` replaced);
* :meth:`BackendContract.let_ttl_elapse`: make ``ms`` of key TTL pass (default: advance the fake
  clock; Redis expires keys on its own clock, so its subclass also lets real time pass).

Every wait in here is bounded; nothing sleeps to paper over a race.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
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

from alsek.domain.model.backoff import NO_BACKOFF, ConstantBackoff
from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.errors import (
    MessageAlreadyExistsError,
    MessageDoesNotExistError,
    SerializationError,
)
from alsek.domain.model.message import Message
from alsek.domain.model.naming import dlq_name, message_name
from alsek.domain.model.priority import PRIORITY_MAX, PRIORITY_MIN
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING
from alsek.ports.queue import Claim

LEASE = 1_000
TTL = 300
BOUND_S = 5.0  # the longest any test waits for something that should happen at once


def _run_in_thread(target: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``target`` in a thread; return a function that joins it (bounded) and returns."""
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = target()
        except BaseException as error:  # pragma: no cover - reported by the joiner
            box["error"] = error

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(BOUND_S)
        assert not thread.is_alive(), "the thread did not finish in time"
        if "error" in box:
            raise box["error"]
        return box["value"]

    return join


class BackendContract:
    """What every backend does. Subclass it with ``backend`` and ``clock`` fixtures."""

    # -- hooks ---------------------------------------------------------------------------------

    def write_raw(self, backend: Backend, name: str, raw: bytes) -> None:
        """Store ``raw`` under the short ``name`` as is, bypassing the serializer."""
        raise NotImplementedError("subclasses of BackendContract provide write_raw()")

    def make_sibling(self, backend: Backend, namespace: str) -> Backend:
        """A backend on the same store and clock as ``backend`` under ``namespace``."""
        sibling = copy.copy(backend)
        sibling.namespace = namespace
        return sibling

    def let_ttl_elapse(self, clock: Any, ms: int) -> None:
        """Make ``ms`` milliseconds of key TTL pass."""
        clock.advance(ms)

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def make(clock: Any, task: str = "task", queue: str = "q", **fields: Any) -> Message:
        """A message created at the fake clock's now."""
        fields.setdefault("created_at", clock.now_ms())
        return Message(task, queue=queue, **fields)

    @staticmethod
    def claim(backend: Backend, *queues: str, limit: int = 100, lease_ms: int = LEASE) -> Claim:
        return backend.claim(list(queues or ("q",)), limit=limit, lease_ms=lease_ms)

    def uuids(self, backend: Backend, *queues: str, limit: int = 100) -> list[str]:
        return [m.uuid for m in self.claim(backend, *queues, limit=limit).messages]

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

    def test_concurrent_claims_lease_each_message_once(self, backend, clock):
        messages = [self.make(clock) for _ in range(120)]
        for message in messages:
            backend.submit(message)

        def consume() -> list[str]:
            got: list[str] = []
            while batch := self.uuids(backend, limit=3):
                got.extend(batch)
            return got

        joins = [_run_in_thread(consume) for _ in range(6)]
        claimed = [uuid for join in joins for uuid in join()]
        assert sorted(claimed) == sorted(m.uuid for m in messages)

    def test_concurrent_submits_are_all_indexed(self, backend, clock):
        messages = [self.make(clock, priority=i % 3) for i in range(120)]
        joins = [
            _run_in_thread(lambda part=part: [backend.submit(m) for m in part])
            for part in (messages[i::4] for i in range(4))
        ]
        for join in joins:
            join()
        assert backend.depth("q") == len(messages)
        assert sorted(self.uuids(backend, limit=1_000)) == sorted(m.uuid for m in messages)

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

    # == release, remove, depth, queues ===========================================================

    def test_release_makes_leased_messages_ready_at_once(self, backend, clock):
        urgent = self.make(clock, priority=0)
        backend.submit(urgent)
        self.claim(backend)
        later = self.make(clock, priority=1)
        backend.submit(later)
        backend.release([urgent])
        assert backend.depth("q") == 2
        assert self.uuids(backend) == [urgent.uuid, later.uuid]

    def test_release_leaves_messages_that_are_not_leased_alone(self, backend, clock):
        delayed = self.make(clock, delay=5_000)
        backend.submit(delayed)
        backend.release([delayed, self.make(clock)])
        assert self.uuids(backend) == []
        assert backend.depth("q") == 1

    @pytest.mark.parametrize("state", ["ready", "delayed", "leased"])
    def test_remove_in_every_state(self, backend, clock, state):
        message = self.make(clock, delay=5_000 if state == "delayed" else 0)
        backend.submit(message)
        if state == "leased":
            self.claim(backend)
        assert backend.remove(message) is True
        assert not backend.exists(message_name(message))
        assert backend.depth("q") == 0
        assert backend.remove(message) is False
        clock.advance(10_000)
        assert self.uuids(backend) == []
        backend.submit(message)  # the uuid is free again
        assert self.uuids(backend) == [message.uuid]

    def test_remove_of_a_message_never_submitted(self, backend, clock):
        assert backend.remove(self.make(clock)) is False

    def test_depth_counts_ready_and_delayed_but_not_leased(self, backend, clock):
        assert backend.depth("q") == 0
        for delay in (0, 0, 5_000):
            backend.submit(self.make(clock, delay=delay))
        backend.submit(self.make(clock, queue="q_other"))
        assert backend.depth("q") == 3
        self.claim(backend, limit=1)
        assert backend.depth("q") == 2
        assert backend.depth("q_other") == 1

    def test_queues_lists_every_queue_ever_submitted_to(self, backend, clock):
        assert backend.queues() == []
        for queue in ("q_b", "q_a", "q_b"):
            message = self.make(clock, queue=queue)
            backend.submit(message)
            backend.remove(message)
        assert backend.queues() == ["q_a", "q_b"]

    # == submission errors ========================================================================

    def test_duplicate_submit_raises(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        with pytest.raises(MessageAlreadyExistsError):
            backend.submit(message)
        self.claim(backend)
        with pytest.raises(MessageAlreadyExistsError):
            backend.submit(message.clone().update(priority=-1))
        with pytest.raises(MessageAlreadyExistsError):
            backend.submit(message, effects=Effects(writes=[Write("status:s", 1)]))
        assert not backend.exists("status:s")
        assert backend.depth("q") == 0
        backend.ack(message)
        backend.submit(message)
        assert self.uuids(backend) == [message.uuid]

    def test_a_uuid_live_under_another_task_of_the_queue_is_refused(self, backend, clock):
        first = self.make(clock, "task_a")
        twin = self.make(clock, "task_b", uuid=first.uuid)
        backend.submit(first)
        with pytest.raises(MessageAlreadyExistsError):
            backend.submit(twin)
        assert not backend.exists(message_name(twin))
        assert self.claim(backend).messages == [first]
        backend.ack(first)
        backend.submit(twin)  # the uuid is free again
        assert self.claim(backend).messages == [twin]
        assert backend.queues() == ["q"]

    def test_unencodable_message_writes_nothing(self, backend, clock):
        message = self.make(clock, queue="q_bad", args=(object(),))
        with pytest.raises(SerializationError):
            backend.submit(message)
        assert not backend.exists(message_name(message))
        assert backend.count("queues:q_bad") == 0
        assert backend.depth("q_bad") == 0
        assert "q_bad" not in backend.queues()
        assert self.uuids(backend, "q_bad") == []

    def test_unencodable_effect_on_submit_writes_nothing(self, backend, clock):
        message = self.make(clock)
        effects = Effects(writes=[Write("status:s", 1)], publishes=[Publish("c", object())])
        with pytest.raises(SerializationError):
            backend.submit(message, effects=effects)
        assert not backend.exists(message_name(message))
        assert not backend.exists("status:s")
        assert backend.depth("q") == 0

    def test_submit_applies_effects(self, backend, clock):
        message, other = self.make(clock), self.make(clock, queue="q_other")
        backend.submit(message, effects=Effects(writes=[Write("status:s", 1)], submits=[other]))
        assert backend.get("status:s") == 1
        assert self.uuids(backend, "q_other") == [other.uuid]

    # == apply ====================================================================================

    def test_apply_applies_effects_on_their_own(self, backend, clock):
        backend.set("old", 1)
        callback = self.make(clock)
        with backend.subscribe("c") as subscription:
            backend.apply(
                Effects(
                    writes=[Write("status:s", "RUNNING", ttl_ms=60_000)],
                    deletes=["old"],
                    submits=[callback],
                    publishes=[Publish("c", "RUNNING")],
                )
            )
            assert subscription.get(int(BOUND_S * 1000)) == "RUNNING"
        assert backend.get("status:s") == "RUNNING"
        assert not backend.exists("old")
        assert self.uuids(backend, "q") == [callback.uuid]

    def test_apply_with_an_unencodable_effect_applies_nothing(self, backend):
        effects = Effects(writes=[Write("status:s", 1)], publishes=[Publish("c", object())])
        with pytest.raises(SerializationError):
            backend.apply(effects)
        assert not backend.exists("status:s")

    # == submit_many ==============================================================================

    def test_submit_many_stores_each_with_its_effects_in_order(self, backend, clock):
        messages = [self.make(clock) for _ in range(3)] + [self.make(clock, queue="q_other")]
        effects = [Effects(writes=[Write(f"status:{i}", i)]) for i in range(len(messages))]
        assert backend.submit_many(list(zip(messages, effects, strict=True))) == [True] * 4
        assert self.uuids(backend, "q") == [m.uuid for m in messages[:3]]
        assert self.uuids(backend, "q_other") == [messages[3].uuid]
        assert [backend.get(f"status:{i}") for i in range(4)] == [0, 1, 2, 3]

    def test_submit_many_skips_stored_uuids_and_their_effects(self, backend, clock):
        stored, new = self.make(clock), self.make(clock)
        backend.submit(stored)
        twin = self.make(clock, uuid=stored.uuid)
        result = backend.submit_many(
            [(twin, Effects(writes=[Write("status:twin", 1)])), (new, NO_EFFECTS)]
        )
        assert result == [False, True]
        assert not backend.exists("status:twin")
        assert self.uuids(backend, "q") == [stored.uuid, new.uuid]

    def test_submit_many_with_anything_unencodable_stores_nothing(self, backend, clock):
        good, bad = self.make(clock), self.make(clock, args=[object()])
        with pytest.raises(SerializationError):
            backend.submit_many([(good, NO_EFFECTS), (bad, NO_EFFECTS)])
        assert backend.depth("q") == 0
        assert not backend.exists(message_name(good))

    def test_submit_many_of_nothing_stores_nothing(self, backend):
        assert backend.submit_many([]) == []

    # == corrupt bodies ===========================================================================

    @pytest.mark.parametrize("raw", [b"\xff\x00 not json", b'{"not": "a message"}', b"[1, 2]"])
    def test_a_corrupt_body_goes_to_the_dlq_at_claim(self, backend, clock, caplog, raw):
        good_1, bad, good_2 = (self.make(clock) for _ in range(3))
        for message in (good_1, bad, good_2):
            backend.submit(message)
        name = message_name(bad)
        self.write_raw(backend, name, raw)
        with caplog.at_level(logging.WARNING, logger="alsek"):
            claim = self.claim(backend)
        assert [m.uuid for m in claim.messages] == [good_1.uuid, good_2.uuid]
        assert claim.corrupt == [name]
        assert any(name in record.getMessage() for record in caplog.records)
        assert not backend.exists(name)
        assert backend.exists(f"dtq:{name}")
        assert backend.depth("q") == 0
        assert [m.uuid for m in backend.dead_letters("q")] == []  # skipped, no crash
        clock.advance(LEASE)
        assert self.claim(backend).corrupt == []

    def test_an_index_entry_without_body_is_dropped_at_claim(self, backend, clock):
        gone, kept = self.make(clock), self.make(clock)
        backend.submit(gone)
        backend.submit(kept)
        backend.delete(message_name(gone))
        assert self.uuids(backend) == [kept.uuid]
        assert backend.depth("q") == 0

    # == key-value ================================================================================

    @pytest.mark.parametrize(
        "value", [1, -2.5, "text", "", None, True, [1, "a", None], {"a": {"b": [1]}}]
    )
    def test_set_then_get_round_trips(self, backend, value):
        backend.set("results:v", value)
        assert backend.get("results:v") == value
        assert backend.exists("results:v")

    def test_get_of_a_missing_name(self, backend):
        with pytest.raises(KeyError):
            backend.get("results:missing")
        assert backend.get("results:missing", default=None) is None
        assert backend.get("results:missing", "d") == "d"
        assert not backend.exists("results:missing")

    def test_set_overwrites(self, backend):
        backend.set("k", 1)
        backend.set("k", 2)
        assert backend.get("k") == 2

    def test_set_nx_only_sets_a_missing_name(self, backend):
        backend.set("lock:a", "me", nx=True)
        with pytest.raises(KeyError):
            backend.set("lock:a", "you", nx=True)
        assert backend.get("lock:a") == "me"

    def test_set_with_ttl_expires(self, backend, clock):
        backend.set("results:t", 1, ttl=TTL)
        backend.set("results:keep", 2)
        assert backend.get("results:t") == 1
        self.let_ttl_elapse(clock, TTL)
        assert not backend.exists("results:t")
        assert backend.get("results:t", None) is None
        assert backend.get_many(["results:t", "results:keep"]) == [MISSING, 2]
        assert set(backend.scan("results:")) == {"results:keep"}
        assert backend.count("results:") == 1
        with pytest.raises(KeyError):
            backend.delete("results:t")
        backend.set("results:t", 3, nx=True)  # an expired name is free
        assert backend.get("results:t") == 3

    def test_set_without_ttl_clears_an_earlier_ttl(self, backend, clock):
        backend.set("k", 1, ttl=TTL)
        backend.set("k", 2)
        self.let_ttl_elapse(clock, TTL)
        assert backend.get("k") == 2

    def test_set_of_an_unencodable_value_writes_nothing(self, backend):
        backend.set("k", 1)
        with pytest.raises(SerializationError):
            backend.set("k", object())
        with pytest.raises(SerializationError):
            backend.set("k2", {"a": object()})
        assert backend.get("k") == 1
        assert not backend.exists("k2")

    def test_get_of_an_undecodable_value_raises(self, backend):
        self.write_raw(backend, "results:raw", b"\xff\x00 not json")
        with pytest.raises(SerializationError):
            backend.get("results:raw")

    def test_delete(self, backend):
        backend.set("k", 1)
        backend.delete("k")
        assert not backend.exists("k")
        with pytest.raises(KeyError):
            backend.delete("k")
        backend.delete("k", missing_ok=True)

    def test_delete_if_equal_deletes_only_the_expected_value(self, backend):
        record = {"owner": "me", "expires_at": 5}
        backend.set("lock", record)
        assert not backend.delete_if_equal("lock", {"owner": "you", "expires_at": 5})
        assert backend.get("lock") == record
        assert backend.delete_if_equal("lock", record)
        assert not backend.exists("lock")
        assert not backend.delete_if_equal("lock", record)

    def test_get_many_keeps_order_and_marks_missing(self, backend):
        backend.set("a", 1)
        backend.set("c", [3])
        assert backend.get_many(["c", "b", "a", "c"]) == [[3], MISSING, 1, [3]]
        assert backend.get_many([]) == []

    def test_scan_and_count_by_prefix(self, backend):
        names = ["results:a:1", "results:a:2", "results:ab", "results:b:1", "status:a"]
        for name in names:
            backend.set(name, 0)
        assert set(backend.scan()) >= set(names)
        assert sorted(backend.scan("results:a")) == names[:3]
        assert sorted(backend.scan("results:a:")) == names[:2]
        assert sorted(backend.scan("results:*:1")) == ["results:a:1", "results:b:1"]
        assert sorted(backend.scan("results:?:")) == names[:2] + ["results:b:1"]
        assert backend.count("results:") == 4
        assert backend.count("nothing:") == 0

    def test_count_of_a_queue_counts_its_message_bodies(self, backend, clock):
        for _ in range(3):
            backend.submit(self.make(clock, queue="math_ops"))
        backend.submit(self.make(clock, queue="other"))
        assert backend.count("queues:math_ops") == 3
        self.claim(backend, "math_ops", limit=1)
        assert backend.count("queues:math_ops") == 3  # leased bodies are still stored

    def test_clear_namespace_deletes_everything(self, backend, clock):
        backend.set("results:a", 1)
        backend.set("results:b", 2, ttl=60_000)
        backend.submit(self.make(clock))
        backend.submit(self.make(clock, delay=5_000))
        backend.fail(self.make(clock, queue="q_dead"), dlq_ttl=60_000)
        assert backend.clear_namespace() >= 5
        assert list(backend.scan()) == []
        assert backend.count() == 0
        assert backend.depth("q") == 0
        assert backend.queues() == []
        assert list(backend.dead_letters()) == []
        clock.advance(10_000)
        assert self.uuids(backend) == []

    # == namespaces ===============================================================================

    def test_namespaces_isolate_backends_on_one_store(self, backend, clock):
        other = self.make_sibling(backend, f"{backend.namespace}_other")
        assert other.namespace != backend.namespace
        backend.set("k", "mine")
        other.set("k", "theirs")
        assert backend.get("k") == "mine"
        assert other.get("k") == "theirs"
        message = self.make(clock)
        backend.submit(message)
        other.submit(message)  # same uuid, other namespace: no conflict
        assert other.depth("q") == 1
        assert self.uuids(backend) == [message.uuid]
        assert other.depth("q") == 1
        backend.set("only_here", 1)
        assert not other.exists("only_here")
        assert "only_here" not in set(other.scan())
        backend.clear_namespace()
        assert other.get("k") == "theirs"
        assert self.uuids(other) == [message.uuid]
        other.clear_namespace()

    # == pub/sub ==================================================================================

    def test_publish_reaches_subscribers(self, backend):
        with backend.subscribe("c1", "c2") as first, backend.subscribe("c1") as second:
            backend.publish("c1", {"n": [1, 2]})
            backend.publish("c2", "two")
            backend.publish("c3", "nobody")
            assert first.get(int(BOUND_S * 1000)) == {"n": [1, 2]}
            assert first.get(int(BOUND_S * 1000)) == "two"
            assert second.get(int(BOUND_S * 1000)) == {"n": [1, 2]}
            assert second.get(50) is MISSING

    def test_subscription_get_times_out(self, backend):
        with backend.subscribe("c") as subscription:
            started = time.monotonic()
            assert subscription.get(50) is MISSING
            assert 0.04 <= time.monotonic() - started < BOUND_S

    def test_values_published_before_subscribing_are_not_delivered(self, backend):
        backend.publish("c", "early")
        with backend.subscribe("c") as subscription:
            assert subscription.get(50) is MISSING

    def test_a_waiting_subscriber_wakes_on_publish(self, backend):
        with backend.subscribe("c") as subscription:
            join = _run_in_thread(lambda: subscription.get(int(BOUND_S * 1000)))
            backend.publish("c", 42)
            assert join() == 42

    def test_a_closed_subscription_receives_nothing(self, backend):
        subscription = backend.subscribe("c")
        subscription.close()
        subscription.close()  # idempotent
        backend.publish("c", 1)
        assert subscription.get(50) is MISSING

    def test_close_is_idempotent(self, backend):
        backend.close()
        backend.close()

    def test_publish_of_an_unencodable_value_raises(self, backend):
        with pytest.raises(SerializationError):
            backend.publish("c", object())

    def test_pub_sub_is_namespaced(self, backend):
        other = self.make_sibling(backend, f"{backend.namespace}_other")
        with backend.subscribe("c") as subscription:
            other.publish("c", "theirs")
            backend.publish("c", "mine")
            assert subscription.get(int(BOUND_S * 1000)) == "mine"
            assert subscription.get(50) is MISSING

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
        join = _run_in_thread(lambda: backend.wait_for_work(["q_x", "q"], int(BOUND_S * 2000)))
        backend.submit(self.make(clock))
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_wakes_on_release(self, backend, clock):
        message = self.make(clock)
        backend.submit(message)
        self.claim(backend)
        started = time.monotonic()
        join = _run_in_thread(lambda: backend.wait_for_work(["q"], int(BOUND_S * 2000)))
        backend.release([message])
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_wakes_on_a_callback_submitted_by_ack(self, backend, clock):
        message, callback = self.make(clock), self.make(clock, "callback", queue="q_cb")
        backend.submit(message)
        self.claim(backend)
        started = time.monotonic()
        join = _run_in_thread(lambda: backend.wait_for_work(["q_cb"], int(BOUND_S * 2000)))
        backend.ack(message, effects=Effects(submits=[callback]))
        assert join() is True
        assert time.monotonic() - started < BOUND_S

    def test_wait_for_work_ignores_other_queues(self, backend, clock):
        join = _run_in_thread(lambda: backend.wait_for_work(["q"], 300))
        backend.submit(self.make(clock, queue="q_other"))
        assert join() is False

    # == wait_and_claim ===========================================================================

    def test_wait_and_claim_takes_a_message_submitted_during_the_wait(self, backend, clock):
        message = self.make(clock)
        started = time.monotonic()
        join = _run_in_thread(
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
