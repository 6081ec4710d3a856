"""Key-value and pub/sub half of the in-memory backend, over a shared :class:`MemoryStore`."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from alsek.adapters.clock import SystemClock
from alsek.adapters.memory.encoding import check_ttl
from alsek.adapters.memory.keyvalue import glob_prefix_matcher
from alsek.adapters.memory.pubsub import MemorySubscription
from alsek.adapters.memory.store import MemoryStore
from alsek.adapters.serialization.json import JsonSerializer
from alsek.domain.model.errors import ValidationError
from alsek.ports.backend import DEFAULT_NAMESPACE, MISSING, Backend, Subscription
from alsek.ports.clock import Clock
from alsek.ports.serializer import Serializer


class MemoryKeySpace(Backend):
    """The key-value and pub/sub methods of :class:`InMemoryBackend` (queue methods stay abstract).

    Takes the arguments documented on :class:`InMemoryBackend`.
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        *,
        store: MemoryStore | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValidationError(f"namespace must be a non-empty string, got {namespace!r}")
        self.namespace = namespace
        self.serializer = serializer if serializer is not None else JsonSerializer()
        self.clock = clock if clock is not None else SystemClock()
        self.store = store if store is not None else MemoryStore()
        self._subscriptions: weakref.WeakSet[MemorySubscription] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"

    # -- key-value -----------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value (expired values do not count)."""
        with self.store.lock:
            return self.store.values.exists(self.full_name(name), self.clock.now_ms())

    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``; see :meth:`Backend.set`.

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
            SerializationError: if ``value`` cannot be encoded (nothing is written).
            ValidationError: if ``ttl`` is negative or not an integer.
        """
        check_ttl(ttl)
        raw = self.serializer.forward(value)
        with self.store.lock:
            now, key = self.clock.now_ms(), self.full_name(name)
            if nx and self.store.values.exists(key, now):
                raise KeyError(f"{name!r} already exists")
            self.store.values.put(key, raw, expiry(now, ttl))

    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``; see :meth:`Backend.get`."""
        with self.store.lock:
            raw = self.store.values.get(self.full_name(name), self.clock.now_ms())
        if raw is None:
            if default is MISSING:
                raise KeyError(name)
            return default
        return self.serializer.reverse(raw)

    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (:data:`MISSING` for absent ones), read at one instant."""
        with self.store.lock:
            now = self.clock.now_ms()
            raws = [self.store.values.get(self.full_name(name), now) for name in names]
        return [MISSING if raw is None else self.serializer.reverse(raw) for raw in raws]

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``; see :meth:`Backend.delete`."""
        with self.store.lock:
            raw = self.store.values.pop(self.full_name(name), self.clock.now_ms())
        if raw is None and not missing_ok:
            raise KeyError(name)

    def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``, in one step; see :meth:`Backend.delete_if_equal`."""
        raw = self.serializer.forward(value)
        with self.store.lock:
            now, key = self.clock.now_ms(), self.full_name(name)
            if self.store.values.get(key, now) != raw:
                return False
            self.store.values.pop(key, now)
            return True

    def scan(self, pattern: str | None = None) -> Iterator[str]:
        """Short names starting with the glob ``pattern``, from a snapshot taken now."""
        matches = glob_prefix_matcher(pattern or "")
        with self.store.lock:
            keys = self.store.values.keys(f"{self.namespace}:", self.clock.now_ms())
        return iter([name for name in map(self.short_name, keys) if matches(name)])

    def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every value and queue of the namespace at once; return how many values went."""
        with self.store.lock:
            return self.store.clear(self.namespace, self.clock.now_ms())

    # -- pub/sub -------------------------------------------------------------------------------

    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` to the subscriptions listening now.

        Raises:
            SerializationError: if ``value`` cannot be encoded.
        """
        self.store.hub.publish(self.full_name(channel), self.serializer.forward(value))

    def subscribe(self, *channels: str) -> Subscription:
        """Start listening on ``channels``; see :meth:`Backend.subscribe`.

        Raises:
            ValidationError: if no channel is given.
        """
        if not channels:
            raise ValidationError("subscribe() needs at least one channel")
        names = [self.full_name(channel) for channel in channels]
        subscription = MemorySubscription(self.store.hub, names, self.serializer)
        self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        """Close the subscriptions opened through this backend (idempotent)."""
        for subscription in list(self._subscriptions):
            subscription.close()


def expiry(now: int, ttl: int | None) -> int | None:
    """The expiry time of a value stored at ``now`` for ``ttl`` ms (None: never)."""
    return None if ttl is None else now + ttl
