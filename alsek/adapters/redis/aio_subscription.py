"""Pub/sub for the asyncio Redis backend: one dedicated connection per subscription."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import Any

import redis
import redis.asyncio as aioredis

from alsek.adapters.redis.client import translated
from alsek.domain.model.errors import BackendConnectionError
from alsek.ports.async_backend import AsyncSubscription
from alsek.ports.keyvalue import MISSING
from alsek.ports.serializer import Serializer

_CONFIRM_TIMEOUT_S = 10.0


class AsyncRedisSubscription(AsyncSubscription):
    """A live subscription to some channels (stored keys). Made by :meth:`open`, which returns
    once Redis confirmed every channel, so a value published afterwards is always delivered."""

    def __init__(self, pubsub: Any, serializer: Serializer) -> None:
        self._pubsub = pubsub
        self._serializer = serializer
        self._pending: deque[Any] = deque()
        self._closed = False

    @classmethod
    async def open(
        cls, client: aioredis.Redis, channels: list[str], serializer: Serializer
    ) -> AsyncRedisSubscription:
        """Subscribe to ``channels`` and wait for Redis to confirm them."""
        subscription = cls(client.pubsub(), serializer)
        try:
            with translated():
                await subscription._pubsub.subscribe(*channels)
                await subscription._confirm(len(set(channels)))
        except BaseException:
            await subscription.close()
            raise
        return subscription

    async def _confirm(self, expected: int) -> None:
        deadline = time.monotonic() + _CONFIRM_TIMEOUT_S
        confirmed = 0
        while confirmed < expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackendConnectionError("Redis did not confirm the subscription in time")
            reply = await self._pubsub.get_message(timeout=remaining)
            if reply is None:
                continue
            if reply["type"] == "subscribe":
                confirmed += 1
            elif reply["type"] == "message":
                self._pending.append(reply["data"])

    async def get(self, timeout_ms: int) -> Any:
        """The next published value (deserialized), or :data:`MISSING` after ``timeout_ms``."""
        if self._pending:
            return self._serializer.reverse(self._pending.popleft())
        if self._closed:
            return MISSING
        deadline = time.monotonic() + max(timeout_ms, 0) / 1000
        with translated():
            while True:
                remaining = max(deadline - time.monotonic(), 0.0)
                reply = await self._pubsub.get_message(timeout=remaining)
                if reply is not None and reply["type"] == "message":
                    return self._serializer.reverse(reply["data"])
                if reply is None and time.monotonic() >= deadline:
                    return MISSING

    async def close(self) -> None:
        """Unsubscribe and free the connection (idempotent)."""
        self._closed = True
        self._pending.clear()
        with contextlib.suppress(redis.exceptions.RedisError, RuntimeError):
            await self._pubsub.aclose()
