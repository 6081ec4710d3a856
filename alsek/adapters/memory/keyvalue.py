"""The in-memory key-value and pub/sub store, over a shared :class:`MemoryStore`."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

from alsek.adapters.codec import check_channels, check_ttl, decode_value
from alsek.adapters.memory.pubsub import MemorySubscription
from alsek.adapters.memory.store import MemoryStore
from alsek.adapters.memory.table import expiry, glob_prefix_matcher
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import MISSING, KeyValueStore, Subscription
from alsek.ports.serializer import Serializer


class MemoryKeyValueStore(KeyValueStore):
    """Values with TTLs and publish/subscribe in this process's memory (the key-value half of an
    :class:`~alsek.adapters.memory.InMemoryBackend`, which builds it).

    Args:
        store: the shared state.
        namespace: prefix of every stored name.
        serializer: encodes every value.
        clock: source of time in ms (TTLs follow it).
        subscriptions: where to remember each subscription opened, so the backend can close it.
    """

    def __init__(
        self,
        store: MemoryStore,
        namespace: str,
        serializer: Serializer,
        clock: Clock,
        subscriptions: weakref.WeakSet[MemorySubscription],
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.serializer = serializer
        self.clock = clock
        self._subscriptions = subscriptions

    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value (expired values do not count)."""
        with self.store.lock:
            return self.store.values.exists(self.full_name(name), self.clock.now_ms())

    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``; see :meth:`KeyValueStore.set`.

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
        """The value under ``name``, else ``default``; see :meth:`KeyValueStore.get`."""
        with self.store.lock:
            raw = self.store.values.get(self.full_name(name), self.clock.now_ms())
        return decode_value(self.serializer, raw, name, default)

    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` (:data:`MISSING` for absent ones), read at one instant."""
        with self.store.lock:
            now = self.clock.now_ms()
            raws = [self.store.values.get(self.full_name(name), now) for name in names]
        return [MISSING if raw is None else self.serializer.reverse(raw) for raw in raws]

    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``; see :meth:`KeyValueStore.delete`."""
        with self.store.lock:
            raw = self.store.values.pop(self.full_name(name), self.clock.now_ms())
        if raw is None and not missing_ok:
            raise KeyError(name)

    def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` if it holds ``value``, in one step; see the port."""
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

    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` to the subscriptions listening now.

        Raises:
            SerializationError: if ``value`` cannot be encoded.
        """
        self.store.hub.publish(self.full_name(channel), self.serializer.forward(value))

    def subscribe(self, *channels: str) -> Subscription:
        """Start listening on ``channels``; see :meth:`KeyValueStore.subscribe`.

        Raises:
            ValidationError: if no channel is given.
        """
        check_channels(channels)
        names = [self.full_name(channel) for channel in channels]
        subscription = MemorySubscription(self.store.hub, names, self.serializer)
        self._subscriptions.add(subscription)
        return subscription
