"""The key-value and pub/sub port: results, statuses, locks and markers live here.

Names passed to a store are *short names* (``results:<uuid>``, ``queues:<q>:...``); the store
prefixes its namespace (and, in Redis, a cluster hash tag) to make the stored key. Values go
through the store's serializer. Status and result changes are published too, so that waiting
for one needs no polling loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from alsek.ports.clock import Clock
from alsek.ports.serializer import Serializer

DEFAULT_NAMESPACE = "alsek"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


#: What :meth:`KeyValueStore.get_many` and :meth:`Subscription.get` return for "nothing there".
MISSING: Any = _Missing()


class Subscription(ABC):
    """A live pub/sub subscription. Use as a context manager; it closes on exit."""

    @abstractmethod
    def get(self, timeout_ms: int) -> Any:
        """Wait up to ``timeout_ms`` for the next published value; return it (deserialized) or
        :data:`MISSING` on timeout."""

    @abstractmethod
    def close(self) -> None:
        """Stop listening and free the connection."""

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class KeyValueStore(ABC):
    """Values under names, with TTLs, and publish/subscribe on channels.

    Attributes:
        namespace: prefix of every stored key.
        serializer: encodes every value stored or published.
        clock: source of time in ms (lock and result timestamps).
    """

    namespace: str
    serializer: Serializer
    clock: Clock

    # -- names ---------------------------------------------------------------------------------

    def full_name(self, name: str) -> str:
        """The stored key for a short ``name`` (the namespace prefixed)."""
        return f"{self.namespace}:{name}"

    def short_name(self, name: str) -> str:
        """The inverse of :meth:`full_name`."""
        return name[len(self.namespace) + 1 :]

    # -- key-value -----------------------------------------------------------------------------

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether ``name`` holds a value."""

    @abstractmethod
    def set(self, name: str, value: Any, nx: bool = False, ttl: int | None = None) -> None:
        """Store ``value`` under ``name``.

        Args:
            name: short name.
            value: anything the serializer encodes.
            nx: only set if ``name`` does not exist yet.
            ttl: expire after this many milliseconds (None: never).

        Raises:
            KeyError: if ``nx`` and ``name`` already exists.
        """

    @abstractmethod
    def get(self, name: str, default: Any = MISSING) -> Any:
        """The value under ``name``, else ``default``.

        Raises:
            KeyError: if ``name`` is missing and no default was given.
        """

    @abstractmethod
    def get_many(self, names: Sequence[str]) -> list[Any]:
        """The values under ``names`` in one round trip (:data:`MISSING` for absent names)."""

    @abstractmethod
    def delete(self, name: str, missing_ok: bool = False) -> None:
        """Delete ``name``.

        Raises:
            KeyError: if ``name`` is missing and not ``missing_ok``.
        """

    def delete_if_equal(self, name: str, value: Any) -> bool:
        """Delete ``name`` only if it holds ``value`` (compare-and-delete; adapters make it
        atomic). Returns whether it was deleted."""
        if self.get(name, default=MISSING) != value:
            return False
        self.delete(name, missing_ok=True)
        return True

    @abstractmethod
    def scan(self, pattern: str | None = None) -> Iterator[str]:
        """Short names that start with ``pattern`` (a glob prefix), in no particular order."""

    def count(self, pattern: str | None = None) -> int:
        """How many names start with ``pattern``."""
        return sum(1 for _ in self.scan(pattern))

    def clear_namespace(self, raise_on_error: bool = True) -> int:
        """Delete every key in the namespace; return how many were deleted."""
        deleted = 0
        for name in list(self.scan()):
            try:
                self.delete(name)
                deleted += 1
            except KeyError:
                if raise_on_error:
                    raise
        return deleted

    # -- pub/sub -------------------------------------------------------------------------------

    @abstractmethod
    def publish(self, channel: str, value: Any) -> None:
        """Publish ``value`` on ``channel`` (a short name)."""

    @abstractmethod
    def subscribe(self, *channels: str) -> Subscription:
        """Start listening on ``channels``; values published from now on are delivered."""
