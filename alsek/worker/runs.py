"""The table of runs in progress in one process, shared by worker threads and the watchdog."""

from __future__ import annotations

import threading
from collections.abc import Hashable

from alsek.worker.watchdog import Running


class RunTable:
    """Thread-safe ``key -> Running`` for the messages this process is running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[Hashable, Running] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def add(self, running: Running) -> None:
        """Record ``running`` under its key."""
        with self._lock:
            self._runs[running.key] = running

    def discard(self, running: Running) -> bool:
        """Forget ``running`` if it is still the run under its key; return whether it was."""
        with self._lock:
            if self._runs.get(running.key) is running:
                del self._runs[running.key]
                return True
            return False

    def snapshot(self) -> list[Running]:
        """Every run in progress."""
        with self._lock:
            return list(self._runs.values())

    def by_uuid(self, uuid: str) -> list[Running]:
        """The runs of message ``uuid`` (normally at most one)."""
        return [r for r in self.snapshot() if r.message.uuid == uuid]
