"""The in-memory backend: the whole storage port inside one process.

Users swap it in for Redis in their own unit tests. It is the union of a
:class:`~alsek.adapters.memory.keyvalue.MemoryKeyValueStore` and a
:class:`~alsek.adapters.memory.queue.MemoryMessageQueue` over one shared
:class:`~alsek.adapters.memory.store.MemoryStore`.
"""

from __future__ import annotations

import weakref

from alsek.adapters.codec import check_max_bytes, check_namespace
from alsek.adapters.composed import ComposedBackend
from alsek.adapters.memory.keyvalue import MemoryKeyValueStore
from alsek.adapters.memory.pubsub import MemorySubscription
from alsek.adapters.memory.queue import MemoryMessageQueue
from alsek.adapters.memory.store import MemoryStore
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import DEFAULT_NAMESPACE
from alsek.ports.serializer import Serializer


class InMemoryBackend(ComposedBackend):
    """A backend that keeps everything in this process's memory.

    Every operation holds the store's one lock from start to end, so each queue operation is
    atomic; values are kept encoded, as Redis keeps them.

    Args:
        namespace: prefix of every stored name (default ``"alsek"``).
        serializer: encodes values (default :class:`JsonSerializer`).
        clock: source of time in ms (default :class:`SystemClock`); TTLs, delays and leases all
            follow it, so a fake clock makes time-dependent tests instant.
        store: the state to use; pass another backend's ``store`` to share it under a different
            namespace, as two backends share one Redis. A new, empty store when omitted.
        max_message_bytes: the longest encoded message body a submission may have (None: no
            limit); a longer one raises :class:`MessageTooLargeError` and nothing is stored.

    Raises:
        ValidationError: if ``namespace`` is empty or holds ``:``, glob characters or braces
            (also when assigned), or ``max_message_bytes`` is not a positive int.
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        serializer: Serializer | None = None,
        clock: Clock | None = None,
        *,
        store: MemoryStore | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        self.store = store if store is not None else MemoryStore()
        self.max_message_bytes = check_max_bytes(max_message_bytes)
        self._subscriptions: weakref.WeakSet[MemorySubscription] = weakref.WeakSet()
        super().__init__(namespace, serializer, clock)

    def build_components(
        self, namespace: str, serializer: Serializer, clock: Clock
    ) -> tuple[MemoryKeyValueStore, MemoryMessageQueue]:
        """The two components over :attr:`store` for this context.

        Raises:
            ValidationError: if ``namespace`` is not usable (see ``check_namespace``).
        """
        check_namespace(namespace)
        return (
            MemoryKeyValueStore(self.store, namespace, serializer, clock, self._subscriptions),
            MemoryMessageQueue(
                self.store, namespace, serializer, clock, max_message_bytes=self.max_message_bytes
            ),
        )

    def close(self) -> None:
        """Close the subscriptions opened through this backend (idempotent)."""
        for subscription in list(self._subscriptions):
            subscription.close()
