"""Task status values, and one status change (:class:`StatusUpdate`)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any

from attrs import frozen


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

    @property
    def status(self) -> TaskStatus:
        """The status itself, so that Alsek 1.3.2's ``tracker.get(message).status`` (where ``get``
        returned an update) still runs now that ``get`` returns the status."""
        return self


TERMINAL_STATUSES = frozenset({TaskStatus.FAILED, TaskStatus.SUCCEEDED})
#: Alsek 1.3.2's name and form (a tuple) of :data:`TERMINAL_STATUSES`.
TERMINAL_TASK_STATUSES = (TaskStatus.FAILED, TaskStatus.SUCCEEDED)


@frozen
class StatusUpdate:
    """One status change.

    Unpacks as Alsek 1.3.2's ``StatusUpdate(status, details)`` (``status, details = update``).

    Attributes:
        status: the new status.
        details: what the code that set it added (``StatusTracker.set(..., details=)``; None
            for the statuses workers record).
        timestamp: when it was set, in ms since the epoch.
    """

    status: TaskStatus
    details: Any = None
    timestamp: int = 0

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.details))

    @property
    def final(self) -> bool:
        """Whether nothing more will happen: a terminal status, or UNKNOWN (the integrity
        scanner's verdict on a message that vanished)."""
        return self.status.terminal or self.status is TaskStatus.UNKNOWN

    def as_dict(self) -> dict[str, Any]:
        """``{"status": name, "details": ..., "timestamp": ...}``."""
        return {"status": self.status.name, "details": self.details, "timestamp": self.timestamp}

    @classmethod
    def parse(cls, value: Any) -> StatusUpdate | None:
        """The update stored or published as ``value``, or None if it is not one."""
        try:
            return cls(
                status=TaskStatus[value["status"]],
                details=value.get("details"),
                timestamp=int(value["timestamp"]),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None
