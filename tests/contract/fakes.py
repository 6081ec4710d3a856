"""Test doubles shared by the contract suite and unit tests."""

from __future__ import annotations

import threading

#: A fixed, deterministic start: later than any real "now" a test may meet, so messages built
#: with the wall clock's ``created_at`` are already ready under the fake clock.
DEFAULT_START_MS = 2_000_000_000_000


class FakeClock:
    """A clock that only moves when told to (thread-safe).

    Args:
        start_ms: the time it shows first, in ms since the epoch.
    """

    def __init__(self, start_ms: int = DEFAULT_START_MS) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """The current fake time in milliseconds."""
        with self._lock:
            return self._now

    def advance(self, ms: int) -> int:
        """Move time forward by ``ms`` milliseconds; return the new time."""
        if ms < 0:
            raise ValueError(f"a clock cannot go back ({ms} ms)")
        with self._lock:
            self._now += ms
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock(now_ms={self.now_ms()})"
