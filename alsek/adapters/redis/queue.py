"""The Redis message queue: every queue operation is one Lua script call (one round trip,
atomic, effects included). The queue half of a :class:`RedisBackend`.

Key layout: :mod:`alsek.adapters.redis.keys`; script arguments:
:mod:`alsek.adapters.redis.calls`; claim replies: :mod:`alsek.adapters.redis.claims`; what
differs on a Redis Cluster: :mod:`alsek.adapters.redis.sharded`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Iterator, Sequence

from alsek.adapters.clock import SystemClock
from alsek.adapters.codec import (
    LeaseTokens,
    check_claim,
    check_ttl,
    dead_letter_prefix,
    decode_dead_letters,
)
from alsek.adapters.redis.admin import RedisQueueAdmin
from alsek.adapters.redis.calls import CallBuilder
from alsek.adapters.redis.claims import ClaimReader
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import SCAN_COUNT, RedisSession
from alsek.adapters.redis.sharded import ShardedQueue
from alsek.adapters.redis.upkeep import RedisUpkeep
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import (
    LeaseLostError,
    MessageAlreadyExistsError,
    MessageDoesNotExistError,
)
from alsek.domain.model.message import Message
from alsek.ports.clock import Clock
from alsek.ports.queue import Claim, MessageQueue
from alsek.ports.serializer import Serializer

log = logging.getLogger("alsek.adapters.redis")

#: Most messages one ``submit_many`` script call stores (each call is one atomic step).
SUBMIT_BATCH = 500


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _settled(reply: int, message: Message) -> int:
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


class RedisMessageQueue(RedisQueueAdmin, MessageQueue):
    """Message queues on Redis: scripts registered once and called by SHA. Built by
    :class:`RedisBackend`.

    Args:
        session: the connection to Redis.
        keys: the key layout of the namespace.
        serializer: encodes bodies and effect values.
        clock: the source of time in ms for delays, leases and TTL decisions.
    """

    def __init__(
        self,
        session: RedisSession,
        keys: KeyLayout,
        serializer: Serializer,
        clock: Clock,
        *,
        max_message_bytes: int | None = None,
    ) -> None:
        self.clock = clock
        self._session = session
        self._keys = keys
        #: Leases and due times come from Redis' clock unless the backend was given its own.
        self.server_time = type(clock) is SystemClock
        self._calls = CallBuilder(keys, serializer, max_message_bytes)
        self._reader = ClaimReader(keys, self._calls, session.run, self._call)
        self._tokens = LeaseTokens()
        self._upkeep = RedisUpkeep(session, keys, self._calls, self._call)
        self._sharded = ShardedQueue(
            session, keys.for_cluster(), serializer, self._call, max_message_bytes
        )
        # Bound once: each queue operation reaches the clock and Redis with no call in between.
        self._now = clock.now_ms
        self._run = session.run
        self._run_submit = session.run_submit  # with WAIT for replicas when durable
        self._run_after = session.run_after

    def _call(self) -> Call:
        """A script call at now (its first argument tells the script whose clock rules)."""
        return Call(self._now(), server_time=self.server_time)

    def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` with ``effects``, in one round trip; see the port."""
        if self._session.cluster:
            stored = self._sharded.submit(message, effects)
        else:
            call = self._calls.submit(self._call(), message)
            stored = self._run_submit("submit", self._calls.effects(call, effects))
        if not stored:
            raise MessageAlreadyExistsError(f"{message.summary} already exists")

    def apply(self, effects: Effects) -> None:
        """Apply ``effects`` in one round trip and one atomic step; see :meth:`MessageQueue.apply`."""
        if self._session.cluster:
            self._sharded.apply(effects)
        elif effects:
            self._run("effects", self._calls.effects(self._call(), effects))

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Store and index every message with its effects: one round trip and one atomic step
        per :data:`SUBMIT_BATCH` messages; see :meth:`MessageQueue.submit_many`."""
        if self._session.cluster:
            return self._sharded.submit_many(submissions, SUBMIT_BATCH)
        calls = [
            self._calls.submit_many(self._call(), submissions[start : start + SUBMIT_BATCH])
            for start in range(0, len(submissions), SUBMIT_BATCH)
        ]  # every batch encoded before the first is sent
        return [bool(stored) for call in calls for stored in self._run_submit("submit_many", call)]

    def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Lease up to ``limit`` ready messages from ``queues``, in one round trip (more only to
        replace corrupt bodies found); see :meth:`MessageQueue.claim`.

        Raises:
            ValidationError: if ``limit`` is negative or ``lease_ms`` is not positive.
        """
        names = _names(tasks)
        if self._session.cluster:
            return self._sharded.claim(queues, limit, lease_ms, self._tokens.next(), names)
        return self._reader.claim(
            queues, limit=limit, lease_ms=lease_ms, token=self._tokens.next(), tasks=names
        )

    def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Ack every message of ``acks`` (with its effects) and claim the next messages, in one
        round trip and one atomic step; see :meth:`MessageQueue.ack_many_and_claim`."""
        if self._session.cluster:
            return self._sharded.ack_many_and_claim(
                acks, queues, limit, lease_ms, self._tokens.next(), _names(tasks)
            )
        return self._reader.ack_many_and_claim(
            acks,
            queues,
            limit=limit,
            lease_ms=lease_ms,
            token=self._tokens.next(),
            tasks=_names(tasks),
        )

    def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew the leases of ``messages`` in one round trip; return those not leased any more."""
        if not messages:
            return []
        if self._session.cluster:
            return self._sharded.extend(messages, lease_ms)
        call = self._call()
        order = self._calls.extend(call, messages, lease_ms)
        lost_positions, errors = self._run("extend", call)
        for i in range(0, len(errors), 2):
            log.error("Could not renew the leases of queue %r: %s",
                      messages[order[errors[i]]].queue, _text(errors[i + 1]))  # fmt: skip
        return [messages[index] for index in sorted(order[p] for p in lost_positions)]

    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` and apply ``effects`` in one round trip; see :meth:`MessageQueue.ack`."""
        if self._session.cluster:
            return bool(_settled(self._sharded.ack(message, effects), message))
        call = self._calls.message(self._call(), message)
        return bool(_settled(self._run("ack", self._calls.effects(call, effects)), message))

    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` and index it by its ``ready_at``; see the port."""
        if self._session.cluster:
            reply = self._sharded.retry(message, effects)
        else:
            call = self._calls.retry(self._call(), message)
            reply = self._run("retry", self._calls.effects(call, effects))
        if not _settled(reply, message):
            raise MessageDoesNotExistError(f"{message.summary} is not stored")

    def fail(self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS) -> None:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms when positive."""
        if self._session.cluster:
            _settled(self._sharded.fail(message, dlq_ttl, effects), message)
            return
        call = self._calls.fail(self._call(), message, dlq_ttl)
        _settled(self._run("fail", self._calls.effects(call, effects)), message)

    def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Make leased ``messages`` ready at once (or in ``delay_ms``), in their original place
        (one round trip); return those not released (no longer leased by their holder)."""
        if not messages:
            return []
        check_ttl(delay_ms, "delay_ms")
        if self._session.cluster:
            return self._sharded.release(messages, delay_ms)
        kept = self._run("release", self._calls.release(self._call(), messages, delay_ms))
        return [messages[position] for position in kept]

    def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is, whoever holds it; return whether it was stored."""
        call = self._calls.message(self._call(), message, token="")
        return bool(self._run("remove", self._calls.effects(call, NO_EFFECTS)))

    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed), in one round trip."""
        q = self._keys.queue(queue)
        with translated():
            pipe = self._session.client.pipeline(transaction=False)
            pipe.zcard(q.ready)
            pipe.zcard(q.delayed)
            return int(sum(pipe.execute()))

    def queues(self) -> list[str]:
        """Every queue ever submitted to (since the namespace was last cleared), sorted."""
        if self._session.cluster:
            return self._sharded.queues()
        with translated():
            names = self._session.client.smembers(self._keys.queue_set)
        return sorted(n.decode() if isinstance(n, bytes) else n for n in names)

    def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Block until ``queues`` may have work or ``timeout_ms`` passes (BLPOP on the queues'
        wake-up lists, and on their task signals with ``tasks``). Returns at once (True) if a
        claim would already find work (checked only without ``tasks``: other tasks' ready
        messages are no work for a consumer of some tasks)."""
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        if not queues:
            time.sleep(max(timeout_ms, 0) / 1000)
            return False
        if self._session.cluster:
            with translated():
                return self._sharded.wait_for_work(
                    queues, deadline, self._blpop_timeout, _names(tasks)
                )
        if not tasks and self._run("poll", self._calls.poll(self._call(), queues)):
            return True
        signals = self._signals(queues, _names(tasks))
        while (remaining := deadline - time.monotonic()) > 0:
            with translated():
                if self._session.client.blpop(signals, timeout=self._blpop_timeout(remaining)):
                    return True
        return False

    def wait_and_claim(
        self,
        queues: Sequence[str],
        *,
        timeout_ms: int,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """BLPOP on the queues' wake-up lists with the claim pipelined behind it: Redis runs the
        claim the moment a submission wakes the BLPOP, so an idle worker gets its message in
        the round trip that waited for it. See :meth:`Backend.wait_and_claim`."""
        check_claim(limit, lease_ms)  # before the wait lengthens the lease
        unique = list(dict.fromkeys(queues))
        names = _names(tasks)
        if not unique:
            return super().wait_and_claim(
                queues, timeout_ms=timeout_ms, limit=limit, lease_ms=lease_ms, tasks=tasks
            )
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        token = self._tokens.next()
        if len(unique) > 1 and self._session.cluster:
            with translated():
                return self._sharded.wait_and_claim(
                    unique, deadline, limit, lease_ms, token, self._blpop_timeout, names
                )
        signals = self._signals(unique, names)
        while True:
            wait_s = self._blpop_timeout(deadline - time.monotonic())
            call = self._call()
            # On Redis' clock the claim reads the time it runs at. On the backend's own clock it
            # runs with this call's ``now``, when the BLPOP returns: lease for the wait too.
            lease = lease_ms if self.server_time else lease_ms + math.ceil(wait_s * 1000)
            self._calls.claim(call, unique, limit, lease, token, names)
            woken, reply = self._run_after(("BLPOP", *signals, wait_s), "claim", call)
            now = self._now() if self.server_time else call.now_ms
            claim = self._reader.finish(
                reply, call, unique, limit, lease, token, now_ms=now, tasks=names
            )
            if claim.messages or claim.corrupt or not woken or time.monotonic() >= deadline:
                return claim

    def _signals(self, queues: Sequence[str], tasks: Sequence[str]) -> list[str]:
        """The wake-up lists to wait on: each queue's, and with ``tasks`` each of their task
        signals in each queue (where a claim of other tasks leaves tokens for them)."""
        signals = [self._keys.queue(queue).signal for queue in queues]
        return signals + [f"{signal}:{task}" for signal in signals for task in tasks]

    def _blpop_timeout(self, remaining: float) -> float:
        # BLPOP takes float seconds (Redis >= 6); 0 would block forever. Stay below the socket
        # timeout so a long wait is several BLPOPs, not a read timeout.
        socket_timeout = self._session.socket_timeout
        if socket_timeout:
            remaining = min(remaining, max(socket_timeout - 1.0, socket_timeout / 2))
        return max(round(remaining, 3), 0.001)

    def repair(self, queues: Sequence[str]) -> int:
        """Index again stored bodies of ``queues`` that no index holds; see the port."""
        upkeep = self._sharded.upkeep if self._session.cluster else self._upkeep
        return sum(upkeep.repair(queue) for queue in dict.fromkeys(queues))

    def check_health(self, queues: Sequence[str], *, lease_ms: int) -> list[str]:
        """Redis >= 6.2, no key of ``queues`` of the wrong type, clocks compared; see the port."""
        return self._upkeep.check_health(queues, lease_ms=lease_ms, server_time=self.server_time)

    def dead_letters(self, queue: str | None = None) -> Iterator[Message]:
        """Messages in the dead letter queue; unreadable entries are logged and skipped."""
        keys = list(self._session.scan_keys(self._keys.pattern(dead_letter_prefix(queue))))
        entries = []
        for start in range(0, len(keys), SCAN_COUNT):
            batch = keys[start : start + SCAN_COUNT]
            raws = self._session.mget(batch)
            entries += [  # a None expired since the scan
                (self._keys.short_name(key), raw)
                for key, raw in zip(batch, raws, strict=True)
                if raw is not None
            ]
        return iter(decode_dead_letters(self._calls.serializer, entries, log))


def _names(tasks: Collection[str] | None) -> tuple[str, ...]:
    """The task filter of a claim as the scripts take it (empty: every task)."""
    return tuple(sorted(tasks)) if tasks else ()
