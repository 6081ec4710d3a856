"""Bounded waiting for unit tests that run threads."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Longest wait (s) for something that must happen.
WAIT_S = 5.0


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Check ``predicate`` every 2 ms until it holds or ``timeout`` seconds pass; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()
