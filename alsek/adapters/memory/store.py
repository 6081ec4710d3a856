"""The shared state behind in-memory backends: one lock over key-values, queue indexes and
wake-up signals. Backends with different namespaces may share one store, as they would share
one Redis."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable

from alsek.adapters.memory.index import QueueIndex
from alsek.adapters.memory.pubsub import Hub
from alsek.adapters.memory.table import KeyValueTable


class MemoryStore:
    """Everything an :class:`~alsek.adapters.memory.InMemoryBackend` keeps.

    Attributes:
        lock: guards every attribute below; hold it for the whole of an operation.
        condition: notified (under ``lock``) whenever a queue may have new work.
        values: encoded values under full names.
        hub: pub/sub routing (it has its own lock; publish while holding ``lock`` is fine).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.condition = threading.Condition(self.lock)
        self.values = KeyValueTable()
        self.hub = Hub()
        self._queues: dict[tuple[str, str], QueueIndex] = {}
        self._known: dict[str, set[str]] = defaultdict(set)
        self._signals: dict[tuple[str, str], int] = defaultdict(int)

    def queue(self, namespace: str, name: str) -> QueueIndex | None:
        """The index of queue ``name``, or None if nothing was ever submitted to it."""
        return self._queues.get((namespace, name))

    def queue_for_submit(self, namespace: str, name: str) -> QueueIndex:
        """The index of queue ``name``, created (and remembered) if new."""
        key = (namespace, name)
        if key not in self._queues:
            self._queues[key] = QueueIndex()
            self._known[namespace].add(name)
        return self._queues[key]

    def queue_names(self, namespace: str) -> list[str]:
        """Every queue ever submitted to in ``namespace``, sorted."""
        return sorted(self._known.get(namespace, ()))

    def signal(self, namespace: str, queues: Iterable[str]) -> None:
        """Tell waiters that ``queues`` may have new work."""
        for name in queues:
            self._signals[(namespace, name)] += 1
        self.condition.notify_all()

    def signal_marks(self, namespace: str, queues: Iterable[str]) -> list[int]:
        """The signal counters of ``queues``: any change means a signal came."""
        return [self._signals.get((namespace, name), 0) for name in queues]

    def clear(self, namespace: str, now_ms: int) -> int:
        """Drop every value, queue and signal of ``namespace``; return how many values went."""
        prefix = f"{namespace}:"
        keys = self.values.keys(prefix, now_ms)
        for key in keys:
            self.values.pop(key, now_ms)
        for name in self._known.pop(namespace, set()):
            self._queues.pop((namespace, name), None)
        return len(keys)
