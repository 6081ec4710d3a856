"""Waiting for something written elsewhere: subscribe, look, then sleep until a notification.

Writers publish a notification with every write (atomically with it), so a waiter looks again
only when something happened. The order matters: subscribing *before* looking means a write that
lands between the look and the wait still wakes the waiter. A slow safety re-check (every
:data:`SAFETY_RECHECK_MS`) covers notifications lost while a connection was re-established; it is
one read per waiter every few seconds, never per message.
"""

from __future__ import annotations

import time
from typing import Any

from alsek.domain.model.errors import ValidationError
from alsek.ports.keyvalue import MISSING, Subscription

#: Longest a waiter sleeps without looking again, in ms (a guard against lost notifications).
SAFETY_RECHECK_MS = 5_000
_MAX_DRAIN = 10_000


def check_timeout(timeout: Any, name: str = "timeout") -> int:
    """Return ``timeout`` if it is a non-negative integer of milliseconds.

    Raises:
        ValidationError: otherwise.
    """
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0:
        raise ValidationError(f"{name} must be a non-negative integer (ms), got {timeout!r}")
    return timeout


class Deadline:
    """A point in (monotonic) time ``timeout_ms`` from now; None means never."""

    def __init__(self, timeout_ms: int | None) -> None:
        self._at = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000

    def remaining_ms(self, cap_ms: int = SAFETY_RECHECK_MS) -> int:
        """Milliseconds left (0 when passed), at most ``cap_ms``."""
        if self._at is None:
            return cap_ms
        return max(0, min(cap_ms, int((self._at - time.monotonic()) * 1000 + 0.999)))

    @property
    def passed(self) -> bool:
        """Whether the deadline has been reached."""
        return self._at is not None and time.monotonic() >= self._at


def drain(subscription: Subscription) -> list[Any]:
    """Everything already delivered to ``subscription``, without waiting."""
    values: list[Any] = []
    while len(values) < _MAX_DRAIN and (value := subscription.get(0)) is not MISSING:
        values.append(value)
    return values
