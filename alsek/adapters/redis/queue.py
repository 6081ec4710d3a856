"""The Redis message queue: every queue operation is one Lua script call (one round trip,
atomic, effects included). The queue half of a :class:`RedisBackend`.

Key layout: :mod:`alsek.adapters.redis.keys`; the operations (script arguments and replies,
shared with the asyncio backend): :mod:`alsek.adapters.redis.protocol`; what differs on a
Redis Cluster: :mod:`alsek.adapters.redis.sharded`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from typing import TypeVar

from alsek.adapters.codec import check_claim, check_ttl
from alsek.adapters.redis.admin import RedisQueueAdmin
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.protocol import SUBMIT_BATCH, QueueProtocol, settled, task_names
from alsek.adapters.redis.session import RedisSession
from alsek.adapters.redis.sharded import ShardedQueue
from alsek.adapters.redis.steps import Steps, drive
from alsek.adapters.redis.upkeep import RedisUpkeep
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.errors import MessageAlreadyExistsError, MessageDoesNotExistError
from alsek.domain.model.message import Message
from alsek.ports.clock import Clock
from alsek.ports.queue import Claim, MessageQueue
from alsek.ports.serializer import Serializer

__all__ = ["SUBMIT_BATCH", "RedisMessageQueue"]

T = TypeVar("T")


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
        self._ops = QueueProtocol(
            keys, serializer, clock, max_message_bytes, lambda: session.socket_timeout
        )
        #: Leases and due times come from Redis' clock unless the backend was given its own.
        self.server_time = self._ops.server_time
        self._calls = self._ops.calls
        self._call = self._ops.new_call
        self._tokens = self._ops.tokens
        self._upkeep = RedisUpkeep(session, keys, self._calls, self._call)
        self._sharded = ShardedQueue(
            session, keys.for_cluster(), serializer, self._call, max_message_bytes
        )
        self._perform = session.perform  # bound once: the hot path reaches Redis directly

    def _do(self, steps: Steps[T]) -> T:
        return drive(steps, self._perform)

    def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` with ``effects``, in one round trip; see the port."""
        if not self._session.cluster:
            return self._do(self._ops.submit(message, effects))
        if not self._sharded.submit(message, effects):
            raise MessageAlreadyExistsError(f"{message.summary} already exists")
        return None

    def apply(self, effects: Effects) -> None:
        """Apply ``effects`` in one round trip and one atomic step; see :meth:`MessageQueue.apply`."""
        if self._session.cluster:
            self._sharded.apply(effects)
        else:
            self._do(self._ops.apply(effects))

    def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Store and index every message with its effects: one round trip and one atomic step
        per :data:`SUBMIT_BATCH` messages; see :meth:`MessageQueue.submit_many`."""
        if self._session.cluster:
            return self._sharded.submit_many(submissions, SUBMIT_BATCH)
        return self._do(self._ops.submit_many(submissions))

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
        if self._session.cluster:
            token = self._tokens.next()
            return self._sharded.claim(queues, limit, lease_ms, token, task_names(tasks))
        return self._do(self._ops.claim(queues, limit, lease_ms, tasks))

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
                acks, queues, limit, lease_ms, self._tokens.next(), task_names(tasks)
            )
        return self._do(self._ops.ack_many_and_claim(acks, queues, limit, lease_ms, tasks))

    def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew the leases of ``messages`` in one round trip; return those not leased any more."""
        if messages and self._session.cluster:
            return self._sharded.extend(messages, lease_ms)
        return self._do(self._ops.extend(messages, lease_ms))

    def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` and apply ``effects`` in one round trip; see :meth:`MessageQueue.ack`."""
        if self._session.cluster:
            return bool(settled(self._sharded.ack(message, effects), message))
        return self._do(self._ops.ack(message, effects))

    def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` and index it by its ``ready_at``; see the port."""
        if not self._session.cluster:
            return self._do(self._ops.retry(message, effects))
        if not settled(self._sharded.retry(message, effects), message):
            raise MessageDoesNotExistError(f"{message.summary} is not stored")
        return None

    def fail(self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS) -> None:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms when positive."""
        if self._session.cluster:
            settled(self._sharded.fail(message, dlq_ttl, effects), message)
        else:
            self._do(self._ops.fail(message, dlq_ttl, effects))

    def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Make leased ``messages`` ready at once (or in ``delay_ms``), in their original place
        (one round trip); return those not released (no longer leased by their holder)."""
        if messages and self._session.cluster:
            check_ttl(delay_ms, "delay_ms")
            return self._sharded.release(messages, delay_ms)
        return self._do(self._ops.release(messages, delay_ms))

    def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is, whoever holds it; return whether it was stored."""
        return self._do(self._ops.remove(message))

    def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed), in one round trip."""
        return self._do(self._ops.depth(queue))

    def queues(self) -> list[str]:
        """Every queue ever submitted to (since the namespace was last cleared), sorted."""
        if self._session.cluster:
            return self._sharded.queues()
        return self._do(self._ops.queues())

    def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Block until ``queues`` may have work or ``timeout_ms`` passes (BLPOP on the queues'
        wake-up lists, and on their task signals with ``tasks``). Returns at once (True) if a
        claim would already find work (checked only without ``tasks``: other tasks' ready
        messages are no work for a consumer of some tasks)."""
        if queues and self._session.cluster:
            deadline = time.monotonic() + max(timeout_ms, 0) / 1000
            with translated():
                return self._sharded.wait_for_work(
                    queues, deadline, self._ops.blpop_timeout, task_names(tasks)
                )
        return self._do(self._ops.wait_for_work(queues, timeout_ms, tasks))

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
        unique = list(dict.fromkeys(queues))
        if len(unique) > 1 and self._session.cluster:
            check_claim(limit, lease_ms)
            deadline = time.monotonic() + max(timeout_ms, 0) / 1000
            token, names = self._tokens.next(), task_names(tasks)
            with translated():
                return self._sharded.wait_and_claim(
                    unique, deadline, limit, lease_ms, token, self._ops.blpop_timeout, names
                )
        return self._do(self._ops.wait_and_claim(unique, timeout_ms, limit, lease_ms, tasks))

    def repair(self, queues: Sequence[str]) -> int:
        """Index again stored bodies of ``queues`` that no index holds; see the port."""
        upkeep = self._sharded.upkeep if self._session.cluster else self._upkeep
        return sum(upkeep.repair(queue) for queue in dict.fromkeys(queues))

    def check_health(self, queues: Sequence[str], *, lease_ms: int) -> list[str]:
        """Redis >= 6.2, no key of ``queues`` of the wrong type, clocks compared; see the port."""
        return self._upkeep.check_health(queues, lease_ms=lease_ms, server_time=self.server_time)

    def dead_letters(self, queue: str | None = None) -> Iterator[Message]:
        """Messages in the dead letter queue; unreadable entries are logged and skipped."""
        return iter(self._do(self._ops.dead_letters(queue)))
