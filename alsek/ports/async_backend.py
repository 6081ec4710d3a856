"""The storage port for asyncio code: :class:`AsyncBackend`, the awaitable twin of
:class:`~alsek.ports.backend.Backend` (same operations, same rules, same names; each method a
coroutine). An asyncio web app submits, reads statuses and awaits results through it without
blocking its event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from alsek.domain.model.effects import NO_EFFECTS, Effects
from alsek.domain.model.message import Message
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import MISSING
from alsek.ports.queue import Claim
from alsek.ports.serializer import Serializer


class AsyncSubscription(ABC):
    """A live pub/sub subscription. Use as an async context manager; it closes on exit."""

    @abstractmethod
    async def get(self, timeout_ms: int) -> Any:
        """The next published value (deserialized), or :data:`MISSING` after ``timeout_ms``."""

    @abstractmethod
    async def close(self) -> None:
        """Stop listening and free the connection."""

    async def __aenter__(self) -> AsyncSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncBackend(ABC):
    """Base of asynchronous backends: see :class:`~alsek.ports.backend.Backend` for what each
    operation does; here each one is awaited.

    Attributes:
        namespace: prefix of every stored key.
        serializer: encodes every value stored or published.
        clock: source of time in ms.
    """

    namespace: str
    serializer: Serializer
    clock: Clock
    #: Alsek 1.3.2's capability flags.
    IS_ASYNC = True
    SUPPORTS_PUBSUB = True

    @abstractmethod
    def full_name(self, name: str) -> str:
        """The stored key of the short ``name``."""

    @abstractmethod
    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""

    # -- key-value and pub/sub ------------------------------------------------------------------

    @abstractmethod
    async def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""

    @abstractmethod
    async def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name`` (``KeyError`` with ``nx`` when it exists)."""

    @abstractmethod
    async def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default`` (``KeyError`` without one)."""

    @abstractmethod
    async def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names``, :data:`MISSING` for absent ones."""

    @abstractmethod
    async def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name`` (``KeyError`` when absent and not ``missing_ok``)."""

    @abstractmethod
    async def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``, atomically; return whether it did."""

    @abstractmethod
    async def scan(self, pattern: str | None = None) -> list[str]:
        """Short names starting with ``pattern``."""

    async def count(self, pattern: str | None = None) -> int:
        """How many names start with ``pattern``."""
        return len(await self.scan(pattern))

    @abstractmethod
    async def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key of the namespace; return how many visible names went."""

    @abstractmethod
    async def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel``."""

    @abstractmethod
    async def subscribe(self, *channels: str) -> AsyncSubscription:
        """Listen on ``channels``; what is published after this returns is delivered."""

    # -- the message queue -----------------------------------------------------------------------

    @abstractmethod
    async def submit(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store and index ``message`` atomically with ``effects``."""

    @abstractmethod
    async def submit_many(self, submissions: Sequence[tuple[Message, Effects]]) -> list[bool]:
        """Submit each message with its effects; per submission, whether it was stored."""

    @abstractmethod
    async def apply(self, effects: Effects) -> None:
        """Apply ``effects`` on their own, atomically."""

    @abstractmethod
    async def claim(
        self,
        queues: Sequence[str],
        *,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Lease up to ``limit`` ready messages from ``queues``."""

    @abstractmethod
    async def ack_many_and_claim(
        self,
        acks: Sequence[tuple[Message, Effects]],
        *,
        queues: Sequence[str],
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Ack ``acks`` with their effects and claim, in one atomic step."""

    @abstractmethod
    async def extend(self, messages: Sequence[Message], *, lease_ms: int) -> list[Message]:
        """Renew leases; return the messages not leased any more."""

    @abstractmethod
    async def ack(self, message: Message, *, effects: Effects = NO_EFFECTS) -> bool:
        """Finish ``message`` with ``effects``."""

    @abstractmethod
    async def retry(self, message: Message, *, effects: Effects = NO_EFFECTS) -> None:
        """Store the updated ``message`` and index it by its ``ready_at``."""

    @abstractmethod
    async def fail(
        self, message: Message, *, dlq_ttl: int | None, effects: Effects = NO_EFFECTS
    ) -> None:
        """Remove ``message``, keeping it as a dead letter for ``dlq_ttl`` ms when positive."""

    @abstractmethod
    async def release(self, messages: Sequence[Message], *, delay_ms: int = 0) -> list[Message]:
        """Make leased ``messages`` ready again; return those not released."""

    @abstractmethod
    async def remove(self, message: Message) -> bool:
        """Delete ``message`` wherever it is; return whether it was stored."""

    @abstractmethod
    async def depth(self, queue: str) -> int:
        """How many messages wait in ``queue`` (ready or delayed)."""

    @abstractmethod
    async def queues(self) -> list[str]:
        """Every queue ever submitted to, sorted."""

    @abstractmethod
    async def wait_for_work(
        self, queues: Sequence[str], timeout_ms: int, *, tasks: Collection[str] | None = None
    ) -> bool:
        """Wait until ``queues`` may have work or ``timeout_ms`` passes; whether woken."""

    @abstractmethod
    async def wait_and_claim(
        self,
        queues: Sequence[str],
        *,
        timeout_ms: int,
        limit: int,
        lease_ms: int,
        tasks: Collection[str] | None = None,
    ) -> Claim:
        """Wait for work, then claim it."""

    @abstractmethod
    async def dead_letters(self, queue: str | None = None) -> list[Message]:
        """Messages in the dead letter queue (of ``queue``, or of all queues)."""

    async def close(self) -> None:
        """Release the connections held (idempotent)."""
        return None
