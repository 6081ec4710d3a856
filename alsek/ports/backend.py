"""The storage port as users know it: :class:`Backend`, the union of the two facets.

Services are typed against the facet they use (:class:`~alsek.ports.keyvalue.KeyValueStore`
for results, statuses and locks; :class:`~alsek.ports.queue.MessageQueue` for consuming);
``Backend`` is what the tour passes around and what users subclass, with the tour-era method
names.
"""

from __future__ import annotations

import pickle

from alsek.domain.model.effects import Effects
from alsek.ports.admin import QueueAdmin
from alsek.ports.async_backend import AsyncBackend
from alsek.ports.clock import Clock
from alsek.ports.keyvalue import KeyValueStore
from alsek.ports.queue import MessageQueue
from alsek.ports.serializer import Serializer


class Backend(KeyValueStore, MessageQueue, QueueAdmin):
    """Base class of storage backends: a key-value and pub/sub store, a message queue and its
    administration (:class:`~alsek.ports.admin.QueueAdmin`, for operators' tools).

    Args:
        namespace: prefix of every stored key (default ``"alsek"``).
        serializer: encodes values; ``JsonSerializer`` when omitted (set by the adapter).
        clock: source of time in ms; the system clock when omitted (set by the adapter).
    """

    namespace: str
    serializer: Serializer
    clock: Clock

    def apply(self, effects: Effects) -> None:
        """Apply ``effects`` on their own (writes, deletes, submits, then publishes), atomically;
        adapters do it in one round trip.

        Raises:
            SerializationError: if an effect cannot be encoded; nothing is applied.
        """
        for write in effects.writes:
            self.set(write.name, write.value, ttl=write.ttl_ms)
        for name in effects.deletes:
            self.delete(name, missing_ok=True)
        for message in effects.submits:
            self.submit(message)
        for publish in effects.publishes:
            self.publish(publish.channel, publish.value)

    def to_async(self) -> AsyncBackend:
        """This backend for asyncio code (``await task.agenerate(...)``, the async status
        tracker and result store): the same store, each method a coroutine.

        Raises:
            NotImplementedError: for a backend that has no asyncio view.
        """
        raise NotImplementedError(f"{type(self).__name__} has no asyncio view")

    def close(self) -> None:
        """Release connections and threads held by the backend (idempotent)."""
        return None

    def encode(self) -> bytes:
        """This backend as bytes (its description, not its connections): Alsek 1.3.2's form,
        read back by :meth:`from_settings`.

        Raises:
            TypeError: if the backend cannot be pickled (an in-memory one lives in its process).
        """
        return pickle.dumps(self)

    @classmethod
    def from_settings(cls, settings: bytes) -> Backend:
        """The backend :meth:`encode` gave (a fresh one, with its own connections)."""
        backend = pickle.loads(settings)  # noqa: S301 - bytes this library encoded
        if not isinstance(backend, Backend):
            raise TypeError(f"not an encoded backend: {type(backend).__name__}")
        return backend

    _from_settings = from_settings
