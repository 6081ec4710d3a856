"""What a consumer checks to know it should stop."""

from __future__ import annotations

import time
from typing import Protocol


class StopSignal(Protocol):
    """What a consumer checks to know it should stop (``threading.Event`` fits)."""

    def is_set(self) -> bool:
        """Whether stopping was requested."""
        ...

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the request; return whether it was made."""
        ...


class NeverStop:
    """The stop signal of a consumer nobody stops: waiting is sleeping."""

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float | None = None) -> bool:
        time.sleep(timeout or 0)
        return False
