"""The queue half of :class:`~alsek.adapters.redis.aio_backend.AsyncRedisBackend`: the operations
of :mod:`alsek.adapters.redis.protocol` (the synchronous queue's, with the same scripts and
replies), awaited over ``redis.asyncio``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TypeVar

from alsek.adapters.redis.aio_session import AsyncRedisSession
from alsek.adapters.redis.protocol import QueueProtocol
from alsek.adapters.redis.steps import Steps, adrive
from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.message import Message
from alsek.ports.async_backend import AsyncBackend
from alsek.ports.queue import Claim

T = TypeVar("T")


class AsyncRedisMessageQueue(AsyncBackend):
    """Message queues on Redis for asyncio code (see :class:`RedisMessageQueue` for each
    operation). Subclassed by :class:`AsyncRedisBackend`, which sets ``_session`` and
    ``_queue_ops``."""

    _session: AsyncRedisSession
    _queue_ops: QueueProtocol

    async def _queue(self, steps: Steps[T]) -> T:
        return await adrive(steps, self._session.perform)

    async def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` with ``effects``, in one round trip."""
        await self._queue(self._queue_ops.submit(message, effects))

    async def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Store and index every message with its effects (one script call per 500)."""
        return await self._queue(self._queue_ops.submit_many(submissions))

    async def apply(self, effects: Effects) -> None:
        """Apply ``effects`` in one round trip and one atomic step."""
        await self._queue(self._queue_ops.apply(effects))

    async def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Lease up to ``limit`` ready messages from ``queues``."""
        return await self._queue(self._queue_ops.claim(queues, limit, lease_ms, tasks))

    async def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Ack ``acks`` with their effects and claim the next messages, in one script call."""
        steps = self._queue_ops.ack_many_and_claim(acks, queues, limit, lease_ms, tasks)
        return await self._queue(steps)

    async def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew the leases of ``messages``; return those not leased any more."""
        return await self._queue(self._queue_ops.extend(messages, lease_ms))

    async def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` and apply ``effects``."""
        return await self._queue(self._queue_ops.ack(message, effects))

    async def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` and index it by its ``ready_at``."""
        await self._queue(self._queue_ops.retry(message, effects))

    async def fail(
        self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS
    ) -> None:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms when positive."""
        await self._queue(self._queue_ops.fail(message, dlq_ttl, effects))

    async def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Make leased ``messages`` ready (or delayed); return those not released."""
        return await self._queue(self._queue_ops.release(messages, delay_ms))

    async def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is; return whether it was stored."""
        return await self._queue(self._queue_ops.remove(message))

    async def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed)."""
        return await self._queue(self._queue_ops.depth(queue))

    async def queues(self) -> list[str]:
        """Every queue ever submitted to, sorted."""
        return await self._queue(self._queue_ops.queues())

    async def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Wait (BLPOP) until ``queues`` may have work or ``timeout_ms`` passes."""
        return await self._queue(self._queue_ops.wait_for_work(queues, timeout_ms, tasks))

    async def wait_and_claim(
        self,
        queues: Sequence[str],
        *,
        timeout_ms: int,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """BLPOP with the claim sent behind it: the claim runs when a submission wakes it."""
        steps = self._queue_ops.wait_and_claim(queues, timeout_ms, limit, lease_ms, tasks)
        return await self._queue(steps)

    async def dead_letters(self, queue: str | None = None) -> list[Message]:
        """Messages in the dead letter queue; unreadable entries are logged and skipped."""
        return await self._queue(self._queue_ops.dead_letters(queue))
