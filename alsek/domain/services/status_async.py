"""The asyncio status tracker: :class:`StatusTracker`'s rules
(:mod:`alsek.domain.services.status_rules`) awaited on an asynchronous backend, so an asyncio
app reads, waits for and listens to statuses without blocking its event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

from alsek.domain.model.message import Message
from alsek.domain.model.status import StatusUpdate, TaskStatus
from alsek.domain.model.steps import Steps, adrive, aiterate
from alsek.domain.services.kv_steps import AsyncKeyValuePerformer
from alsek.domain.services.status_rules import DEFAULT_STATUS_TTL_MS, StatusRules
from alsek.ports.async_backend import AsyncBackend

T = TypeVar("T")


class AsyncStatusTracker(StatusRules):
    """Tracks the status of messages, for asyncio code: the methods of :class:`StatusTracker`,
    each a coroutine (``listen_to_updates`` an async iterator), with the same rules.

    Args:
        backend: an asynchronous backend (e.g. ``AsyncRedisBackend``, or a synchronous
            backend's ``to_async()``).
        ttl: how long a status is kept after its last change, in milliseconds.
        enable_pubsub: accepted for Alsek 1.3.2 code; no effect.

    Example:
        >>> tracker = AsyncStatusTracker(AsyncRedisBackend("redis://localhost:6379"))
        >>> await tracker.wait_for(message, TaskStatus.SUCCEEDED, timeout=5_000)
        <TaskStatus.SUCCEEDED: 4>
    """

    backend: AsyncBackend

    def __init__(
        self,
        backend: AsyncBackend,
        ttl: int | None = DEFAULT_STATUS_TTL_MS,
        enable_pubsub: bool | None = None,
    ) -> None:
        super().__init__(backend, ttl, enable_pubsub)

    async def _do(self, steps: Steps[T]) -> T:
        async with AsyncKeyValuePerformer(self.backend) as perform:
            return await adrive(steps, perform)

    async def set(self, message: Message, status: TaskStatus, details: Any = None) -> None:
        """Record ``status`` for ``message`` now, with ``details``, and announce it."""
        await self._do(self.set_steps(message, status, details))

    async def publish_update(self, message: Message, update: StatusUpdate) -> None:
        """Announce ``update`` for ``message`` without recording it."""
        await self._do(self.publish_steps(message, update))

    async def delete(self, message: Message, check: bool = True, missing_ok: bool = False) -> None:
        """Forget the status of ``message``; see :meth:`StatusTracker.delete`."""
        await self._do(self.delete_steps(message, check, missing_ok))

    async def exists(self, message: Message) -> bool:
        """Whether a status is recorded for ``message``."""
        return await self._do(self.exists_steps(message))

    async def get(self, message: Message) -> TaskStatus:
        """The status of ``message`` (``TaskStatus.UNKNOWN`` when none is recorded)."""
        return await self._do(self.status_steps(message))

    async def get_update(self, message: Message) -> StatusUpdate | None:
        """The last status change of ``message``, or None."""
        return await self._do(self.update_steps(message))

    async def wait_for(
        self,
        message: Message,
        status: TaskStatus | Iterable[TaskStatus],
        timeout: int | None = 5_000,
        poll_interval: Any = None,
        raise_on_timeout: bool = True,
    ) -> TaskStatus:
        """Wait until ``message`` reaches ``status`` (or one of several), on pub/sub, without
        polling; see :meth:`StatusTracker.wait_for` (``timeout`` in ms).

        Raises:
            WaitTimeoutError: (a ``TimeoutError``) if none of ``status`` was reached in time.
            ValidationError: for a bad ``status`` or a float ``timeout``.
        """
        return await self._do(self.wait_steps(message, status, timeout, raise_on_timeout))

    async def listen_to_updates(
        self, message: Message, auto_exit: bool = True, timeout: int | None = None
    ) -> AsyncIterator[StatusUpdate]:
        """Yield the status of ``message`` and then each change; see
        :meth:`StatusTracker.listen_to_updates`."""
        async with AsyncKeyValuePerformer(self.backend) as perform:
            async for update in aiterate(self.listen_steps(message, auto_exit, timeout), perform):
                yield update
