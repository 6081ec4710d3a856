"""The message queue contract: release, remove, depth, submission errors, apply, batches
and corrupt bodies."""

from __future__ import annotations

import logging

import pytest

from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.errors import (
    MessageAlreadyExistsError,
    SerializationError,
)
from alsek.domain.model.naming import message_name
from tests.contract.support import BOUND_S, LEASE, ContractBase


class AdminContract(ContractBase):
    """Everything else a queue does, and what it does with bad input."""

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

    def test_depth_counts_an_expired_lease_only_after_a_claim_returns_it(self, backend, clock):
        backend.submit(self.make(clock))
        self.claim(backend)
        clock.advance(LEASE)
        assert backend.depth("q") == 0
        backend.claim(["q"], limit=0, lease_ms=LEASE)
        assert backend.depth("q") == 1

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

    # == repair ====================================================================================

    def test_repair_indexes_stored_bodies_that_no_index_holds(self, backend, clock):
        indexed, stray = self.make(clock), self.make(clock, priority=-1)
        backend.submit(indexed)
        self.write_raw(backend, message_name(stray), backend.serializer.forward(stray.data))
        unreadable = self.make(clock)
        self.write_raw(backend, message_name(unreadable), b"\xff not a message")
        assert backend.repair(["q", "empty"]) == 1
        assert backend.repair(["q"]) == 0
        assert self.uuids(backend) == [stray.uuid, indexed.uuid]
        assert not backend.exists(message_name(unreadable))
        assert backend.exists(f"dtq:{message_name(unreadable)}")
