"""The queue administration contract (``alsek.ports.admin.QueueAdmin``): counts, lookup, dead
letters (pages, requeue, delete) and purge, with the same results on every backend."""

from __future__ import annotations

import pytest

from alsek.domain.model.effects import Effects, Write
from alsek.domain.model.errors import MessageAlreadyExistsError
from alsek.domain.model.naming import dlq_name, message_name
from tests.contract.support import LEASE, ContractBase


class InspectContract(ContractBase):
    """What an operator's tools ask of a queue."""

    def fill(self, backend, clock, *, ready=0, delayed=0, leased=0, dead=0, queue="q"):
        """Submit messages into each state; return them by state."""
        made = {"ready": [], "delayed": [], "leased": [], "dead": []}
        for _ in range(leased + dead):
            made["leased"].append(self.make(clock, queue=queue))
            backend.submit(made["leased"][-1])
        claimed = self.claim(backend, queue).messages if leased + dead else []
        for message in claimed[leased:]:
            backend.fail(message, dlq_ttl=60_000)
            made["dead"].append(message)
        made["leased"] = claimed[:leased]
        for _ in range(ready):
            made["ready"].append(self.make(clock, queue=queue))
            backend.submit(made["ready"][-1])
        for _ in range(delayed):
            made["delayed"].append(self.make(clock, queue=queue, delay=50_000))
            backend.submit(made["delayed"][-1])
        return made

    # == counts ===================================================================================

    def test_counts_of_a_queue_never_used_are_zero(self, backend):
        counts = backend.queue_counts("nothing")
        assert (counts.ready, counts.delayed, counts.leased) == (0, 0, 0)
        assert counts.oldest_ready_age_ms is None
        assert backend.count_dead_letters("nothing") == 0

    def test_counts_by_state(self, backend, clock):
        self.fill(backend, clock, ready=3, delayed=2, leased=1, dead=2)
        self.fill(backend, clock, ready=1, queue="q_other")
        counts = backend.queue_counts("q")
        assert (counts.queue, counts.ready, counts.delayed, counts.leased) == ("q", 3, 2, 1)
        assert backend.count_dead_letters("q") == 2
        assert backend.count_dead_letters("q_other") == 0

    def test_a_delayed_message_that_fell_due_counts_as_ready(self, backend, clock):
        self.fill(backend, clock, delayed=1)
        clock.advance(50_000)
        counts = backend.queue_counts("q")
        assert (counts.ready, counts.delayed) == (1, 0)

    def test_oldest_ready_age_is_that_of_the_longest_waiting_head(self, backend, clock):
        backend.submit(self.make(clock, priority=1))  # the oldest, in a later band
        clock.advance(300)
        backend.submit(self.make(clock, priority=0))
        clock.advance(200)
        assert backend.queue_counts("q").oldest_ready_age_ms == 500
        self.claim(backend, limit=2)
        assert backend.queue_counts("q").oldest_ready_age_ms is None

    def test_oldest_ready_age_of_a_due_delayed_message_counts_from_its_due_time(
        self, backend, clock
    ):
        backend.submit(self.make(clock, delay=1_000))
        clock.advance(1_700)
        assert backend.queue_counts("q").oldest_ready_age_ms == 700

    # == lookup ===================================================================================

    @pytest.mark.parametrize("state", ["ready", "delayed", "leased", "dead"])
    def test_find_by_uuid_in_every_state(self, backend, clock, state):
        made = self.fill(backend, clock, **{state: 1})
        self.fill(backend, clock, ready=2, queue="q_other")
        found = backend.find(made[state][0].uuid)
        assert found is not None
        assert (found.message.uuid, found.state) == (made[state][0].uuid, state)

    def test_find_of_an_unknown_uuid(self, backend, clock):
        self.fill(backend, clock, ready=1, dead=1)
        assert backend.find("no-such-uuid") is None

    # == dead letters =============================================================================

    def test_dead_letter_pages_hold_every_dead_letter_once(self, backend, clock):
        made = self.fill(backend, clock, dead=3)
        self.fill(backend, clock, dead=1, queue="q_other")
        pages = list(backend.dead_letter_pages("q"))
        assert sorted(m.uuid for page in pages for m in page) == sorted(
            m.uuid for m in made["dead"]
        )
        assert sum(len(page) for page in backend.dead_letter_pages()) == 4

    def test_requeue_submits_the_new_body_and_drops_the_dead_letter(self, backend, clock):
        dead = self.fill(backend, clock, dead=1)["dead"][0]
        fresh = dead.clone().update(retries=0)
        effects = Effects(writes=(Write("status:x", "SUBMITTED"),))
        assert backend.requeue_dead_letter(dead, fresh, effects=effects) is True
        assert not backend.exists(dlq_name(dead))
        assert backend.get("status:x") == "SUBMITTED"
        assert self.uuids(backend) == [dead.uuid]
        assert backend.requeue_dead_letter(dead, fresh) is False  # gone: nothing written

    def test_requeue_refuses_while_the_uuid_is_in_the_queue(self, backend, clock):
        dead = self.fill(backend, clock, dead=1)["dead"][0]
        backend.submit(dead.clone())
        with pytest.raises(MessageAlreadyExistsError):
            backend.requeue_dead_letter(dead, dead.clone())
        assert backend.exists(dlq_name(dead))  # nothing written

    def test_delete_dead_letters(self, backend, clock):
        made = self.fill(backend, clock, dead=2)
        assert backend.delete_dead_letters([*made["dead"], self.make(clock)]) == 2
        assert backend.count_dead_letters("q") == 0

    # == purge ====================================================================================

    def test_purge_removes_waiting_messages_in_bounded_steps_and_leaves_leased_ones(
        self, backend, clock
    ):
        made = self.fill(backend, clock, ready=5, delayed=2, leased=1)
        assert backend.purge_step("q", limit=4) == 4
        assert backend.purge_step("q", limit=4) == 3
        assert backend.purge_step("q", limit=4) == 0
        counts = backend.queue_counts("q")
        assert (counts.ready, counts.delayed, counts.leased) == (0, 0, 1)
        for message in made["ready"] + made["delayed"]:
            assert not backend.exists(message_name(message))
        (held,) = made["leased"]
        assert backend.ack(held) is True  # its holder finishes it as usual
        clock.advance(LEASE)
        assert self.uuids(backend) == []

    def test_purge_of_a_queue_never_used(self, backend):
        assert backend.purge_step("nothing") == 0
