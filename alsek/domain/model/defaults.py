"""The only place in the domain model that reads the wall clock or makes ids.

Everything else in ``alsek.domain.model`` takes ``now_ms`` and ids as arguments; these two functions
are the defaults used when a user builds a :class:`Message` by hand.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

DEFAULT_QUEUE = "alsek_queue"
DEFAULT_TASK_TIMEOUT_MS = 3_600_000
DEFAULT_MECHANISM = "process"
MECHANISMS = ("process", "thread")
#: Alsek 1.3.2's names.
SUPPORTED_MECHANISMS = MECHANISMS
SupportedMechanismType = Literal["process", "thread"]
DEFAULT_NAMESPACE = "alsek"
DEFAULT_MAX_RETRIES = 3
#: How long things are kept by default (a week, in ms): dead letters, statuses, results.
DEFAULT_TTL = 7 * 24 * 3_600_000


def now_ms() -> int:
    """Milliseconds since the Unix epoch (UTC)."""
    return time.time_ns() // 1_000_000


def new_uuid() -> str:
    """A fresh message id (random, version 4)."""
    return str(uuid.uuid4())
