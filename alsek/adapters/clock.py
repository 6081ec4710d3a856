"""The system clock adapter."""

from __future__ import annotations

import time


class SystemClock:
    """The wall clock, in milliseconds since the Unix epoch."""

    def now_ms(self) -> int:
        """The current time in milliseconds."""
        return time.time_ns() // 1_000_000
