"""The only place in the domain model that reads the wall clock or makes ids.

Everything else in ``alsek.domain.model`` takes ``now_ms`` and ids as arguments; these two functions
are the defaults used when a user builds a :class:`Message` by hand.
"""

from __future__ import annotations

import time
import uuid

DEFAULT_QUEUE = "alsek_queue"
DEFAULT_TASK_TIMEOUT_MS = 3_600_000
DEFAULT_MECHANISM = "process"
MECHANISMS = ("process", "thread")


def now_ms() -> int:
    """Milliseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1_000_000


def new_uuid() -> str:
    """A fresh message id (random, version 4)."""
    return str(uuid.uuid4())
