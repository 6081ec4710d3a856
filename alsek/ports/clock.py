"""The clock port: time as milliseconds since the epoch, injectable for tests."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Something that tells the time in milliseconds since the Unix epoch (UTC)."""

    def now_ms(self) -> int:
        """The current time in milliseconds."""
        ...
