"""Task status values."""

from __future__ import annotations

from enum import IntEnum


class TaskStatus(IntEnum):
    """The life cycle of a message, as a status tracker records it."""

    UNKNOWN = 0
    SUBMITTED = 1
    RUNNING = 2
    RETRYING = 3
    FAILED = 4
    SUCCEEDED = 5

    @property
    def terminal(self) -> bool:
        """Whether nothing more will happen to a message in this status."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.FAILED, TaskStatus.SUCCEEDED})
