"""The queue operations on one Redis server (or a Sentinel-managed primary), as steps.

Each method is a generator of :mod:`~alsek.adapters.redis.steps`: it builds the script call
(:class:`~alsek.adapters.redis.calls.CallBuilder`), yields it, and decodes the reply. The
synchronous :class:`~alsek.adapters.redis.queue.RedisMessageQueue` and the asynchronous
:class:`~alsek.adapters.redis.aio_queue.AsyncRedisMessageQueue` drive the same generators, so
both send the same scripts with the same arguments and read replies the same way.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Sequence

from alsek.adapters.clock import SystemClock
from alsek.adapters.codec import (
    LeaseTokens,
    check_claim,
    check_ttl,
    dead_letter_prefix,
    decode_dead_letters,
)
from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.claims import ClaimSteps
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.steps import After, Command, Mget, Pipeline, Scan, Script, Sleep, Steps
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import (
    LeaseLostError,
    MessageAlreadyExistsError,
    MessageDoesNotExistError,
)
from alsek.domain.model.message import Message
from alsek.ports.clock import Clock
from alsek.ports.queue import Claim
from alsek.ports.serializer import Serializer

log = logging.getLogger("alsek.adapters.redis")

#: Most messages one ``submit_many`` script call stores (each call is one atomic step).
SUBMIT_BATCH = 500
#: Keys asked for per MGET batch of admin calls.
_MGET_BATCH = 1000


def text(value: bytes | str) -> str:
    """``value`` as text (bytes decoded leniently)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def settled(reply: int, message: Message) -> int:
    """The reply of a settling script; -1 means another consumer holds the lease now.

    Raises:
        LeaseLostError: for -1 (the script wrote nothing).
    """
    if reply == -1:
        raise LeaseLostError(
            f"{message.summary}: its lease lapsed and another consumer holds it now; "
            "this call changed nothing"
        )
    return reply


def task_names(tasks: Collection[str] | None) -> tuple[str, ...]:
    """The task filter of a claim as the scripts take it (empty: every task)."""
    return tuple(sorted(tasks)) if tasks else ()


