"""The Redis key-value and pub/sub store (the key-value half of a :class:`RedisBackend`); its
operations: :mod:`alsek.adapters.redis.kv_protocol` (shared with the asyncio backend)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from alsek.adapters.codec import check_channels
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.kv_protocol import KeyValueProtocol
from alsek.adapters.redis.session import RedisSession
from alsek.adapters.redis.steps import Steps, drive
from alsek.adapters.redis.subscription import RedisSubscription
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import MISSING, KeyValueStore, Subscription
from alsek.ports.serializer import Serializer

T = TypeVar("T")


class RedisKeyValueStore(KeyValueStore):
    """Values with TTLs (SET PX) and publish/subscribe on Redis. Built by :class:`RedisBackend`.

    Args:
        session: the connection to Redis.
        keys: the key layout of the namespace.
        serializer: encodes every value.
        clock: the source of time in ms for the atomic compare-and-delete.
    """

    def __init__(
        self, session: RedisSession, keys: KeyLayout, serializer: Serializer, clock: Clock
    ) -> None:
        self._session = session
        self._keys = keys
        self._ops = KeyValueProtocol(keys, serializer, clock)
        self.namespace = keys.namespace
        self.serializer = serializer
        self.clock = clock

    def _do(self, steps: Steps[T]) -> T:
        return drive(steps, self._session.perform)

    def full_name(self, name: str) -> str:
        """The stored key of ``name``: namespaced, with the queue as the cluster hash tag."""
        return self._keys.full_name(name)

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return self._keys.short_name(name)

    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""
        return self._do(self._ops.exists(name))

    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``; see :meth:`KeyValueStore.set` (``ttl=0`` expires at
        once).

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
            SerializationError: if ``value`` cannot be encoded (nothing is written).
            ValidationError: if ``ttl`` is negative or not an integer.
        """
        self._do(self._ops.set(name, value, nx, ttl))

    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``; see :meth:`KeyValueStore.get`."""
        return self._do(self._ops.get(name, default))

    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (MGET, one round trip), :data:`MISSING` for absent ones."""
        return self._do(self._ops.get_many(names))

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``; see :meth:`KeyValueStore.delete`."""
        self._do(self._ops.delete(name, missing_ok))

    def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``: one atomic step; see the port."""
        return self._do(self._ops.delete_if_equal(name, value))

    def scan(self, pattern: str | None = None) -> Iterator[str]:
        """Short names starting with ``pattern`` (SCAN, never KEYS); internal indexes hidden.

        ``scan("queues:<q>")`` yields exactly the keys of queue ``<q>``.
        """
        return iter(self._do(self._ops.scan(pattern)))

    def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key of the namespace, indexes included (UNLINK in batches); return how
        many keys visible to :meth:`scan` went."""
        return self._do(self._ops.clear_namespace())

    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` (namespaced).

        Raises:
            SerializationError: if ``value`` cannot be encoded.
        """
        self._do(self._ops.publish(channel, value))

    def subscribe(self, *channels: str) -> Subscription:
        """Listen on ``channels`` over a dedicated connection; see the port.

        Raises:
            ValidationError: if no channel is given.
        """
        check_channels(channels)
        names = [self.full_name(channel) for channel in channels]
        subscription = RedisSubscription(self._session.pubsub_client(), names, self.serializer)
        self._session.subscriptions.add(subscription)
        return subscription
