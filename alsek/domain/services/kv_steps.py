"""Key-value and pub/sub steps of the services' operations (see :mod:`alsek.domain.model.steps`),
and their two performers: on a :class:`~alsek.ports.keyvalue.KeyValueStore` (the status tracker,
the result store) and on an :class:`~alsek.ports.async_backend.AsyncBackend` (their asyncio
twins). A performer holds at most one subscription, opened by :class:`Subscribe` and closed by
:meth:`close`."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from alsek.ports.async_backend import AsyncBackend, AsyncSubscription
from alsek.ports.keyvalue import MISSING, KeyValueStore, Subscription

#: Most values :class:`Drain` takes at once.
MAX_DRAIN = 10_000


@frozen
class Get:
    """The value under ``name``, else ``default``."""

    name: str
    default: Any = None


@frozen
class GetMany:
    """The values under ``names`` (:data:`MISSING` for absent ones)."""

    names: tuple[str, ...]


@frozen
class Exists:
    """Whether ``name`` holds a value."""

    name: str


@frozen
class Set:
    """Store ``value`` under ``name``."""

    name: str
    value: Any
    ttl: int | None = None
    nx: bool = False


@frozen
class Delete:
    """Delete ``name``."""

    name: str
    missing_ok: bool = True


@frozen
class Publish:
    """Publish ``value`` on ``channel``."""

    channel: str
    value: Any


@frozen
class Subscribe:
    """Listen on ``channels`` (from now on)."""

    channels: tuple[str, ...]


@frozen
class Next:
    """The next published value, or :data:`MISSING` after ``timeout_ms``."""

    timeout_ms: int


@frozen
class Drain:
    """Everything already delivered, without waiting (a list)."""


def backend_call(step: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The backend method, arguments and keyword arguments that perform ``step`` (one of the
    key-value steps; the same for the synchronous and the asynchronous ports)."""
    if isinstance(step, Get):
        return "get", (step.name,), {"default": step.default}
    if isinstance(step, GetMany):
        return "get_many", (list(step.names),), {}
    if isinstance(step, Exists):
        return "exists", (step.name,), {}
    if isinstance(step, Set):
        return "set", (step.name, step.value), {"nx": step.nx, "ttl": step.ttl}
    if isinstance(step, Delete):
        return "delete", (step.name,), {"missing_ok": step.missing_ok}
    if isinstance(step, Publish):
        return "publish", (step.channel, step.value), {}
    raise TypeError(f"not a key-value step: {step!r}")


_LISTENING = (Subscribe, Next, Drain)


class KeyValuePerformer:
    """Performs steps on a synchronous store. Use as a context manager."""

    def __init__(self, backend: KeyValueStore) -> None:
        self.backend = backend
        self.subscription: Subscription | None = None

    def __call__(self, step: Any) -> Any:
        if not isinstance(step, _LISTENING):
            method, args, kwargs = backend_call(step)
            return getattr(self.backend, method)(*args, **kwargs)
        if isinstance(step, Subscribe):
            self.close()
            self.subscription = self.backend.subscribe(*step.channels)
            return None
        assert self.subscription is not None, "subscribe first"
        if isinstance(step, Next):
            return self.subscription.get(step.timeout_ms)
        values: list[Any] = []
        while len(values) < MAX_DRAIN and (value := self.subscription.get(0)) is not MISSING:
            values.append(value)
        return values

    def close(self) -> None:
        """Close the subscription, if any."""
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None

    def __enter__(self) -> KeyValuePerformer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncKeyValuePerformer:
    """Performs steps on an asynchronous backend. Use as an async context manager."""

    def __init__(self, backend: AsyncBackend) -> None:
        self.backend = backend
        self.subscription: AsyncSubscription | None = None

    async def __call__(self, step: Any) -> Any:
        if not isinstance(step, _LISTENING):
            method, args, kwargs = backend_call(step)
            return await getattr(self.backend, method)(*args, **kwargs)
        if isinstance(step, Subscribe):
            await self.close()
            self.subscription = await self.backend.subscribe(*step.channels)
            return None
        assert self.subscription is not None, "subscribe first"
        if isinstance(step, Next):
            return await self.subscription.get(step.timeout_ms)
        values: list[Any] = []
        while len(values) < MAX_DRAIN and (value := await self.subscription.get(0)) is not MISSING:
            values.append(value)
        return values

    async def close(self) -> None:
        """Close the subscription, if any."""
        if self.subscription is not None:
            await self.subscription.close()
            self.subscription = None

    async def __aenter__(self) -> AsyncKeyValuePerformer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