class QueueProtocol:
    """Every queue operation of one server as steps.

    Args:
        keys: the key layout of the namespace.
        serializer: encodes bodies and effect values.
        clock: the source of time in ms for delays, leases and TTL decisions.
        max_message_bytes: the longest encoded body a submission may have (None: no limit).
        socket_timeout: the client's socket timeout in seconds (None: none), asked when a
            blocking wait is sized.
    """

    def __init__(
        self,
        keys: KeyLayout,
        serializer: Serializer,
        clock: Clock,
        max_message_bytes: int | None,
        socket_timeout: Callable[[], float | None],
    ) -> None:
        self.keys = keys
        self.calls = CallBuilder(keys, serializer, max_message_bytes)
        #: Leases and due times come from Redis' clock unless the backend was given its own.
        self.server_time = type(clock) is SystemClock
        self.tokens = LeaseTokens()
        self.claims = ClaimSteps(keys, self.calls, self.new_call)
        self._now = clock.now_ms
        self._socket_timeout = socket_timeout

    def new_call(self) -> Call:
        """A script call at now (its first argument tells the script whose clock rules)."""
        return Call(self._now(), server_time=self.server_time)

    def submit(self, message: Message, effects: Effects) -> Steps[None]:
        """Store and index ``message`` with ``effects``."""
        call = self.calls.submit(self.new_call(), message)
        stored = yield Script("submit", self.calls.effects(call, effects), submit=True)
        if not stored:
            raise MessageAlreadyExistsError(f"{message.summary} already exists")

    def apply(self, effects: Effects) -> Steps[None]:
        """Apply ``effects`` in one atomic step."""
        if effects:
            yield Script("effects", self.calls.effects(self.new_call(), effects))

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> Steps[list[bool]]:
        """One script call per :data:`SUBMIT_BATCH` messages, every batch encoded first."""
        calls = [
            self.calls.submit_many(self.new_call(), submissions[start : start + SUBMIT_BATCH])
            for start in range(0, len(submissions), SUBMIT_BATCH)
        ]
        stored: list[bool] = []
        for call in calls:
            stored += [bool(s) for s in (yield Script("submit_many", call, submit=True))]
        return stored

    def claim(
        self, queues: Sequence[str], limit: int, lease_ms: int, tasks: Collection[str] | None
    ) -> Steps[Claim]:
        """Lease up to ``limit`` ready messages from ``queues``."""
        names = task_names(tasks)
        return self.claims.claim_steps(queues, limit, lease_ms, self.tokens.next(), names)

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None,
    ) -> Steps[Claim]:
        """Ack ``acks`` with their effects and claim the next messages, in one script call."""
        token, names = self.tokens.next(), task_names(tasks)
        return self.claims.ack_claim_steps(acks, queues, limit, lease_ms, token, names)

    def extend(self, messages: Sequence[Message], lease_ms: int) -> Steps[list[Message]]:
        """Renew the leases of ``messages``; return those not leased any more."""
        if not messages:
            return []
        call = self.new_call()
        order = self.calls.extend(call, messages, lease_ms)
        lost_positions, errors = yield Script("extend", call)
        for i in range(0, len(errors), 2):
            log.error("Could not renew the leases of queue %r: %s",
                      messages[order[errors[i]]].queue, text(errors[i + 1]))  # fmt: skip
        return [messages[index] for index in sorted(order[p] for p in lost_positions)]

    def ack(self, message: Message, effects: Effects) -> Steps[bool]:
        """Finish ``message`` and apply ``effects``."""
        call = self.calls.message(self.new_call(), message)
        return bool(settled((yield Script("ack", self.calls.effects(call, effects))), message))

    def retry(self, message: Message, effects: Effects) -> Steps[None]:
        """Store the updated ``message`` and index it by its ``ready_at``."""
        call = self.calls.retry(self.new_call(), message)
        if not settled((yield Script("retry", self.calls.effects(call, effects))), message):
            raise MessageDoesNotExistError(f"{message.summary} is not stored")

    def fail(self, message: Message, dlq_ttl: int | None, effects: Effects) -> Steps[None]:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms when positive."""
        call = self.calls.fail(self.new_call(), message, dlq_ttl)
        settled((yield Script("fail", self.calls.effects(call, effects))), message)

    def release(self, messages: Sequence[Message], delay_ms: int) -> Steps[list[Message]]:
        """Make leased ``messages`` ready (or delayed by ``delay_ms``); return those not
        released."""
        if not messages:
            return []
        check_ttl(delay_ms, "delay_ms")
        kept = yield Script("release", self.calls.release(self.new_call(), messages, delay_ms))
        return [messages[position] for position in kept]

    def remove(self, message: Message) -> Steps[bool]:
        """Delete ``message`` wherever it is, whoever holds it."""
        call = self.calls.message(self.new_call(), message, token="")
        return bool((yield Script("remove", self.calls.effects(call, NO_EFFECTS))))

    def depth(self, queue: str) -> Steps[int]:
        """How many messages wait in ``queue`` (ready or delayed)."""
        q = self.keys.queue(queue)
        return int(sum((yield Pipeline((("ZCARD", q.ready), ("ZCARD", q.delayed))))))

    def queues(self) -> Steps[list[str]]:
        """Every queue ever submitted to, sorted."""
        names = yield Pipeline((("SMEMBERS", self.keys.queue_set),))
        return sorted(text(n) for n in names[0])

    def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, tasks: Collection[str] | None
    ) -> Steps[bool]:
        """Wait (BLPOP on the queues' wake-up lists, and on their task signals with ``tasks``)
        until ``queues`` may have work or ``timeout_ms`` passes; at once (True) when a claim
        would find work already (checked without ``tasks`` only)."""
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        if not queues:
            yield Sleep(max(timeout_ms, 0) / 1000)
            return False
        if not tasks and (yield Script("poll", self.calls.poll(self.new_call(), queues))):
            return True
        signals = self.signals(queues, task_names(tasks))
        while (remaining := deadline - time.monotonic()) > 0:
            if (yield Command(("BLPOP", *signals, self.blpop_timeout(remaining)))):
                return True
        return False

    def wait_and_claim(
        self,
        queues: Sequence[str],
        timeout_ms: int,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None,
    ) -> Steps[Claim]:
        """BLPOP on the queues' wake-up lists with the claim sent behind it, so the claim runs
        the moment a submission wakes the BLPOP."""
        check_claim(limit, lease_ms)  # before the wait lengthens the lease
        unique = list(dict.fromkeys(queues))
        names = task_names(tasks)
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        if not unique:
            yield Sleep(max(timeout_ms, 0) / 1000)
            return Claim()
        token = self.tokens.next()
        signals = self.signals(unique, names)
        while True:
            wait_s = self.blpop_timeout(deadline - time.monotonic())
            call = self.new_call()
            # On Redis' clock the claim reads the time it runs at. On the backend's own clock it
            # runs with this call's ``now``, when the BLPOP returns: lease for the wait too.
            lease = lease_ms if self.server_time else lease_ms + math.ceil(wait_s * 1000)
            self.calls.claim(call, unique, limit, lease, token, names)
            woken, reply = yield After(("BLPOP", *signals, wait_s), "claim", call)
            now = self._now() if self.server_time else call.now_ms
            claim = yield from self.claims.finish_steps(
                reply, call, unique, limit, lease, token, (), now, names
            )
            if claim.messages or claim.corrupt or not woken or time.monotonic() >= deadline:
                return claim

    def signals(self, queues: Sequence[str], tasks: Sequence[str]) -> list[str]:
        """The wake-up lists to wait on: each queue's, and with ``tasks`` each of their task
        signals in each queue (where a claim of other tasks leaves tokens for them)."""
        signals = [self.keys.queue(queue).signal for queue in queues]
        return signals + [f"{signal}:{task}" for signal in signals for task in tasks]

    def blpop_timeout(self, remaining: float) -> float:
        """BLPOP's timeout for ``remaining`` seconds: float seconds (Redis >= 6; 0 would block
        forever), below the socket timeout so a long wait is several BLPOPs, not a read
        timeout."""
        socket_timeout = self._socket_timeout()
        if socket_timeout:
            remaining = min(remaining, max(socket_timeout - 1.0, socket_timeout / 2))
        return max(round(remaining, 3), 0.001)

    def dead_letters(self, queue: str | None) -> Steps[list[Message]]:
        """Messages in the dead letter queue; unreadable entries are logged and skipped."""
        keys = yield Scan(self.keys.pattern(dead_letter_prefix(queue)))
        entries = []
        for start in range(0, len(keys), _MGET_BATCH):
            batch = keys[start : start + _MGET_BATCH]
            raws = yield Mget(tuple(batch))
            entries += [  # a None expired since the scan
                (self.keys.short_name(key), raw)
                for key, raw in zip(batch, raws, strict=True)
                if raw is not None
            ]
        return list(decode_dead_letters(self.calls.serializer, entries, log))
