"""RedisBackend behaves exactly like InMemoryBackend.

A Hypothesis state machine drives both backends, on one fake clock, through the same random
operations (submit, claim, ack, ack_many_and_claim, retry, fail, release, remove, extend, time passing,
corrupt and vanished bodies, key-value calls) and compares every observable result: claimed
messages and their order, corrupt names, next_due_ms, return values, raised error types, depths,
queues, stored names and dead letters.

Uuids are deterministic (``m0000``, ``m0001``, ...) so that Hypothesis' choices replay exactly.
TTLs are long enough never to elapse during a run: the in-memory backend expires keys on the fake
clock, Redis on its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import redis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from alsek.adapters.memory import InMemoryBackend
from alsek.adapters.redis import RedisBackend
from alsek.domain.model.backoff import ConstantBackoff
from alsek.domain.model.effects import NO_EFFECTS, Effects, Publish, Write
from alsek.domain.model.message import Message
from alsek.domain.model.naming import message_name
from alsek.ports.backend import Backend
from alsek.ports.queue import Claim
from tests.contract.fakes import FakeClock

QUEUES = ("a", "b")
LONG_TTL = 3_600_000
GARBAGE = (b"\xff\x00 not json", b'{"not": "a message"}', b"[1, 2]")
_namespaces = itertools.count()

queue_orders = st.sampled_from([["a"], ["a"], ["b"], ["a", "b"], ["b", "a"], ["a", "a", "b"]])
message_specs = st.tuples(
    st.sampled_from(["a", "a", "b"]),  # queue
    st.sampled_from(["t", "t", "u"]),  # task
    st.sampled_from([0, 0, 1, -1]),  # priority: many ties, so FIFO order matters
    st.sampled_from([0, 0, 0, 300, 1_000]),  # delay
    st.sampled_from([0, 400]),  # constant backoff of retries
)
advances = st.sampled_from([0, 0, 0, 1, 299, 300, 1_000])


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as error:  # noqa: BLE001 - compared between the two backends
        return "raised", type(error).__name__


def _claim_view(claim: Claim) -> tuple[list[dict[str, Any]], list[str], int | None]:
    return [m.data for m in claim.messages], claim.corrupt, claim.next_due_ms


class SameAsMemory(RuleBasedStateMachine):
    """Both backends, one clock, the same operations, equal observations."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.memory = InMemoryBackend(clock=self.clock)
        self.redis = RedisBackend(client, namespace=f"sm{next(_namespaces)}", clock=self.clock)
        self.known: dict[str, Message] = {}
        self.leased: dict[str, Message] = {}
        self._ids = itertools.count()

    def teardown(self) -> None:
        self.redis.clear_namespace()

    # -- helpers -------------------------------------------------------------------------------

    def both(self, call: Callable[[Backend], Any], view: Callable[[Any], Any] = lambda r: r) -> Any:
        """Run ``call`` on both backends; assert equal outcomes; return the in-memory result."""
        expected = _outcome(lambda: view(call(self.memory)))
        actual = _outcome(lambda: view(call(self.redis)))
        assert actual == expected
        return expected[1]

    def new_message(self, **fields: Any) -> Message:
        fields.setdefault("created_at", self.clock.now_ms())
        fields.setdefault("uuid", f"m{next(self._ids):04d}")
        return Message(fields.pop("task", "t"), **fields)

    def claimed(self, claim_view: Any) -> None:
        if isinstance(claim_view, tuple):
            for data in claim_view[0]:
                self.leased[data["uuid"]] = Message.from_data(dict(data))

    def pick(self, data: st.DataObject, pool: dict[str, Message]) -> Message:
        return pool[data.draw(st.sampled_from(sorted(pool)))].clone()

    # -- queue operations ----------------------------------------------------------------------

    @rule(specs=st.lists(message_specs, min_size=1, max_size=4), effects=st.booleans())
    def submit(self, specs, effects) -> None:
        for queue, task, priority, delay, backoff in specs:
            settings_ = ConstantBackoff(constant=backoff, floor=0, ceiling=None).settings
            message = self.new_message(
                task=task, queue=queue, priority=priority, delay=delay, backoff_settings=settings_
            )
            extra = Effects(
                writes=[Write(f"status:{message.uuid}", 1, LONG_TTL)] if effects else []
            )
            self.both(lambda b, m=message, e=extra: b.submit(m.clone(), effects=e))
            self.known[message.uuid] = message

    @precondition(lambda self: self.known)
    @rule(data=st.data(), other_task=st.booleans())
    def submit_again(self, data, other_task) -> None:
        """A duplicate, or a twin under another task with the same uuid."""
        message = self.pick(data, self.known)
        if other_task:
            message.task_name = "u" if message.task_name == "t" else "t"
        self.both(lambda b: b.submit(message.clone()))

    @rule(
        queues=queue_orders,
        limit=st.integers(0, 4),
        lease=st.sampled_from([500, 1_000]),
        advance=advances,
    )
    def claim(self, queues, limit, lease, advance) -> None:
        self.clock.advance(advance)
        view = self.both(lambda b: b.claim(queues, limit=limit, lease_ms=lease), _claim_view)
        self.claimed(view)

    @precondition(lambda self: self.known)
    @rule(data=st.data(), callback=st.sampled_from(["none", "new", "stored"]))
    def ack(self, data, callback) -> None:
        message = self.pick(
            data, self.leased if self.leased and data.draw(st.booleans()) else self.known
        )
        effects = Effects(
            writes=[Write(f"results:{message.uuid}", [1], LONG_TTL)],
            publishes=[Publish("done", message.uuid)],
            submits={
                "none": [],
                "new": [self.new_message(queue="b")],
                "stored": [self.pick(data, self.known)],  # skipped if still stored
            }[callback],
        )
        self.both(lambda b: b.ack(message, effects=effects))
        self.leased.pop(message.uuid, None)

    @precondition(lambda self: self.leased)
    @rule(data=st.data(), queues=queue_orders, limit=st.integers(0, 3), advance=advances)
    def ack_many_and_claim(self, data, queues, limit, advance) -> None:
        self.clock.advance(advance)
        count = data.draw(st.integers(1, min(3, len(self.leased))))
        acks = []
        for _ in range(count):
            message = self.pick(data, self.leased)
            self.leased.pop(message.uuid)
            acks.append((message, NO_EFFECTS))
        view = self.both(
            lambda b: b.ack_many_and_claim(acks, queues=queues, limit=limit, lease_ms=1_000),
            _claim_view,
        )
        self.claimed(view)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def retry(self, data) -> None:
        message = self.pick(data, self.leased or self.known).increment_retries(self.clock.now_ms())
        self.both(lambda b: b.retry(message.clone()))
        self.leased.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data(), dlq_ttl=st.sampled_from([None, 0, LONG_TTL]))
    def fail(self, data, dlq_ttl) -> None:
        message = self.pick(data, self.leased or self.known)
        self.both(lambda b: b.fail(message, dlq_ttl=dlq_ttl))
        self.leased.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def release(self, data) -> None:
        pool = self.leased or self.known
        uuids = data.draw(
            st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=3, unique=True)
        )
        self.both(lambda b: b.release([pool[u] for u in uuids]))
        for uuid in uuids:
            self.leased.pop(uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def remove(self, data) -> None:
        message = self.pick(data, self.known)
        self.both(lambda b: b.remove(message))
        self.leased.pop(message.uuid, None)

    @precondition(lambda self: self.known)
    @rule(data=st.data(), lease=st.sampled_from([200, 1_000]))
    def extend(self, data, lease) -> None:
        uuids = data.draw(st.lists(st.sampled_from(sorted(self.known)), max_size=4, unique=True))
        messages = [self.known[u] for u in uuids]
        self.both(lambda b: b.extend(messages, lease_ms=lease), lambda lost: [m.uuid for m in lost])

    @rule(ms=st.sampled_from([1, 100, 299, 300, 500, 1_000]))
    def advance(self, ms) -> None:
        self.clock.advance(ms)

    # -- broken storage ------------------------------------------------------------------------

    @precondition(lambda self: self.known)
    @rule(data=st.data(), raw=st.sampled_from(GARBAGE))
    def corrupt_body(self, data, raw) -> None:
        name = message_name(self.pick(data, self.known))
        if self.memory.exists(name):
            self.memory.store.values.put(self.memory.full_name(name), raw)
            self.redis.client.set(self.redis.full_name(name), raw)

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def lose_body(self, data) -> None:
        name = message_name(self.pick(data, self.known))
        self.both(lambda b: b.delete(name, missing_ok=True))

    # -- key-value -----------------------------------------------------------------------------

    @rule(
        name=st.sampled_from(["results:x", "lock:y", "z"]),
        value=st.one_of(st.integers(), st.text(max_size=5), st.none()),
        nx=st.booleans(),
        ttl=st.sampled_from([None, 0, LONG_TTL]),
    )
    def set_value(self, name, value, nx, ttl) -> None:
        self.both(lambda b: b.set(name, value, nx=nx, ttl=ttl))

    @rule(name=st.sampled_from(["results:x", "lock:y", "z"]), missing_ok=st.booleans())
    def delete_value(self, name, missing_ok) -> None:
        self.both(lambda b: b.delete(name, missing_ok=missing_ok))

    # -- observations --------------------------------------------------------------------------

    @invariant()
    def same_depths_queues_and_names(self) -> None:
        for queue in QUEUES:
            self.both(lambda b, q=queue: b.depth(q))
        self.both(lambda b: b.queues())
        self.both(lambda b: sorted(b.scan()))  # bodies, dead letters, results, statuses

    @precondition(lambda self: self.known)
    @rule(data=st.data())
    def look(self, data) -> None:
        """Read what a user can read: a body, values, dead letters."""
        name = message_name(self.pick(data, self.known))
        self.both(lambda b: b.get(name, None))
        self.both(lambda b: b.count("queues:a"))
        self.both(lambda b: b.get_many(["results:x", "lock:y", "z"]))
        self.both(lambda b: sorted((m.uuid, m.retries) for m in b.dead_letters()))
        self.both(lambda b: sorted(m.uuid for m in b.dead_letters("a")))


def test_redis_backend_matches_the_in_memory_backend(redis_client, caplog):
    caplog.set_level("CRITICAL", logger="alsek")  # corrupt bodies are logged on purpose
    run_state_machine_as_test(
        lambda: SameAsMemory(redis_client),
        settings=settings(max_examples=150, stateful_step_count=40, deadline=None),
    )


def test_long_runs_match_too(redis_client, caplog):
    caplog.set_level("CRITICAL", logger="alsek")
    run_state_machine_as_test(
        lambda: SameAsMemory(redis_client),
        settings=settings(max_examples=10, stateful_step_count=150, deadline=None, database=None),
    )
