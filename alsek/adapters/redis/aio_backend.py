"""The asyncio Redis backend: the synchronous backend's key layout, Lua scripts, arguments and
reply decoding (:mod:`~alsek.adapters.redis.protocol`, :mod:`~alsek.adapters.redis.kv_protocol`),
awaited over ``redis.asyncio``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alsek.adapters.clock import SystemClock
from alsek.adapters.codec import check_channels, check_max_bytes, check_namespace
from alsek.adapters.redis.aio_queue import AsyncRedisMessageQueue
from alsek.adapters.redis.aio_session import AsyncConnection, AsyncRedisSession
from alsek.adapters.redis.aio_subscription import AsyncRedisSubscription
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.kv_protocol import KeyValueProtocol
from alsek.adapters.redis.protocol import QueueProtocol
from alsek.adapters.redis.steps import Steps, T, adrive
from alsek.adapters.serialization.json import JsonSerializer
from alsek.ports.async_backend import AsyncSubscription
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import DEFAULT_NAMESPACE, MISSING
from alsek.ports.serializer import Serializer


class AsyncRedisBackend(AsyncRedisMessageQueue):
    """A backend on one Redis server (>= 6.2) for asyncio code: every method is a coroutine.

    It stores what :class:`RedisBackend` stores, where it stores it (a message submitted here
    runs on any worker; a result written there is awaited here). Nothing connects at
    construction; each event loop gets its own connections on first use.

    Args:
        connection: None (localhost:6379), a ``redis://`` URL or a ``redis.asyncio.Redis``
            (which must not decode replies).
        namespace: prefix of every key (default ``"alsek"``).
        serializer: encodes values (default :class:`JsonSerializer`).
        clock: the source of time in ms (default: the system's; leases and due times then
            come from Redis' clock).
        max_message_bytes: the longest encoded message body a submission may have.
        durable: replicas that must have each submission before ``submit`` returns (``WAIT``).
        durable_timeout_ms: how long a durable submission waits for its replicas.
        conn: Alsek 1.3.2's name for ``connection``.

    Raises:
        ValidationError: for a connection of another type, a Sentinel or Cluster URL, or a bad
            namespace.
    """

    def __init__(
        self,
        connection: AsyncConnection = None,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        max_message_bytes: int | None = None,
        durable: int = 0,
        durable_timeout_ms: int = 1_000,
        conn: AsyncConnection = None,
    ) -> None:
        self._session = AsyncRedisSession(
            connection if conn is None else conn,
            durable=durable,
            durable_timeout_ms=durable_timeout_ms,
        )
        self._serializer = serializer or JsonSerializer()
        self._clock = clock or SystemClock()
        self.max_message_bytes = check_max_bytes(max_message_bytes)
        self.namespace = namespace

    @property
    def namespace(self) -> str:  # type: ignore[override]
        """The prefix of every key; setting it validates it and renames everything after."""
        return self._keys.namespace

    @namespace.setter
    def namespace(self, namespace: str) -> None:
        self._keys = KeyLayout(check_namespace(namespace))
        self._kv_ops = KeyValueProtocol(self._keys, self._serializer, self._clock)
        self._queue_ops = QueueProtocol(
            self._keys, self._serializer, self._clock, self.max_message_bytes,
            lambda: self._session.socket_timeout,
        )  # fmt: skip

    @property
    def serializer(self) -> Serializer:  # type: ignore[override]
        """Encodes every value stored or published (assignable)."""
        return self._serializer

    @serializer.setter
    def serializer(self, serializer: Serializer) -> None:
        self._serializer = serializer
        self.namespace = self.namespace

    @property
    def clock(self) -> Clock:  # type: ignore[override]
        """The source of time in ms (assignable)."""
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._clock = clock
        self.namespace = self.namespace

    def __repr__(self) -> str:
        return f"AsyncRedisBackend(namespace={self.namespace!r})"

    @property
    def conn(self) -> Any:
        """The ``redis.asyncio`` client of the running loop (Alsek 1.3.2's name)."""
        return self._session.client

    async def _kv(self, steps: Steps[T]) -> T:
        return await adrive(steps, self._session.perform)

    def full_name(self, name: str) -> str:
        """The stored key of ``name`` (as :class:`RedisBackend` names it)."""
        return self._keys.full_name(name)

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return self._keys.short_name(name)

    async def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""
        return await self._kv(self._kv_ops.exists(name))

    async def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name`` (see :meth:`RedisBackend.set`)."""
        await self._kv(self._kv_ops.set(name, value, nx, ttl))

    async def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default`` (``KeyError`` without one)."""
        return await self._kv(self._kv_ops.get(name, default))

    async def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (one MGET), :data:`MISSING` for absent ones."""
        return await self._kv(self._kv_ops.get_many(names))

    async def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name`` (``KeyError`` when absent and not ``missing_ok``)."""
        await self._kv(self._kv_ops.delete(name, missing_ok))

    async def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``: one atomic step."""
        return await self._kv(self._kv_ops.delete_if_equal(name, value))

    async def scan(self, pattern: str | None = None) -> list[str]:
        """Short names starting with ``pattern`` (SCAN, never KEYS)."""
        return await self._kv(self._kv_ops.scan(pattern))

    async def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key of the namespace; return how many visible names went."""
        return await self._kv(self._kv_ops.clear_namespace())

    async def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` (namespaced)."""
        await self._kv(self._kv_ops.publish(channel, value))

    async def subscribe(self, *channels: str) -> AsyncSubscription:
        """Listen on ``channels`` over a dedicated connection.

        Raises:
            ValidationError: if no channel is given.
        """
        check_channels(channels)
        names = [self.full_name(channel) for channel in channels]
        return await AsyncRedisSubscription.open(self._session.client, names, self.serializer)

    async def close(self) -> None:
        """Disconnect the running loop's client (idempotent; it reconnects if used again)."""
        await self._session.close()
