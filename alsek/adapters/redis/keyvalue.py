"""The Redis key-value and pub/sub store (the key-value half of a :class:`RedisBackend`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from alsek.adapters.codec import check_channels, check_ttl, decode_value
from alsek.adapters.redis.client import translated
from alsek.adapters.redis.keys import KeyLayout
from alsek.adapters.redis.scripts import Call
from alsek.adapters.redis.session import SCAN_COUNT, RedisSession
from alsek.adapters.redis.subscription import RedisSubscription
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import MISSING, KeyValueStore, Subscription
from alsek.ports.serializer import Serializer


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
        self.namespace = keys.namespace
        self.serializer = serializer
        self.clock = clock

    def full_name(self, name: str) -> str:
        """The stored key of ``name``: namespaced, with the queue as the cluster hash tag."""
        return self._keys.full_name(name)

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return self._keys.short_name(name)

    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""
        with translated():
            return bool(self._session.client.exists(self.full_name(name)))

    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``; see :meth:`KeyValueStore.set` (``ttl=0`` expires at
        once).

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
            SerializationError: if ``value`` cannot be encoded (nothing is written).
            ValidationError: if ``ttl`` is negative or not an integer.
        """
        check_ttl(ttl)
        raw, key, client = (
            self.serializer.forward(value),
            self.full_name(name),
            self._session.client,
        )
        with translated():
            if ttl == 0:  # stored and expired at the same instant: nothing to see
                if nx and client.exists(key):
                    raise KeyError(f"{name!r} already exists")
                client.delete(key)
                return
            if not client.set(key, raw, nx=nx, px=ttl) and nx:
                raise KeyError(f"{name!r} already exists")

    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``; see :meth:`KeyValueStore.get`."""
        with translated():
            raw = self._session.client.get(self.full_name(name))
        return decode_value(self.serializer, raw, name, default)

    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (MGET, one round trip), :data:`MISSING` for absent ones."""
        if not names:
            return []
        raws = self._session.mget([self.full_name(name) for name in names])
        return [MISSING if raw is None else self.serializer.reverse(raw) for raw in raws]

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``; see :meth:`KeyValueStore.delete`."""
        with translated():
            deleted = self._session.client.delete(self.full_name(name))
        if not deleted and not missing_ok:
            raise KeyError(name)

    def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``: one atomic step; see the port."""
        raw = self.serializer.forward(value)
        call = Call(self.clock.now_ms()).key(self.full_name(name)).arg(raw)
        return bool(self._session.run("delete_if", call))

    def scan(self, pattern: str | None = None) -> Iterator[str]:
        """Short names starting with ``pattern`` (SCAN, never KEYS); internal indexes hidden.

        ``scan("queues:<q>")`` yields exactly the keys of queue ``<q>``.
        """
        for key in self._session.scan_keys(self._keys.pattern(pattern)):
            if not key.startswith(self._keys.internal):
                yield self.short_name(key)

    def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key of the namespace, indexes included (UNLINK in batches); return how
        many keys visible to :meth:`scan` went."""
        keys = list(self._session.scan_keys(self._keys.pattern(None)))
        with translated():
            for start in range(0, len(keys), SCAN_COUNT):
                self._session.client.unlink(*keys[start : start + SCAN_COUNT])
        return sum(1 for key in keys if not key.startswith(self._keys.internal))

    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` (namespaced).

        Raises:
            SerializationError: if ``value`` cannot be encoded.
        """
        raw = self.serializer.forward(value)
        with translated():
            self._session.client.publish(self.full_name(channel), raw)

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
