"""A synchronous view of an :class:`~alsek.ports.async_backend.AsyncBackend`, so that the one
backend contract runs on asynchronous backends too: each call runs the backend's coroutine on
an event loop of its own thread and waits (bounded) for it."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine
from typing import Any

from alsek.ports.async_backend import AsyncBackend, AsyncSubscription
from alsek.ports.keyvalue import Subscription

BOUND_S = 30.0


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(BOUND_S)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(BOUND_S)


class BlockingSubscription(Subscription):
    def __init__(self, subscription: AsyncSubscription, loop: _Loop) -> None:
        self._subscription, self._loop = subscription, loop

    def get(self, timeout_ms: int) -> Any:
        return self._loop.run(self._subscription.get(timeout_ms))

    def close(self) -> None:
        self._loop.run(self._subscription.close())


class BlockingBackend:
    """Every coroutine method of ``backend`` as a blocking method (lists of names and dead
    letters as iterators, as the synchronous port returns them)."""

    def __init__(self, backend: AsyncBackend, loop: _Loop | None = None) -> None:
        self.__dict__["_backend"] = backend
        self.__dict__["_loop"] = loop or _Loop()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._backend, name)
        if not inspect.iscoroutinefunction(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            value = self._loop.run(target(*args, **kwargs))
            if isinstance(value, AsyncSubscription):
                return BlockingSubscription(value, self._loop)
            if name in ("scan", "dead_letters"):
                return iter(value)
            return value

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._backend, name, value)

    def stop(self) -> None:
        """Close the backend's connections and stop the loop."""
        self._loop.run(self._backend.close())
        self._loop.stop()
