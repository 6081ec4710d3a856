"""Pub/sub for the Redis backend: one dedicated connection per subscription."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any

import redis

from alsek.adapters.redis.client import translated
from alsek.domain.model.errors import BackendConnectionError
from alsek.ports.keyvalue import MISSING, Subscription
from alsek.ports.serializer import Serializer

_CONFIRM_TIMEOUT_S = 10.0


class RedisSubscription(Subscription):
    """A live subscription to some channels (stored keys, already namespaced).

    Subscribing waits until Redis confirmed every channel, so a value published after
    :meth:`RedisBackend.subscribe` returns is always delivered.
    """

    def __init__(self, client: redis.Redis, channels: list[str], serializer: Serializer) -> None:
        self._serializer = serializer
        self._pending: deque[Any] = deque()
        with translated():
            self._pubsub = client.pubsub()
            try:
                self._pubsub.subscribe(*channels)
                self._await_confirmations(len(set(channels)))
            except BaseException:
                self._pubsub.close()
                raise

    def _await_confirmations(self, expected: int) -> None:
        deadline = time.monotonic() + _CONFIRM_TIMEOUT_S
        confirmed = 0
        while confirmed < expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackendConnectionError("Redis did not confirm the subscription in time")
            reply = self._pubsub.get_message(timeout=remaining)
            if reply is None:
                continue
            if reply["type"] == "subscribe":
                confirmed += 1
            elif reply["type"] == "message":
                self._pending.append(reply["data"])

    def get(self, timeout_ms: int) -> Any:
        """The next published value (deserialized), or :data:`MISSING` after ``timeout_ms``."""
        if self._pending:
            return self._serializer.reverse(self._pending.popleft())
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        with translated():
            while True:
                remaining = max(deadline - time.monotonic(), 0.0)
                reply = self._pubsub.get_message(timeout=remaining)
                if reply is not None and reply["type"] == "message":
                    return self._serializer.reverse(reply["data"])
                if reply is None and time.monotonic() >= deadline:
                    return MISSING

    def close(self) -> None:
        """Unsubscribe and free the connection (idempotent)."""
        with contextlib.suppress(redis.exceptions.RedisError):  # a broken one is closed too
            self._pubsub.close()
