"""Read-only views of a backend for operators: queue statistics, message lookup, dead letters.

Each call is one atomic backend operation per queue or a bounded scan (see
:mod:`alsek.ports.admin`): nothing here loads a whole queue into memory. Used by ``alsek
queues``, ``alsek message``, ``alsek dead-letters``, metrics and the dashboard.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from alsek.domain.model.inspection import QueueStats
from alsek.ports.backend import Backend

__all__ = ["QueueStats", "in_namespace", "queue_stats"]


def in_namespace(backend: Backend, namespace: str | None) -> Backend:
    """``backend``, or a twin of it on the same store under ``namespace`` when that differs."""
    if namespace is None or namespace == backend.namespace:
        return backend
    twin = copy.copy(backend)
    twin.namespace = namespace
    return twin


def queue_stats(
    backend: Backend, namespace: str | None = None, queues: Sequence[str] | None = None
) -> list[QueueStats]:
    """Per queue: ready, delayed, leased and dead counts and the age of the oldest ready message.

    Args:
        backend: the backend to look at.
        namespace: look under this namespace instead of the backend's.
        queues: the queues to look at (default: every queue ever submitted to, sorted).

    Returns:
        One :class:`QueueStats` per queue, in the order of ``queues``. The counts of a queue are
        read in one atomic step; its dead letters are counted by a bounded scan after it.

    Raises:
        BackendError: if the backend cannot be reached (``BackendConnectionError``).
    """
    backend = in_namespace(backend, namespace)
    names = backend.queues() if queues is None else list(queues)
    return [
        QueueStats.of(backend.queue_counts(queue), backend.count_dead_letters(queue))
        for queue in names
    ]
