"""In-process publish/subscribe: every live subscription has a queue of encoded values."""

from __future__ import annotations

import queue
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from alsek.adapters.memory.table import Raw
from alsek.ports.keyvalue import MISSING, Subscription
from alsek.ports.serializer import Serializer

_CLOSED = object()


class Hub:
    """Routes published values to the subscriptions listening on a channel (full names)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[MemorySubscription]] = defaultdict(set)

    def attach(self, subscription: MemorySubscription, channels: Iterable[str]) -> None:
        """Deliver what is published on ``channels`` to ``subscription`` from now on."""
        with self._lock:
            for channel in channels:
                self._listeners[channel].add(subscription)

    def detach(self, subscription: MemorySubscription) -> None:
        """Stop delivering anything to ``subscription``."""
        with self._lock:
            for channel in list(self._listeners):
                self._listeners[channel].discard(subscription)
                if not self._listeners[channel]:
                    del self._listeners[channel]

    def publish(self, channel: str, raw: Raw) -> int:
        """Hand ``raw`` to every subscription on ``channel``; return how many got it."""
        with self._lock:
            listeners = list(self._listeners.get(channel, ()))
        for subscription in listeners:
            subscription.deliver(raw)
        return len(listeners)


class MemorySubscription(Subscription):
    """A live subscription to channels of a :class:`Hub`.

    Args:
        hub: where the values come from.
        channels: full channel names.
        serializer: decodes each value as it is read, so every reader gets its own copy.
    """

    def __init__(self, hub: Hub, channels: Iterable[str], serializer: Serializer) -> None:
        self._hub = hub
        self._serializer = serializer
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._closed = False
        hub.attach(self, channels)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def deliver(self, raw: Raw) -> None:
        """Queue an encoded value for :meth:`get` (called by the hub)."""
        if not self._closed:
            self._inbox.put(raw)

    def get(self, timeout_ms: int) -> Any:
        """Wait up to ``timeout_ms`` for the next value; :data:`MISSING` on timeout or once closed.

        Raises:
            SerializationError: if the value cannot be decoded.
        """
        if self._closed:
            return MISSING
        try:
            if timeout_ms <= 0:
                raw = self._inbox.get_nowait()
            else:
                raw = self._inbox.get(timeout=timeout_ms / 1000)
        except queue.Empty:
            return MISSING
        if raw is _CLOSED:
            return MISSING
        return self._serializer.reverse(raw)

    def close(self) -> None:
        """Stop listening (idempotent); a waiting :meth:`get` returns :data:`MISSING`."""
        if self._closed:
            return
        self._closed = True
        self._hub.detach(self)
        self._inbox.put(_CLOSED)
