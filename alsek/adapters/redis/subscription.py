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
#: Lost connections in a row a subscription rides out (answering "look again") before it raises.
_RECONNECTS = 50
_RECONNECT_PAUSE_S = 0.1


class RedisSubscription(Subscription):
    """A live subscription to some channels (stored keys, already namespaced).

    Subscribing waits until Redis confirmed every channel, so a value published after
    :meth:`RedisBackend.subscribe` returns is always delivered.
    """

    def __init__(self, client: redis.Redis, channels: list[str], serializer: Serializer) -> None:
        self._serializer = serializer
        self._pending: deque[Any] = deque()
        self._lost = 0
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
        """The next published value (deserialized), or :data:`MISSING` after ``timeout_ms``.

        :data:`MISSING` comes early when the connection dropped (a failover, a restart): what
        was published until redis-py subscribed again on a new connection is lost, so the caller
        must look again at what it waits for (as after a timeout).
        """
        if self._pending:
            return self._serializer.reverse(self._pending.popleft())
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        with translated():
            while True:
                remaining = max(deadline - time.monotonic(), 0.0)
                try:
                    reply = self._pubsub.get_message(timeout=remaining)
                except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                    self._lost += 1
                    if self._lost > _RECONNECTS:
                        raise
                    time.sleep(min(remaining, _RECONNECT_PAUSE_S))  # subscribed again next call
                    return MISSING
                self._lost = 0
                if reply is not None and reply["type"] == "message":
                    return self._serializer.reverse(reply["data"])
                if reply is None and time.monotonic() >= deadline:
                    return MISSING

    def close(self) -> None:
        """Unsubscribe and free the connection (idempotent)."""
        with contextlib.suppress(redis.exceptions.RedisError):  # a broken one is closed too
            self._pubsub.close()
