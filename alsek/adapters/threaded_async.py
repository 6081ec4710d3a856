"""An :class:`~alsek.ports.async_backend.AsyncBackend` over any synchronous
:class:`~alsek.ports.backend.Backend`: what ``to_async()`` gives for backends without a native
asyncio twin (the in-memory one, users' own). Calls that return at once run inline; calls that
wait (``wait_for_work``, ``wait_and_claim``, a subscription's ``get``) run in a worker thread, so
the event loop never blocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from typing import Any

from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.message import Message
from alsek.ports.async_backend import AsyncBackend, AsyncSubscription
from alsek.ports.backend import Backend
from alsek.ports.keyvalue import MISSING, Subscription
from alsek.ports.queue import Claim


class ThreadedAsyncSubscription(AsyncSubscription):
    """A synchronous subscription awaited through a worker thread."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription

    async def get(self, timeout_ms: int) -> Any:
        """The next published value, or :data:`MISSING` after ``timeout_ms``."""
        if timeout_ms <= 0:
            return self._subscription.get(0)
        return await asyncio.to_thread(self._subscription.get, timeout_ms)

    async def close(self) -> None:
        """Stop listening (idempotent)."""
        self._subscription.close()


def _inline(name: str) -> Callable[..., Any]:
    async def call(self: ThreadedAsyncBackend, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.backend, name)(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = f"The synchronous backend's ``{name}``, awaited (it returns at once)."
    return call


class ThreadedAsyncBackend(AsyncBackend):
    """``backend``'s operations as coroutines (see the module).

    Args:
        backend: the synchronous backend, which keeps its state (both views see the same).
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def __repr__(self) -> str:
        return f"ThreadedAsyncBackend({self.backend!r})"

    namespace = property(lambda self: self.backend.namespace)  # type: ignore[assignment]
    serializer = property(lambda self: self.backend.serializer)  # type: ignore[assignment]
    clock = property(lambda self: self.backend.clock)  # type: ignore[assignment]

    def full_name(self, name: str) -> str:
        """The stored key of ``name``."""
        return self.backend.full_name(name)

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return self.backend.short_name(name)

    exists = _inline("exists")
    set = _inline("set")
    get_many = _inline("get_many")
    delete = _inline("delete")
    delete_if_equal = _inline("delete_if_equal")
    clear_namespace = _inline("clear_namespace")
    publish = _inline("publish")
    submit_many = _inline("submit_many")
    apply = _inline("apply")
    claim = _inline("claim")
    ack_many_and_claim = _inline("ack_many_and_claim")
    extend = _inline("extend")
    release = _inline("release")
    remove = _inline("remove")
    depth = _inline("depth")
    queues = _inline("queues")

    async def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``."""
        return self.backend.get(name, default)

    async def scan(self, pattern: str | None = None) -> list[str]:
        """Short names starting with ``pattern``."""
        return list(self.backend.scan(pattern))

    async def dead_letters(self, queue: str | None = None) -> list[Message]:
        """Messages in the dead letter queue."""
        return list(self.backend.dead_letters(queue))

    async def subscribe(self, *channels: str) -> AsyncSubscription:
        """Listen on ``channels``."""
        return ThreadedAsyncSubscription(self.backend.subscribe(*channels))

    async def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` with ``effects``."""
        self.backend.submit(message, effects=effects)

    async def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` with ``effects``."""
        return self.backend.ack(message, effects=effects)

    async def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Index the updated ``message`` by its ``ready_at``."""
        self.backend.retry(message, effects=effects)

    async def fail(
        self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS
    ) -> None:
        """Remove ``message`` (a dead letter for ``dlq_ttl`` ms when positive)."""
        self.backend.fail(message, dlq_ttl=dlq_ttl, effects=effects)

    async def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Wait in a worker thread."""
        return await asyncio.to_thread(self.backend.wait_for_work, queues, timeout_ms, tasks=tasks)

    async def wait_and_claim(
        self,
        queues: Sequence[str],
        *,
        timeout_ms: int,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Wait and claim in a worker thread."""
        return await asyncio.to_thread(
            lambda: self.backend.wait_and_claim(
                queues, timeout_ms=timeout_ms, limit=limit, lease_ms=lease_ms, tasks=tasks
            )
        )
