"""Priority within a queue: lower integers first, first in first out among equals.

A ready message's sort key is ``priority * 2**32 + sequence``, where ``sequence`` is a per-queue
counter. Both parts fit in a double's exact integer range, so Redis sorted-set scores keep it exact. The sequence wraps after 2**32
submissions to one queue; only the FIFO order among equal priorities around the wrap is affected.
"""

from __future__ import annotations

from alsek.domain.model.errors import ValidationError

PRIORITY_MIN = -(2**20)
PRIORITY_MAX = 2**20 - 1
SEQUENCE_SPAN = 2**32


def validate_priority(priority: object) -> int:
    """Return ``priority`` if it is an integer in the supported range.

    Raises:
        ValidationError: naming the bad value.
    """
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ValidationError(
            f"priority must be an int, got {type(priority).__name__} {priority!r}"
        )
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise ValidationError(
            f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}, got {priority}"
        )
    return priority


def ready_score(priority: int, sequence: int) -> int:
    """The sort key of a ready message: by priority, then by submission order."""
    return priority * SEQUENCE_SPAN + sequence % SEQUENCE_SPAN
